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
# # 07 · Classic architectures: AlexNet, VGG, NiN, GoogLeNet, ResNet, DenseNet
#
# Ten years of ImageNet winners, each with one idea:
#
# | model | idea |
# |---|---|
# | AlexNet | a deep conv net + ReLU + dropout, trained on GPUs |
# | VGG | only 3x3 convs, stacked in blocks; depth by repetition |
# | NiN | 1x1 convs ("MLP in each pixel") and global average pooling instead of big FC layers |
# | GoogLeNet | Inception blocks: parallel 1x1/3x3/5x5/pool branches, 1x1 bottlenecks |
# | ResNet | residual connections `x + F(x)`: very deep nets train |
# | DenseNet | every layer sees the concatenation of all earlier maps in its block |
#
# (The table below gives each paper's publication year from the registry.)
#
# We build each from the registry (`kerascnn.create_model`) and read its per-layer profile
# (`kerascnn.analysis.profile`: output shape, parameters, MACs, receptive field). Every number
# below is computed here and checked with an `assert`.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
from pathlib import Path

import keras

import kerascnn
from kerascnn.analysis import profile
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "07_classic_architectures"
MODELS = ["alexnet", "vgg11", "nin", "googlenet", "resnet18", "densenet121"]

# %% [markdown]
# ## 1. The canonical networks (224x224x3, 1000 classes)
# Parameters and multiply-accumulates (MACs) per image, split into conv and dense layers.
# (Every model is built and profiled at its canonical size; only the graph is traced, nothing
# runs, so this takes seconds.)

# %%
SIZE = 224


def kind(row) -> str:
    return "dense" if row.type == "Dense" else ("conv" if "Conv" in row.type else "other")


rows = []
for name in MODELS:
    model = kerascnn.create_model(name, input_shape=(SIZE, SIZE, 3), num_classes=1000)
    prof = profile(model)
    assert prof.total_params == model.count_params()  # the profile and Keras agree
    by_kind = {k: {"params": 0, "macs": 0} for k in ("conv", "dense", "other")}
    for r in prof.rows:
        by_kind[kind(r)]["params"] += r.params
        by_kind[kind(r)]["macs"] += r.macs
    rows.append(
        {
            "model": name,
            "year": kerascnn.model_info(name).year,
            "layers": len(model.layers),
            "params (M)": prof.total_params / 1e6,
            "GMACs": prof.total_macs / 1e9,
            "dense share of params": by_kind["dense"]["params"] / prof.total_params,
            "conv share of MACs": by_kind["conv"]["macs"] / max(prof.total_macs, 1),
            "receptive field": prof.receptive_field,
        }
    )
    keras.backend.clear_session()

import pandas as pd  # noqa: E402

table = pd.DataFrame(rows).set_index("model")
print(f"input {SIZE}x{SIZE}x3, 1000 classes")
print(table.round(3).to_markdown())

# %% [markdown]
# What the table says (the asserts check each sentence):
#
# * AlexNet and VGG keep most of their **parameters in the dense layers** at the top, while
#   almost all of their **compute is in the conv layers**.
# * NiN and GoogLeNet drop the big dense layers (global average pooling instead), and have
#   far fewer parameters than AlexNet.
# * ResNet-18 and DenseNet-121 are deeper than VGG-11 and still much smaller.

# %%
t = table
for name in ("alexnet", "vgg11"):
    assert t.loc[name, "dense share of params"] > 0.5, name
    assert t.loc[name, "conv share of MACs"] > 0.9, name
assert t.loc["nin", "params (M)"] < t.loc["alexnet", "params (M)"] / 5
assert t.loc["googlenet", "params (M)"] < t.loc["alexnet", "params (M)"] / 5
assert t.loc["googlenet", "layers"] > t.loc["alexnet", "layers"]
for name in ("resnet18", "densenet121"):
    assert t.loc[name, "params (M)"] < t.loc["vgg11", "params (M)"] / 5
print(
    f"VGG-11 has {t.loc['vgg11', 'params (M)'] / t.loc['resnet18', 'params (M)']:.1f}x the parameters of ResNet-18; "
    f"{100 * t.loc['vgg11', 'dense share of params']:.0f}% of VGG-11's parameters are in its dense layers."
)

# %% [markdown]
# ## 2. One profile up close: NiN
# Each NiN block is a kxk conv followed by two 1x1 convs; the head is a conv to 1000 channels
# and a global average pool: no dense layer at all.

# %%
nin = kerascnn.create_model("nin", input_shape=(SIZE, SIZE, 3), num_classes=1000)
prof = profile(nin)
print(prof.to_markdown())
assert not any(r.type == "Dense" for r in prof.rows)
one_by_one = [
    la for la in nin.layers if isinstance(la, keras.layers.Conv2D) and la.kernel_size == (1, 1)
]
print(f"NiN has {len(one_by_one)} 1x1 conv layers")
assert len(one_by_one) >= 8
keras.backend.clear_session()

# %% [markdown]
# ## 3. The structural ideas, counted in the graphs
# A residual connection is an `Add` layer; a dense connection is a `Concatenate`; an
# Inception block concatenates its four branches.


# %%
def count(model, cls):
    return sum(isinstance(la, cls) for la in model.layers)


resnet = kerascnn.create_model("resnet18", input_shape=(64, 64, 3), num_classes=10)
densenet = kerascnn.create_model("densenet121", input_shape=(64, 64, 3), num_classes=10)
googlenet = kerascnn.create_model("googlenet", input_shape=(64, 64, 3), num_classes=10)
n_add = count(resnet, keras.layers.Add)
n_cat = count(densenet, keras.layers.Concatenate)
n_inception = count(googlenet, keras.layers.Concatenate)
print(f"ResNet-18: {n_add} residual additions (one per basic block: 4 stages x 2 blocks)")
print(f"DenseNet-121: {n_cat} concatenations (6 + 12 + 24 + 16 dense layers)")
print(f"GoogLeNet: {n_inception} Inception blocks")
assert n_add == 8
assert n_cat == 6 + 12 + 24 + 16
assert n_inception == 9

# %% [markdown]
# ## 4. Parameters vs compute
# Models far apart in parameters can be close in compute and vice versa: parameters cost
# memory, MACs cost time.

# %%
fig = new_figure((6, 4))
ax = fig.add_subplot()
ax.scatter(table["params (M)"], table["GMACs"])
for name, r in table.iterrows():
    ax.annotate(name, (r["params (M)"], r["GMACs"]), fontsize=8)
ax.set(
    xscale="log",
    yscale="log",
    xlabel="parameters (M)",
    ylabel=f"GMACs at {SIZE}x{SIZE}",
    title="Classic CNNs: parameters vs compute",
)
ax.grid(alpha=0.3)
print(save_figure(fig, OUT / "params_vs_macs.png"))

# %% [markdown]
# ## 5. VGG's idea in numbers: stacks of 3x3 convolutions
# Two stacked 3x3 convolutions see a 5x5 window, three see 7x7, like one 5x5 or 7x7 conv. With
# C channels in and out (no bias) one k x k conv has k^2 C^2 weights, so the stacks are cheaper:
# **18 C^2 instead of 25 C^2**, and **27 C^2 instead of 49 C^2**, with a ReLU between the convs
# (more non-linearity). We count real Keras layers and read the field from our profile.

# %%
C = 64


def conv_stack(kernels, channels=C):
    inputs = keras.Input((32, 32, channels))
    x = inputs
    for k in kernels:
        x = keras.layers.Conv2D(channels, k, padding="same", use_bias=False, activation="relu")(x)
    return keras.Model(inputs, x)


vgg_rows = []
for n_stacked, big in ((2, 5), (3, 7)):
    stacked, single = conv_stack([3] * n_stacked), conv_stack([big])
    field_stacked = profile(stacked).receptive_field
    field_single = profile(single).receptive_field
    assert field_stacked == field_single == (big, big)
    assert stacked.count_params() == 9 * n_stacked * C**2  # 18 C^2, 27 C^2
    assert single.count_params() == big**2 * C**2  # 25 C^2, 49 C^2
    vgg_rows.append(
        {
            "layers": f"{n_stacked} x 3x3",
            "receptive field": field_stacked[0],
            "weights / C^2": stacked.count_params() // C**2,
            "one conv of that field": f"{big}x{big}",
            "its weights / C^2": single.count_params() // C**2,
            "saving": 1 - stacked.count_params() / single.count_params(),
        }
    )
vgg_table = pd.DataFrame(vgg_rows)
print(f"C = {C} channels in and out")
print(vgg_table.round(3).to_markdown(index=False))
assert [r["weights / C^2"] for r in vgg_rows] == [18, 27]
assert [r["its weights / C^2"] for r in vgg_rows] == [25, 49]
keras.backend.clear_session()

# %% [markdown]
# ## 6. How far does ResNet-50 see?
# Every 3x3 conv adds to the receptive field and every stride multiplies what later layers add,
# so after the 7x7/2 stem, the 3x3/2 max pool and 16 bottleneck blocks a unit of ResNet-50's
# last feature map sees more than the whole 224x224 image. The profile follows every layer; the
# last spatial layer is the output of the last block (`conv5_block3_out`, 7x7x2048), before the
# global average pool.

# %%
resnet50 = kerascnn.create_model("resnet50")
prof50 = profile(resnet50)
last_spatial = [r for r in prof50.rows if r.rf_jump is not None and None not in r.rf_jump][-1]
print(
    f"ResNet-50 ({resnet50.input_shape[1]}x{resnet50.input_shape[2]} input): layer "
    f"{last_spatial.name} ({last_spatial.type}, output {last_spatial.output_shape}) has a "
    f"receptive field of {last_spatial.rf_size[0]}x{last_spatial.rf_size[1]} pixels, jump "
    f"{last_spatial.rf_jump[0]} (its total stride), first pixel at {last_spatial.rf_start[0]}"
)
assert last_spatial.name.endswith("conv5_block3_out")
assert prof50.receptive_field == last_spatial.rf_size
assert last_spatial.rf_size[0] > 400 and last_spatial.rf_jump[0] == 32
del resnet50
keras.backend.clear_session()

# %% [markdown]
# ## 7. Why shortcuts help: the gradient of a residual block is 1 + dF/dx
# A residual block computes y = x + F(x), so its Jacobian is dy/dx = I + dF/dx: the gradient
# reaching x is the gradient at y *plus* what flows through F. A plain block passes only
# dF/dx. We measure both Jacobians by central differences on a real `basic_block` (inference
# mode, a 4x4x2 input) whose residual branch is weak (its last BatchNorm scale set to 0.1, so
# dF/dx is small), then stack eight such blocks, with and without the shortcuts (the plain block
# is the same two conv-BN units, from the depth experiment of section 8).

# %%
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

from kerascnn.blocks import basic_block  # noqa: E402
from kerascnn.experiments.depth import plain_block  # noqa: E402

SHAPE = (4, 4, 2)
keras.utils.set_random_seed(0)


def weak_stack(kind, blocks):
    """``blocks`` plain or residual blocks of 2 channels, each last BN scale set to 0.1."""
    inputs = keras.Input(SHAPE)
    x = inputs
    for b in range(blocks):
        make = basic_block if kind == "residual" else plain_block
        x = make(x, SHAPE[-1], name=f"{kind}{blocks}_b{b}")
    model = keras.Model(inputs, x)
    for layer in model.layers:
        if layer.name.endswith("_2_bn"):
            layer.gamma.assign(0.1 * np.ones(layer.gamma.shape, "float32"))
    return model


def jacobian(fn, x0, eps=1e-2):
    """d fn(x) / dx at x0 by central differences: (outputs, inputs), all perturbations at once."""
    n = x0.size
    steps = eps * np.eye(n, dtype="float32").reshape((n, *x0.shape[1:]))
    diff = np.asarray(fn(x0 + steps)) - np.asarray(fn(x0 - steps))
    return (diff.reshape(n, -1) / (2 * eps)).T


x0 = np.random.default_rng(0).normal(size=(1, *SHAPE)).astype("float32")
one = weak_stack("residual", 1)
branch = keras.Model(
    one.input, [one.get_layer("residual1_b0_add").output, one.get_layer("residual1_b0_2_bn").output]
)
j_y = jacobian(lambda v: branch(v, training=False)[0], x0)  # y = x + F(x), before the final ReLU
j_f = jacobian(lambda v: branch(v, training=False)[1], x0)  # F(x), the residual branch
identity = np.eye(x0.size)
norm_f = np.linalg.norm(j_f, 2)
singular = np.linalg.svd(j_y, compute_uv=False)
print(f"max |dy/dx - (I + dF/dx)| = {np.abs(j_y - identity - j_f).max():.1e}")
print(
    f"||dF/dx|| = {norm_f:.3f}; singular values of dy/dx in [{singular.min():.3f}, {singular.max():.3f}]"
)
assert np.abs(j_y - identity - j_f).max() < 1e-3
# Weyl: every singular value of I + dF/dx lies within ||dF/dx|| of 1
assert 1 - norm_f - 1e-3 <= singular.min() <= singular.max() <= 1 + norm_f + 1e-3

gradient_norms = {}
for kind in ("plain", "residual"):
    stack = weak_stack(kind, 8)
    gradient_norms[kind] = np.linalg.norm(jacobian(partial(stack, training=False), x0), 2)
print(
    "8 weak blocks, norm of d(output)/d(input): "
    + ", ".join(f"{k} {v:.2e}" for k, v in gradient_norms.items())
)
assert gradient_norms["plain"] < 1e-2 < 0.5 < gradient_norms["residual"]
keras.backend.clear_session()

# %% [markdown]
# ## 8. Plain vs residual with depth: the degradation problem
# He et al. (2015) trained plain nets of 20 and 56 layers on CIFAR-10 and found the deeper one
# with the *higher training error*: not overfitting (that would show as a low training error
# and a high test error) but an optimisation difficulty. The same depths with shortcuts did
# not degrade. `kerascnn experiment depth` repeats this at small scale on Fashion-MNIST: CIFAR-
# style nets of 6n + 2 layers (3 stages of 8/16/32 filters, BatchNorm after every conv), plain
# and residual, the residual blocks being `basic_block` and the plain ones the same two conv-BN
# units without the shortcut. Training all six takes tens of minutes on two CPU cores (the wall
# time is printed below), so this lesson reads the published run (`reports/experiments/depth/results.json`, made with
# `kerascnn experiment depth --seed 0 --out reports/experiments/depth`) and only builds the nets.

# %%
import json  # noqa: E402

from kerascnn.experiments.depth import build_net  # noqa: E402

nets = {kind: build_net(20, kind, (28, 28, 1), 10) for kind in ("plain", "residual")}
for net in nets.values():
    print(
        f"{net.name}: {net.count_params():,} parameters, {count(net, keras.layers.Add)} additions"
    )
assert (
    count(nets["plain"], keras.layers.Add) == 0 and count(nets["residual"], keras.layers.Add) == 9
)
keras.backend.clear_session()

published = HERE.parent / "reports" / "experiments" / "depth" / "results.json"
depth_run = json.loads(published.read_text(encoding="utf-8"))
setting = depth_run["settings"]
assert depth_run["experiment"] == "depth" and setting["fast"] is False
assert setting["dataset"] == "fashion_mnist"
print(
    f"published run: {setting['train_samples']} {setting['dataset']} training images, "
    f"{setting['epochs']} epochs, {setting['optimizer']}, {setting['device']}, "
    f"{setting['wall_time_s'] / 60:.1f} minutes in all"
)
runs = pd.DataFrame(depth_run["rows"])
train_error = runs.pivot(index="depth", columns="kind", values="final train error")
test_error = runs.pivot(index="depth", columns="kind", values="test error")
errors = pd.concat(
    [train_error.add_suffix(" train error"), test_error.add_suffix(" test error")], axis=1
)
print(errors.round(4).to_markdown())

shallow, deep = int(train_error.index.min()), int(train_error.index.max())
plain, residual = train_error["plain"], train_error["residual"]
print(
    f"plain: {deep} layers train to {plain[deep]:.4f} error vs {plain[shallow]:.4f} at "
    f"{shallow} layers ({plain[deep] - plain[shallow]:+.4f}): deeper trains worse. "
    f"residual: {residual[deep]:.4f} vs {residual[shallow]:.4f} "
    f"({residual[deep] - residual[shallow]:+.4f})."
)
assert plain[deep] > plain[shallow]  # the degradation: more layers, higher *training* error
assert residual[deep] <= residual[shallow]  # shortcuts remove it
assert residual[deep] < plain[deep]
assert depth_run["extra"]["degradation"]["showed"] is True  # what the report itself concluded
