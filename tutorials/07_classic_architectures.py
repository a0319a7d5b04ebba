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
