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
# # 01 · Why convolution?
#
# A fully connected layer (an MLP) connects every input pixel to every hidden unit. That is
# fine for a 28x28 digit and hopeless for a photo: the weights grow with the number of
# pixels, and the layer has no idea that neighbouring pixels belong together or that a shoe
# is still a shoe when it moves three pixels to the right.
#
# A convolution fixes both: one small kernel is **shared** by every position (its parameters
# do not depend on the image size), and shifting the input shifts the output (**translation
# equivariance**). This lesson measures both claims, trains an MLP and a small CNN on real
# Fashion-MNIST images, and then checks which parts of that CNN really stay the same size
# when the image grows (section 4: its Flatten -> Dense head does not).
#
# Run it: `python tutorials/01_why_convolution.py` (add `KERASCNN_FAST=1` for a quick pass),
# or open it as a notebook with jupytext.

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
from kerascnn.viz import new_figure, save_figure, to_float

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "01_why_convolution"
keras.utils.set_random_seed(0)
print("fast mode:", FAST, "| figures go to", OUT)

# %% [markdown]
# ## 1. The parameter explosion
#
# A dense layer from an image of $H \times W \times C$ values to $n$ hidden units has one
# weight per (input value, unit) pair plus one bias per unit; a $k \times k$ convolution with
# $n$ filters has one $k \times k \times C$ kernel and one bias per filter:
#
# $$P_{\text{dense}} = H W C \cdot n + n, \qquad P_{\text{conv}} = k^2 C \cdot n + n$$
#
# There is no $H$ or $W$ in $P_{\text{conv}}$. We count both with real Keras layers
# ($n = 1000$ hidden units, 64 filters of $3 \times 3$) and compare with the formulas.


# %%
def dense_params(image_shape, units):
    m = keras.Sequential(
        [keras.Input(image_shape), keras.layers.Flatten(), keras.layers.Dense(units)]
    )
    return m.count_params()


def conv_params(image_shape, filters, k=3):
    m = keras.Sequential([keras.Input(image_shape), keras.layers.Conv2D(filters, k)])
    return m.count_params()


HIDDEN = 1000
rows = []
for shape in [(28, 28, 1), (32, 32, 3), (64, 64, 3), (224, 224, 3)]:
    formula = int(np.prod(shape)) * HIDDEN + HIDDEN
    if np.prod(shape) <= 64 * 64 * 3:
        # a real Keras layer agrees with the formula (the 224x224 one would allocate 600 MB)
        assert dense_params(shape, HIDDEN) == formula
    conv = conv_params(shape, 64)
    assert (
        conv == calc.conv_params(shape[-1], 64, 3) == 3 * 3 * shape[-1] * 64 + 64
    )  # no H or W in it
    rows.append((shape, formula, conv))
    print(
        f"{str(shape):>14}: dense->{HIDDEN}: {formula:>13,} params | conv 64@3x3: {conv:>5,} params"
    )

mlp_224 = rows[-1][1]
assert mlp_224 > 150_000_000  # one layer, before any learning: > 150 million weights
print(
    f"\nOne dense layer on a 224x224 RGB photo: {mlp_224 / 1e6:.1f} M weights, "
    f"{mlp_224 * 4 / 2**20:.0f} MiB of float32."
)

# %% [markdown]
# The same comparison between two feature maps: a 32x32x3 image fully connected to a 32x32x64
# map (every output value sees every input value) against a 5x5 convolution producing the same
# map: $(32 \cdot 32 \cdot 3) \times (32 \cdot 32 \cdot 64) = 201{,}326{,}592$ weights against
# $5 \cdot 5 \cdot 3 \cdot 64 = 4{,}800$. The course writes the dense count as "192M": that is
# $192 \times 2^{20}$ (binary mega), not 192 million.

# %%
fc_weights = (32 * 32 * 3) * (32 * 32 * 64)  # weights only, no biases
conv5 = keras.layers.Conv2D(64, 5, padding="same", use_bias=False)
conv5.build((None, 32, 32, 3))
assert fc_weights == 201_326_592 == 192 * 2**20  # "192M" in binary mega
assert conv5.count_params() == 5 * 5 * 3 * 64 == 4_800
print(
    f"32x32x3 -> 32x32x64: fully connected {fc_weights:,} weights ({fc_weights / 2**20:.0f} Mi, "
    f"{fc_weights / 1e6:.1f} M), a 5x5 conv {conv5.count_params():,}: "
    f"{fc_weights // conv5.count_params():,}x fewer"
)

# %%
fig = new_figure((6, 3.5))
ax = fig.add_subplot(111)
pixels = [int(np.prod(s)) for s, _, _ in rows]
ax.loglog(pixels, [d for _, d, _ in rows], "o-", label=f"Dense({HIDDEN})")
ax.loglog(pixels, [c for _, _, c in rows], "s-", label="Conv2D(64, 3x3)")
ax.set_xlabel("input values (H x W x C)")
ax.set_ylabel("parameters")
ax.set_title("Dense weights grow with the image; conv weights do not")
ax.legend()
print("saved", save_figure(fig, OUT / "params_vs_image_size.png"))

# %% [markdown]
# ## 2. Translation equivariance
#
# Shift an image right by 3 pixels. A convolution's output shifts by exactly 3 pixels too
# (away from the border):
#
# $$\operatorname{conv}(\operatorname{shift}(x)) = \operatorname{shift}(\operatorname{conv}(x))$$
#
# A dense layer's output changes completely.

# %%
ds = kerascnn.load_dataset("fashion_mnist_mini")
image = to_float(ds.x_test[:1])  # (1, 28, 28, 1): a real test image
shifted = np.roll(image, 3, axis=2)  # 3 px to the right (its border is black)

conv = keras.layers.Conv2D(8, 3, padding="same")
y, y_shift = np.asarray(conv(image)), np.asarray(conv(shifted))
conv_gap = np.abs(np.roll(y, 3, axis=2) - y_shift)[:, :, 4:-4].max()  # interior columns
print("conv: max |shift(conv(x)) - conv(shift(x))| =", conv_gap)
assert conv_gap < 1e-5

dense = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(28 * 28 * 8)])
d, d_shift = np.asarray(dense(image)), np.asarray(dense(shifted))
dense_change = np.abs(d - d_shift).mean() / np.abs(d).mean()
print(f"dense: the output changes by {dense_change:.0%} of its typical size for a 3-pixel shift")
assert dense_change > 0.5

# %% [markdown]
# ## 3. Does it matter for accuracy?
#
# Train a one-hidden-layer MLP and a small CNN with far fewer parameters on the embedded
# Fashion-MNIST subset (real images, 10 classes), with the same optimizer and budget.

# %%
n_train = 2000 if FAST else len(ds.x_train)
epochs = 2 if FAST else 8
x_train, y_train = to_float(ds.x_train[:n_train]), ds.y_train[:n_train]
x_test, y_test = to_float(ds.x_test), ds.y_test


def make_mlp(shape=(28, 28, 1)):
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="mlp",
    )


def make_cnn(shape=(28, 28, 1), head="flatten"):
    pool = keras.layers.Flatten() if head == "flatten" else keras.layers.GlobalAveragePooling2D()
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            pool,
            keras.layers.Dense(10, activation="softmax"),
        ],
        name="cnn",
    )


mlp, cnn = make_mlp(), make_cnn()

results = {}
for model in (mlp, cnn):
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    acc = model.evaluate(x_test, y_test, verbose=0)[1]
    results[model.name] = (model.count_params(), acc)
    print(f"{model.name}: {model.count_params():>7,} params, test accuracy {acc:.3f}")

ratio = results["mlp"][0] / results["cnn"][0]
print(f"The MLP has {ratio:.0f}x more parameters than the CNN.")
assert ratio > 15
assert results["cnn"][1] > 0.55 and results["mlp"][1] > 0.55  # chance is 0.10
assert results["cnn"][1] > results["mlp"][1] - 0.1  # competitive with 1/20 of the weights

# %% [markdown]
# With a small fraction of the MLP's weights the CNN is already competitive.
#
# ## 4. Which weights grow with the image?
#
# Section 1 said a convolution's parameters do not depend on the image size. That is true of
# the two conv layers of this CNN, not of the whole network: its `Flatten -> Dense(10)` head
# has one weight per flattened value and class, and the flattened map grows with the image.
# Along each axis the map goes
#
# $$n \to n - 2 \to \lfloor (n-2)/2 \rfloor = m_1 \to m_1 - 2 \to \lfloor (m_1 - 2)/2 \rfloor = m$$
#
# so
#
# $$P_{\text{CNN}}(n) = (9 \cdot 1 \cdot 8 + 8) + (9 \cdot 8 \cdot 16 + 16) + 16 m^2 \cdot 10 + 10 = 1{,}248 + 160 m^2 + 10$$
#
# where the first two terms, the convolutions, are the only ones without $n$ in them.
# We rebuild both networks for a 224x224 grey image and let Keras count.

# %%
conv_part = sum(
    layer.count_params() for layer in cnn.layers if isinstance(layer, keras.layers.Conv2D)
)
cnn_224, mlp_224_gray = make_cnn((224, 224, 1)), make_mlp((224, 224, 1))
m224 = ((224 - 2) // 2 - 2) // 2
print(
    f"CNN: {cnn.count_params():,} params at 28x28 -> {cnn_224.count_params():,} at 224x224 "
    f"(convs {conv_part:,} both times; the flattened map is {m224}x{m224}x16)"
)
print(
    f"MLP (128 hidden units): {mlp.count_params():,} -> {mlp_224_gray.count_params():,}; "
    f"its first layer on a 224x224 RGB photo: {calc.conv_params(224 * 224 * 3, 128, 1):,}"
)
assert conv_part == 9 * 1 * 8 + 8 + 9 * 8 * 16 + 16 == 1_248
assert cnn.count_params() == 5_258 and m224 == 54
assert cnn_224.count_params() == conv_part + 16 * m224**2 * 10 + 10 == 467_818  # ~89x more
assert mlp_224_gray.count_params() == 224 * 224 * 128 + 128 + 128 * 10 + 10 == 6_423_946
# the "150 million" of section 1 is a 1,000-unit layer on RGB, not this 128-unit MLP:
assert mlp_224 == 224 * 224 * 3 * 1000 + 1000 == 150_529_000
assert calc.conv_params(224 * 224 * 3, 128, 1) == 224 * 224 * 3 * 128 + 128 == 19_267_712
assert mlp.count_params() == 784 * 128 + 128 + 128 * 10 + 10 == 101_770
assert round(cnn_224.count_params() / cnn.count_params()) == 89

# %% [markdown]
# So the honest statement: at 224x224 the CNN's convolutions still have 1,248 weights, but its
# `Flatten -> Dense` head takes it from 5,258 to 467,818 parameters (about 89 times more). The
# MLP of section 3 grows from 101,770 to 6,423,946 on a grey 224x224 image (its first layer
# alone would need 19,267,712 weights on an RGB one); the 150.5 million of section 1 is a
# 1,000-unit layer on an RGB photo. A network whose weights truly do not depend on the image
# size replaces `Flatten` by global average pooling (lesson 04, and exercise 3 below).
# Next: how a convolution computes its outputs (lesson 02).

# %% [markdown]
# ## Exercises
#
# 1. **Another image size.** A 48x48 RGB image goes into `Dense(256)` or into
#    `Conv2D(32, 5)`. Predict both parameter counts with the formulas of section 1, then let
#    Keras count them. How many times larger is the dense layer?
# 2. **Stride 2 breaks equivariance.** Give the convolution of section 2 `strides=2`. Shift
#    the image by 2 pixels, then by 1 pixel. For which shift is the output still a shifted
#    copy of the original output? Measure the mismatch for both.
# 3. **A head that does not grow.** Replace the CNN's `Flatten` by
#    `GlobalAveragePooling2D` (`make_cnn(head="gap")`). Predict its parameter count at 28x28
#    and at 224x224 and check them against Keras.
# 4. **When does the CNN overtake the MLP?** The CNN of section 3 has 5,258 parameters at
#    28x28, the MLP 101,770. Using $P_{\text{CNN}}(n)$ from section 4, find the smallest
#    square image side $n$ at which the CNN has more parameters than the 28x28 MLP, and
#    confirm it with Keras at $n - 1$ and $n$.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Another image size
# Dense(256) and Conv2D(32, 5) on a 48x48x3 image: parameters by formula and by Keras.

# %% tags=["solution", "hide-cell"]
# Dense: H*W*C*n + n = 48*48*3*256 + 256. Conv: k*k*C*n + n = 5*5*3*32 + 32; no 48 in it.
dense_48 = 48 * 48 * 3 * 256 + 256
conv_48 = 5 * 5 * 3 * 32 + 32
print(f"dense {dense_48:,} | conv {conv_48:,} | ratio {dense_48 / conv_48:.0f}x")
assert dense_params((48, 48, 3), 256) == dense_48 == 1_769_728
assert conv_params((48, 48, 3), 32, k=5) == conv_48 == 2_432
assert conv_params((480, 480, 3), 32, k=5) == conv_48  # ten times the side, same conv
assert round(dense_48 / conv_48) == 728

# %% [markdown]
# ### Exercise 2 · Stride 2 breaks equivariance
# With `strides=2`, which input shifts (2 px, 1 px) still give a shifted output?

# %% tags=["solution", "hide-cell"]
# A stride-2 output sample sits on every second input column. Shifting the input by 2 moves
# every window onto the next output column: an exact shift by 1. Shifting by 1 puts the
# windows half-way between the old ones: no output shift reproduces it.
conv_s2 = keras.layers.Conv2D(8, 3, strides=2, padding="same")
y2 = np.asarray(conv_s2(image))  # (1, 14, 14, 8)


def best_mismatch(shift):
    """The smallest relative gap over all integer output shifts, interior columns only."""
    y_shifted = np.asarray(conv_s2(np.roll(image, shift, axis=2)))
    gaps = [np.abs(np.roll(y2, j, axis=2) - y_shifted)[:, :, 3:-3].max() for j in range(-3, 4)]
    return min(gaps) / np.abs(y2).max()


gap_by_2, gap_by_1 = best_mismatch(2), best_mismatch(1)
print(f"relative mismatch: shift by 2 px {gap_by_2:.1e}, shift by 1 px {gap_by_1:.2f}")
assert gap_by_2 < 1e-5  # still equivariant, at half the resolution
assert gap_by_1 > 0.1  # no output shift matches: equivariance only for multiples of the stride

# %% [markdown]
# ### Exercise 3 · A head that does not grow
# `make_cnn(head="gap")` at 28x28 and at 224x224.

# %% tags=["solution", "hide-cell"]
# Global average pooling leaves one value per channel whatever the map size: 16 values, so
# the head is 16*10 + 10 = 170 weights and the total is 1,248 + 170 at any size.
gap_28, gap_224 = make_cnn((28, 28, 1), head="gap"), make_cnn((224, 224, 1), head="gap")
print(f"GAP head: {gap_28.count_params():,} at 28x28, {gap_224.count_params():,} at 224x224")
assert gap_28.count_params() == gap_224.count_params() == conv_part + 16 * 10 + 10 == 1_418

# %% [markdown]
# ### Exercise 4 · When does the CNN overtake the MLP?
# The smallest side $n$ with $P_{\text{CNN}}(n) > 101{,}770$.


# %% tags=["solution", "hide-cell"]
# 1,248 + 160 m^2 + 10 > 101,770 needs m^2 > 628.2, so m >= 26 (25^2 = 625 is not enough).
# m = floor((floor((n - 2) / 2) - 2) / 2) >= 26 needs floor((n - 2) / 2) >= 54, so n >= 110.
def cnn_formula(n):
    m = ((n - 2) // 2 - 2) // 2
    return conv_part + 160 * m**2 + 10


target = mlp.count_params()
side = next(n for n in range(28, 400) if cnn_formula(n) > target)
below, at = (
    make_cnn((side - 1, side - 1, 1)).count_params(),
    make_cnn((side, side, 1)).count_params(),
)
print(f"n = {side}: CNN {at:,} > MLP {target:,}; at n = {side - 1} the CNN has {below:,}")
assert side == 110
assert below == cnn_formula(side - 1) <= target < at == cnn_formula(side)
