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
# # 04 · Pooling
#
# Pooling summarises each window of a feature map by one number: its maximum or its mean.
# It has **no parameters**, shrinks the map (a 2x2/2 pool keeps a quarter of the values),
# and makes the output less sensitive to small shifts. Global average pooling goes further
# and replaces the huge flatten + dense head of older networks.

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
from kerascnn.scratch import AvgPooling, MaxPooling
from kerascnn.viz import new_figure, save_figure, to_float

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "04_pooling"

# %% [markdown]
# ## 1. By hand: 4x4 -> 2x2

# %%
x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 8]], dtype="float32")
x4 = x[None, :, :, None]
max_ours = MaxPooling(2).forward(x4)[0, :, :, 0]
avg_ours = AvgPooling(2).forward(x4)[0, :, :, 0]
print("max pool:\n", max_ours, "\naverage pool:\n", avg_ours)
assert max_ours.tolist() == [[6, 5], [3, 8]]
assert avg_ours.tolist() == [[3.5, 2.0], [1.5, 3.75]]
assert np.array_equal(max_ours, np.asarray(keras.layers.MaxPooling2D(2)(x4))[0, :, :, 0])
assert np.allclose(avg_ours, np.asarray(keras.layers.AveragePooling2D(2)(x4))[0, :, :, 0])
assert keras.Sequential([keras.Input((4, 4, 1)), keras.layers.MaxPooling2D(2)]).count_params() == 0

# %% [markdown]
# ## 2. Output sizes
#
# Pooling uses the convolution size formula. AlexNet's overlapping 3x3/2 pooling takes
# 55 -> 27 -> 13 -> 6; a "same" 2x2/2 pool halves (rounding up).

# %%
assert [calc.conv_output_size(n, 3, s=2) for n in (55, 27, 13)] == [27, 13, 6]
for n in (28, 27, 7):
    got = keras.layers.MaxPooling2D(2, padding="same").compute_output_shape((1, n, n, 1))[1]
    assert got == calc.conv_output_size(n, 2, s=2, p="same") == -(-n // 2)
    print(f"2x2/2 'same' pooling: {n} -> {got}; 'valid': {calc.conv_output_size(n, 2, s=2)}")

# %% [markdown]
# The course's example pools the 3x3 grid 0..8 with a 2x2 window and shows [[4, 5], [7, 8]].
# It says stride 2; without padding a 2x2/2 pool of a 3x3 map has a single window ([[4]]).
# [[4, 5], [7, 8]] comes from stride 1, or from stride 2 with "same" padding (the padded
# border never wins a max of non-negative values).

# %%
grid = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
pooled = {
    (s, p): np.asarray(keras.layers.MaxPooling2D(2, strides=s, padding=p)(grid))[0, :, :, 0]
    for s in (1, 2)
    for p in ("valid", "same")
}
for (s, p), out in pooled.items():
    print(f"stride {s}, {p}: {out.astype(int).tolist()}")
assert pooled[(1, "valid")].tolist() == [[4, 5], [7, 8]]
assert pooled[(2, "valid")].tolist() == [[4]]
assert pooled[(2, "same")].tolist() == [[4, 5], [7, 8]]

# %% [markdown]
# Pool size sets how fast a map shrinks. Two 2x2 pools take 28x28x16 to 7x7x16 (784 values to
# flatten); two 3x3 pools (stride 3) take it to 3x3x16: 28 -> 9 -> 3, 144 values.

# %%
for size, want in ((2, [28, 14, 7]), (3, [28, 9, 3])):
    sides, t = [28], np.zeros((1, 28, 28, 16), "float32")
    for _ in range(2):
        t = keras.layers.MaxPooling2D(size)(t)
        sides.append(t.shape[1])
    flat = int(np.prod(t.shape[1:]))
    print(f"{size}x{size} pooling twice: {' -> '.join(map(str, sides))}, flatten {flat}")
    assert sides == want and flat == {2: 784, 3: 144}[size]

# %% [markdown]
# ## 3. Robustness to small shifts
#
# Take real images, apply the same random conv + ReLU, then shift the image by one pixel.
# How many values stay the same? Max pooling keeps the window maximum when it merely moves
# inside its window, so far more pooled outputs are unchanged than raw feature values.

# %%
ds = kerascnn.load_dataset("fashion_mnist_mini")
n_img = 64 if FAST else 512
imgs = to_float(ds.x_test[:n_img])
shifted = np.roll(imgs, 1, axis=2)
keras.utils.set_random_seed(0)
conv = keras.layers.Conv2D(16, 3, padding="same", activation="relu")
fm, fm_s = np.asarray(conv(imgs)), np.asarray(conv(shifted))
pooled, pooled_s = MaxPooling(2).forward(fm), MaxPooling(2).forward(fm_s)
active = fm > 1e-3  # compare where there is signal (the black background is 0 either way)
same_raw = np.mean(np.isclose(fm, fm_s, atol=1e-5)[active])
active_p = pooled > 1e-3
same_pool = np.mean(np.isclose(pooled, pooled_s, atol=1e-5)[active_p])
print(
    f"unchanged after a 1-pixel shift: raw feature map {same_raw:.1%}, after 2x2 max pooling {same_pool:.1%}"
)
assert same_pool > same_raw + 0.2

# %% [markdown]
# ## 4. Where the gradient goes
#
# Backward through max pooling sends each output's gradient to the single input that won
# its window; every other input gets zero. Average pooling spreads it evenly.

# %%
mp, ap = MaxPooling(2), AvgPooling(2)
mp.forward(x4)
ap.forward(x4)
g = np.ones((1, 2, 2, 1), dtype="float32")
dmax, davg = mp.backward(g)[0, :, :, 0], ap.backward(g)[0, :, :, 0]
print("d/dx max pool:\n", dmax, "\nd/dx avg pool:\n", davg)
assert np.count_nonzero(dmax) == 4 and dmax[1, 1] == 1 and dmax[3, 3] == 1  # the winners 6 and 8
assert np.allclose(davg, 0.25)

# %% [markdown]
# ## 5. Global average pooling vs flatten + dense
#
# A classifier head on a 7x7x512 feature map (VGG-style): flatten -> dense 4096 needs
# 100 million weights; global average pooling -> dense 10 (NiN, ResNet) needs 5,130.

# %%
# A dense layer on a flattened 7x7 map is a 7x7 convolution over the whole map, so the
# conv parameter formula counts it (a real Keras layer agrees at a smaller width below).
flat_params = calc.conv_params(512, 4096, 7)
gap_head = keras.Sequential(
    [keras.Input((7, 7, 512)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)]
)
print(
    f"flatten + dense(4096): {flat_params:,} params | GAP + dense(10): {gap_head.count_params():,}"
)
assert flat_params == 7 * 7 * 512 * 4096 + 4096 > 100_000_000
assert gap_head.count_params() == 512 * 10 + 10
small_head = keras.Sequential(
    [keras.Input((7, 7, 32)), keras.layers.Flatten(), keras.layers.Dense(256)]
)
assert small_head.count_params() == calc.conv_params(32, 256, 7)
feat = np.random.default_rng(0).standard_normal((2, 7, 7, 512)).astype("float32")
assert np.allclose(
    np.asarray(keras.layers.GlobalAveragePooling2D()(feat)), feat.mean(axis=(1, 2)), atol=1e-5
)

# %%
fig = new_figure((8, 2.8))
panels = [
    ("input", imgs[0, :, :, 0]),
    ("conv + ReLU (ch 0)", fm[0, :, :, 0]),
    ("2x2 max pool", pooled[0, :, :, 0]),
    ("2x2 avg pool", AvgPooling(2).forward(fm)[0, :, :, 0]),
]
for i, (title, arr) in enumerate(panels):
    ax = fig.add_subplot(1, 4, i + 1)
    ax.imshow(arr, cmap="gray")
    ax.set_title(f"{title}\n{arr.shape[0]}x{arr.shape[1]}", fontsize=8)
    ax.axis("off")
print("saved", save_figure(fig, OUT / "pooling.png"))

# %% [markdown]
# Next: put convolution, pooling and dense layers together into LeNet (lesson 05).
