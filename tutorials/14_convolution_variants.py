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
# # 14 · Convolution variants: transposed, dilated, separable, grouped, "full"
#
# The plain convolution of lessons 02-03 has a handful of relatives, each changing one thing:
#
# * **transposed**: runs a convolution "backwards" (small map -> large map, for decoders and
#   upsampling); it is the gradient of a convolution;
# * **dilated**: spreads the kernel taps apart, a larger receptive field at the same cost;
# * **spatially separable**: a k x k kernel as a k x 1 times a 1 x k kernel;
# * **depthwise separable**: filter each channel alone, then mix channels with a 1x1 conv;
# * **grouped**: split the channels into g groups that never meet (AlexNet's two GPUs);
# * **"full" padding**: keep every partial overlap, $p = k - 1$.
#
# Every number below is computed here and checked against real Keras layers and against
# `kerascnn.analysis.profile` (parameters, MACs and receptive field per layer).

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import itertools
import os
from fractions import Fraction
from pathlib import Path

import keras
import numpy as np
from matplotlib.patches import Rectangle

import kerascnn
from kerascnn.analysis import calc, profile
from kerascnn.layers import (
    DepthwiseSeparableConv2D,
    DilatedContextBlock,
    DilatedConv2D,
    SpatiallySeparableConv2D,
)
from kerascnn.scratch import Convolution
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "14_convolution_variants"
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)


def one_layer(layer, shape):
    """A model of one layer on a per-sample input ``shape`` (so ``profile`` can see it)."""
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


def with_kernel(layer, shape, *weights):
    """``layer`` built for ``shape`` (with batch), its weights set to ``weights``."""
    layer.build(shape)
    layer.set_weights([np.asarray(w, "float32") for w in weights])
    return layer


def layer_macs(model) -> list[int]:
    """The MACs of each layer that has any, from our profile of ``model``."""
    return [r.macs for r in profile(model).rows if r.macs]


def no_bias(cls, *args, **kwargs):
    """A Keras layer of class ``cls`` without bias (the bias is not what we count here)."""
    return cls(*args, use_bias=False, **kwargs)


# %% [markdown]
# ## 1. Transposed convolution
#
# A "valid" convolution of a 2x2 image `X` with the 2x2 identity kernel `W` gives one number.
# The transposed convolution goes back from that number to a 2x2 map: **each input pixel
# stamps a copy of the kernel, scaled by its value**, and overlapping stamps add up. The same
# as a plain convolution: put $s - 1$ zeros between the inputs (zero insertion, for stride
# $s$), pad by $k - 1$ on every side ("full" padding, section 6) and run a plain convolution
# with the kernel rotated 180 degrees (its input/output channels swapped).
#
# It restores the **shape** of `X`, not `X`: it is not an inverse.


# %%
def zero_insert(y, s):
    """(N, H, W, C) -> (N, (H-1)s+1, (W-1)s+1, C): ``s - 1`` zeros between neighbouring inputs."""
    n, h, w, c = y.shape
    z = np.zeros((n, (h - 1) * s + 1, (w - 1) * s + 1, c), y.dtype)
    z[:, ::s, ::s] = y
    return z


def conv_transpose_numpy(y, kernel, s=1):
    """Conv2DTranspose(padding="valid") in NumPy: zero insertion, "full" padding, then our
    plain NumPy convolution with the kernel rotated. ``kernel``: Keras' (kh, kw, C_out, C_in)."""
    plain = kernel[::-1, ::-1].transpose(0, 1, 3, 2)  # rotated, (kh, kw, C_in, C_out)
    pads = tuple(calc.padding_amounts("full", None, k) for k in kernel.shape[:2])
    return Convolution(plain, np.zeros(plain.shape[-1]), pad=pads).forward(zero_insert(y, s))


X = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
W = np.eye(2).reshape(2, 2, 1, 1)
Y = Convolution(W, np.zeros(1)).forward(X)  # our NumPy reference convolution
back = conv_transpose_numpy(Y, W)
keras_y = with_kernel(no_bias(keras.layers.Conv2D, 1, 2), X.shape, W)(X)
keras_back = with_kernel(no_bias(keras.layers.Conv2DTranspose, 1, 2), Y.shape, W)(Y)
print(f"X = {X[0, :, :, 0].tolist()}, W = {W[:, :, 0, 0].tolist()}")
print(
    f"Y = conv(X, W) = {Y[0, :, :, 0].tolist()}; conv_transpose(Y, W) = {back[0, :, :, 0].tolist()}"
)
assert Y.shape == (1, 1, 1, 1) and Y[0, 0, 0, 0] == 5 and np.asarray(keras_y)[0, 0, 0, 0] == 5
assert np.array_equal(back[0, :, :, 0], [[5, 0], [0, 5]]) and back.shape == X.shape
assert np.allclose(np.asarray(keras_back), back) and not np.array_equal(back, X)

# %% [markdown]
# **Keras does not flip the kernel**: the transposed convolution of a single 1 stamps the
# kernel as it is; only the plain-convolution form (our NumPy recipe) needs it rotated. With
# several channels and strides 1-3 the recipe equals `Conv2DTranspose` given the same kernel
# array, whose layout `(kh, kw, C_out, C_in)` is that of the `Conv2D` it transposes,
# `(kh, kw, C_in, C_out)`, read backwards.

# %%
K2 = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
stamp = with_kernel(no_bias(keras.layers.Conv2DTranspose, 1, 2), (1, 1, 1, 1), K2)(
    np.ones((1, 1, 1, 1))
)
assert np.array_equal(np.asarray(stamp)[0, :, :, 0], K2[:, :, 0, 0])  # unflipped

y = rng.standard_normal((2, 4, 5, 3)).astype("float32")
K = rng.standard_normal((3, 3, 2, 3)).astype("float32")  # (kh, kw, C_out=2, C_in=3)
for s in (1, 2, 3):
    keras_out = with_kernel(no_bias(keras.layers.Conv2DTranspose, 2, 3, strides=s), y.shape, K)(y)
    ours = conv_transpose_numpy(y.astype("float64"), K.astype("float64"), s)
    err = np.abs(ours - np.asarray(keras_out)).max()
    print(f"stride {s}: {y.shape[1:3]} -> {ours.shape[1:3]}, max |NumPy - Keras| = {err:.1e}")
    assert ours.shape == keras_out.shape and err < 1e-4

# %% [markdown]
# ### The output size
#
# $n$ inputs make $n - 1$ gaps of $s$, plus one kernel, minus the padding $p$ on each side:
#
# $$
# n_{\mathrm{out}} = (n - 1)s - 2p + k \quad (+ \text{ output padding})
# $$
#
# Keras' `"valid"` is $p = 0$ (when $k < s$ it adds $s - k$ zeros: $n_{\mathrm{out}} = ns$);
# `"same"` gives $n_{\mathrm{out}} = ns$, the window of the "valid" result that starts at
# $\lfloor \max(k - s, 0) / 2 \rfloor$. `calc` has both rules (from `kerascnn.geometry`, the
# one module of output sizes); we check them against Keras.

# %%
cases = 0
for n, k, s, padding in itertools.product(
    (1, 2, 3, 5, 8) if FAST else range(1, 17),
    range(1, 6 if FAST else 8),
    (1, 2, 3),
    ("valid", "same"),
):
    for output_padding in (None, *range(s)):
        p = 0 if padding == "valid" else k // 2
        formula = s * (n - 1) + k - 2 * p + (output_padding or 0)
        if output_padding is not None and formula < 1:
            continue  # no output: Keras' own rule gives 0 rows
        layer = keras.layers.Conv2DTranspose(1, k, s, padding, output_padding=output_padding)
        ours = calc.conv_transpose_output_size(n, k, s, padding, output_padding=output_padding)
        assert layer.compute_output_shape((1, n, n, 1))[1] == ours, (n, k, s, padding)
        if output_padding is not None or (padding == "valid" and k >= s):
            assert ours == formula  # s (n - 1) + k - 2p (+ output_padding)
        cases += 1
print(f"the output-size formula = Keras' Conv2DTranspose in {cases} cases")
assert cases > 250

for k, s in ((3, 2), (4, 2), (5, 3), (2, 3)):  # "same" is a window of the "valid" result
    kernel = rng.standard_normal((k, k, 1, 3)).astype("float32")
    full = np.asarray(keras.ops.conv_transpose(y, kernel, strides=s, padding="valid"))
    same = np.asarray(keras.ops.conv_transpose(y, kernel, strides=s, padding="same"))
    top, (h, w) = calc.conv_transpose_crop(k, s, padding="same"), same.shape[1:3]
    assert (h, w) == (4 * s, 5 * s)
    assert np.allclose(full[:, top : top + h, top : top + w], same, atol=1e-5)

# %% [markdown]
# ### It is the adjoint (the gradient) of a convolution
#
# A convolution is a linear map $x \mapsto A x$. Backpropagation needs its transpose,
# $dx = A^{\top} dy$ (lesson 06), and that is exactly the transposed convolution with the
# **same kernel array**:
#
# $$
# \langle \operatorname{conv}(x), y \rangle = \langle x, \operatorname{conv}^{\top}(y) \rangle
# $$
#
# for every $x$ and $y$, and the `dx` of our
# NumPy `Convolution.backward` is `Conv2DTranspose(dy)`. (Lesson 06 showed stride 1 as a
# "full" convolution with the rotated kernel; here the stride is 2.)

# %%
x = rng.standard_normal((2, 9, 11, 2)).astype("float32")  # 9 - 3 and 11 - 3 divisible by 2
K = rng.standard_normal((3, 3, 2, 4)).astype("float32")  # Conv2D's layout (kh, kw, C_in, C_out)
conv = with_kernel(no_bias(keras.layers.Conv2D, 4, 3, strides=2), x.shape, K)
dy = rng.standard_normal(conv.compute_output_shape(x.shape)).astype("float32")
conv_t = with_kernel(no_bias(keras.layers.Conv2DTranspose, 2, 3, strides=2), dy.shape, K)
lhs = float(np.vdot(np.asarray(conv(x), "float64"), dy))
rhs = float(np.vdot(x, np.asarray(conv_t(dy), "float64")))
print(f"<conv(x), y> = {lhs:.4f}, <x, conv_transpose(y)> = {rhs:.4f}")
assert abs(lhs - rhs) < 1e-4 * abs(lhs)

reference = Convolution(K.astype("float64"), np.zeros(4), stride=2)
reference.forward(x.astype("float64"))
dx = reference.backward(dy.astype("float64"))
err = np.abs(dx - np.asarray(conv_t(dy))).max()
print(f"max |NumPy Convolution.backward dx - Conv2DTranspose(dy)| = {err:.1e}")
assert dx.shape == x.shape and err < 1e-4


# %%
def show_grid(ax, a, title, vmax):
    """A small array as a heat map with its numbers written in."""
    ax.imshow(a, cmap="Blues", vmin=0, vmax=vmax)
    for (i, j), v in np.ndenumerate(a):
        color = "white" if v > 0.6 * vmax else "black"
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8, color=color)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


small, ones = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1), np.ones((3, 3, 1, 1))
steps = [small, zero_insert(small, 2)]
steps.append(np.pad(steps[-1], ((0, 0), (2, 2), (2, 2), (0, 0))))
steps.append(conv_transpose_numpy(small, ones, 2))
stamped = with_kernel(no_bias(keras.layers.Conv2DTranspose, 1, 3, strides=2), small.shape, ones)
assert np.allclose(steps[-1], stamped(small)) and steps[-1].shape[1] == 5
assert calc.conv_transpose_output_size(2, 3, 2, "valid") == 5
titles = [
    "input (2x2)",
    "zeros inserted (s = 2)",
    "padded by k - 1 = 2 ('full')",
    "3x3 conv of ones: 5x5",
]
fig = new_figure((10, 3.0))
for ax, a, title in zip(fig.subplots(1, 4, width_ratios=[2, 3, 7, 5]), steps, titles):
    show_grid(ax, a[0, :, :, 0], title, vmax=steps[-1].max())
fig.suptitle("Transposed convolution, stride 2, 3x3 kernel of ones (= Keras' Conv2DTranspose)")
print("saved", save_figure(fig, OUT / "transposed_convolution.png"))

# %% [markdown]
# ## 2. Dilated convolution
#
# A $k \times k$ kernel with dilation rate $r$ reads every $r$-th pixel: it spans an
# **effective kernel** of
#
# $$
# k_{\mathrm{eff}} = k + (k - 1)(r - 1)
# $$
#
# pixels with the weights and the cost of a $k \times k$ kernel. Stacked (stride 1), the
# fields add up, each layer widening the field by $k_{\mathrm{eff}} - 1 = (k - 1) r$:
#
# $$
# R_L = 1 + \sum_{l=1}^{L} (k - 1) r_l
# $$
#
# so 3x3 convs with rates 1, 2, 4 see 3, 7 and 15 pixels; plain 3x3 convs would need 7
# layers to see 15.

# %%
for k, r in itertools.product((3, 5), (1, 2, 4)):
    layer = DilatedConv2D(1, k, dilation_rate=r, padding="valid")
    out = layer(np.zeros((1, 20, 20, 1), "float32"))
    k_eff = calc.effective_kernel(k, r)
    assert k_eff == k + (k - 1) * (r - 1) == layer.effective_kernel_size[0]
    assert out.shape[1] == 20 - k_eff + 1 == calc.conv_output_size(20, k, p="valid", d=r)
    assert layer.count_params() == k * k + 1  # the weights do not grow with r
    print(f"k={k} r={r}: effective kernel {k_eff}x{k_eff}, {layer.count_params()} parameters")


def conv_stack(rates, size=32, filters=8, channels=8, **kwargs):
    """A Keras model of "same" 3x3 convs with the given dilation rates."""
    inputs = keras.Input((size, size, channels))
    x = inputs
    for r in rates:
        x = keras.layers.Conv2D(filters, 3, dilation_rate=r, padding="same", **kwargs)(x)
    return keras.Model(inputs, x)


dilated, plain = profile(conv_stack((1, 2, 4))), profile(conv_stack((1, 1, 1)))
fields = [r.rf_size[0] for r in dilated.rows if r.type == "Conv2D"]
plain_fields = [r.rf_size[0] for r in plain.rows if r.type == "Conv2D"]
block = DilatedContextBlock(8, rates=(1, 2, 4))
block_row = profile(one_layer(block, (32, 32, 8))).rows[-1]
print(f"receptive fields of 3x3 convs, rates 1, 2, 4: {fields}; rates 1, 1, 1: {plain_fields}")
print(f"DilatedContextBlock: {block.cumulative_receptive_fields()}, profile {block_row.rf_size}")
assert fields == [3, 7, 15] and plain_fields == [3, 5, 7]
assert block.cumulative_receptive_fields() == (3, 7, 15) and block_row.rf_size == (15, 15)
assert calc.receptive_field([(3, 1, r) for r in (1, 2, 4)]).size == 15
assert dilated.total_macs == plain.total_macs == block_row.macs  # the same cost

# %% [markdown]
# ### Gridding
#
# The size of the field is not the whole story. Stack three 3x3 convs that all use rate 2:
# the field is 13x13, but every tap lands on an even offset, so one output sees only **every
# second row and column**, a quarter of its field; the pixels in between never reach it.
# Wang et al. ("Understanding Convolution for Semantic Segmentation", 2018) call this
# gridding and choose rates without a common factor (1, 2, 5); rates 1, 2, 4 leave no hole
# either. We read what one output depends on off a real Keras model: the stack is linear (no
# bias, no activation, positive weights so that nothing cancels), so feeding it the n*n
# one-pixel images gives one row of its matrix.

# %%
N = 19  # input size, larger than every field below
maps = {}
for rates in ((1, 1, 1), (2, 2, 2), (1, 2, 4)):
    init = keras.initializers.RandomUniform(0.5, 1.5, seed=sum(rates))
    model = conv_stack(rates, N, 1, 1, use_bias=False, kernel_initializer=init)
    one_pixel_images = np.eye(N * N, dtype="float32").reshape(N * N, N, N, 1)
    weight = np.asarray(model(one_pixel_images))[:, N // 2, N // 2, 0].reshape(N, N)
    field, seen = profile(model).rows[-1].rf_size[0], int((weight > 0).sum())
    rows = np.nonzero(weight.any(axis=1))[0]
    assert (
        rows.max() - rows.min() + 1
        == field
        == calc.receptive_field([(3, 1, r) for r in rates]).size
    )
    maps[rates] = (weight, field, seen)
    print(f"rates {rates}: field {field}x{field} = {field * field} pixels, {seen} of them seen")
weight, field, seen = maps[(2, 2, 2)]
offset = np.arange(N) - N // 2  # row/column offset from the centre output
on_grid = (offset % 2 == 0) & (np.abs(offset) <= 6)  # even offsets inside the 13-pixel field
assert field == 13 and seen == 7 * 7 and np.array_equal(weight > 0, np.outer(on_grid, on_grid))
assert maps[(1, 2, 4)][2] == 15 * 15 and maps[(1, 1, 1)][2] == 7 * 7  # no holes

fig = new_figure((9, 3.4))
for ax, (rates, (weight, field, seen)) in zip(fig.subplots(1, 3), maps.items()):
    ax.imshow(weight > 0, cmap="Blues", vmin=0, vmax=1.4)
    lo = N // 2 - field // 2 - 0.5
    ax.add_patch(Rectangle((lo, lo), field, field, fill=False, edgecolor="red", linewidth=1.2))
    ax.plot(N // 2, N // 2, "+", color="orange", markersize=9, markeredgewidth=2)
    ax.set_title(
        f"rates {rates}: field {field}x{field},\n{seen} of {field**2} pixels seen", fontsize=9
    )
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Input pixels that reach the centre output (+) of three 3x3 convs (red: the field)")
print("saved", save_figure(fig, OUT / "dilation_gridding.png"))

# %% [markdown]
# ## 3. Spatially separable convolution
#
# The Sobel kernel is an outer product, $S = u v^{\top}$ with $u = (1, 2, 1)^{\top}$ and
# $v = (-1, 0, 1)^{\top}$: smoothing down the columns times a difference along the rows. So a
# 3x1 conv followed by a 1x3 conv computes it with **6 weights instead of 9**. Only rank-1 kernels factor this way: a learned
# `SpatiallySeparableConv2D` (Inception v3's asymmetric convolutions) is a smaller family of
# kernels, not a free rewrite of every 3x3 kernel.
#
# On a 5x5 input ("valid", 3x3 output) the direct conv does 9 outputs x 9 taps, $9 \times 9 = 81$
# multiplications; separated, the 3x1 conv makes a 3x5 map ($3 \cdot 5 \cdot 3 = 45$) and the
# 1x3 conv the 3x3 output ($3 \cdot 3 \cdot 3 = 27$): 72. In general, on an $n \times n$ input
# with $m = n - k + 1$ outputs a side,
#
# $$
# \frac{\text{separated}}{\text{direct}} = \frac{k m n + k m^2}{k^2 m^2} = \frac{n + m}{k m}
# $$
#
# which tends to $2 / k$ for large $n$. We count them with our profile.

# %%
column, row = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
sobel = np.outer(column, row)
print("[1, 2, 1]^T x [-1, 0, 1] =", sobel.astype(int).tolist())
assert np.array_equal(sobel, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
assert np.linalg.matrix_rank(sobel) == 1 and np.linalg.matrix_rank(rng.standard_normal((3, 3))) == 3
factors = [column.reshape(3, 1, 1, 1), row.reshape(1, 3, 1, 1)]


def sobel_models(n):
    """Direct 3x3 conv, a Conv2D (3,1) + (1,3) pair and our SpatiallySeparableConv2D, n x n."""
    direct = one_layer(no_bias(keras.layers.Conv2D, 1, 3), (n, n, 1))
    direct.set_weights([sobel.reshape(3, 3, 1, 1)])
    pair = keras.Sequential(
        [keras.Input((n, n, 1))] + [no_bias(keras.layers.Conv2D, 1, k) for k in ((3, 1), (1, 3))]
    )
    separable = one_layer(
        SpatiallySeparableConv2D(1, 3, padding="valid", use_bias=False), (n, n, 1)
    )
    for model in (pair, separable):
        model.set_weights(factors)
    return direct, pair, separable


direct, pair, separable = sobel_models(5)
print(
    f"MACs: direct {layer_macs(direct)}, 3x1 then 1x3 {layer_macs(pair)}, SpatiallySeparableConv2D {layer_macs(separable)}"
)
assert layer_macs(direct) == [81] and layer_macs(pair) == [45, 27] and layer_macs(separable) == [72]
assert direct.count_params() == 9 and separable.count_params() == pair.count_params() == 6
image = rng.standard_normal((3, 5, 5, 1)).astype("float32")
for model in (pair, separable):
    assert np.allclose(np.asarray(model(image)), np.asarray(direct(image)), atol=1e-5)

# on an n x n input (m = n - 2 outputs a side) the ratio is 3(n + m) / (9 m): 2/3 for large n
direct, _, separable = sobel_models(64)
big = (layer_macs(direct)[0], layer_macs(separable)[0])
print(f"64x64 input: {big[0]:,} vs {big[1]:,} MACs, ratio {big[1] / big[0]:.3f}")
assert Fraction(big[1], big[0]) == Fraction(3 * (64 + 62), 9 * 62)
savings = {
    "spatially separable\n3x3 on 5x5": 72 / 81,
    "spatially separable\n3x3 on 64x64": big[1] / big[0],
}

# %% [markdown]
# ## 4. Depthwise separable convolution
#
# Lesson 10 derives the cost ratio and checks it on MobileNet-sized layers: per output
# position, a depthwise $k \times k$ filter per input channel and a 1x1 mix,
#
# $$
# \frac{k^2 C_{\mathrm{in}} + C_{\mathrm{in}} C_{\mathrm{out}}}{k^2 C_{\mathrm{in}} C_{\mathrm{out}}} = \frac{1}{C_{\mathrm{out}}} + \frac{1}{k^2}
# $$
#
# The textbook example: a 3x3 conv from a 7x7x3 input to a 5x5x128 output ("valid")
# does 5x5 positions x 128 filters x 27 taps = **86,400** multiplications. Depthwise: one 3x3
# filter per input channel, 5x5x3 outputs x 9 = **675**; pointwise: 128 1x1x3 filters,
# 5x5x128 x 3 = **9,600**; together **10,275**, 12 % of the direct cost
# ($\frac{1}{128} + \frac{1}{9} \approx 0.119$).

# %%
std = one_layer(no_bias(keras.layers.Conv2D, 128, 3), (7, 7, 3))
keras_sep = one_layer(no_bias(keras.layers.SeparableConv2D, 128, 3), (7, 7, 3))
plain_pair = dict(depthwise_bn=False, depthwise_activation=None, use_bn=False, activation=None)
ours = one_layer(
    DepthwiseSeparableConv2D(128, 3, padding="valid", use_bias=False, **plain_pair), (7, 7, 3)
)
print(
    f"MACs: Conv2D {layer_macs(std)[0]:,}, SeparableConv2D {layer_macs(keras_sep)[0]:,}, "
    f"DepthwiseSeparableConv2D {layer_macs(ours)[0]:,}"
)
assert layer_macs(std) == [86_400] == [calc.conv_macs((5, 5), 3, 128, 3)]
assert (5 * 5 * 3 * 9, 5 * 5 * 3 * 128) == (675, 9_600)
assert layer_macs(keras_sep) == layer_macs(ours) == [675 + 9_600] == [10_275]
ratio = Fraction(10_275, 86_400)
assert (
    ratio == Fraction(1, 128) + Fraction(1, 9)
    and abs(calc.separable_cost_ratio(128, 3) - ratio) < 1e-15
)
print(
    f"ratio {float(ratio):.4f} = 1/128 + 1/9; weights {std.count_params():,} vs {ours.count_params()}"
)
assert (std.count_params(), ours.count_params()) == (3_456, 411)
savings["depthwise separable\n7x7x3 -> 5x5x128"] = float(ratio)

# %% [markdown]
# Same weights, same numbers: our layer equals Keras' `SeparableConv2D`, and both equal a
# plain `Conv2D` whose kernel is the product $K_{ijco} = D_{ijc} P_{co}$. A
# depthwise separable conv is an ordinary conv restricted to kernels that factor this way
# (411 numbers describe the 3,456).

# %%
x = rng.standard_normal((2, 7, 7, 3)).astype("float32")
D, P = (rng.standard_normal(w.shape).astype("float32") for w in keras_sep.get_weights())
keras_sep.set_weights([D, P])
ours.set_weights([D, P])
std.set_weights([D[:, :, :, 0, None] * P[0, 0][None, None]])
assert np.allclose(np.asarray(ours(x)), np.asarray(keras_sep(x)), atol=1e-5)
assert np.allclose(np.asarray(std(x)), np.asarray(keras_sep(x)), atol=1e-4)

# %% [markdown]
# ## 5. Grouped convolution
#
# `Conv2D(groups=g)` splits the input channels and the filters into $g$ groups; group $j$'s
# filters see only group $j$'s channels. Each filter is $k \times k \times C_{\mathrm{in}} / g$,
# so **the weights and the MACs are divided by $g$**:
#
# $$
# \text{weights} = k^2 \cdot \frac{C_{\mathrm{in}}}{g} \cdot C_{\mathrm{out}}, \qquad \text{MACs} = H_{\mathrm{out}} W_{\mathrm{out}} \cdot k^2 \cdot \frac{C_{\mathrm{in}}}{g} \cdot C_{\mathrm{out}}
# $$
#
# (plus $C_{\mathrm{out}}$ biases, which groups do not divide), and the output is $g$ ordinary
# convs on channel slices, side by side. With $g = C_{\mathrm{in}}$ every filter sees one
# channel: a depthwise conv.

# %%
x = rng.standard_normal((1, 16, 16, 32)).astype("float32")
print("| groups | weights | MACs |\n|---|---|---|")
for g in (1, 2, 4, 8, 32):
    model = one_layer(no_bias(keras.layers.Conv2D, 64, 3, padding="same", groups=g), (16, 16, 32))
    weights, total = model.count_params(), profile(model).total_macs
    assert weights == calc.conv_params(32, 64, 3, groups=g, bias=False) == 9 * 32 * 64 // g
    assert total == calc.conv_macs((16, 16), 32, 64, 3, groups=g) == 16 * 16 * 64 * 9 * 32 // g
    print(f"| {g} | {weights:,} | {total:,} |")
    kernel, ci, co = model.get_weights()[0], 32 // g, 64 // g  # kernel: (3, 3, 32 / g, 64)
    slices = [
        keras.ops.conv(
            x[..., j * ci : (j + 1) * ci], kernel[..., j * co : (j + 1) * co], padding="same"
        )
        for j in range(g)
    ]
    grouped_out = np.asarray(model(x))
    assert np.allclose(grouped_out, np.concatenate(slices, axis=-1), atol=1e-4)
    if g > 1:
        savings[f"grouped\ng = {g}"] = 1 / g
depthwise = no_bias(keras.layers.DepthwiseConv2D, 3, padding="same", depth_multiplier=2)
depthwise = with_kernel(depthwise, x.shape, kernel[:, :, 0, :].reshape(3, 3, 32, 2))
assert np.allclose(np.asarray(depthwise(x)), grouped_out, atol=1e-4)  # groups = C_in = 32

# %% [markdown]
# ### AlexNet's two GPUs
#
# AlexNet (2012) did not fit on one 3 GB GPU, so Krizhevsky put half of every layer's
# kernels on each of two GPUs; conv2, conv4 and conv5 see only the maps on their own GPU.
# That split is `Conv2D(groups=2)`: `kerascnn.create_model("alexnet", variant="paper")`
# builds it (its dense layers, which hold most parameters, are lesson 07's story).

# %%
alexnet = kerascnn.create_model(
    "alexnet", variant="paper", include_top=False, input_shape=(224, 224, 3)
)
print("| layer | groups | parameters | ungrouped | MACs | ungrouped |\n|---|---|---|---|---|---|")
totals = np.zeros(4, dtype=np.int64)  # parameters, ungrouped parameters, MACs, ungrouped MACs
for r in profile(alexnet).rows:
    layer = alexnet.get_layer(r.name)
    if not isinstance(layer, keras.layers.Conv2D):
        continue
    c_in, c_out, k, g = layer.input.shape[-1], layer.filters, layer.kernel_size[0], layer.groups
    ungrouped = calc.conv_params(c_in, c_out, k), calc.conv_macs(r.output_shape[:2], c_in, c_out, k)
    assert r.params == calc.conv_params(c_in, c_out, k, groups=g)
    assert (
        r.macs == calc.conv_macs(r.output_shape[:2], c_in, c_out, k, groups=g) == ungrouped[1] // g
    )
    totals += (r.params, ungrouped[0], r.macs, ungrouped[1])
    print(f"| {r.name} | {g} | {r.params:,} | {ungrouped[0]:,} | {r.macs:,} | {ungrouped[1]:,} |")
grouped = [layer.name for layer in alexnet.layers if getattr(layer, "groups", 1) == 2]
print(
    f"groups=2 saves {totals[1] - totals[0]:,} of {totals[1]:,} conv parameters and "
    f"{(totals[3] - totals[2]) / 1e6:.0f} M of {totals[3] / 1e6:.0f} M MACs per image"
)
assert grouped == ["alexnet_conv2", "alexnet_conv4", "alexnet_conv5"] and totals[0] == 2_334_080
assert totals[1] - totals[0] == 5 * 5 * 48 * 256 + 3 * 3 * 192 * (384 + 256)  # half of each
savings["AlexNet's convs\n(groups = 2 on 3 of 5)"] = totals[2] / totals[3]

# %% [markdown]
# ## 6. "full" padding
#
# "valid" keeps the positions where the kernel lies inside the image; "same" keeps the size;
# **"full"** keeps every position where the kernel overlaps the image at all: pad by
# $p = k - 1$ on each side, $n_{\mathrm{out}} = n + 2(k - 1) - k + 1 = n + k - 1$. It is
# `np.convolve`'s default and the padding inside a stride-1 transposed convolution (section 1;
# there $(n - 1) \cdot 1 - 0 + k$ is the same size). Keras has **no `padding="full"`**: write it
# as `ZeroPadding2D(k - 1)` + "valid". `calc` (from `kerascnn.geometry`) knows it.

# %%
try:
    keras.layers.Conv2D(1, 3, padding="full")
    raise AssertionError("Keras accepted padding='full'")
except ValueError as err:
    print("Keras:", err)

print("| n | k | valid | same | full |\n|---|---|---|---|---|")
for n, k in ((5, 3), (8, 2), (10, 5)):
    sizes = [calc.conv_output_size(n, k, p=mode) for mode in ("valid", "same", "full")]
    print(f"| {n} | {k} | {' | '.join(map(str, sizes))} |")
    assert calc.padding_amounts("full", n, k) == (k - 1, k - 1) and sizes == [
        n - k + 1,
        n,
        n + k - 1,
    ]
    padded_conv = keras.Sequential(
        [keras.Input((n, n, 1)), keras.layers.ZeroPadding2D(k - 1), keras.layers.Conv2D(1, k)]
    )
    assert (
        padded_conv.output_shape[1] == sizes[2] == calc.conv_transpose_output_size(n, k, 1, "valid")
    )

# 1-D: np.convolve(x, w, "full") is a Keras "full" correlation with the kernel flipped, and a
# stride-1 transposed convolution with the kernel as it is
signal, w = rng.standard_normal((1, 10, 1)).astype("float32"), np.array([1.0, -2.0, 0.5])
full_corr = keras.Sequential(
    [keras.Input((10, 1)), keras.layers.ZeroPadding1D(2), no_bias(keras.layers.Conv1D, 1, 3)]
)
full_corr.set_weights([w[::-1].reshape(3, 1, 1)])
transposed = with_kernel(
    no_bias(keras.layers.Conv1DTranspose, 1, 3), signal.shape, w.reshape(3, 1, 1)
)
reference = np.convolve(signal[0, :, 0], w, "full")
print(f"np.convolve(x, w, 'full'): {reference.size} values, equal to both Keras forms")
assert reference.size == calc.conv_output_size(10, 3, p="full") == 12
assert np.allclose(np.asarray(full_corr(signal))[0, :, 0], reference, atol=1e-5)
assert np.allclose(np.asarray(transposed(signal))[0, :, 0], reference, atol=1e-5)

# %% [markdown]
# ## Summary: what the cheap variants cost
#
# Multiplications as a fraction of the plain convolution they replace, every number from the
# profiles above. Dilation is not on the chart: it costs exactly what the plain conv costs
# (100 %) and buys a larger field instead.

# %%
fig = new_figure((7.5, 4.2))
ax = fig.add_subplot()
names = list(savings)[::-1]
family = {"spatially": "C0", "depthwise": "C1", "grouped": "C2", "AlexNet's": "C3"}
bars = ax.barh(names, [savings[n] for n in names], color=[family[n.split()[0]] for n in names])
ax.bar_label(bars, labels=[f"{savings[n]:.1%}" for n in names], fontsize=8, padding=2)
ax.tick_params(axis="y", labelsize=8)
ax.set(xlabel="MACs / MACs of the plain convolution", xlim=(0, 1.05))
ax.set_title("Cost of each variant relative to a plain convolution", fontsize=10)
print("saved", save_figure(fig, OUT / "cost_ratios.png"))
assert all(0 < v < 1 for v in savings.values()) and len(savings) == 8

# %% [markdown]
# Every lesson is listed in the README's "Learn" table; lesson 10 puts depthwise separable
# convolutions to work in MobileNet v1 and v2.

# %% [markdown]
# ## Exercises
#
# 1. **Transposed output sizes.** For $(n, k, s, p)$ = (4, 3, 2, 1), (7, 4, 2, 1), (5, 5, 3, 2),
#    (3, 2, 2, 0) and (16, 4, 4, 0), predict the output size of a transposed convolution with
#    $(n - 1)s - 2p + k$. Keras takes no $p$: build each as `Conv2DTranspose(padding="valid")`
#    followed by `Cropping2D(p)` and check. Which $(k, s, p)$ doubles the size exactly, and is it
#    what `padding="same"` computes?
# 2. **Rates 1, 2, 4, 8.** Predict the receptive field of four stacked 3x3 convs with dilation
#    rates 1, 2, 4 and 8, and how many plain 3x3 layers would see as far. Check with the
#    profile. Do all pixels of that field reach the centre output? What if you drop the rate-1
#    layer and stack 2, 4, 8?
# 3. **A separable 5x5.** On a 16x16x8 input, count the MACs of a "valid" 5x5 conv with 8
#    filters and of a 5x1 then 1x5 pair, with $\frac{n + m}{k m}$ for their ratio; check with
#    `SpatiallySeparableConv2D` and the profile. What does the ratio tend to for large images?
#    Show that the pair equals one ordinary conv whose kernel is built from the two factors.
# 4. **Four groups, with bias.** Predict the parameter count of `Conv2D(64, 3, groups=4)` on
#    32 input channels, biases included, and check it against Keras. Why is it not exactly a
#    quarter of the ungrouped layer's count? What happens with 30 input channels, or 30
#    filters?
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Transposed output sizes
# Predict $(n - 1)s - 2p + k$ and check it against `Conv2DTranspose` + `Cropping2D(p)`.


# %% tags=["solution", "hide-cell"]
def transposed_size(n, k, s, p):
    """(n - 1) s - 2p + k: n - 1 gaps of s, one kernel, p cut from each side."""
    return (n - 1) * s - 2 * p + k


for n, k, s, p in ((4, 3, 2, 1), (7, 4, 2, 1), (5, 5, 3, 2), (3, 2, 2, 0), (16, 4, 4, 0)):
    up = keras.Sequential(
        [keras.Input((n, n, 2)), keras.layers.Conv2DTranspose(3, k, s), keras.layers.Cropping2D(p)]
    )
    size = up(rng.standard_normal((1, n, n, 2)).astype("float32")).shape[1]
    print(f"n={n} k={k} s={s} p={p}: predicted {transposed_size(n, k, s, p)}, Keras {size}")
    assert size == transposed_size(n, k, s, p) == calc.conv_transpose_output_size(n, k, s) - 2 * p

# (n - 1) s - 2p + k = n s exactly when k = s + 2p: k = 4, s = 2, p = 1 (the usual 2x
# upsampling of decoders), or k = s, p = 0 (non-overlapping stamps). Keras' "same" gives n s
# too, and for k = 4, s = 2 it is the same window: the "valid" result with 1 cropped per side.
assert transposed_size(7, 4, 2, 1) == 14 and transposed_size(16, 4, 4, 0) == 64
assert calc.conv_transpose_crop(4, 2, padding="same") == 1
kernel4 = rng.standard_normal((4, 4, 3, 2)).astype("float32")  # (kh, kw, C_out, C_in)
y7 = rng.standard_normal((1, 7, 7, 2)).astype("float32")
valid_up = with_kernel(no_bias(keras.layers.Conv2DTranspose, 3, 4, 2), y7.shape, kernel4)
same_up = with_kernel(
    no_bias(keras.layers.Conv2DTranspose, 3, 4, 2, padding="same"), y7.shape, kernel4
)
assert same_up(y7).shape[1] == 14
assert np.allclose(np.asarray(valid_up(y7))[:, 1:-1, 1:-1], np.asarray(same_up(y7)), atol=1e-5)

# %% [markdown]
# ### Exercise 2 · Rates 1, 2, 4, 8
# The receptive field of 3x3 convs with rates 1, 2, 4, 8, and whether it has holes.

# %% tags=["solution", "hide-cell"]
# Each 3x3 layer of rate r widens the field by (k - 1) r = 2r: 1 + 2 (1 + 2 + 4 + 8) = 31.
rates = (1, 2, 4, 8)
predicted_fields = [1 + 2 * sum(rates[: i + 1]) for i in range(len(rates))]
stack8 = profile(conv_stack(rates, 40))
fields8 = [r.rf_size[0] for r in stack8.rows if r.type == "Conv2D"]
print(f"rates {rates}: fields {fields8} (predicted {predicted_fields})")
assert fields8 == predicted_fields == [3, 7, 15, 31]
# Plain 3x3 convs widen the field by 2 per layer: (31 - 1) / 2 = 15 layers, for the same
# field that four dilated layers reach at the cost of four plain ones.
assert calc.receptive_field([(3, 1, 1)] * 15).size == 31
assert stack8.total_macs == profile(conv_stack((1, 1, 1, 1), 40)).total_macs


def pixels_seen(rates, n=33):
    """(field, number of input pixels that reach the centre output) for a linear 3x3 stack."""
    init = keras.initializers.RandomUniform(0.5, 1.5, seed=1)  # positive: nothing cancels
    stack = conv_stack(rates, n, 1, 1, use_bias=False, kernel_initializer=init)
    one_pixel_images = np.eye(n * n, dtype="float32").reshape(n * n, n, n, 1)
    weight = np.asarray(stack(one_pixel_images))[:, n // 2, n // 2, 0]
    return profile(stack).rows[-1].rf_size[0], int((weight > 0).sum())


# With the rate-1 layer every offset in -15..15 is a sum of taps (each of -1, 0, 1 times 1, 2,
# 4 and 8): no hole. Without it every tap offset is even: a quarter of the field is seen.
assert pixels_seen((1, 2, 4, 8)) == (31, 31 * 31)
field_248, seen_248 = pixels_seen((2, 4, 8))
print(f"rates (2, 4, 8): field {field_248}x{field_248}, {seen_248} of {field_248**2} pixels seen")
assert field_248 == 1 + 2 * (2 + 4 + 8) == 29 and seen_248 == 15 * 15

# %% [markdown]
# ### Exercise 3 · A separable 5x5
# MACs of a 5x5 conv and of its 5x1 + 1x5 factorisation on a 16x16x8 input.

# %% tags=["solution", "hide-cell"]
n, k, c = 16, 5, 8
m = n - k + 1  # 12 outputs a side ("valid")
direct5 = one_layer(no_bias(keras.layers.Conv2D, c, k), (n, n, c))
pair5 = one_layer(SpatiallySeparableConv2D(c, k, padding="valid", use_bias=False), (n, n, c))
# direct: m^2 positions x k^2 taps x C_in x C_out; the 5x1 conv makes an m x n map with k taps,
# the 1x5 conv the m x m output with k taps
assert layer_macs(direct5) == [m * m * k * k * c * c] == [230_400]
assert layer_macs(pair5) == [(k * m * n + k * m * m) * c * c] == [107_520]
assert Fraction(107_520, 230_400) == Fraction(n + m, k * m) == Fraction(7, 15)
assert (direct5.count_params(), pair5.count_params()) == (k * k * c * c, 2 * k * c * c)
# for large images m ~ n and the ratio tends to 2 n / (k n) = 2 / k = 40 %
big_n = 1024
assert abs(float(Fraction(2 * big_n - k + 1, k * (big_n - k + 1))) - 2 / k) < 1e-3
print(
    f"5x5 on {n}x{n}x{c}: {layer_macs(direct5)[0]:,} vs {layer_macs(pair5)[0]:,} MACs "
    f"({107_520 / 230_400:.1%}), limit {2 / k:.0%}"
)
# The pair is one conv whose kernel is K[i, j, a, b] = sum_h U[i, 0, a, h] V[0, j, h, b].
U, V = (rng.standard_normal(w.shape).astype("float32") for w in pair5.get_weights())
pair5.set_weights([U, V])
direct5.set_weights([np.einsum("iah,jhb->ijab", U[:, 0], V[0])])
x16 = rng.standard_normal((2, n, n, c)).astype("float32")
assert np.allclose(np.asarray(pair5(x16)), np.asarray(direct5(x16)), atol=1e-3)

# %% [markdown]
# ### Exercise 4 · Four groups, with bias
# Parameters of `Conv2D(64, 3, groups=4)` on 32 channels, and what Keras refuses.

# %% tags=["solution", "hide-cell"]
# Each of the 64 filters is 3 x 3 x (32 / 4) = 72 weights, plus one bias each.
c_in, c_out, g = 32, 64, 4
grouped4 = one_layer(keras.layers.Conv2D(c_out, 3, groups=g), (16, 16, c_in))
predicted_params = 3 * 3 * (c_in // g) * c_out + c_out
print(f"groups=4: {grouped4.count_params():,} parameters, predicted {predicted_params:,}")
assert grouped4.count_params() == predicted_params == calc.conv_params(c_in, c_out, 3, groups=g)
assert grouped4.get_weights()[0].shape == (3, 3, c_in // g, c_out)
# Not a quarter: the biases (one per filter) do not shrink with the groups.
ungrouped = calc.conv_params(c_in, c_out, 3)
assert predicted_params == (ungrouped - c_out) // g + c_out and 4 * predicted_params > ungrouped
# The channels and the filters must both split evenly into the groups.
for channels, filters in ((30, 64), (32, 30)):
    try:
        one_layer(keras.layers.Conv2D(filters, 3, groups=g), (16, 16, channels))
        raise AssertionError("Keras accepted an uneven split")
    except ValueError as err:
        assert "evenly divisible" in str(err)
        print(f"{channels} channels, {filters} filters, groups=4: ValueError")
