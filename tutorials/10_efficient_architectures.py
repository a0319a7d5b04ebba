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
# A standard k x k conv mixes space and channels at once: $k^2 C_{in} C_{out}$ weights and as
# many multiply-accumulates (MACs) per output pixel. A **depthwise separable** conv splits it:
# a depthwise k x k conv filters each input channel alone ($k^2 C_{in}$), then a pointwise 1x1
# conv mixes channels ($C_{in} C_{out}$). The cost ratio is
#
# $$
# \frac{k^2 C_{in} + C_{in} C_{out}}{k^2 C_{in} C_{out}} = \frac{1}{C_{out}} + \frac{1}{k^2}
# $$
#
# so a 3x3 layer becomes roughly 8-9x cheaper. We check the formula against real Keras layers,
# then see it at work in MobileNet v1 (Howard et al., 2017) and MobileNet v2 (Sandler et al.,
# 2018), whose block is the *inverted residual with a linear bottleneck*.

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
# For 3x3 kernels the saving approaches $k^2 = 9$ as $C_{out}$ grows; bigger kernels save more.
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
# (1x1 expand by $t = 6$) -> depthwise 3x3 -> **narrow** (1x1 project, *no activation*: a ReLU
# on a low-dimensional map destroys information), with the shortcut between the narrow ends.
# With $C$ channels at the narrow ends and $E = tC$ inside, and 4 BatchNorm numbers per channel,
#
# $$
# \underbrace{C E + 4E}_{\text{expand}} + \underbrace{9E + 4E}_{\text{depthwise}} + \underbrace{E C + 4C}_{\text{project}}
# $$
#
# parameters.

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

# %% [markdown]
# ## 4. After training: int8, and the runtime you ship with
# MobileNet's papers report latency through TensorFlow Lite, not the training framework, and
# their deployed models are **int8**: every weight and activation stored as an 8-bit integer
# $q$, standing for the real number $\mathrm{scale} \cdot (q - z)$ with zero point $z$. LiteRT
# (TensorFlow Lite) does it per output channel for weights (symmetric: $z = 0$,
# $\mathrm{scale} = \max \lvert w \rvert / 127$) and per tensor for activations (asymmetric, from the range seen on a few hundred *representative*
# training images). Here is the arithmetic in NumPy, on a conv kernel like MobileNet's.

# %%
rng = np.random.default_rng(0)
w = rng.normal(0.0, 0.05, (3, 3, 32, 64)).astype("float32")  # k x k x C_in x C_out
w_scale = np.abs(w).max(axis=(0, 1, 2)) / 127  # one scale per output channel
w_q = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
w_back = w_q.astype(np.float32) * w_scale
assert np.all(np.abs(w_back - w) <= w_scale / 2 + 1e-8)  # rounding: at most half a step
stored = w_q.nbytes + w_scale.astype("float32").nbytes
print(
    f"kernel {w.shape}: float32 {w.nbytes:,} bytes, int8 {w_q.nbytes:,} + {w_scale.nbytes} bytes "
    f"of scales = {w.nbytes / stored:.2f}x smaller; largest error {np.abs(w_back - w).max():.2e} "
    f"= {np.abs(w_back - w).max() / np.abs(w).max():.2%} of the largest weight"
)
assert 3.9 < w.nbytes / stored < 4.0

# %% [markdown]
# Activations after a ReLU live in `[0, max]`; the converter learns `max` from the
# representative images, and 256 steps share that range. Two ways to lose: a range from too
# few images clips the rare large values the test images reach beyond it, and a range
# stretched by rare outliers makes every step coarse. Heavy-tailed maps show both.


# %%
def activation_quantizer(calibration):
    lo, hi = min(0.0, float(calibration.min())), float(calibration.max())
    scale = (hi - lo) / 255
    zero = int(round(-128 - lo / scale))

    def roundtrip(a):
        q = np.clip(np.round(a / scale) + zero, -128, 127)
        return (q - zero) * scale

    return roundtrip, scale


def relu_maps(n):  # heavy-tailed ReLU outputs, as a conv layer's are
    return np.maximum(rng.standard_t(4, (n, 8, 8, 16)), 0).astype("float32")


test_maps = relu_maps(300)
errors = {}
for n in (2, 300):
    roundtrip, scale = activation_quantizer(relu_maps(n))
    err = np.abs(roundtrip(test_maps) - test_maps)
    errors[n] = (float(np.mean(err > scale)), float(err.mean()), float(err.max()))
    print(
        f"calibrated on {n:3d} maps: step {scale:.4f}, test values clipped {errors[n][0]:.3%}, "
        f"mean error {errors[n][1]:.5f}, largest {errors[n][2]:.3f}"
    )
assert errors[2][0] > 0 and errors[2][2] > 10 * errors[300][2]  # few images: clipped outliers
assert errors[300][1] > errors[2][1]  # the wide range: a coarser step for everything else

# %% [markdown]
# The converter takes the observed min and max of each tensor over its representative set
# (`--calibration-images`, 300 by default in `kerascnn export`): no clipping on data like the
# training set, at the price of the coarser step.

# %% [markdown]
# An int8 layer multiplies int8 by int8 and adds in int32; one multiplication by
# $\mathrm{scale}_x \cdot \mathrm{scale}_w$ per output brings the result back:
#
# $$
# y_j \approx \mathrm{scale}_x \, \mathrm{scale}_{w,j} \sum_{i} (q_{x,i} - z_x) \, q_{w,ij} .
# $$
#
# The products match float32 to about a percent, while each value moves 4x fewer bytes and CPUs with int8 dot-product instructions
# (VNNI, ARM's SDOT) do 4x more multiply-accumulates per instruction.

# %%
x = relu_maps(1).reshape(-1, 16)[:64]  # 64 pixels x 16 channels
w_dense = rng.normal(0, 0.1, (16, 32)).astype("float32")
roundtrip, sx = activation_quantizer(x)
zx = int(round(-128 - 0 / sx))
xq = np.clip(np.round(x / sx) + zx, -128, 127).astype(np.int8)
sw = np.abs(w_dense).max(axis=0) / 127
wq = np.clip(np.round(w_dense / sw), -127, 127).astype(np.int8)
acc = (xq.astype(np.int32) - zx) @ wq.astype(np.int32)  # integer arithmetic only
y_int8 = acc * (sx * sw)
y_float = x @ w_dense
rel = np.abs(y_int8 - y_float).max() / np.abs(y_float).max()
print(f"int8 x int8 -> int32 matmul, rescaled: largest error {rel:.2%} of the largest output")
assert acc.dtype == np.int32 and rel < 0.03

# %% [markdown]
# ## 5. Measured: four trained networks through LiteRT, int8, ONNX Runtime and OpenVINO
# `reports/deploy-cpu/` holds LeNet, simple_cnn, MobileNetV2 and ResNet-18 trained on full
# Fashion-MNIST (3 minutes each on a 2-core CPU), then exported and measured in each runtime on
# the 10,000 test images by `kerascnn deploy` (its DEPLOY.md names the machine, versions,
# threads and command). We read its `deploy.csv`; nothing below is measured here.

# %%
import csv  # noqa: E402

DEPLOY_CSV = HERE.parent / "reports" / "deploy-cpu" / "deploy.csv"
with open(DEPLOY_CSV, newline="") as fh:
    measured = {(r["model"], r["target"]): r for r in csv.DictReader(fh) if r["status"] == "ok"}
models = list(dict.fromkeys(m for m, _ in measured))


def value(model, target, column):
    return float(measured[(model, target)][column])


print("| model | float32 LiteRT | int8 LiteRT | smaller | int8 top-1 drop (points) |")
print("|---|---|---|---|---|")
for m in models:
    f32, i8 = value(m, "litert", "size_bytes"), value(m, "litert-int8", "size_bytes")
    drop = 100 * value(m, "litert-int8", "top1_drop")
    print(f"| {m} | {f32:,.0f} B | {i8:,.0f} B | {f32 / i8:.2f}x | {drop:+.2f} |")
    assert f32 / i8 > 3.0 and drop < 1.0  # about 4x smaller, under a point of accuracy

# %% [markdown]
# int8 files are 3.3-4x smaller, not exactly 4x: biases stay int32, every channel keeps a
# float scale, and small networks carry a fixed overhead (the graph, quantize/dequantize ops
# at the float input and output). Accuracy moves by a few tenths of a point either way: the
# rounding noise is far below what separates the classes.
#
# Speed is the runtime's business as much as the format's. Batch-1 latency against the Keras
# path (a compiled TensorFlow graph, numpy in and out), every runtime on the same threads:

# %%
targets = ["litert", "litert-int8", "onnx", "openvino"]
print("| model | Keras b1 (ms) | " + " | ".join(f"{t} speed-up" for t in targets) + " |")
print("|---|---|" + "---|" * len(targets))
for m in models:
    k = value(m, "keras", "latency_b1_p50_ms")
    ups = [k / value(m, t, "latency_b1_p50_ms") for t in targets]
    print(f"| {m} | {k:.2f} | " + " | ".join(f"{u:.2f}x" for u in ups) + " |")
int8_vs_float = {
    m: value(m, "litert", "latency_b1_p50_ms") / value(m, "litert-int8", "latency_b1_p50_ms")
    for m in models
}
print("int8 vs float32 LiteRT, batch-1:", {m: f"{r:.2f}x" for m, r in int8_vs_float.items()})
for m in ("simple_cnn", "mobilenetv2", "resnet18"):
    assert int8_vs_float[m] > 1.5  # conv networks: int8 kernels beat float32 ones
assert int8_vs_float["lenet"] < 1.0  # 61k parameters: quantizing the input costs more

# %% [markdown]
# What the table says (one 2-core x86 CPU; ARM phones, which the MobileNet papers measured,
# have int8 dot-product units and gain more):
#
# * **int8 is smaller and, for real conv networks, faster**: 2-5x lower batch-1 latency than
#   float32 LiteRT for simple_cnn, MobileNetV2 and ResNet-18, because every weight and
#   activation moves a quarter of the bytes and XNNPACK's int8 kernels do more
#   multiply-accumulates per instruction. LeNet is too small to gain: converting its float
#   input to int8 and its output back costs more than its 0.4 M MACs.
# * **The runtime matters as much as the format**: the same float32 weights run several times
#   faster through LiteRT, ONNX Runtime or OpenVINO than through the training framework at
#   batch 1 on the smaller networks, where per-call overhead dominates; on ResNet-18 the
#   float runtimes are within about 1.3x of Keras' frozen TensorFlow graph.
# * **Accuracy costs little**: under a point of top-1 for every model here, and the int8
#   model's top-1 class equals the float model's on 95-99% of the test images. A network
#   whose activations have outliers (or a calibration set unlike the test data) can lose more;
#   `kerascnn deploy` measures it rather than assuming it.

# %% [markdown]
# ## Exercises
#
# 1. **The material's worked example.** A 3x3 conv from a 7x7x3 input to a 5x5x128 output (no
#    padding). Count the multiplications of the standard conv and of its depthwise and
#    pointwise halves by hand, and check them against `profile` of a `Conv2D` and a
#    `SeparableConv2D`. What fraction is left, and does it match $\frac{1}{C_{out}} + \frac{1}{k^2}$?
# 2. **When separable loses.** Evaluate the cost ratio for $k = 1$. Is a "separable" 1x1 conv
#    ever cheaper? Check with Keras.
# 3. **How wide to expand?** With section 3's formula, find the expansion factor $t$ at which
#    an inverted residual with $C = 24$ costs as many parameters as a plain 3x3 conv from 24 to
#    24 channels, and check the formula against `InvertedResidual` for a few $t$.
# 4. **Per-tensor or per-channel scales?** Give a kernel's 64 output channels very different
#    sizes (standard deviations from 0.001 to 0.1). Quantize it with one scale for the whole
#    tensor and with one scale per output channel; compare the relative error of the smallest
#    channel.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · The material's worked example
# 7x7x3 -> 5x5x128 with a 3x3 kernel, valid padding.

# %% tags=["solution", "hide-cell"]
# Standard: each of the 5*5*128 outputs takes 3*3*3 multiplications = 86,400.
# Depthwise: 5*5 outputs per input channel, 3*3 each: 5*5*3*9 = 675.
# Pointwise: 5*5*128 outputs, 3 multiplications each: 9,600. Total 10,275.
by_hand_std = 5 * 5 * 128 * 3 * 3 * 3
by_hand_sep = 5 * 5 * 3 * 3 * 3 + 5 * 5 * 3 * 128
conv_std = one_layer(keras.layers.Conv2D(128, 3, use_bias=False), 3, size=7)
conv_sep = one_layer(keras.layers.SeparableConv2D(128, 3, use_bias=False), 3, size=7)
macs_std, macs_sep = profile(conv_std).total_macs, profile(conv_sep).total_macs
print(
    f"standard {macs_std:,} MACs (by hand {by_hand_std:,}); separable {macs_sep:,} "
    f"(by hand {by_hand_sep:,}) = {macs_sep / macs_std:.1%}; 1/128 + 1/9 = {1 / 128 + 1 / 9:.1%}"
)
assert (macs_std, macs_sep) == (by_hand_std, by_hand_sep) == (86_400, 10_275)
assert np.isclose(macs_sep / macs_std, 1 / 128 + 1 / 9)
keras.backend.clear_session()

# %% [markdown]
# ### Exercise 2 · When separable loses
# For $k = 1$ the ratio is $\frac{1}{C_{out}} + 1 > 1$.

# %% tags=["solution", "hide-cell"]
# A 1x1 conv has nothing spatial to split off: the "depthwise" half is a per-channel scale
# (C_in extra weights) in front of the same pointwise conv. Always a little more expensive.
for c_in, c_out in [(32, 64), (256, 256)]:
    p_std = one_layer(keras.layers.Conv2D(c_out, 1, use_bias=False), c_in).count_params()
    p_sep = one_layer(keras.layers.SeparableConv2D(c_out, 1, use_bias=False), c_in).count_params()
    print(
        f"1x1, {c_in}->{c_out}: standard {p_std:,}, separable {p_sep:,} (ratio {p_sep / p_std:.4f})"
    )
    assert p_sep == p_std + c_in and np.isclose(p_sep / p_std, 1 / c_out + 1)
keras.backend.clear_session()

# %% [markdown]
# ### Exercise 3 · How wide to expand?
# Solve $2tC^2 + 9tC + 8tC + 4C = 9C^2$ for $t$.

# %% tags=["solution", "hide-cell"]
# Section 3's count is 2*t*C^2 + 17*t*C + 4*C (C*E twice, 9*E, BN: 4*E twice and 4*C).
# Setting it equal to 9*C^2: t = (9*C^2 - 4*C) / (2*C^2 + 17*C).
C_ir = 24


def inverted_residual_params(t, c=C_ir):
    return 2 * t * c * c + 17 * t * c + 4 * c


for t_check in (2, 3, 6):  # t = 1 has no expand conv at all (MobileNet v2's first block)
    ir = InvertedResidual(C_ir, expansion=t_check)
    ir.build((None, 14, 14, C_ir))
    assert ir.count_params() == inverted_residual_params(t_check), t_check
t_equal = (9 * C_ir**2 - 4 * C_ir) / (2 * C_ir**2 + 17 * C_ir)
print(
    f"plain 3x3 conv {C_ir}->{C_ir}: {9 * C_ir**2:,} weights; the inverted residual matches it at "
    f"t = {t_equal:.2f}; at t = 6 it costs {inverted_residual_params(6) / (9 * C_ir**2):.2f}x"
)
assert 3 < t_equal < 4 and np.isclose(inverted_residual_params(t_equal), 9 * C_ir**2)
keras.backend.clear_session()

# %% [markdown]
# ### Exercise 4 · Per-tensor or per-channel scales?
# One scale must cover the largest channel, so small channels get few levels.

# %% tags=["solution", "hide-cell"]
# Per tensor: scale = max|w| / 127 over everything, about 0.1 * 4 / 127; a channel with
# std 0.001 then spans less than one step and rounds mostly to zero (error ~100%).
# Per channel: each channel gets its own 255 levels, error ~ half a step of its own scale.
stds = np.geomspace(0.001, 0.1, 64)
k_multi = (rng.normal(size=(3, 3, 32, 64)) * stds).astype("float32")


def quantize(w, scale):
    return np.clip(np.round(w / scale), -127, 127) * scale


per_tensor = quantize(k_multi, np.abs(k_multi).max() / 127)
per_channel = quantize(k_multi, np.abs(k_multi).max(axis=(0, 1, 2)) / 127)


def relative_error(approx, channel=0):
    w_c = k_multi[..., channel]
    return float(np.linalg.norm(approx[..., channel] - w_c) / np.linalg.norm(w_c))


err_tensor, err_channel = relative_error(per_tensor), relative_error(per_channel)
print(f"smallest channel: per-tensor error {err_tensor:.0%}, per-channel {err_channel:.2%}")
assert err_tensor > 0.5 and err_channel < 0.02
