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
# A 4x4 input, a 3x3 kernel, stride 1, no padding. The output at (row 0, column 0) is the
# sum of the element-wise product of the top-left 3x3 window and the kernel.

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
# horizontal gradient). Every row contributes left minus right: (10 - 30) + (40 - 60) +
# (70 - 90) = -60 at the centre, which is the one "valid" output, and the centre of the
# "same" output.

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
# Deep-learning "convolution" is a cross-correlation (the kernel is not flipped). Shapes are
# channels-last: input `(N, H, W, C)`, kernel `(KH, KW, C_in, C_out)`.

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
# With `C_in` input channels a filter has one 2-D kernel per channel: it convolves each
# channel and **sums** the results, then adds one bias. `C_out` filters give `C_out` maps.

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
# Along each axis: `out = floor((n + 2p - k) / s) + 1` (input `n`, kernel `k`, padding `p`
# per side, stride `s`), computed by `kerascnn.analysis.calc.conv_output_size`. Parameters:
# `k*k*C_in*C_out + C_out`. We check both against Keras on a grid of settings.

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

# AlexNet's first layer: 227 -> 55 with 96 filters of 11x11x3 (34,944 weights)
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
