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
# Same seed, so the same starting kernels: training moved every one of them. We measure the
# move of kernel $j$ relative to its size at initialisation,
#
# $$
# \Delta_j = \frac{\operatorname{mean} |K^{\mathrm{trained}}_j - K^{\mathrm{init}}_j|}{\operatorname{mean} |K^{\mathrm{init}}_j|}
# $$

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
# predicts, and the ones the output-size rule of lesson 03 gives,
# $n_{\mathrm{out}} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1$: conv1 is 5x5 with
# $p = 2$, so $28 \to 28$; after the 2x2 pool, conv2 ("valid", $p = 0$) maps $14 \to 14 - 5 + 1 = 10$.

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
# Rank the test images by the mean activation of one conv2 channel $c$ over its $H \times W$
# map, $a_i = \frac{1}{HW} \sum_{h,w} f_c(x_i)_{h,w}$, and show the top 8.

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
# Entry $C_{ij}$ counts the test images of true class $i$ predicted as class $j$. Its diagonal
# over its total is the accuracy,
#
# $$
# \text{accuracy} = \frac{\sum_{i} C_{ii}}{\sum_{i,j} C_{ij}}
# $$
#
# (we check it against `model.evaluate`); the largest off-diagonal cell is the pair of classes
# the network confuses most.

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

# %% [markdown]
# ## Exercises
#
# 1. **A kernel meets an edge.** Feed conv1 a synthetic image, dark (0) on the left half and
#    bright (1) on the right. Predict each channel's response across the edge from its kernel
#    alone (bias plus the column sums of the taps that land on the bright side), then check
#    the prediction against the trained layer's own output. Which kernels are vertical-edge
#    detectors, and which simply respond to brightness? Do the same for a horizontal edge.
# 2. **Row and column sums.** Before computing them: what do the row sums $\sum_j C_{ij}$ and
#    the column sums $\sum_i C_{ij}$ of the confusion matrix count? Check your answer, compute
#    every class's recall $C_{ii} / \sum_j C_{ij}$, and say when the mean recall equals the
#    accuracy.
# 3. **A larger input.** Build the registry's `lenet` for 32x32 images (LeNet-5's original
#    size). Predict every feature map's shape with
#    $\left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1$ and the parameter count that
#    changes, then check both against the profile and Keras.
# 4. **Confident mistakes.** Is the network less sure of itself when it is wrong? Compare the
#    mean top softmax probability of the correct and the wrong test predictions, and list the
#    classes of its five most confident mistakes.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · A kernel meets an edge
# Predict conv1's response to a vertical (then a horizontal) step edge from its kernels.

# %% tags=["solution", "hide-cell"]
# conv1 is a "same" 5x5 conv (p = 2): output column c reads input columns c - 2 .. c + 2. On
# the edge image every row is the same, so away from the top and bottom borders (rows 2..25,
# where no tap falls on the zero padding) the response at column c is the bias plus the sum
# of the kernel's columns j whose input column c + j - 2 lies on the bright side (14..27;
# beyond 27 is zero padding). Then ReLU, the layer's activation.
conv1 = viz.first_conv_layer(model)
kernel, bias = conv1.get_weights()  # (5, 5, 1, 6) and (6,)


def edge_response(tap_sums):
    """(5, channels) sums of the kernel along the edge -> (28, channels) response per column."""
    reads = np.arange(28)[:, None] + np.arange(5)[None, :] - 2  # input column of each tap
    bright = ((reads >= 14) & (reads < 28)).astype("float32")
    return bias + bright @ tap_sums


vertical = np.zeros((1, 28, 28, 1), "float32")
vertical[:, :, 14:] = 1.0  # columns 14..27 bright
predicted = edge_response(kernel[:, :, 0, :].sum(axis=0))  # column sums of each kernel
measured = np.asarray(probe(vertical)[0])[0]  # conv1's output (after its ReLU), (28, 28, 6)
assert np.allclose(measured[2:26], np.maximum(predicted, 0.0), atol=1e-5)

# The same for a horizontal edge (bright bottom half): the row sums take the columns' place.
horizontal = vertical.transpose(0, 2, 1, 3)
predicted_h = edge_response(kernel[:, :, 0, :].sum(axis=1))  # row sums, (5, 6)
measured_h = np.asarray(probe(horizontal)[0])[0]
assert np.allclose(measured_h[:, 2:26], np.maximum(predicted_h, 0.0)[:, None], atol=1e-5)

# Far from the edge the response is flat: the bias on the dark side, bias + sum(kernel) on
# the bright side; that step is the kernel's answer to brightness. Split each kernel into its
# mean (a flat kernel: brightness only) and the zero-mean rest: the rest answers 0 on both
# flat sides, so whatever it gives near the edge is the kernel's answer to the edge itself.
step = kernel.sum(axis=(0, 1, 2))
assert np.allclose(predicted[5], bias, atol=1e-6) and np.allclose(predicted[20] - bias, step)
rest = kernel[:, :, 0, :] - kernel[:, :, 0, :].mean(axis=(0, 1))
edge_v = edge_response(rest.sum(axis=0)) - bias  # (28, 6)
edge_h = edge_response(rest.sum(axis=1)) - bias
assert np.allclose(edge_v[[5, 20]], 0.0, atol=1e-6) and np.allclose(edge_h[[5, 20]], 0.0, atol=1e-6)
strength = np.stack([np.abs(step), np.abs(edge_v).max(axis=0), np.abs(edge_h).max(axis=0)])
print("kernel | brightness step | vertical-edge peak | horizontal-edge peak")
for j, (b_, v_, h_) in enumerate(strength.T):
    kind = "brightness" if b_ > max(v_, h_) else ("vertical" if v_ > h_ else "horizontal") + " edge"
    print(f"{j} | {b_:.2f} | {v_:.2f} | {h_:.2f} | mostly {kind}")

# %% [markdown]
# ### Exercise 2 · Row and column sums
# What do the row and column sums of the confusion matrix count?

# %% tags=["solution", "hide-cell"]
# Row i holds every test image of true class i, wherever it was predicted: its sum is the
# number of images of class i. Column j holds every image predicted as j: its sum is how
# often the network says j.
true_counts = np.bincount(y_test, minlength=ds.num_classes)
predicted_counts = np.bincount(scores.argmax(axis=1), minlength=ds.num_classes)
assert np.array_equal(cm.sum(axis=1), true_counts)
assert np.array_equal(cm.sum(axis=0), predicted_counts)
recall = np.diag(cm) / cm.sum(axis=1)
# The accuracy is sum_i C_ii / N = sum_i (n_i / N) recall_i: a weighted mean of the recalls,
# weighted by class size. The embedded test set has 100 images of every class, so the weights
# are equal and the plain mean of the recalls is the accuracy.
assert np.all(true_counts == 100)
assert abs(recall.mean() - np.trace(cm) / cm.sum()) < 1e-12
print(
    f"recall per class: {np.round(recall, 2)}; lowest: {ds.class_names[recall.argmin()]}; "
    f"predicted most often: {ds.class_names[predicted_counts.argmax()]} "
    f"({predicted_counts.max()} times for {true_counts[predicted_counts.argmax()]} images)"
)

# %% [markdown]
# ### Exercise 3 · A larger input
# LeNet at 32x32: predict the feature-map shapes and the parameter count.

# %% tags=["solution", "hide-cell"]
from kerascnn import create_model


def out_size(n, k, p=0, s=1):
    """floor((n + 2p - k) / s) + 1."""
    return (n + 2 * p - k) // s + 1


lenet32 = create_model("lenet", input_shape=(32, 32, 1), num_classes=10)
n1 = out_size(32, 5, p=2)  # conv1, "same": 32
n2 = out_size(n1, 2, s=2)  # pool1: 16
n3 = out_size(n2, 5)  # conv2, "valid": 12
n4 = out_size(n3, 2, s=2)  # pool2: 6
shapes32 = [tuple(r.output_shape) for r in profile(lenet32).rows if r.type != "InputLayer"][:4]
assert (
    shapes32
    == [(n1, n1, 6), (n2, n2, 6), (n3, n3, 16), (n4, n4, 16)]
    == [
        (32, 32, 6),
        (16, 16, 6),
        (12, 12, 16),
        (6, 6, 16),
    ]
)
# Only fc1 changes: it sees 16 * 6 * 6 = 576 values instead of 16 * 5 * 5 = 400, each with
# 120 weights; convolutions do not care about the image size.
fc1_28, fc1_32 = 400 * 120 + 120, 16 * n4 * n4 * 120 + 120
assert lenet32.get_layer("lenet_fc1").count_params() == fc1_32 == 69_240
assert lenet32.count_params() == model.count_params() + fc1_32 - fc1_28 == 82_826
print(
    f"at 32x32: {shapes32}, {lenet32.count_params():,} parameters ({model.count_params():,} at 28)"
)

# %% [markdown]
# ### Exercise 4 · Confident mistakes
# Compare the network's confidence on its correct and on its wrong predictions.

# %% tags=["solution", "hide-cell"]
# The classifier ends in a softmax, so each row of `scores` is a probability distribution and
# its maximum is the confidence of the prediction.
assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)
confidence, wrong = scores.max(axis=1), scores.argmax(axis=1) != y_test
assert wrong.sum() == cm.sum() - np.trace(cm)  # the off-diagonal cells
right_mean, wrong_mean = confidence[~wrong].mean(), confidence[wrong].mean()
print(f"mean confidence: {right_mean:.3f} when right, {wrong_mean:.3f} when wrong")
assert right_mean > wrong_mean  # less sure when wrong, but rarely at chance level (0.1)
worst = np.flatnonzero(wrong)[np.argsort(confidence[wrong])[::-1][:5]]
for i in worst:
    print(
        f"  test image {i}: a {ds.class_names[y_test[i]]} called "
        f"{ds.class_names[scores[i].argmax()]} with probability {confidence[i]:.2f}"
    )
assert np.all(confidence[worst] >= np.sort(confidence[wrong])[-5])
