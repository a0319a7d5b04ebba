# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Padding, stride and the 1x1 convolution
#
# * **Padding** adds a border so the kernel can sit on edge pixels; it decides the output
#   size and what the network "sees" beyond the image. Keras' `Conv2D` knows `"valid"` (none)
#   and `"same"` (zeros, output size = input size / stride); `kerascnn.layers.Padding2D` adds
#   the classic image modes: zero, constant, reflect, symmetric, replicate, wrap.
# * **Stride** moves the window $s$ pixels at a time: the output shrinks by a factor $s$ per
#   axis. With both, each axis follows lesson 02's
#   $o = \left\lfloor (n + 2p - k)/s \right\rfloor + 1$.
# * A **1x1 convolution** mixes channels at each pixel and nothing else: a dense layer applied
#   to every pixel, the cheap way to change the number of channels.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
from pathlib import Path

import keras
import numpy as np

import kerascnn
from kerascnn.analysis import calc
from kerascnn.layers import Padding2D
from kerascnn.scratch import Convolution, resolve_padding
from kerascnn.viz import plot_padding_modes, save_figure, to_float

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "03_padding_and_stride"

# %% [markdown]
# ## 1. Every padding mode on a 3x3 example
#
# Pad `[[1 2 3] [4 5 6] [7 8 9]]` by 2 pixels. Each mode invents the border differently:
# `zero` (and `constant`) fill; `replicate` repeats the edge pixel; `reflect` mirrors without
# repeating the edge; `symmetric` mirrors with it; `wrap` tiles the image (periodic).

# %%
small = np.arange(1, 10, dtype="float32").reshape(1, 3, 3, 1)
numpy_name = {
    "zero": "constant",
    "constant": "constant",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "replicate": "edge",
    "wrap": "wrap",
}
padded = {}
for mode in ("zero", "constant", "reflect", "symmetric", "replicate", "wrap"):
    kwargs = {"constant_value": 9.0} if mode == "constant" else {}
    out = np.asarray(Padding2D(2, mode=mode, **kwargs)(small))[0, :, :, 0]
    padded[mode] = out
    ref = np.pad(
        small[0, :, :, 0],
        2,
        mode=numpy_name[mode],
        **({"constant_values": 9.0} if mode == "constant" else {}),
    )
    assert np.array_equal(out, ref), mode  # same as NumPy's np.pad
    print(f"{mode}:\n{out.astype(int)}")

assert (
    padded["replicate"][0, 0] == 1
    and padded["reflect"][0, 2] == 7
    and padded["symmetric"][0, 2] == 4
)
assert padded["wrap"][0, 2] == 4  # wraps around: padded row 0 is image row 1 (= -2 mod 3), column 0

ds = kerascnn.load_dataset("fashion_mnist_mini")
print(
    "saved",
    save_figure(
        plot_padding_modes(to_float(ds.x_test[1])[:, :, 0], pad=8), OUT / "padding_modes.png"
    ),
)

# %% [markdown]
# **A naming trap.** OpenCV names its border modes differently from NumPy: its documentation
# draws `BORDER_REFLECT` as `fedcba|abcdefgh|hgfedcb` (the edge pixel repeated: NumPy's and
# our `symmetric`) and `BORDER_REFLECT_101` as `gfedcb|abcdefgh|gfedcba` (no repeat: NumPy's
# and our `reflect`). A "reflect" ported from OpenCV code to NumPy silently changes the border.

# %%
row = np.array(list("abcdefgh"))
opencv_docs = {  # 6 pixels of border on the left and 7 on the right, as OpenCV draws them
    "BORDER_REFLECT": "fedcba|abcdefgh|hgfedcb",
    "BORDER_REFLECT_101": "gfedcb|abcdefgh|gfedcba",
}
letters = np.arange(8, dtype="float32").reshape(1, 1, 8, 1)  # a..h as 0..7 on one row
for ours, opencv in (("symmetric", "BORDER_REFLECT"), ("reflect", "BORDER_REFLECT_101")):
    drawn = opencv_docs[opencv].replace("|", "")
    assert "".join(np.pad(row, (6, 7), mode=ours)) == drawn, ours  # NumPy's mode of that name
    out = np.asarray(Padding2D((0, 6), mode=ours)(letters))[0, 0, :, 0].astype(int)
    assert "".join("abcdefgh"[i] for i in out) == drawn[:-1], ours  # ours: 6 on each side
    print(f"NumPy/our {ours!r:12} = OpenCV {opencv}: {opencv_docs[opencv]}")

# %% [markdown]
# ## 2. Why the mode matters: borders that are not there
#
# On a bright, uniform image there are no edges. A Sobel edge detector after **zero**
# padding still fires along the whole border (it sees a jump from 0 to the image); after
# **replicate** or **reflect** padding it does not.

# %%
bright = np.full((1, 16, 16, 1), 0.8, dtype="float32")
sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype="float32")[:, :, None, None]
border_response = {}
for mode in ("zero", "replicate", "reflect", "symmetric", "wrap"):
    p = np.asarray(Padding2D(1, mode=mode)(bright))
    border_response[mode] = float(np.abs(Convolution(sobel, np.zeros(1)).forward(p)).max())
print("max |edge response| on a uniform image:", border_response)
assert border_response["zero"] > 3.0  # 4 x 0.8: a fake edge along the left/right border
assert max(v for m, v in border_response.items() if m != "zero") < 1e-6

# %% [markdown]
# ## 3. "valid" and "same"
#
# `"valid"`: no padding, $o = \lfloor (n - k)/s \rfloor + 1$ ($n - k + 1$ at stride 1).
# `"same"`: $o = \lceil n / s \rceil$; the padding needed is
#
# $$p_{\text{total}} = \max\left( (o - 1)\, s + k - n,\ 0 \right)$$
#
# and when it is odd Keras/TensorFlow put the extra pixel at the bottom/right (top
# $\lfloor p_{\text{total}}/2 \rfloor$, bottom the rest). At stride 1 and odd $k$ that is
# $p = (k-1)/2$ on each side. `kerascnn.analysis.calc` computes both; we check against Keras.

# %%
print(f"{'n':>3} {'k':>2} {'s':>2} | valid  same | same pads (top, bottom)")
for n, k, s in [(28, 3, 1), (28, 5, 1), (28, 4, 1), (28, 3, 2), (7, 2, 2), (224, 7, 2)]:
    valid, same = (
        calc.conv_output_size(n, k, s=s, p="valid"),
        calc.conv_output_size(n, k, s=s, p="same"),
    )
    pads = calc.same_padding(n, k, s)
    for padding, expect in (("valid", valid), ("same", same)):
        got = keras.layers.Conv2D(1, k, strides=s, padding=padding).compute_output_shape(
            (1, n, n, 1)
        )[1]
        assert got == expect, (n, k, s, padding)
    assert same == -(-n // s)
    assert resolve_padding("same", (n, n), (k, k), (s, s))[0] == pads  # our NumPy reference agrees
    print(f"{n:>3} {k:>2} {s:>2} | {valid:>5} {same:>5} | {pads}")

assert calc.same_padding(28, 4, 1) == (1, 2)  # even kernel: asymmetric, extra pixel at the bottom

# "same" in Keras is exactly zero padding with those amounts, then "valid"
rng = np.random.default_rng(0)
img = rng.standard_normal((1, 7, 7, 2)).astype("float32")
ker = rng.standard_normal((2, 2, 2, 3)).astype("float32")
pads = calc.same_padding(7, 2, 2)
by_hand = keras.ops.conv(np.pad(img, ((0, 0), pads, pads, (0, 0))), ker, strides=2, padding="valid")
assert np.allclose(keras.ops.conv(img, ker, strides=2, padding="same"), by_hand, atol=1e-6)

# %% [markdown]
# ## 4. Stride = convolve everywhere, keep every s-th output
#
# A stride-2 convolution gives exactly every second row and column of the stride-1 result,
# at a quarter of the multiply-adds. A convolution costs one multiply-accumulate per kernel
# weight per output position:
#
# $$\text{MACs} = o_h \, o_w \cdot k^2 \, C_{\text{in}} \, C_{\text{out}}$$
#
# so halving $o_h$ and $o_w$ divides it by $s^2 = 4$.

# %%
x = to_float(ds.x_test[:4])
k5 = rng.standard_normal((5, 5, 1, 6)).astype("float32")
dense_out = np.asarray(keras.ops.conv(x, k5, strides=1))
strided = np.asarray(keras.ops.conv(x, k5, strides=2))
print("stride 1:", dense_out.shape, "| stride 2:", strided.shape)
assert np.allclose(strided, dense_out[:, ::2, ::2], atol=1e-5)
macs1 = calc.conv_macs(dense_out.shape[1:3], 1, 6, 5)
macs2 = calc.conv_macs(strided.shape[1:3], 1, 6, 5)
print(f"MACs per image: stride 1 {macs1:,}, stride 2 {macs2:,} ({macs1 / macs2:.1f}x fewer)")
assert (
    strided.shape[1] == calc.conv_output_size(28, 5, s=2) == 12 and macs1 / macs2 == (24 / 12) ** 2
)

# %% [markdown]
# ## 5. The 1x1 convolution
#
# A 1x1 kernel sees one pixel: at every position it multiplies the $C_{\text{in}}$ channel
# vector by a $C_{\text{in}} \times C_{\text{out}}$ matrix,
# $y_{ij} = W^{\top} x_{ij}$. So it is a dense layer shared by all pixels. It is how
# Inception, ResNet bottlenecks and MobileNets change the number of channels cheaply: at
# $56 \times 56$ a $3 \times 3$ conv from 256 to 256 channels costs
# $56^2 \cdot 9 \cdot 256^2$ MACs, the bottleneck
# $56^2 \left( 256 \cdot 64 + 9 \cdot 64^2 + 64 \cdot 256 \right)$.

# %%
feat = rng.standard_normal((2, 8, 8, 64)).astype("float32")
w1 = rng.standard_normal((1, 1, 64, 16)).astype("float32")
conv1x1 = np.asarray(keras.ops.conv(feat, w1))
per_pixel_dense = np.einsum("nhwc,cd->nhwd", feat, w1[0, 0])
print("1x1 conv == per-pixel matrix product:", np.allclose(conv1x1, per_pixel_dense, atol=1e-4))
assert np.allclose(conv1x1, per_pixel_dense, atol=1e-4)
dense = keras.layers.Dense(16, use_bias=False)
dense.build((None, 64))
dense.set_weights([w1[0, 0]])
assert np.allclose(np.asarray(dense(feat)), conv1x1, atol=1e-4)  # Dense on a 4-D tensor: the same

# cost of reducing 256 -> 64 channels before a 3x3 conv (a ResNet bottleneck) at 56x56
direct = calc.conv_macs((56, 56), 256, 256, 3)
bottleneck = (
    calc.conv_macs((56, 56), 256, 64, 1)
    + calc.conv_macs((56, 56), 64, 64, 3)
    + calc.conv_macs((56, 56), 64, 256, 1)
)
print(
    f"3x3 conv 256->256: {direct / 1e6:.0f} M MACs; 1x1 -> 3x3 -> 1x1 bottleneck: "
    f"{bottleneck / 1e6:.0f} M MACs ({direct / bottleneck:.1f}x cheaper)"
)
assert direct == 56**2 * 9 * 256**2 and bottleneck == 56**2 * (256 * 64 + 9 * 64**2 + 64 * 256)
assert direct / bottleneck > 8

# %% [markdown]
# Next: pooling (lesson 04).

# %% [markdown]
# ## Exercises
#
# 1. **Output sizes.** For $(n, k, p, s)$ = (10, 3, 0, 2), (11, 3, 0, 2), (32, 5, 2, 1),
#    (64, 4, 1, 2) and (15, 7, 3, 4), predict the output size, then check each against a Keras
#    `ZeroPadding2D` + `Conv2D`. In which case does the floor throw input pixels away, and
#    which ones?
# 2. **Keeping 28 at 28.** Which symmetric padding $p$ keeps a 28x28 map at 28x28 with a
#    5x5 kernel at stride 1? Show that `padding="same"` is exactly that padding. Why is there
#    no symmetric answer for a 4x4 kernel?
# 3. **Reflect or symmetric?** Pad the row `[1, 2, 3, 4]` by 2 on each side in `reflect` and
#    in `symmetric` mode. Write both results down first, then check them with `Padding2D`.
# 4. **Stride or pool?** Two ways to go from 32x32x16 to 16x16x32 with a 3x3 kernel: a
#    stride-2 `"same"` conv, or a stride-1 `"same"` conv followed by 2x2 max pooling. Predict
#    the ratio of their MACs and check both output shapes in Keras.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Output sizes
# Five $(n, k, p, s)$ settings against Keras; which inputs does the floor drop?

# %% tags=["solution", "hide-cell"]
# o = floor((n + 2p - k) / s) + 1. The last window starts at (o - 1) * s and ends at
# (o - 1) * s + k - 1 in padded coordinates; anything beyond that is never read.
settings = [(10, 3, 0, 2), (11, 3, 0, 2), (32, 5, 2, 1), (64, 4, 1, 2), (15, 7, 3, 4)]
predicted = [(n + 2 * p - k) // s + 1 for n, k, p, s in settings]
assert predicted == [4, 5, 32, 32, 4]
unread = {}
for (n, k, p, s), want in zip(settings, predicted):
    net = keras.Sequential(
        [
            keras.Input((n, n, 1)),
            keras.layers.ZeroPadding2D(p),
            keras.layers.Conv2D(1, k, strides=s),
        ]
    )
    assert net.output_shape[1] == want == calc.conv_output_size(n, k, s=s, p=p)
    last_read = (want - 1) * s + k - 1  # padded coordinates
    unread[(n, k, p, s)] = (n + 2 * p - 1) - last_read  # padded pixels after the last window
print("output sizes:", predicted, "| padded pixels never read:", unread)
# (10, 3, 0, 2): windows start at 0, 2, 4, 6 and the last ends at 8: column 9 is never used.
# (15, 7, 3, 4): the last window ends at padded 18, so padded 19 and 20 are never read: the
# image's last column (padded 17) is used, only two of the three padding columns are wasted.
assert unread == {
    (10, 3, 0, 2): 1,
    (11, 3, 0, 2): 0,
    (32, 5, 2, 1): 0,
    (64, 4, 1, 2): 0,
    (15, 7, 3, 4): 2,
}

# %% [markdown]
# ### Exercise 2 · Keeping 28 at 28
# The padding for a 5x5 kernel at stride 1; and a 4x4 kernel.

# %% tags=["solution", "hide-cell"]
# o = n + 2p - k + 1 = n needs 2p = k - 1: p = 2 for k = 5. For k = 4, 2p = 3 has no integer
# solution, so "same" pads 1 on top and 2 at the bottom (section 3).
assert calc.conv_output_size(28, 5, p=2) == 28 and calc.same_padding(28, 5, 1) == (2, 2)
img28 = to_float(ds.x_test[:2])
k28 = rng.standard_normal((5, 5, 1, 4)).astype("float32")
via_same = np.asarray(keras.ops.conv(img28, k28, padding="same"))
via_p2 = np.asarray(keras.ops.conv(np.pad(img28, ((0, 0), (2, 2), (2, 2), (0, 0))), k28))
assert via_same.shape == (2, 28, 28, 4) and np.allclose(via_same, via_p2, atol=1e-5)
assert all((k - 1) % 2 == 1 for k in (2, 4, 6)) and calc.same_padding(28, 4, 1) == (1, 2)
print("k=5: p = 2 on each side; k=4: 'same' pads", calc.same_padding(28, 4, 1))

# %% [markdown]
# ### Exercise 3 · Reflect or symmetric?
# `[1, 2, 3, 4]` padded by 2 in both modes.

# %% tags=["solution", "hide-cell"]
# reflect mirrors about the edge pixel (not repeating it): 3 2 | 1 2 3 4 | 3 2
# symmetric mirrors about the edge itself (repeating it):  2 1 | 1 2 3 4 | 4 3
row4 = np.array([1, 2, 3, 4], dtype="float32").reshape(1, 1, 4, 1)
by_mode = {
    mode: np.asarray(Padding2D((0, 2), mode=mode)(row4))[0, 0, :, 0].astype(int).tolist()
    for mode in ("reflect", "symmetric")
}
print(by_mode)
assert by_mode == {"reflect": [3, 2, 1, 2, 3, 4, 3, 2], "symmetric": [2, 1, 1, 2, 3, 4, 4, 3]}

# %% [markdown]
# ### Exercise 4 · Stride or pool?
# Stride-2 conv vs stride-1 conv + 2x2 max pool, 32x32x16 -> 16x16x32.

# %% tags=["solution", "hide-cell"]
# Same output shape, but the stride-1 conv computes all 32x32 positions and the pool keeps a
# quarter: MACs ratio (32 / 16)^2 = 4 (the pool's comparisons are not MACs).
strided_net = keras.Sequential(
    [keras.Input((32, 32, 16)), keras.layers.Conv2D(32, 3, strides=2, padding="same")]
)
pooled_net = keras.Sequential(
    [
        keras.Input((32, 32, 16)),
        keras.layers.Conv2D(32, 3, padding="same"),
        keras.layers.MaxPooling2D(2),
    ]
)
macs_strided = calc.conv_macs((16, 16), 16, 32, 3)
macs_pooled = calc.conv_macs((32, 32), 16, 32, 3)
print(f"stride 2: {macs_strided:,} MACs | stride 1 + pool: {macs_pooled:,} MACs")
assert strided_net.output_shape == pooled_net.output_shape == (None, 16, 16, 32)
assert strided_net.count_params() == pooled_net.count_params() == 3 * 3 * 16 * 32 + 32
assert macs_strided == 16 * 16 * 9 * 16 * 32 == 1_179_648 and macs_pooled == 4 * macs_strided
