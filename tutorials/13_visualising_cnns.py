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
# # 13 · Visualising what CNNs learn
#
# Four windows into a trained network (LeNet on the embedded Fashion-MNIST subset):
#
# 1. the **first-layer kernels**: the only weights that live in pixel space;
# 2. the **feature maps** of every conv layer for one image;
# 3. the images that excite one **channel** most;
# 4. the **confusion matrix**: which classes the network mixes up.
#
# All pictures come from `kerascnn.viz` (also on the command line: `kerascnn viz kernels`,
# `kerascnn viz feature-maps`, `kerascnn viz confusion`).

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
from pathlib import Path

import keras
import numpy as np

from kerascnn import viz
from kerascnn.analysis import profile

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "13_visualising_cnns"

# %% [markdown]
# ## 0. Train LeNet (a few seconds in fast mode)
# `viz.train_quick` builds the registry's `lenet` and fits it with Adam. We keep the random
# initial kernels to compare.

# %%
untrained, ds, _ = viz.train_quick("lenet", epochs=0, seed=0)
k0 = viz.first_conv_layer(untrained).get_weights()[0]
model, ds, history = viz.train_quick(
    "lenet", epochs=1 if FAST else 8, samples=1500 if FAST else None, seed=0
)
k1 = viz.first_conv_layer(model).get_weights()[0]
x_test, y_test = viz.to_float(ds.x_test), ds.y_test
print(f"test accuracy after {len(history['loss'])} epoch(s): {history['val_accuracy'][-1]:.3f}")
viz.plot_training_curves(history, path=OUT / "curves.png")

# %% [markdown]
# ## 1. First-layer kernels, before and after training
# Same seed, so the same starting kernels: training moved every one of them.

# %%
assert k0.shape == k1.shape == (5, 5, 1, 6)
change = np.abs(k1 - k0).mean(axis=(0, 1, 2)) / np.abs(k0).mean(axis=(0, 1, 2))
print("relative change of each kernel:", np.round(change, 3))
assert (change > 0).all()
fig = viz.plot_kernels(k0, path=OUT / "kernels_init.png", title="conv1 kernels at initialisation")
fig = viz.plot_kernels(model, path=OUT / "kernels_trained.png")
assert len(fig.axes) == 6 + 1  # six kernels and the colorbar of their signed weights

# %% [markdown]
# ## 2. Feature maps of every conv layer for one image
# The first layer still looks like the image (edges, filled regions); the second layer's
# maps are smaller (after pooling) and more abstract. Their shapes are the ones the profile
# predicts.

# %%
index = int(np.flatnonzero(y_test == 9)[0])  # an ankle boot
fig = viz.plot_feature_maps(model, ds.x_test[index], path=OUT / "feature_maps.png")
prof = profile(model)
conv_shapes = [tuple(r.output_shape) for r in prof.rows if r.type == "Conv2D"]
probe = keras.Model(model.inputs[0], [la.output for la in viz.conv_layers(model)])
maps = probe(x_test[index : index + 1])
print("conv output shapes:", [tuple(m.shape[1:]) for m in maps], "profile:", conv_shapes)
assert [tuple(m.shape[1:]) for m in maps] == conv_shapes == [(28, 28, 6), (10, 10, 16)]
assert len(fig.axes) == 1 + 6 + 8 + 2  # input, conv1, conv2 (first 8 of 16), a colorbar per row

# %% [markdown]
# ## 3. What excites one channel?
# Rank the test images by the mean activation of one conv2 channel and show the top 8.

# %%
channel = 0
acts = np.concatenate(
    [
        np.asarray(probe(x_test[i : i + 500])[1])[..., channel].mean(axis=(1, 2))
        for i in range(0, len(x_test), 500)
    ]
)
top = np.argsort(acts)[::-1][:8]
assert np.all(np.diff(acts[top]) <= 0)
classes, counts = np.unique(y_test[top], return_counts=True)
print(
    f"conv2 channel {channel}: top-8 images are of classes",
    {ds.class_names[c]: int(n) for c, n in zip(classes, counts)},
)
fig = viz.new_figure((9, 1.6))
axes = fig.subplots(1, 8)
for ax, i in zip(axes, top):
    ax.imshow(x_test[i, ..., 0], cmap="gray")
    ax.set_title(f"{ds.class_names[y_test[i]]}\n{acts[i]:.2f}", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
viz.save_figure(fig, OUT / "top_images_channel0.png")

# %% [markdown]
# ## 4. The confusion matrix
# Its diagonal over its total is the accuracy (we check it against `model.evaluate`); the
# largest off-diagonal cell is the pair of classes the network confuses most.

# %%
scores = np.asarray(model.predict(x_test, verbose=0))
cm = viz.confusion_matrix(y_test, scores, ds.num_classes)
_, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"trace / total = {np.trace(cm) / cm.sum():.4f}; model.evaluate accuracy = {acc:.4f}")
assert abs(np.trace(cm) / cm.sum() - acc) < 1e-6 and cm.sum() == len(y_test)
off = cm - np.diag(np.diag(cm))
t, p = np.unravel_index(off.argmax(), off.shape)
print(
    f"most frequent mistake: {ds.class_names[t]} predicted as {ds.class_names[p]} ({off[t, p]} of "
    f"{cm[t].sum()} test images)"
)
fig = viz.plot_confusion_matrix(y_test, scores, ds.class_names, path=OUT / "confusion.png")
print("figures in", OUT)
