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
# # 11 · Attention in CNNs: Squeeze-and-Excitation
#
# A conv layer looks at a small window; it cannot ask "which channels matter for *this*
# image?". Squeeze-and-Excitation (Hu, Shen & Sun, 2018) adds exactly that, cheaply:
#
# 1. **squeeze**: global average pool, one number per channel (a 1x1xC summary of the image),
#    $z_c = \frac{1}{HW} \sum_{i,j} x_{ijc}$;
# 2. **excite**: a bottleneck of two small layers, $C \to R = C/r$ (ReLU) $\to C$ (sigmoid), a
#    gate in (0, 1) per channel, $s = \sigma\left(W_2 \operatorname{ReLU}(W_1 z + b_1) + b_2\right)$;
# 3. **scale**: multiply every channel of the input by its gate, $y_{ijc} = s_c \, x_{ijc}$.
#
# We use `kerascnn.layers.SqueezeExcite` and the registry's `seresnet18`.

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
from kerascnn.layers import SqueezeExcite
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "11_attention_se"
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. What the block computes
# The output is the input times a per-channel gate: for positive inputs, `output / input` is
# the same at every pixel of a channel, and lies in (0, 1). The gate's weights are random
# here, so we fix the seed: with an unlucky draw all $C/r = 4$ hidden ReLU units are off for
# inputs like these, and every gate is then $\sigma(b_2)$ whatever the image (0.5 with the
# bias at its initial 0).

# %%
keras.utils.set_random_seed(0)  # the gate's weights are random: fix them
C, r = 64, 16
se = SqueezeExcite(ratio=1 / r)
x = rng.uniform(0.1, 1.0, size=(2, 8, 8, C)).astype("float32")
y = np.asarray(se(x))
gate = y / x
per_channel_spread = gate.std(axis=(1, 2)).max()
print(
    f"gates: min {gate.min():.3f}, max {gate.max():.3f}; largest spread within one channel {per_channel_spread:.2e}"
)
assert per_channel_spread < 1e-5 and 0 < gate.min() and gate.max() < 1
assert not np.allclose(gate[0, 0, 0], gate[1, 0, 0])  # the gate depends on the image

# %% [markdown]
# ## 2. What it costs
# Two 1x1 layers on the pooled vector, $W_1$ ($C \times R$, bias $R$) and $W_2$ ($R \times C$,
# bias $C$):
#
# $$
# 2CR + R + C \quad \text{parameters, with } R = C / r ,
# $$
#
# and almost no compute (they run once per image, not once per pixel).

# %%
R = C // r
print(
    f"SqueezeExcite on {C} channels, r={r}: {se.count_params():,} params (formula 2*C*R + R + C = {2 * C * R + R + C:,})"
)
assert se.count_params() == 2 * C * R + R + C

# %% [markdown]
# ## 3. SE-ResNet-18 vs ResNet-18
# SE-ResNet puts one SE block on the residual branch of every basic block (2 per stage,
# stages of 64, 128, 256, 512 channels). The parameter difference is exactly the sum of the
# SE blocks; the extra compute is tiny.

# %%
res = profile(kerascnn.create_model("resnet18", input_shape=(224, 224, 3), num_classes=1000))
keras.backend.clear_session()
seres = profile(kerascnn.create_model("seresnet18", input_shape=(224, 224, 3), num_classes=1000))
keras.backend.clear_session()
se_params = sum(2 * (2 * c * (c // r) + (c // r) + c) for c in (64, 128, 256, 512))
extra_params = seres.total_params - res.total_params
extra_macs = seres.total_macs - res.total_macs
print(f"ResNet-18 {res.total_params:,} params, {res.total_macs / 1e9:.3f} GMACs")
print(f"SE-ResNet-18 {seres.total_params:,} params, {seres.total_macs / 1e9:.3f} GMACs")
print(
    f"difference: {extra_params:,} params (sum of 8 SE blocks: {se_params:,}), "
    f"+{100 * extra_params / res.total_params:.2f}% params, +{100 * extra_macs / res.total_macs:.3f}% MACs"
)
assert extra_params == se_params
assert extra_params / res.total_params < 0.01 and extra_macs / res.total_macs < 0.001

# %% [markdown]
# ## 4. The gates of a trained block
# Train a tiny net with one SE block on the embedded Fashion-MNIST subset and look at the
# gates it gives to a few test images of different classes: different images switch
# different channels up and down.

# %%
from kerascnn.experiments._common import load_data  # noqa: E402

data = load_data(train=600 if FAST else 6000, test=200)
keras.utils.set_random_seed(0)
inputs = keras.Input(data.input_shape)
h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
h = keras.layers.MaxPooling2D()(h)
h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
se_layer = SqueezeExcite(ratio=1 / 4, name="se")
h = se_layer(h)
h = keras.layers.GlobalAveragePooling2D()(h)
outputs = keras.layers.Dense(10, activation="softmax")(h)
net = keras.Model(inputs, outputs)
net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
hist = net.fit(data.x_train, data.y_train, epochs=1 if FAST else 5, batch_size=64, verbose=0)
before = keras.Model(inputs, se_layer.input)
feats = np.asarray(before(data.x_test[:200]))
gates = np.asarray(se_layer(feats)) / np.maximum(feats, 1e-12)
gates = np.array(
    [
        [
            g[..., c][f[..., c] > 1e-6].mean() if (f[..., c] > 1e-6).any() else np.nan
            for c in range(g.shape[-1])
        ]
        for g, f in zip(gates, feats)
    ]
)
per_class = np.array([np.nanmean(gates[data.y_test[:200] == k], axis=0) for k in range(10)])
spread = np.nanmax(per_class, axis=0) - np.nanmin(per_class, axis=0)
print(
    f"training accuracy after {len(hist.history['loss'])} epoch(s): {hist.history['accuracy'][-1]:.3f}"
)
print(
    f"mean gate per class differs by up to {np.nanmax(spread):.3f} on one channel (median channel {np.nanmedian(spread):.3f})"
)
assert np.nanmax(spread) > 0

fig = new_figure((7, 3.5))
ax = fig.add_subplot()
im = ax.imshow(per_class, aspect="auto", cmap="viridis")
fig.colorbar(im, ax=ax, label="mean gate")
ax.set(xlabel="channel", ylabel="class", title="SE gates per class (test images)")
ax.set_yticks(range(10), data.class_names, fontsize=7)
print(save_figure(fig, OUT / "se_gates.png"))

# %% [markdown]
# ## Exercises
#
# 1. **SE by hand.** Take the weights of section 1's block and compute its output in NumPy:
#    squeeze, the two dense layers, sigmoid, scale. Does it match the layer?
# 2. **The reduction ratio.** For $C = 256$, predict the parameter count of an SE block for
#    $r = 4, 8, 16, 32$ and check it against Keras. How does the cost scale with $r$, and how
#    with $C$?
# 3. **SE-ResNet-50's overhead.** In ResNet-50's bottleneck blocks the SE block sits on the
#    block's 4x-wide output: 256, 512, 1,024 and 2,048 channels in stages of 3, 4, 6 and 3
#    blocks. Predict the extra parameters from the formula and check against the registry's
#    `seresnet50` and `resnet50`. Why is the overhead here much larger than for SE-ResNet-18?
# 4. **A gate that does not look.** Set the first layer's weights and biases to zero. What
#    does the block compute now, for any image?
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · SE by hand
# Squeeze, excite, scale with the layer's own weights.

# %% tags=["solution", "hide-cell"]
# The two 1x1 convs on a 1x1 map are dense layers: kernel (1, 1, C, R) -> matrix (C, R).
W1, b1 = se.graph.get_layer(f"{se.name}_reduce").get_weights()
W2, b2 = se.graph.get_layer(f"{se.name}_expand").get_weights()
z = x.mean(axis=(1, 2))  # squeeze: (batch, C)
hidden = np.maximum(z @ W1[0, 0] + b1, 0.0)  # ReLU(W1 z + b1): (batch, R)
s_gate = 1 / (1 + np.exp(-(hidden @ W2[0, 0] + b2)))  # sigmoid: (batch, C)
y_hand = x * s_gate[:, None, None, :]  # scale every pixel of channel c by s_c
print(f"largest difference, NumPy vs SqueezeExcite: {np.abs(y_hand - y).max():.2e}")
assert W1.shape == (1, 1, C, R) and W2.shape == (1, 1, R, C)
assert np.allclose(y_hand, y, atol=1e-5)

# %% [markdown]
# ### Exercise 2 · The reduction ratio
# $2CR + R + C$ with $R = C/r$: about $2C^2/r$.

# %% tags=["solution", "hide-cell"]
# Quadratic in C (a 2x wider layer costs ~4x more), inversely proportional to r.
C2 = 256
for r2 in (4, 8, 16, 32):
    R2 = C2 // r2
    layer_r = SqueezeExcite(ratio=1 / r2)
    layer_r.build((None, 8, 8, C2))
    print(
        f"r={r2:2d}: R={R2:3d}, {layer_r.count_params():6,} params (formula {2 * C2 * R2 + R2 + C2:,})"
    )
    assert layer_r.count_params() == 2 * C2 * R2 + R2 + C2
keras.backend.clear_session()

# %% [markdown]
# ### Exercise 3 · SE-ResNet-50's overhead
# Sum $2CR + R + C$ over the 16 bottleneck blocks.

# %% tags=["solution", "hide-cell"]
# Parameter counts do not depend on the image size (only the activations do), so a small
# input builds faster; the classifier is the same in both networks and cancels.
se50 = sum(
    n * (2 * c * (c // r) + (c // r) + c) for c, n in ((256, 3), (512, 4), (1024, 6), (2048, 3))
)
shape = (64, 64, 3)
p50 = kerascnn.create_model("resnet50", input_shape=shape, num_classes=10).count_params()
keras.backend.clear_session()
pse50 = kerascnn.create_model("seresnet50", input_shape=shape, num_classes=10).count_params()
keras.backend.clear_session()
print(
    f"ResNet-50 {p50:,}, SE-ResNet-50 {pse50:,}: +{pse50 - p50:,} "
    f"(formula {se50:,}, +{100 * (pse50 - p50) / p50:.1f}%)"
)
assert pse50 - p50 == se50
assert (pse50 - p50) / p50 > 5 * extra_params / res.total_params
# Why larger: the SE cost grows with C^2 and ResNet-50's last stage is 2,048 wide (ResNet-18's:
# 512), while ResNet-50's own convs there are 1x1 bottlenecks, cheap for their width.

# %% [markdown]
# ### Exercise 4 · A gate that does not look
# Zero $W_1$ and $b_1$.

# %% tags=["solution", "hide-cell"]
# ReLU(0 z + 0) = 0, so the gate is sigmoid(b2), the same for every image: a fixed per-channel
# scale, which the next conv or BatchNorm could absorb. The block adds nothing.
se_blind = SqueezeExcite(ratio=1 / r)
se_blind.build((None, 8, 8, C))
reduce_layer = se_blind.graph.get_layer(f"{se_blind.name}_reduce")
reduce_layer.set_weights([np.zeros_like(w) for w in reduce_layer.get_weights()])
bias2 = se_blind.graph.get_layer(f"{se_blind.name}_expand").get_weights()[1]
y_blind = np.asarray(se_blind(x))
expected_blind = x / (1 + np.exp(-bias2))
print(f"every gate = sigmoid(b2); b2 at initialisation: all {float(bias2.max()):g} -> gate 0.5")
assert np.allclose(y_blind, expected_blind, atol=1e-6) and np.allclose(y_blind, 0.5 * x, atol=1e-6)
