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
# # 10 · Efficient architectures: depthwise separable convs, MobileNet v1/v2, inverted residuals
#
# A standard k x k conv mixes space and channels at once: `k^2 * C_in * C_out` weights and as
# many multiply-accumulates (MACs) per output pixel. A **depthwise separable** conv splits it:
# a depthwise k x k conv filters each input channel alone (`k^2 * C_in`), then a pointwise 1x1
# conv mixes channels (`C_in * C_out`). The cost ratio is
#
#     (k^2 C_in + C_in C_out) / (k^2 C_in C_out) = 1 / C_out + 1 / k^2
#
# so a 3x3 layer becomes roughly 8-9x cheaper. We check the formula against real Keras layers,
# then see it at work in MobileNet v1 (Howard et al., 2017) and MobileNet v2 (Sandler et al.,
# 2018), whose block is the *inverted residual with a linear bottleneck*.

# %%
import os
from pathlib import Path

import keras
import numpy as np

import kerascnn
from kerascnn.analysis import profile
from kerascnn.layers import DepthwiseSeparableConv2D, InvertedResidual
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "10_efficient_architectures"

# %% [markdown]
# ## 1. The cost ratio, formula vs Keras
# `Conv2D` and `SeparableConv2D` without bias on a 16x16 map; parameters from Keras, MACs
# from `kerascnn.analysis.profile`.


# %%
def one_layer(layer, c_in, size=16):
    inputs = keras.Input((size, size, c_in))
    return keras.Model(inputs, layer(inputs))


rows = []
for c_in, c_out, k in [
    (32, 64, 3),
    (64, 128, 3),
    (128, 256, 3),
    (256, 512, 3),
    (64, 64, 5),
    (512, 512, 7),
]:
    std = one_layer(keras.layers.Conv2D(c_out, k, padding="same", use_bias=False), c_in)
    sep = one_layer(keras.layers.SeparableConv2D(c_out, k, padding="same", use_bias=False), c_in)
    assert std.count_params() == k * k * c_in * c_out
    assert sep.count_params() == k * k * c_in + c_in * c_out
    formula = 1 / c_out + 1 / k**2
    measured = sep.count_params() / std.count_params()
    mac_ratio = profile(sep).total_macs / profile(std).total_macs
    assert abs(measured - formula) < 1e-12 and abs(mac_ratio - formula) < 1e-12
    rows.append((c_in, c_out, k, std.count_params(), sep.count_params(), formula, 1 / formula))
    keras.backend.clear_session()

print("| C_in | C_out | k | standard params | separable params | 1/C_out + 1/k^2 | saving |")
print("|---|---|---|---|---|---|---|")
for c_in, c_out, k, p_std, p_sep, ratio, saving in rows:
    print(f"| {c_in} | {c_out} | {k} | {p_std:,} | {p_sep:,} | {ratio:.4f} | {saving:.1f}x |")

# %% [markdown]
# For 3x3 kernels the saving approaches k^2 = 9 as C_out grows; bigger kernels save more.
# kerascnn's `DepthwiseSeparableConv2D` layer adds BatchNorm after each half (4 numbers per
# channel: gamma, beta, moving mean and variance), as MobileNet does:

# %%
layer = DepthwiseSeparableConv2D(128, 3)
layer.build((None, 16, 16, 64))
expected = 3 * 3 * 64 + 64 * 128 + 4 * 64 + 4 * 128
print(
    f"DepthwiseSeparableConv2D(128, 3) on 64 channels: {layer.count_params():,} params (formula {expected:,})"
)
assert layer.count_params() == expected

# %% [markdown]
# ## 2. MobileNet v1 and v2 vs VGG-16 and ResNet-50 (224x224x3, 1000 classes)

# %%
table = {}
for name in ["vgg16", "resnet50", "mobilenet", "mobilenetv2"]:
    model = kerascnn.create_model(name, input_shape=(224, 224, 3), num_classes=1000)
    prof = profile(model)
    dw_macs = sum(r.macs for r in prof.rows if r.type == "DepthwiseConv2D")
    table[name] = {
        "params": prof.total_params,
        "macs": prof.total_macs,
        "depthwise share": dw_macs / prof.total_macs,
    }
    keras.backend.clear_session()
for name, r in table.items():
    print(
        f"{name:12s} params {r['params'] / 1e6:7.2f} M   MACs {r['macs'] / 1e9:6.2f} G   "
        f"depthwise share of MACs {100 * r['depthwise share']:4.1f}%"
    )

# %% [markdown]
# Published: MobileNet v1 4.2 M parameters and 569 M MACs; MobileNet v2 3.4-3.5 M and 300 M;
# VGG-16 138 M and 15.5 G. The depthwise convs hold only a few percent of the MACs: the
# pointwise 1x1 convs do almost all the work, as Howard et al. note (95% of the time in 1x1).

# %%
mv1, mv2, vgg = table["mobilenet"], table["mobilenetv2"], table["vgg16"]
assert abs(mv1["macs"] - 569e6) / 569e6 < 0.03 and abs(mv2["macs"] - 300e6) / 300e6 < 0.03
assert vgg["params"] / mv1["params"] > 30 and vgg["macs"] / mv1["macs"] > 25
assert mv2["macs"] < mv1["macs"] and mv2["params"] < mv1["params"]
assert mv1["depthwise share"] < 0.05
print(
    f"VGG-16 needs {vgg['macs'] / mv1['macs']:.0f}x the MACs and {vgg['params'] / mv1['params']:.0f}x the parameters "
    f"of MobileNet v1; MobileNet v2 needs {mv2['macs'] / mv1['macs']:.2f}x v1's MACs."
)

# %% [markdown]
# ## 3. The inverted residual
# A ResNet bottleneck goes wide -> narrow -> wide. MobileNet v2 inverts it: narrow -> **wide**
# (1x1 expand by t = 6) -> depthwise 3x3 -> **narrow** (1x1 project, *no activation*: a ReLU
# on a low-dimensional map destroys information), with the shortcut between the narrow ends.

# %%
c, t = 24, 6
block = InvertedResidual(c, expansion=t)
y = block(np.random.default_rng(0).normal(size=(1, 14, 14, c)).astype("float32"))
e = c * t
expected = (
    (c * e + 4 * e) + (9 * e + 4 * e) + (e * c + 4 * c)
)  # expand + BN, depthwise + BN, project + BN
print(
    f"InvertedResidual({c}, t={t}): {block.count_params():,} params (formula {expected:,}); "
    f"residual: {block.has_residual}; output {tuple(y.shape)}"
)
assert block.count_params() == expected and block.has_residual and tuple(y.shape) == (1, 14, 14, c)
strided = InvertedResidual(32, expansion=t, strides=2)
y2 = strided(np.zeros((1, 14, 14, c), "float32"))
assert not strided.has_residual and tuple(y2.shape) == (
    1,
    7,
    7,
    32,
)  # no shortcut when the shape changes
# The same block as a plain 3x3 conv from 24 to 24 channels would cost:
plain = 9 * c * c
print(
    f"a plain 3x3 conv {c}->{c}: {plain:,} weights; the inverted residual works on a {t}x wider map "
    f"for {block.count_params() / plain:.2f}x the parameters"
)

# %%
fig = new_figure((6, 4))
ax = fig.add_subplot()
names = list(table)
ax.bar(names, [table[n]["macs"] / 1e9 for n in names], color=["C0", "C1", "C2", "C3"])
ax.set(yscale="log", ylabel="GMACs per 224x224 image", title="Compute: classic vs efficient CNNs")
print(save_figure(fig, OUT / "macs.png"))
