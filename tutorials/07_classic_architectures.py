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
# | ResNet | residual connections $y = x + F(x)$: much deeper nets train |
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
import numpy as np

import kerascnn
from kerascnn.analysis import profile
from kerascnn.blocks import basic_block, transition_block
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
# $C$ channels in and out (no bias) one $k \times k$ conv has $k^2 C^2$ weights, so the stacks
# are cheaper:
#
# $$2 \cdot 3^2 C^2 = 18 C^2 < 5^2 C^2 = 25 C^2, \qquad 3 \cdot 3^2 C^2 = 27 C^2 < 7^2 C^2 = 49 C^2,$$
#
# and they put a ReLU between the convs (more non-linearity). A stack of $n$ stride-1 3x3 convs
# sees $1 + 2n$ pixels. We count real Keras layers and read the field from our profile.

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
resnet50_trainable = sum(int(np.prod(w.shape)) for w in resnet50.trainable_weights)
resnet50_total = resnet50.count_params()
del resnet50
keras.backend.clear_session()

# %% [markdown]
# ## 7. How many parameters has ResNet-50? 25.6 M, not 60 M
# Count a bottleneck block by hand. With $C_{in}$ input channels and width $f$ it is a 1x1 conv
# to $f$, a 3x3 conv $f \to f$, a 1x1 conv to $4f$, each followed by BatchNorm, whose trainable
# parameters are $\gamma$ and $\beta$ ($2$ per channel; the zoo's default style has no conv
# bias, as torchvision):
#
# $$P_{\text{block}} = C_{in} f + 9 f^2 + 4 f^2 + 2 (f + f + 4 f),$$
#
# plus $4 f C_{in} + 2 \cdot 4 f$ for the block that carries a projection shortcut (section 8).
# Stages of 3, 4, 6, 3 blocks with $f$ = 64, 128, 256, 512, a 7x7 stem with 64 filters and a
# 2048 -> 1000 dense layer give ResNet-50; the same formula with 3, 8, 36, 3 blocks gives
# ResNet-152. Keras' `count_params()` also counts BatchNorm's moving mean and variance (2 more
# numbers per channel, not trained), and keras.applications' ResNet v1 has a bias in every conv:
# both variants are one flag of the formula.
#
# The course material once gives ResNet-50 "60M" parameters. That is wrong by a factor of about
# 2.4: 60 M is ResNet-152. The zoo has no ResNet-152, so we check the formula against
# `keras.applications.ResNet152(weights=None)` (built, nothing downloaded) instead.


# %%
def bottleneck_resnet_params(blocks, classes=1000, conv_bias=False, bn_per_channel=2):
    """Parameters of a bottleneck ResNet with ``blocks`` per stage (formula above)."""

    def conv(c_in, c_out, k):  # k x k conv (+ bias) + BatchNorm
        return k * k * c_in * c_out + (c_out if conv_bias else 0) + bn_per_channel * c_out

    total, c_in = conv(3, 64, 7), 64
    for f, n in zip((64, 128, 256, 512), blocks):
        for b in range(n):
            total += conv(c_in, f, 1) + conv(f, f, 3) + conv(f, 4 * f, 1)
            if b == 0:  # the projection shortcut: 1x1 conv C_in -> 4f + BN
                total += conv(c_in, 4 * f, 1)
            c_in = 4 * f
    return total + c_in * classes + classes  # the dense classifier


R50, R152 = (3, 4, 6, 3), (3, 8, 36, 3)
counts = {
    "ResNet-50 (zoo, trainable)": (resnet50_trainable, bottleneck_resnet_params(R50)),
    "ResNet-50 (zoo, count_params)": (
        resnet50_total,
        bottleneck_resnet_params(R50, bn_per_channel=4),
    ),
}
resnet152 = keras.applications.ResNet152(weights=None)  # keras.applications' v1: conv biases
counts["ResNet-152 (keras.applications)"] = (
    resnet152.count_params(),
    bottleneck_resnet_params(R152, conv_bias=True, bn_per_channel=4),
)
del resnet152
keras.backend.clear_session()
for label, (keras_count, formula) in counts.items():
    print(f"{label:>32}: Keras {keras_count:>11,}   formula {formula:>11,}")
    assert keras_count == formula
r50, r152 = bottleneck_resnet_params(R50), bottleneck_resnet_params(R152)
print(
    f"trainable, torchvision style: ResNet-50 {r50:,} ({r50 / 1e6:.1f} M), ResNet-152 {r152:,} "
    f"({r152 / 1e6:.1f} M); the material's 60 M is {60e6 / r50:.2f}x ResNet-50"
)
assert resnet50_trainable == r50 == 25_557_032  # torchvision's resnet50, the README's zoo table
assert (
    bottleneck_resnet_params(R50, conv_bias=True, bn_per_channel=4) == 25_636_712
)  # keras.applications
assert r152 == 60_192_808 and abs(r152 / 1e6 - 60) < 0.5  # "60 M" is ResNet-152
assert 2.3 < 60e6 / r50 < 2.4

# %% [markdown]
# ## 8. The 1x1 projection shortcut
# $y = x + F(x)$ needs $x$ and $F(x)$ of the same shape. The first block of a stage halves the
# resolution (stride 2) and doubles the channels, so the shortcut becomes a **projection**: a 1x1
# conv with stride 2 (it reads every second pixel and mixes its channels) followed by
# BatchNorm. From $C$ to $2C$ channels it costs
#
# $$P_{\text{shortcut}} = 1 \cdot 1 \cdot C \cdot 2C + 4 \cdot 2C$$
#
# ($4$ BatchNorm numbers per channel as Keras counts them: $\gamma$, $\beta$, moving mean and
# variance). We build the zoo's own `basic_block` (the block `resnet18` is made of; its
# shortcut layers end in `_0_conv`, `_0_bn`) with stride 2 from 64 to 128 channels, count it and
# check the shortcut against NumPy: subsample, then a matrix product per pixel.

# %%
C_IN, C_OUT = 64, 128
x_in = keras.Input((8, 8, C_IN))
proj_block = keras.Model(x_in, basic_block(x_in, C_OUT, strides=2, name="proj"))
shortcut_params = C_IN * C_OUT + 4 * C_OUT
branch_params = 9 * C_IN * C_OUT + 9 * C_OUT * C_OUT + 2 * 4 * C_OUT  # two 3x3 conv + BN
by_layer = {la.name: la.count_params() for la in proj_block.layers}
print(
    f"stride-2 basic block {C_IN} -> {C_OUT}: {proj_block.count_params():,} parameters; "
    f"shortcut {by_layer['proj_0_conv']:,} (1x1 conv) + {by_layer['proj_0_bn']:,} (BN) = "
    f"{shortcut_params:,}, {shortcut_params / proj_block.count_params():.1%} of the block"
)
assert by_layer["proj_0_conv"] + by_layer["proj_0_bn"] == shortcut_params == 8_704
assert proj_block.count_params() == branch_params + shortcut_params == 230_912
assert proj_block.output_shape == (None, 4, 4, C_OUT)

rng = np.random.default_rng(0)
bn = proj_block.get_layer("proj_0_bn")
bn.set_weights(
    [
        rng.uniform(0.5, 2, C_OUT),
        rng.normal(size=C_OUT),
        rng.normal(size=C_OUT),
        rng.uniform(0.5, 2, C_OUT),
    ]
)
shortcut = keras.Model(x_in, bn.output)
x_np = rng.normal(size=(2, 8, 8, C_IN)).astype("float32")
kernel = proj_block.get_layer("proj_0_conv").get_weights()[0]  # (1, 1, C_in, C_out)
gamma, beta, mean, var = bn.get_weights()
z = x_np[:, ::2, ::2, :] @ kernel[0, 0]  # stride 2: every second pixel; 1x1: a matmul per pixel
want = gamma * (z - mean) / np.sqrt(var + bn.epsilon) + beta
got = np.asarray(shortcut(x_np, training=False))
print(f"shortcut vs NumPy (subsample, matmul, BN): max difference {np.abs(got - want).max():.1e}")
assert np.allclose(got, want, atol=1e-4)
keras.backend.clear_session()

# %% [markdown]
# ## 9. DenseNet's transition layer
# Inside a dense block every layer adds $k$ (the growth rate) channels, so the channel count
# only grows: DenseNet-121's first block turns 64 channels into $64 + 6 \cdot 32 = 256$.
# Between blocks a **transition** shrinks everything again: BN -> ReLU -> a 1x1 conv to
# $\lfloor \theta C \rfloor$ channels (compression $\theta = 0.5$ halves them) -> 2x2 average
# pool with stride 2 (halves height and width). Its parameters are
#
# $$P_{\text{transition}} = 4C + C \lfloor \theta C \rfloor \quad (\text{BN} + \text{1x1 conv without bias}).$$
#
# The zoo's `transition_block` on DenseNet-121's first transition (56x56x256 at 224x224 input):

# %%
x_in = keras.Input((56, 56, 256))
transition = keras.Model(x_in, transition_block(x_in, 0.5, name="trans"))
C_T = 256
print(
    f"transition {x_in.shape[1:]} -> {transition.output_shape[1:]}: "
    + ", ".join(f"{la.name} {la.count_params():,}" for la in transition.layers[1:])
)
assert transition.output_shape == (None, 28, 28, C_T // 2)
assert transition.count_params() == 4 * C_T + C_T * (C_T // 2) == 33_792
assert [type(la).__name__ for la in transition.layers[1:]] == [
    "BatchNormalization",
    "Activation",
    "Conv2D",
    "AveragePooling2D",
]
# the zoo's DenseNet-121 (section 3) has this very layer after its first block: same count
zoo_transition = sum(
    la.count_params() for la in densenet.layers if la.name.startswith("densenet121_pool2_")
)
assert zoo_transition == transition.count_params()
keras.backend.clear_session()

# %% [markdown]
# ## 10. Why shortcuts help: the gradient of a residual block is I + dF/dx
# A residual block computes $y = x + F(x)$, so its Jacobian is
#
# $$\frac{\partial y}{\partial x} = I + \frac{\partial F}{\partial x}:$$
#
# the gradient reaching $x$ is the gradient at $y$ *plus* what flows through $F$. A plain block
# passes only $\partial F / \partial x$, and through a stack of $L$ blocks the products of $L$
# such Jacobians shrink (or grow) geometrically. We measure both Jacobians by central
# differences on a real `basic_block` (inference mode, a 4x4x2 input) whose residual branch is
# weak (its last BatchNorm scale set to 0.1, so $\partial F / \partial x$ is small), then stack
# eight such blocks, with and without the shortcuts (the plain block is the same two conv-BN
# units, from the depth experiment of section 11). By Weyl's inequality every singular value of
# $I + J_F$ (with $J_F = \partial F / \partial x$) lies within $\lVert J_F \rVert_2$ of 1.

# %%
from functools import partial  # noqa: E402

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
# ## 11. Plain vs residual with depth: the degradation problem
# He et al. (2015) trained plain nets of 20 and 56 layers on CIFAR-10 and found the deeper one
# with the *higher training error*: not overfitting (that would show as a low training error
# and a high test error) but an optimisation difficulty. In their runs the same depths with
# shortcuts did not degrade. `kerascnn experiment depth` repeats this at small scale on
# Fashion-MNIST: CIFAR-style nets of $6n + 2$ layers (3 stages of 8/16/32 filters, BatchNorm
# after every conv), plain and residual, the residual blocks being `basic_block` and the plain
# ones the same two conv-BN units without the shortcut. Training all six takes tens of minutes
# on two CPU cores (the wall time is printed below), so this lesson reads the published run
# (`reports/experiments/depth/results.json`, made with
# `kerascnn experiment depth --seed 0 --out reports/experiments/depth`) and only builds the nets.
#
# What that run shows, read from the file and asserted below (not typed in): the plain nets
# degrade, the 32-layer one training clearly worse than the 20- and 8-layer ones. The residual
# nets do **not** escape it completely at this scale: residual-32 also trains worse than
# residual-20, though by well under half as much as plain-32 does against plain-20, while staying far
# below plain-32 and below residual-8. Shortcuts *reduce* the degradation here; one seed, 8
# epochs and 12,000 images cannot say whether longer training would remove it, as in the paper.

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

shallow, middle, deep = (int(d) for d in train_error.index)
plain, residual = train_error["plain"], train_error["residual"]
for kind, err in (("plain", plain), ("residual", residual)):
    print(
        f"{kind:>8}: training error {shallow} -> {middle} -> {deep} layers: "
        f"{err[shallow]:.4f} -> {err[middle]:.4f} -> {err[deep]:.4f} "
        f"({middle}->{deep}: {err[deep] - err[middle]:+.4f})"
    )
plain_step, residual_step = plain[deep] - plain[middle], residual[deep] - residual[middle]
print(
    f"from {middle} to {deep} layers the residual nets lose {residual_step / plain_step:.0%} "
    f"of what the plain nets lose; at {deep} layers the shortcuts cut the training error from "
    f"{plain[deep]:.4f} to {residual[deep]:.4f}"
)
assert (shallow, middle, deep) == (8, 20, 32)
assert plain[deep] > max(plain[middle], plain[shallow])  # degradation: higher *training* error
assert residual[deep] > residual[middle]  # residual-32 trains worse than residual-20 here too
assert 0 < residual_step < 0.5 * plain_step  # ... but by much less than the plain nets
assert residual[deep] < residual[shallow] and residual[deep] < plain[deep]
assert depth_run["extra"]["degradation"]["showed"] is True  # the report's 8-vs-32 conclusion

# %% [markdown]
# ## Exercises
#
# 1. **Stacking when the channels change.** Section 5 assumed $C$ channels in and out. Now the
#    stack goes from $C$ to $2C$: two 3x3 convs $C \to 2C \to 2C$ against one 5x5 conv
#    $C \to 2C$, and three 3x3 convs against one 7x7. Predict both weight counts in units of
#    $C^2$; is the stack still cheaper? Check with Keras for $C = 32$.
# 2. **What the projections cost in ResNet-50.** Only the first block of each of ResNet-50's
#    four stages has a projection shortcut. Predict with the formula of section 7 how many
#    trainable parameters the four shortcuts hold together, and what share of the whole network
#    that is; check it against the per-layer profile of section 6.
# 3. **Pool first, then convolve?** A transition applies the 1x1 conv at full resolution and
#    then averages 2x2 blocks. Both operations are linear. What happens to the output if the
#    pool comes first, and what to the conv's MACs? Check on the transition of section 9.
# 4. **DenseNet-121's channel bookkeeping.** Starting from the 64 channels of the stem, with
#    growth rate 32, blocks of 6, 12, 24, 16 layers and compression 0.5, predict the channel
#    count entering each of the three transitions and the count at the global pooling. Read
#    them off the zoo's `densenet121` of section 3.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Stacking when the channels change
# Two 3x3 convs $C \to 2C \to 2C$ vs one 5x5 $C \to 2C$; three 3x3 vs one 7x7.

# %% tags=["solution", "hide-cell"]
# Only the first conv of the stack sees C input channels; every later one maps 2C -> 2C, which
# costs 4x a C -> C conv. Two 3x3: 9*C*2C + 9*2C*2C = 18 C^2 + 36 C^2 = 54 C^2 against
# 25*C*2C = 50 C^2 for one 5x5: the stack is now 8% *more* expensive. Three 3x3:
# 18 + 36 + 36 = 90 C^2 against 49 * 2 = 98 C^2: still (barely) cheaper.
C_EX = 32


def widening_stack(kernels, c_in=C_EX, c_out=2 * C_EX):
    inputs = keras.Input((16, 16, c_in))
    x = inputs
    for k in kernels:
        x = keras.layers.Conv2D(c_out, k, padding="same", use_bias=False)(x)
    return keras.Model(inputs, x).count_params() / C_EX**2


costs = {
    "2 x 3x3": widening_stack([3, 3]),
    "5x5": widening_stack([5]),
    "3 x 3x3": widening_stack([3, 3, 3]),
    "7x7": widening_stack([7]),
}
print(", ".join(f"{k}: {v:g} C^2" for k, v in costs.items()))
assert costs == {"2 x 3x3": 54, "5x5": 50, "3 x 3x3": 90, "7x7": 98}
keras.backend.clear_session()

# %% [markdown]
# ### Exercise 2 · What the projections cost in ResNet-50
# The four projection shortcuts (layers `..._0_conv`, `..._0_bn`): parameters and share.

# %% tags=["solution", "hide-cell"]
# Stage s (width f) starts from C_in channels and outputs 4f: a 1x1 conv C_in * 4f plus BN's
# gamma and beta, 2 * 4f. C_in is 64 (after the stem), then 256, 512, 1024.
proj_formula = sum(
    c_in * 4 * f + 2 * 4 * f for c_in, f in zip((64, 256, 512, 1024), (64, 128, 256, 512))
)
proj_rows = [r for r in prof50.rows if "_0_conv" in r.name or "_0_bn" in r.name]
proj_profile = sum(r.trainable_params for r in proj_rows)
share = proj_formula / resnet50_trainable
print(
    f"{len(proj_rows)} shortcut layers, {proj_profile:,} trainable parameters "
    f"(formula {proj_formula:,}): {share:.1%} of ResNet-50"
)
assert len(proj_rows) == 8 and proj_profile == proj_formula == 2_776_576
assert 0.10 < share < 0.11  # about a tenth, mostly the last stage's 1024 x 2048 conv

# %% [markdown]
# ### Exercise 3 · Pool first, then convolve?
# Swap the 1x1 conv and the 2x2 average pool of a transition: same output? MACs?

# %% tags=["solution", "hide-cell"]
# A 1x1 conv is a matrix product per pixel, the average pool a mean over 2x2 pixels; both are
# linear, so they commute: mean(x) @ W == mean(x @ W), exactly (up to float rounding). The conv
# then runs on a quarter of the pixels: 4x fewer MACs for the same output. (The BN-ReLU before
# them is not linear, so it must stay first.)
x_in = keras.Input((56, 56, 256))
tr = keras.Model(x_in, transition_block(x_in, 0.5, name="ex3"))
conv_1x1 = tr.get_layer("ex3_conv")
relu_out = keras.Model(tr.input, tr.get_layer("ex3_relu").output)
x_np = np.random.default_rng(1).normal(size=(1, 56, 56, 256)).astype("float32")
r = relu_out(x_np, training=False)
conv_then_pool = np.asarray(tr(x_np, training=False))
pool_then_conv = np.asarray(conv_1x1(keras.layers.AveragePooling2D(2)(r)))
macs = {r_.name: r_.macs for r_ in profile(tr).rows if r_.type == "Conv2D"}
print(
    f"max |conv->pool - pool->conv| = {np.abs(conv_then_pool - pool_then_conv).max():.1e}; "
    f"conv MACs at 56x56: {macs['ex3_conv']:,}, at 28x28: {28 * 28 * 256 * 128:,}"
)
assert np.allclose(conv_then_pool, pool_then_conv, atol=1e-4)
assert macs["ex3_conv"] == 56 * 56 * 256 * 128 == 4 * (28 * 28 * 256 * 128)
keras.backend.clear_session()

# %% [markdown]
# ### Exercise 4 · DenseNet-121's channel bookkeeping
# Channels entering each transition and at the global pooling, predicted and read off the zoo.

# %% tags=["solution", "hide-cell"]
# A block adds n * k channels, a transition halves them: 64 + 6*32 = 256 -> 128;
# 128 + 12*32 = 512 -> 256; 256 + 24*32 = 1024 -> 512; 512 + 16*32 = 1024 at the end.
channels, predicted = 64, []
for n_layers in (6, 12, 24, 16):
    channels += n_layers * 32
    predicted.append(channels)
    channels = int(channels * 0.5)
entering = [densenet.get_layer(f"densenet121_pool{i}_bn").input.shape[-1] for i in (2, 3, 4)]
final = densenet.get_layer("densenet121_avg_pool").output.shape[-1]
print(f"entering the transitions: {entering}, at the global pooling: {final}")
assert entering == predicted[:3] == [256, 512, 1024]
assert final == predicted[3] == 1024
