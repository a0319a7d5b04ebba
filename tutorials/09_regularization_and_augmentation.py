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
# # 09 · Regularization and data augmentation
#
# With few training images a CNN memorises them: training accuracy climbs, test accuracy
# stalls, and the gap between them is *overfitting*. Three standard remedies:
#
# * **weight decay**: add `lambda * sum(w^2)` to the loss, pulling weights towards zero;
# * **dropout**: during training, zero each unit with probability p (and scale the rest by
#   1 / (1 - p) so the expected value is unchanged); at test time do nothing;
# * **data augmentation**: train on randomly flipped / shifted / rotated / erased copies.
#
# We check what each one does mechanically in Keras, then measure them on 300 images with
# `kerascnn experiment overfitting`.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
from pathlib import Path

import keras
import numpy as np

from kerascnn.data import load_dataset
from kerascnn.experiments import run_experiment
from kerascnn.experiments._common import tiny_convnet
from kerascnn.viz import default_augmentations, plot_augmentations

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "09_regularization_and_augmentation"
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Weight decay is a term in the loss
# A Keras `kernel_regularizer=L2(lambda)` adds `lambda * sum(w^2)` per kernel; `model.losses`
# holds those terms and `fit` adds them to the data loss.

# %%
lam = 1e-3
model = tiny_convnet((28, 28, 1), 10, l2=lam)
penalty = float(sum(keras.ops.convert_to_numpy(term) for term in model.losses))
by_hand = lam * sum(
    float(np.sum(np.square(w.numpy()))) for w in model.weights if "kernel" in w.path
)
print(f"L2 penalty from Keras {penalty:.6f}, by hand {by_hand:.6f} ({len(model.losses)} kernels)")
assert abs(penalty - by_hand) < 1e-6 * max(1.0, by_hand)

# %% [markdown]
# ## 2. Dropout: random zeros in training, identity at test time

# %%
p = 0.5
drop = keras.layers.Dropout(p, seed=0)
x = np.ones((1, 10_000), "float32")
train_out = np.asarray(drop(x, training=True))
test_out = np.asarray(drop(x, training=False))
zero_fraction = float((train_out == 0).mean())
print(
    f"training: {100 * zero_fraction:.1f}% zeros, the rest = {train_out[train_out > 0][0]:.1f}, mean {train_out.mean():.3f}; "
    f"inference: unchanged = {np.array_equal(test_out, x)}"
)
assert set(np.unique(train_out)) <= {0.0, 1 / (1 - p)}
assert abs(zero_fraction - p) < 0.03 and abs(train_out.mean() - 1.0) < 0.06
assert np.array_equal(test_out, x)

# %% [markdown]
# ## 3. Augmentation with Keras preprocessing layers
# The layers are random in training and the identity at inference, so they can sit at the
# start of the model (they then run on the accelerator, batch by batch).

# %%
ds = load_dataset("fashion_mnist_mini")
images = ds.x_test[:4].astype("float32") / 255.0
fig = plot_augmentations(images, path=OUT / "augmentations.png")
augs = default_augmentations(seed=0)
assert len(fig.axes) == 4 * (1 + len(augs))
flipped = np.asarray(augs["flip"](images, training=True))
for original, out in zip(images, flipped):  # each image is either unchanged or exactly mirrored
    assert np.allclose(out, original, atol=1e-6) or np.allclose(out, original[:, ::-1], atol=1e-6)
for name, layer in augs.items():  # every augmentation is the identity at inference
    assert np.allclose(np.asarray(layer(images, training=False)), images, atol=1e-6), name
print("augmentations:", ", ".join(augs), "- identity at inference: checked")

# %% [markdown]
# ## 4. Measured: 300 training images, baseline vs weight decay vs dropout
# `run_experiment("overfitting")` trains the same conv net three ways and writes a report
# (README.md table, plot, results.json). Fast mode trains 3 epochs, the full run 60.

# %%
result = run_experiment("overfitting", OUT / "overfitting", fast=FAST, seed=0)
print((OUT / "overfitting" / "README.md").read_text().split("## Findings")[0].split("\n\n")[-2])
for finding in result.findings:
    print("-", finding)
for row in result.rows:
    assert abs(row["gap (train - test)"] - (row["train accuracy"] - row["test accuracy"])) < 1e-12
if not FAST:  # 60 epochs on 300 images: the plain network memorises its training set
    base = result.rows[0]
    assert base["train accuracy"] > 0.95 and base["gap (train - test)"] > 0.1, base
