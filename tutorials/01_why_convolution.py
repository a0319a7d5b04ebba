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
# A convolution fixes both: one small kernel is **shared** by every position (parameters
# independent of image size), and shifting the input shifts the output (**translation
# equivariance**). This lesson measures both claims, then trains an MLP and a small CNN on
# real Fashion-MNIST images.
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
# A dense layer from an image of `H x W x C` pixels to `n` hidden units has
# `H*W*C*n + n` weights. A 3x3 convolution with `n` filters has `3*3*C*n + n`, whatever the
# image size. We count both with real Keras layers and compare with the formulas.


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
# map. The course writes the dense count as "192M": that is 192 binary mega (2^20), not 192
# million.

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
# (away from the border); a dense layer's output changes completely.

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

mlp = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ],
    name="mlp",
)
cnn = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ],
    name="cnn",
)

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
# With a small fraction of the MLP's weights the CNN is already competitive, and its
# weight count would not change for a 224x224 image, where the MLP's first layer would
# need 150 million weights. Next: how a convolution computes its outputs (lesson 02).
