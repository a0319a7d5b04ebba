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
# The shapes follow the formula of lesson 02, `out = floor((n + 2p - k) / s) + 1`:
# 28 -(conv 5, pad 2)-> 28 -(pool 2)-> 14 -(conv 5)-> 10 -(pool 2)-> 5; then 5*5*16 = 400
# features enter the dense layers. The parameters of each layer follow `k*k*C_in*C_out + C_out`.

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
