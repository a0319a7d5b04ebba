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
# # 02 · Convolution math
#
# What a `Conv2D` layer computes, number by number:
#
# 1. one output value by hand (a dot product of a window and the kernel);
# 2. the whole map, three ways that must agree: our NumPy reference
#    (`kerascnn.scratch.Convolution`, im2col + one matrix product), `keras.ops.conv`, and a
#    `keras.layers.Conv2D`;
# 3. several input channels and several filters;
# 4. the output-size and parameter formulas, checked against real layers;
# 5. a real kernel (a vertical-edge detector) on a real image.

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
from kerascnn.scratch import Convolution, im2col
from kerascnn.viz import new_figure, save_figure, to_float

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "02_convolution_math"

# %% [markdown]
# ## 1. One output by hand
#
# A 4x4 input $x$, a 3x3 kernel $K$, stride 1, no padding. The output at (row $i$, column
# $j$) is the sum of the element-wise product of the window starting there and the kernel:
#
# $$y_{ij} = \sum_{u=0}^{2} \sum_{v=0}^{2} x_{i+u,\, j+v} \, K_{uv}$$
#
# At (row 0, column 0) that is the top-left 3x3 window.

# %%
x = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 2], [1, 0, 1, 3]], dtype=np.float64)
k = np.array(
    [[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64
)  # a Sobel kernel: responds to vertical edges

window = x[0:3, 0:3]
by_hand = (1 * 1 + 2 * 0 + 0 * -1) + (0 * 2 + 1 * 0 + 3 * -2) + (2 * 1 + 1 * 0 + 0 * -1)
print("window:\n", window, "\nproducts:\n", window * k, "\nsum =", by_hand)
assert by_hand == np.sum(window * k) == -3

# every output position: slide the window
manual = np.array([[np.sum(x[i : i + 3, j : j + 3] * k) for j in range(2)] for i in range(2)])
print("2x2 output by sliding the window:\n", manual)

# %% [markdown]
# The course's worked example: a 3x3 input and the kernel whose rows are [1, 0, -1] (a
# horizontal gradient). Every row contributes left minus right:
#
# $$(10 - 30) + (40 - 60) + (70 - 90) = -60$$
#
# at the centre, which is the one "valid" output, and the centre of the "same" output.

# %%
x3 = np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90]], dtype="float32")
k3 = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype="float32")
centre = float(np.sum(x3 * k3))
same = keras.layers.Conv2D(1, 3, padding="same", use_bias=False)
same.build((None, 3, 3, 1))
same.set_weights([k3[:, :, None, None]])
same_out = np.asarray(same(x3[None, :, :, None]))[0, :, :, 0]
print("centre by hand:", centre, "| Keras 'same' output:\n", same_out)
assert centre == -60 and same_out[1, 1] == -60

# %% [markdown]
# ## 2. The same map three ways
#
# Deep-learning "convolution" is a cross-correlation (the kernel is not flipped): the formula
# above has $x_{i+u,\, j+v}$, where a convolution in the signal-processing sense has
# $x_{i-u,\, j-v}$. Shapes are channels-last: input `(N, H, W, C)`, kernel
# `(KH, KW, C_in, C_out)`. im2col turns the $o_h o_w$ windows into the rows of a matrix with
# $k_h k_w C_{\text{in}}$ columns, so the whole convolution is one matrix product.

# %%
x4 = x[None, :, :, None]  # (1, 4, 4, 1)
k4 = k[:, :, None, None]  # (3, 3, 1, 1)
ours = Convolution(k4, np.zeros(1)).forward(x4)[0, :, :, 0]
ops = np.asarray(keras.ops.conv(x4.astype("float32"), k4.astype("float32"), padding="valid"))[
    0, :, :, 0
]
layer = keras.layers.Conv2D(1, 3, use_bias=False)
layer.build(x4.shape)
layer.set_weights([k4.astype("float32")])
lay = np.asarray(layer(x4.astype("float32")))[0, :, :, 0]
print("scratch:\n", ours, "\nkeras.ops.conv:\n", ops, "\nkeras Conv2D:\n", lay)
assert np.allclose(ours, manual) and np.allclose(ops, manual) and np.allclose(lay, manual)

# im2col: every window becomes a row, the kernel a column, the convolution one matrix product
cols = im2col(x4, 3)
print("im2col matrix", cols.shape, "(4 windows x 9 values); first row = first window:", cols[0])
assert np.allclose(cols @ k.reshape(-1), manual.reshape(-1))

# A *true* convolution flips the kernel; with a flipped kernel the two agree (1-D check)
sig, ker = np.array([1.0, 3, 2, 0, 4]), np.array([1.0, 0, -2])
assert np.allclose(np.convolve(sig, ker, "valid"), np.correlate(sig, ker[::-1], "valid"))

# %% [markdown]
# ## 3. Many channels in, many filters out
#
# With $C_{\text{in}}$ input channels a filter has one 2-D kernel per channel: it convolves
# each channel and **sums** the results, then adds one bias. $C_{\text{out}}$ filters give
# $C_{\text{out}}$ maps:
#
# $$y_{ijd} = b_d + \sum_{c=1}^{C_{\text{in}}} \sum_{u} \sum_{v} x_{i+u,\, j+v,\, c} \, K_{u v c d}$$

# %%
rng = np.random.default_rng(0)
xc = rng.standard_normal((1, 6, 6, 3))  # RGB-like input
kc = rng.standard_normal((3, 3, 3, 2))  # 2 filters, each 3x3x3
bc = np.array([0.5, -1.0])
y = Convolution(kc, bc).forward(xc)
per_channel = sum(
    Convolution(kc[:, :, c : c + 1, :], np.zeros(2)).forward(xc[..., c : c + 1]) for c in range(3)
)
print(
    "output shape",
    y.shape,
    "| max |y - (sum of per-channel convs + bias)| =",
    np.abs(y - (per_channel + bc)).max(),
)
assert y.shape == (1, 4, 4, 2)
assert np.allclose(y, per_channel + bc)
assert np.allclose(y, np.asarray(keras.ops.conv(xc, kc)) + bc)

# %% [markdown]
# ## 4. Output size and parameter count
#
# Along each axis, with input size $n$, kernel $k$, padding $p$ per side and stride $s$:
#
# $$o = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1$$
#
# computed by `kerascnn.analysis.calc.conv_output_size`. Parameters:
#
# $$P = k^2 \, C_{\text{in}} \, C_{\text{out}} + C_{\text{out}}$$
#
# (the last term is the biases). We check both against Keras on a grid of settings.

# %%
cases = [
    (28, 5, 1, 0),
    (28, 5, 1, 2),
    (32, 3, 2, 1),
    (224, 7, 2, 3),
    (227, 11, 4, 0),
    (13, 3, 1, 1),
]
print(f"{'n':>4} {'k':>3} {'s':>3} {'p':>3} | formula | keras")
for n, kk, s, p in cases:
    formula = calc.conv_output_size(n, kk, s=s, p=p)
    assert formula == (n + 2 * p - kk) // s + 1
    m = keras.Sequential(
        [
            keras.Input((n, n, 3)),
            keras.layers.ZeroPadding2D(p),
            keras.layers.Conv2D(8, kk, strides=s),
        ]
    )
    got = m.output_shape[1]
    print(f"{n:>4} {kk:>3} {s:>3} {p:>3} | {formula:>7} | {got:>5}")
    assert got == formula
    assert m.count_params() == calc.conv_params(3, 8, kk) == kk * kk * 3 * 8 + 8

# AlexNet's first layer: 227 -> 55 with 96 filters of 11x11x3 (34,944 weights and biases)
assert calc.conv_output_size(227, 11, s=4) == 55 and calc.conv_params(3, 96, 11) == 34_944

# %% [markdown]
# ## 5. A real kernel on a real image
#
# The Sobel kernel above on a Fashion-MNIST test image: strong positive and negative
# responses where brightness changes from left to right, none in flat regions.

# %%
ds = kerascnn.load_dataset("fashion_mnist_mini")
img = to_float(ds.x_test[:1]).astype(np.float64)
edges_v = Convolution(k4, np.zeros(1), pad=1).forward(img)[0, :, :, 0]
edges_h = Convolution(k4.transpose(1, 0, 2, 3), np.zeros(1), pad=1).forward(img)[0, :, :, 0]
# "flat" = every pixel of the 3x3 window has the same value (rows of im2col with no spread)
flat = (im2col(img, 3, pad=1).std(axis=1) == 0).reshape(28, 28)
print(
    f"{flat.mean():.0%} of the positions are flat; mean |response| there: {np.abs(edges_v[flat]).mean():.3f}, "
    f"elsewhere: {np.abs(edges_v[~flat]).mean():.3f}"
)
assert np.all(edges_v[flat] == 0)  # a kernel summing to 0 ignores flat regions
assert np.abs(edges_v[~flat]).mean() > 0.1 and np.abs(edges_v).max() > 1.0

fig = new_figure((9, 3))
for i, (title, arr, cmap) in enumerate(
    [
        (f"input ({ds.class_names[ds.y_test[0]]})", img[0, :, :, 0], "gray"),
        ("vertical-edge kernel", edges_v, "RdBu"),
        ("horizontal-edge kernel", edges_h, "RdBu"),
    ]
):
    ax = fig.add_subplot(1, 3, i + 1)
    lim = None if cmap == "gray" else np.abs(arr).max()
    ax.imshow(arr, cmap=cmap, vmin=-lim if lim else None, vmax=lim)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
print("saved", save_figure(fig, OUT / "sobel_edges.png"))

# %% [markdown]
# Next: what padding and stride do to the size of the output (lesson 03).

# %% [markdown]
# ## Exercises
#
# 1. **Stride and padding by hand.** The 5x5 input holding 0..24 row by row, the kernel
#    `[[0, 1, 0], [1, -4, 1], [0, 1, 0]]` (a Laplacian), stride 2, padding 1. Predict the
#    output size, then compute the outputs at (0, 0), (0, 2) and (1, 1) by hand and check them
#    against a Keras `Conv2D`.
# 2. **The im2col matrix.** A batch of 2 images of 7x7x3, a 3x3 kernel, stride 2, padding 1.
#    What shape is the im2col matrix? Multiply it by a 5-filter kernel reshaped to a matrix
#    and check the result against `keras.ops.conv`.
# 3. **Is the bias worth it?** Count the parameters of `Conv2D(64, 3)` on an RGB image with
#    and without bias. Then put `BatchNormalization` after it: show that in training mode the
#    output does not depend on the conv's bias at all (why?).
# 4. **A real convolution.** Compute the signal-processing convolution of section 1's 4x4
#    input with the Sobel kernel from its definition ($x_{i-u,\, j-v}$, the kernel flipped).
#    Which kernel must a `Conv2D` be given to produce it, and how does the result relate to
#    section 1's output for this particular kernel?
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Stride and padding by hand
# 5x5 input 0..24, Laplacian kernel, stride 2, padding 1.

# %% tags=["solution", "hide-cell"]
# Size: floor((5 + 2*1 - 3) / 2) + 1 = 3. Output (i, j) is centred on input (2i, 2j).
# The Laplacian is (up + down + left + right) - 4 * centre; padding contributes zeros.
x5 = np.arange(25, dtype="float32").reshape(5, 5)
lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype="float32")
out_size = calc.conv_output_size(5, 3, s=2, p=1)
hand = {
    (0, 0): (0 + 5 + 0 + 1) - 4 * 0,  # centre x[0,0] = 0: up 0 (pad), down 5, left 0 (pad), right 1
    (0, 2): (0 + 9 + 3 + 0) - 4 * 4,  # centre x[0,4] = 4: up pad, down 9, left 3, right pad
    (1, 1): (7 + 17 + 11 + 13) - 4 * 12,  # centre x[2,2] = 12: an arithmetic ramp gives 0
}
lap_conv = keras.Sequential(
    [keras.Input((5, 5, 1)), keras.layers.ZeroPadding2D(1), keras.layers.Conv2D(1, 3, strides=2)]
)
lap_conv.layers[-1].set_weights([lap[:, :, None, None], np.zeros(1, "float32")])
keras_out = np.asarray(lap_conv(x5[None, :, :, None]))[0, :, :, 0]
print("output size", out_size, "| Keras:\n", keras_out, "\nby hand:", hand)
assert out_size == 3 and keras_out.shape == (3, 3)
assert hand == {(0, 0): 6, (0, 2): -4, (1, 1): 0}
assert all(keras_out[ij] == v for ij, v in hand.items())
# here "same" pads 1 on each side too ((3 - 1) * 2 + 3 - 5 = 2 in total), so it agrees
same_out = keras.ops.conv(x5[None, :, :, None], lap[:, :, None, None], strides=2, padding="same")
assert np.array_equal(np.asarray(same_out)[0, :, :, 0], keras_out)

# %% [markdown]
# ### Exercise 2 · The im2col matrix
# Batch 2, 7x7x3, 3x3 kernel, stride 2, padding 1: the shape of the matrix, and the product.

# %% tags=["solution", "hide-cell"]
# Each image has o * o windows with o = floor((7 + 2 - 3) / 2) + 1 = 4, so 2 * 4 * 4 = 32 rows;
# each window holds 3 * 3 * 3 = 27 values (columns). The kernel (3, 3, 3, 5) reshapes to (27, 5)
# in the same (kh, kw, c) order, and the product is (32, 5): every output value at once.
xb = rng.standard_normal((2, 7, 7, 3))
kb = rng.standard_normal((3, 3, 3, 5))
cols_b = im2col(xb, 3, stride=2, pad=1)
o = calc.conv_output_size(7, 3, s=2, p=1)
print("im2col:", cols_b.shape, "| kernel matrix:", kb.reshape(27, 5).shape)
assert o == 4 and cols_b.shape == (2 * o * o, 3 * 3 * 3) == (32, 27)
y_b = (cols_b @ kb.reshape(27, 5)).reshape(2, o, o, 5)
x_padded = np.pad(xb, ((0, 0), (1, 1), (1, 1), (0, 0)))
assert np.allclose(y_b, np.asarray(keras.ops.conv(x_padded, kb, strides=2)), atol=1e-5)

# %% [markdown]
# ### Exercise 3 · Is the bias worth it?
# `Conv2D(64, 3)` on RGB with and without bias, and followed by `BatchNormalization`.

# %% tags=["solution", "hide-cell"]
# With bias: 3*3*3*64 + 64 = 1,792; without: 1,728. BatchNormalization (training mode)
# subtracts each channel's batch mean, and a bias is a per-channel constant: it moves the
# mean by exactly itself and is subtracted again. So the 64 biases are wasted before BN
# (BN's own beta does their job), which is why conv-BN blocks use use_bias=False.
with_bias = calc.conv_params(3, 64, 3)
no_bias = calc.conv_params(3, 64, 3, bias=False)
assert with_bias == 3 * 3 * 3 * 64 + 64 == 1_792
assert no_bias == 3 * 3 * 3 * 64 == 1_728

xr = rng.standard_normal((4, 8, 8, 3)).astype("float32")
conv_b = keras.layers.Conv2D(64, 3)
conv_b.build(xr.shape)
assert conv_b.count_params() == with_bias
kernel_b = conv_b.get_weights()[0]
bn = keras.layers.BatchNormalization()
outs = []
for bias in (np.zeros(64), rng.standard_normal(64) * 5):
    conv_b.set_weights([kernel_b, bias.astype("float32")])
    outs.append(np.asarray(bn(conv_b(xr), training=True)))
gap_bn = np.abs(outs[0] - outs[1]).max()
print(f"params {with_bias:,} vs {no_bias:,}; BN output change from a bias of std 5: {gap_bn:.1e}")
assert gap_bn < 1e-3

# %% [markdown]
# ### Exercise 4 · A real convolution
# The true convolution of section 1's input with the Sobel kernel.

# %% tags=["solution", "hide-cell"]
# By definition (valid part): z_ij = sum_uv x[i + 2 - u, j + 2 - v] K[u, v], i.e. the window
# read backwards: the same as a cross-correlation with the kernel rotated by 180 degrees.
# This Sobel kernel is antisymmetric left-right and symmetric up-down, so its rotation is -K:
# the true convolution is exactly minus section 1's output.
true_conv = np.array(
    [
        [
            sum(x[i + 2 - u, j + 2 - v] * k[u, v] for u in range(3) for v in range(3))
            for j in range(2)
        ]
        for i in range(2)
    ]
)
flipped = keras.layers.Conv2D(1, 3, use_bias=False)
flipped.build(x4.shape)
flipped.set_weights([k[::-1, ::-1, None, None].astype("float32")])
print("true convolution:\n", true_conv, "\ncross-correlation (section 1):\n", manual)
assert np.allclose(np.asarray(flipped(x4.astype("float32")))[0, :, :, 0], true_conv)
assert np.array_equal(k[::-1, ::-1], -k) and np.allclose(true_conv, -manual)
