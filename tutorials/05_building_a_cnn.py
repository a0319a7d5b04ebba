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
# # 05 · Building a CNN: LeNet-5 end to end
#
# LeNet-5 (LeCun et al., 1998) is the smallest network with all the parts of a modern CNN:
#
#     conv 6@5x5 pad 2 -> pool 2x2 -> conv 16@5x5 -> pool 2x2 -> dense 120 -> dense 84 -> dense 10
#
# We build it with `kerascnn.create_model("lenet")`, follow the shapes and the cost layer by
# layer (`kerascnn.analysis.profile`), train it on the embedded Fashion-MNIST subset (6,000
# real training images, 1,000 test images), look at what it learned, and save / reload it.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

import kerascnn
from kerascnn.analysis import calc, profile
from kerascnn.viz import (
    plot_confusion_matrix,
    plot_feature_maps,
    plot_kernels,
    plot_training_curves,
    save_figure,
    to_float,
)

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "05_building_a_cnn"
keras.utils.set_random_seed(0)

# %% [markdown]
# ## 1. Build and inspect

# %%
model = kerascnn.create_model("lenet", input_shape=(28, 28, 1), num_classes=10)
model.summary()
assert model.count_params() == 61_706  # d2l.ai's count for LeNet at 28x28x1, 10 classes

prof = profile(model)
print(prof.to_markdown())
assert prof.total_params == model.count_params()

# %% [markdown]
# The shapes follow the formula of lesson 02, $o = \lfloor (n + 2p - k)/s \rfloor + 1$:
# 28 -(conv 5, pad 2)-> 28 -(pool 2)-> 14 -(conv 5)-> 10 -(pool 2)-> 5; then
# $5 \cdot 5 \cdot 16 = 400$ features enter the dense layers. The parameters of a conv layer
# are $k^2 C_{\text{in}} C_{\text{out}} + C_{\text{out}}$ and of a dense layer
# $n_{\text{in}} n_{\text{out}} + n_{\text{out}}$; a conv layer's multiply-accumulates are
# $o^2 \cdot k^2 C_{\text{in}} C_{\text{out}}$ (one per weight per output position), so
# the first conv costs $28^2 \cdot 25 \cdot 1 \cdot 6 = 117{,}600$ MACs, and the first dense
# layer has $400 \cdot 120 + 120 = 48{,}120$ parameters.

# %%
n = 28
n = calc.conv_output_size(n, 5, p=2)
assert n == 28
n = calc.conv_output_size(n, 2, s=2)
assert n == 14
n = calc.conv_output_size(n, 5)
assert n == 10
n = calc.conv_output_size(n, 2, s=2)
assert n == 5
shapes = {layer.name: layer.output.shape[1:] for layer in model.layers}
assert shapes["lenet_pool2"] == (5, 5, 16) and shapes["lenet_flatten"] == (400,)
params = {layer.name: layer.count_params() for layer in model.layers}
assert params["lenet_conv1"] == calc.conv_params(1, 6, 5) == 156
assert params["lenet_conv2"] == calc.conv_params(6, 16, 5) == 2_416
assert params["lenet_fc1"] == 400 * 120 + 120 == 48_120  # 78% of all weights sit here
macs = {r.name: r.macs for r in prof.rows}
assert macs["lenet_conv1"] == calc.conv_macs((28, 28), 1, 6, 5) == 117_600
biggest_params = max(params, key=params.get)
biggest_macs = max(macs, key=macs.get)
print(
    f"most parameters: {biggest_params} ({params[biggest_params] / model.count_params():.0%}); "
    f"most compute: {biggest_macs} ({macs[biggest_macs] / prof.total_macs:.0%} of {prof.total_macs:,} MACs)"
)
assert (
    biggest_params == "lenet_fc1" and biggest_macs == "lenet_conv2"
)  # weights in dense, work in conv

# %% [markdown]
# ## 2. Train on real images
#
# Fast mode (`KERASCNN_FAST=1`): 2,000 images for 2 epochs. Full: all 6,000 for 10 epochs.

# %%
ds = kerascnn.load_dataset("fashion_mnist_mini")
print(ds)
n_train, epochs = (2000, 2) if FAST else (len(ds.x_train), 10)
x_train, y_train = to_float(ds.x_train[:n_train]), ds.y_train[:n_train]
x_test, y_test = to_float(ds.x_test), ds.y_test

model.compile(
    optimizer=keras.optimizers.Adam(2e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
chance = model.evaluate(x_test, y_test, verbose=0)[1]
t0 = time.perf_counter()
history = model.fit(
    x_train, y_train, epochs=epochs, batch_size=64, validation_data=(x_test, y_test), verbose=0
)
seconds = time.perf_counter() - t0
loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(
    f"test accuracy: before training {chance:.3f}, after {epochs} epochs on {n_train} images {acc:.3f} "
    f"({seconds:.1f} s)"
)
assert history.history["loss"][-1] < history.history["loss"][0]
assert acc > (0.6 if FAST else 0.8) and acc > chance + 0.4
print("saved", save_figure(plot_training_curves(history), OUT / "training_curves.png"))

# %% [markdown]
# ## 3. Which classes get confused?

# %%
pred = np.argmax(model.predict(x_test, verbose=0), axis=1)
cm = np.zeros((10, 10), dtype=int)
np.add.at(cm, (y_test, pred), 1)
per_class = cm.diagonal() / cm.sum(axis=1)
for name, a in sorted(zip(ds.class_names, per_class), key=lambda t: t[1]):
    print(f"{name:>12}: {a:.2f}")
worst = ds.class_names[int(np.argmin(per_class))]
print("hardest class:", worst)
assert np.isclose(per_class.mean(), acc, atol=0.02)  # the test set is balanced (100 per class)
print(
    "saved", save_figure(plot_confusion_matrix(y_test, pred, ds.class_names), OUT / "confusion.png")
)

# %% [markdown]
# ## 4. What did the first layer learn?

# %%
print("saved", save_figure(plot_kernels(model), OUT / "kernels.png"))
print("saved", save_figure(plot_feature_maps(model, ds.x_test[0]), OUT / "feature_maps.png"))
kernels = model.get_layer("lenet_conv1").get_weights()[0]
assert kernels.shape == (5, 5, 1, 6) and np.all(np.isfinite(kernels))

# %% [markdown]
# ## 5. Save and reload
#
# The `.keras` file holds architecture and weights; the reloaded model predicts the same.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "lenet.keras"
    model.save(path)
    again = keras.models.load_model(path)
    same = np.allclose(np.asarray(again(x_test[:100])), np.asarray(model(x_test[:100])), atol=1e-6)
    print(f"saved {path.stat().st_size / 1024:.0f} KiB; reloaded predictions identical: {same}")
    assert same

# %% [markdown]
# Next: the backward pass by hand, with the NumPy reference (lesson 06).

# %% [markdown]
# ## Exercises
#
# 1. **Every layer by formula.** Compute the parameters of LeNet's five weight layers with
#    the formulas of section 1, check each against Keras, and check that they add up to
#    61,706. What share sits in `lenet_fc1`?
# 2. **Five filters instead of six.** Change the first conv to 5 filters (and nothing else).
#    Predict the change in parameters and in MACs, layer by layer, then build the network
#    and check with `kerascnn.analysis.profile`. Which layers change, and why the second
#    conv too?
# 3. **Weights only.** Save only the trained weights (`model.save_weights`) and load them into
#    a freshly built LeNet. Are the predictions identical, bit for bit? And before loading?
# 4. **LeCun's 32x32.** The 1998 paper fed 32x32 images. Predict the parameter count of
#    `create_model("lenet", input_shape=(32, 32, 1))` and say which layer takes the whole
#    difference; check with Keras.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Every layer by formula
# Conv: $k^2 C_{\text{in}} C_{\text{out}} + C_{\text{out}}$; dense: $n_{\text{in}} n_{\text{out}} + n_{\text{out}}$.

# %% tags=["solution", "hide-cell"]
by_formula = {
    "lenet_conv1": 5 * 5 * 1 * 6 + 6,
    "lenet_conv2": 5 * 5 * 6 * 16 + 16,
    "lenet_fc1": 400 * 120 + 120,
    "lenet_fc2": 120 * 84 + 84,
    model.layers[-1].name: 84 * 10 + 10,  # the classifier
}
for name, count in by_formula.items():
    print(
        f"{name:>16}: {count:>6,} by formula, {model.get_layer(name).count_params():>6,} in Keras"
    )
    assert model.get_layer(name).count_params() == count
assert list(by_formula.values()) == [156, 2_416, 48_120, 10_164, 850]
assert sum(by_formula.values()) == model.count_params() == 61_706
assert round(100 * by_formula["lenet_fc1"] / 61_706) == 78  # pooling and flatten: 0


# %% [markdown]
# ### Exercise 2 · Five filters instead of six
# The first conv with 5 filters: parameters and MACs.


# %% tags=["solution", "hide-cell"]
# conv1: 5*5*1*5 + 5 = 130 (was 156) and 28*28*25*5 = 98,000 MACs (was 117,600).
# conv2 has C_in = 5 now: 5*5*5*16 + 16 = 2,016 (was 2,416) and 10*10*25*5*16 = 200,000 MACs
# (was 240,000). The dense layers see the same 400 features: unchanged.
def lenet_like(filters1):
    inp = keras.Input((28, 28, 1))
    t = keras.layers.Conv2D(filters1, 5, padding="same", activation="relu", name="c1")(inp)
    t = keras.layers.AveragePooling2D(2)(t)
    t = keras.layers.Conv2D(16, 5, activation="relu", name="c2")(t)
    t = keras.layers.AveragePooling2D(2)(t)
    t = keras.layers.Flatten()(t)
    t = keras.layers.Dense(120, activation="relu")(t)
    t = keras.layers.Dense(84, activation="relu")(t)
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax")(t))


six, five = profile(lenet_like(6)), profile(lenet_like(5))
rows6, rows5 = {r.name: r for r in six.rows}, {r.name: r for r in five.rows}
assert six.total_params == 61_706 and six.total_macs == prof.total_macs  # the replica is LeNet
assert rows5["c1"].trainable_params == 130 and rows5["c1"].macs == 98_000
assert rows5["c2"].trainable_params == 2_016 and rows5["c2"].macs == 200_000
assert six.total_params - five.total_params == (156 - 130) + (2_416 - 2_016) == 426
assert six.total_macs - five.total_macs == (117_600 - 98_000) + (240_000 - 200_000) == 59_600
print(
    f"6 -> 5 filters: params {six.total_params:,} -> {five.total_params:,}, "
    f"MACs {six.total_macs:,} -> {five.total_macs:,} ({five.total_macs / six.total_macs:.1%})"
)

# %% [markdown]
# ### Exercise 3 · Weights only
# `save_weights` into a fresh LeNet: identical predictions?

# %% tags=["solution", "hide-cell"]
# A weights file holds the arrays, not the architecture: it loads into any model with the same
# layers. Same weights + same computation = the same float32 results, bit for bit. A fresh
# model (new random weights) predicts differently before loading.
fresh = kerascnn.create_model("lenet", input_shape=(28, 28, 1), num_classes=10)
before = np.asarray(fresh(x_test[:100]))
with tempfile.TemporaryDirectory() as tmp:
    weights_path = Path(tmp) / "lenet.weights.h5"
    model.save_weights(weights_path)
    fresh.load_weights(weights_path)
after, trained = np.asarray(fresh(x_test[:100])), np.asarray(model(x_test[:100]))
assert not np.allclose(before, trained, atol=1e-3)
assert np.array_equal(after, trained)
assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), model.get_weights()))
print("predictions after load_weights identical bit for bit:", np.array_equal(after, trained))

# %% [markdown]
# ### Exercise 4 · LeCun's 32x32
# The parameter count at 32x32x1.

# %% tags=["solution", "hide-cell"]
# 32 -(conv 5, "same")-> 32 -(pool)-> 16 -(conv 5)-> 12 -(pool)-> 6: 6*6*16 = 576 features
# instead of 400. The convs do not change; fc1 grows by (576 - 400) * 120 = 21,120.
lenet32 = kerascnn.create_model("lenet", input_shape=(32, 32, 1), num_classes=10)
assert lenet32.get_layer("lenet_flatten").output.shape[1:] == (576,)
assert lenet32.get_layer("lenet_fc1").count_params() == 576 * 120 + 120 == 69_240
assert lenet32.count_params() == 61_706 + (576 - 400) * 120 == 82_826
print(f"LeNet at 32x32: {lenet32.count_params():,} parameters (+{82_826 - 61_706:,}, all in fc1)")
