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
# Pooling summarises each window of a feature map by one number: its maximum or its mean,
# channel by channel:
#
# $$y_{ijc} = \max_{0 \le u, v < k} x_{si+u,\, sj+v,\, c} \qquad \text{or} \qquad y_{ijc} = \frac{1}{k^2} \sum_{u=0}^{k-1} \sum_{v=0}^{k-1} x_{si+u,\, sj+v,\, c}$$
#
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
# Pooling uses the convolution size formula, usually without padding:
# $o = \lfloor (n - k)/s \rfloor + 1$. AlexNet's overlapping 3x3/2 pooling takes
# 55 -> 27 -> 13 -> 6 (for 55: $\lfloor 52/2 \rfloor + 1 = 27$); a "same" 2x2/2 pool halves,
# rounding up: $o = \lceil n/2 \rceil$.

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
# its window: $\partial y / \partial x_{uv}$ is 1 for the maximum and 0 for every other
# input. Average pooling spreads it evenly:
#
# $$\frac{\partial y_{\text{avg}}}{\partial x_{uv}} = \frac{1}{k^2}$$

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
# Global average pooling keeps one number per channel, $y_c = \frac{1}{HW} \sum_{i,j} x_{ijc}$.
# A classifier head with $n$ outputs on an $H \times W \times C$ map therefore has
#
# $$P_{\text{flatten}} = H W C \cdot n + n \qquad \text{against} \qquad P_{\text{GAP}} = C \cdot n + n$$
#
# On a 7x7x512 feature map (VGG-style): flatten -> dense 4096 needs
# $7 \cdot 7 \cdot 512 \cdot 4096 + 4096 = 102{,}764{,}544$ weights; global average pooling ->
# dense 10 (NiN, ResNet) needs $512 \cdot 10 + 10 = 5{,}130$.

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
assert flat_params == 7 * 7 * 512 * 4096 + 4096 == 102_764_544
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

# %% [markdown]
# ## Exercises
#
# 1. **A tie.** In the 4x4 map `[[5, 5, 1, 0], [1, 2, 3, 3], [0, 7, 2, 2], [7, 1, 2, 2]]`
#    every 2x2 window has a tied maximum. Where does the gradient of the summed
#    2x2/2 max-pool output go, in Keras (TensorFlow) and in our NumPy reference? How much
#    gradient does each window pass back in total?
# 2. **A chain of sizes.** A 32x32x3 input goes through: 3x3 conv `"same"`, 2x2/2 max pool,
#    5x5 conv `"valid"`, 3x3/2 max pool, 3x3 conv `"valid"`. Predict the side after each
#    layer, then check with a Keras model.
# 3. **GAP against flatten for ImageNet.** A ResNet-style 7x7x512 map feeds a 1,000-class
#    classifier. Count the parameters of a `Flatten -> Dense(1000)` head and of a
#    `GlobalAveragePooling2D -> Dense(1000)` head. What is their ratio close to, and why?
# 4. **Average pooling is a convolution, max pooling is not.** Show that `AveragePooling2D(2)`
#    equals a `DepthwiseConv2D` with fixed weights (which?), and find two maps $a$, $b$ for
#    which max pooling is not linear:
#    $\operatorname{pool}(a + b) \ne \operatorname{pool}(a) + \operatorname{pool}(b)$.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · A tie
# Gradient routing through a 2x2/2 max pool when a window's maximum is not unique.

# %% tags=["solution", "hide-cell"]
# The maximum is not differentiable at a tie; any split of the gradient among the tied inputs
# is a valid subgradient. Both implementations pick one: the first maximum in row-major
# order, so each window passes back exactly its output's gradient (1 here), never more.
import tensorflow as tf  # Keras' default backend; used here only for GradientTape

tie = np.array([[5, 5, 1, 0], [1, 2, 3, 3], [0, 7, 2, 2], [7, 1, 2, 2]], dtype="float32")[
    None, :, :, None
]
tie_t = tf.constant(tie)
with tf.GradientTape() as tape:
    tape.watch(tie_t)
    total = tf.reduce_sum(keras.layers.MaxPooling2D(2)(tie_t))
grad_keras = tape.gradient(total, tie_t).numpy()[0, :, :, 0]
mp_tie = MaxPooling(2)
mp_tie.forward(tie)
grad_ours = mp_tie.backward(np.ones((1, 2, 2, 1), "float32"))[0, :, :, 0]
print("gradient (Keras):\n", grad_keras)
first_max = np.zeros((4, 4), "float32")
for i in (0, 2):
    for j in (0, 2):
        u, v = np.unravel_index(np.argmax(tie[0, i : i + 2, j : j + 2, 0]), (2, 2))  # first max
        first_max[i + u, j + v] = 1
assert np.array_equal(grad_keras, first_max) and np.array_equal(grad_ours, first_max)
assert first_max[0, 0] == 1 and first_max[0, 1] == 0  # the two 5s: the left one takes it all
assert grad_keras.reshape(2, 2, 2, 2).sum(axis=(1, 3)).tolist() == [[1, 1], [1, 1]]

# %% [markdown]
# ### Exercise 2 · A chain of sizes
# 32 -> conv 3 same -> pool 2/2 -> conv 5 valid -> pool 3/2 -> conv 3 valid.

# %% tags=["solution", "hide-cell"]
# 32 -("same")-> 32 -> floor((32 - 2)/2) + 1 = 16 -> 16 - 5 + 1 = 12 -> floor((12 - 3)/2) + 1 = 5
# -> 5 - 3 + 1 = 3.
chain = keras.Sequential(
    [
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(8, 3, padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(8, 5),
        keras.layers.MaxPooling2D(3, strides=2),
        keras.layers.Conv2D(8, 3),
    ]
)
sides = [layer.output.shape[1] for layer in chain.layers]
by_formula, side = [], 32
for k, s, p in ((3, 1, "same"), (2, 2, "valid"), (5, 1, "valid"), (3, 2, "valid"), (3, 1, "valid")):
    side = calc.conv_output_size(side, k, s=s, p=p)
    by_formula.append(side)
print("sides:", " -> ".join(map(str, [32, *sides])))
assert sides == by_formula == [32, 16, 12, 5, 3]

# %% [markdown]
# ### Exercise 3 · GAP against flatten for ImageNet
# 7x7x512 -> 1,000 classes, two heads.

# %% tags=["solution", "hide-cell"]
# Flatten: 7*7*512*1000 + 1000; GAP: 512*1000 + 1000. The ratio (HWC n + n) / (C n + n) is just
# under H*W = 49: flatten keeps a separate weight for every position, GAP shares one.
flat_1000 = 7 * 7 * 512 * 1000 + 1000
gap_1000 = 512 * 1000 + 1000
print(f"flatten head {flat_1000:,} | GAP head {gap_1000:,} | ratio {flat_1000 / gap_1000:.2f}")
assert flat_1000 == calc.conv_params(512, 1000, 7) == 25_089_000
assert gap_1000 == 513_000 and 48.5 < flat_1000 / gap_1000 < 49
# the same formulas, checked on real Keras layers at a size that allocates little
for head in (keras.layers.Flatten(), keras.layers.GlobalAveragePooling2D()):
    small = keras.Sequential([keras.Input((7, 7, 16)), head, keras.layers.Dense(20)])
    want = (7 * 7 if isinstance(head, keras.layers.Flatten) else 1) * 16 * 20 + 20
    assert small.count_params() == want

# %% [markdown]
# ### Exercise 4 · Average pooling is a convolution, max pooling is not
# `AveragePooling2D(2)` as a `DepthwiseConv2D`, and a counterexample for max pooling.

# %% tags=["solution", "hide-cell"]
# Average pooling = a depthwise 2x2 conv, stride 2, every weight 1/4 (1/k^2), no bias: linear.
# Max pooling is not linear: a = [[1, 0], [0, 0]], b = [[0, 1], [0, 0]] pool to 1 each, but
# a + b = [[1, 1], [0, 0]] pools to 1, not 2.
avg_as_conv = keras.layers.DepthwiseConv2D(2, strides=2, use_bias=False)
avg_as_conv.build(fm.shape)
avg_as_conv.set_weights([np.full((2, 2, fm.shape[-1], 1), 0.25, "float32")])
assert np.allclose(
    np.asarray(avg_as_conv(fm)), np.asarray(keras.layers.AveragePooling2D(2)(fm)), atol=1e-6
)
a = np.array([[1, 0], [0, 0]], "float32")[None, :, :, None]
b = np.array([[0, 1], [0, 0]], "float32")[None, :, :, None]
max_pool = keras.layers.MaxPooling2D(2)
pool_sum, sum_pool = (
    float(max_pool(a + b)[0, 0, 0, 0]),
    float(max_pool(a)[0, 0, 0, 0] + max_pool(b)[0, 0, 0, 0]),
)
print(f"max pool: pool(a + b) = {pool_sum}, pool(a) + pool(b) = {sum_pool}")
assert pool_sum == 1 and sum_pool == 2
