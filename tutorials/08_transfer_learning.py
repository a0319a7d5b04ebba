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
# # 08 · Transfer learning
#
# Features learned on one task help on a related one. The usual recipe with a pretrained
# ImageNet model is: cut off its classifier, put a new one on top, then either
#
# * **freeze** the pretrained part and train only the new head (fast, needs little data), or
# * **fine-tune** everything with a *smaller* learning rate, so the pretrained features are
#   adjusted rather than destroyed.
#
# This course never downloads weights, so we make our own "pretrained" network: a backbone
# trained on five Fashion-MNIST classes (T-shirt/top, Trouser, Pullover, Dress, Coat), reused
# for the other five (Sandal, Shirt, Sneaker, Bag, Ankle boot) with only a few labelled images
# per class. The same steps apply unchanged to `create_model("resnet50", include_top=False)`
# with real ImageNet weights.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
from pathlib import Path

import keras
import numpy as np

from kerascnn.experiments import run_experiment
from kerascnn.experiments._common import accuracy, load_data
from kerascnn.experiments.transfer import (
    SOURCE,
    STAGE_DECAY,
    TARGET,
    LayerwiseAdam,
    backbone,
    freeze_stages,
    stage_multipliers,
    with_head,
)

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "08_transfer_learning"

# %% [markdown]
# ## 1. Pretrain a backbone on the source classes

# %%
keras.utils.set_random_seed(0)
src = load_data(train=400 if FAST else 3000, test=300, classes=SOURCE)
base = backbone(src.input_shape)
pretrain = with_head(base, len(SOURCE), "pretrain")
pretrain.compile(
    keras.optimizers.Adam(1e-3),
    "sparse_categorical_crossentropy",
    metrics=["accuracy"],
    jit_compile=False,
)
pretrain.fit(src.x_train, src.y_train, epochs=1 if FAST else 4, batch_size=64, verbose=0)
pretrained_weights = base.get_weights()  # kept for exercise 4 (sections 3-5 change `base`)
print(
    f"source task test accuracy: {accuracy(pretrain, src.x_test, src.y_test):.3f} ({', '.join(src.class_names)})"
)
base.summary()

# %% [markdown]
# ## 2. Frozen features: only the new head learns
# `base.trainable = False` freezes every weight of the backbone, BatchNorm statistics
# included when the base is called with `training=False` (what `with_head` does for a frozen
# base; exercise 3 asks what `training=True` would do). Only the new dense head learns: 128
# pooled features to 5 classes,
#
# $$P_{\text{head}} = 128 \cdot 5 + 5 = 645$$
#
# parameters. We check that training really leaves the backbone untouched.

# %%
per_class = 20 if FAST else 40
tgt = load_data(test=300 if FAST else None, classes=TARGET)
idx = np.concatenate([np.flatnonzero(tgt.y_train == c)[:per_class] for c in range(len(TARGET))])
x_small, y_small = tgt.x_train[idx], tgt.y_train[idx]
print(
    f"target task: {len(x_small)} labelled images ({per_class} per class: {', '.join(tgt.class_names)})"
)

before = [w.copy() for w in base.get_weights()]
base.trainable = False
frozen = with_head(base, len(TARGET), "frozen")
n_trainable = sum(int(np.prod(w.shape)) for w in frozen.trainable_weights)
print(f"trainable parameters: {n_trainable:,} of {frozen.count_params():,}")
assert n_trainable == 128 * len(TARGET) + len(TARGET) == 645  # only the dense head
frozen.compile(
    keras.optimizers.Adam(1e-3),
    "sparse_categorical_crossentropy",
    metrics=["accuracy"],
    jit_compile=False,
)
frozen.fit(x_small, y_small, epochs=3 if FAST else 20, batch_size=32, verbose=0)
after = base.get_weights()
assert all(np.array_equal(a, b) for a, b in zip(before, after)), "a frozen backbone must not change"
acc_frozen = accuracy(frozen, tgt.x_test, tgt.y_test)
print(
    f"frozen features: target test accuracy {acc_frozen:.3f}; backbone weights unchanged: checked"
)

# %% [markdown]
# ## 3. Fine-tuning: unfreeze, smaller learning rate
# Starting from the frozen model (its head is already trained), unfreeze the backbone and
# continue with a 10x smaller learning rate. Changing `trainable` requires compiling again.

# %%
base.trainable = True
finetune = with_head(base, len(TARGET), "finetune")
finetune.layers[-1].set_weights(frozen.layers[-1].get_weights())  # keep the trained head
n_trainable_ft = sum(int(np.prod(w.shape)) for w in finetune.trainable_weights)
assert n_trainable_ft > 100 * n_trainable
finetune.compile(
    keras.optimizers.Adam(1e-4),
    "sparse_categorical_crossentropy",
    metrics=["accuracy"],
    jit_compile=False,
)
finetune.fit(x_small, y_small, epochs=2 if FAST else 10, batch_size=32, verbose=0)
changed = sum(not np.array_equal(a, b) for a, b in zip(after, base.get_weights()))
acc_ft = accuracy(finetune, tgt.x_test, tgt.y_test)
print(
    f"fine-tuned: {n_trainable_ft:,} trainable parameters, {changed} backbone weight tensors changed, "
    f"target test accuracy {acc_ft:.3f}"
)
assert changed > 0

# %% [markdown]
# ## 4. Partial freezing: keep the general features, adapt the specific ones
# Lower layers learn general features (edges, textures), upper ones features specific to the
# source classes. With few target images, a middle road is to freeze the lower stages and
# fine-tune only the top stage and the head. Setting `trainable = False` on single layers
# does it; a frozen BatchNormalization also keeps its statistics (Keras 3 runs it in inference
# mode). The trainable part is then the third stage (a 3x3 conv from 64 to 128 channels without
# bias, and BatchNorm's $\gamma$, $\beta$) plus the head:
#
# $$3 \cdot 3 \cdot 64 \cdot 128 + 2 \cdot 128 + 645 = 74{,}629.$$

# %%
partial_base = backbone(tgt.input_shape)
partial_base.set_weights(base.get_weights())  # the fine-tuned backbone as the start
freeze_stages(partial_base, (1, 2))
partial = with_head(partial_base, len(TARGET), "partial")
frozen_stage = [w.numpy().copy() for w in partial_base.get_layer("backbone_1_conv").weights]
top_stage = [w.numpy().copy() for w in partial_base.get_layer("backbone_3_conv").weights]
n_partial = sum(int(np.prod(w.shape)) for w in partial.trainable_weights)
stage3 = 3 * 3 * 64 * 128 + 2 * 128  # conv kernel (no bias before BN) + BN gamma and beta
assert n_partial == stage3 + n_trainable == 74_629, n_partial  # the top stage and the head
partial.compile(
    keras.optimizers.Adam(1e-4),
    "sparse_categorical_crossentropy",
    metrics=["accuracy"],
    jit_compile=False,
)
partial.fit(x_small, y_small, epochs=2 if FAST else 10, batch_size=32, verbose=0)
after_stage1 = partial_base.get_layer("backbone_1_conv").weights
after_stage3 = partial_base.get_layer("backbone_3_conv").weights
assert all(np.array_equal(a, b.numpy()) for a, b in zip(frozen_stage, after_stage1))
assert not all(np.array_equal(a, b.numpy()) for a, b in zip(top_stage, after_stage3))
print(
    f"partial freezing: {n_partial:,} trainable parameters (stage 3: {stage3:,}, head: "
    f"{n_trainable:,}); stage 1 unchanged, stage 3 changed: checked"
)

# %% [markdown]
# ## 5. Layer-wise learning rates
# Instead of a hard line between frozen and trained, give each stage its own rate: the head
# learns at the full rate $\eta$ and every stage below it 3x slower than the one above
# ("discriminative fine-tuning"). For the three stages $s = 1, 2, 3$ under the head:
#
# $$\eta_s = \eta \cdot \left(\frac{1}{3}\right)^{4 - s}, \qquad \eta_3 = \frac{\eta}{3}, \quad \eta_2 = \frac{\eta}{9}, \quad \eta_1 = \frac{\eta}{27}.$$
#
# Adam's step does not depend on the gradient's scale (exercise 2), so this cannot be done by
# scaling gradients; `LayerwiseAdam` multiplies the rate of each variable instead. Adam's very
# first step moves every weight by about the rate itself ($\hat{m} / \sqrt{\hat{v}} = \pm 1$
# at $t = 1$), which makes the multipliers visible after one step.

# %%
multipliers = stage_multipliers()
print({k: round(v, 4) for k, v in multipliers.items()})
layered_base = backbone(tgt.input_shape)
layered_base.set_weights(base.get_weights())
layered = with_head(layered_base, len(TARGET), "layered")
layered.compile(
    LayerwiseAdam(1e-3, lr_multipliers=multipliers),
    "sparse_categorical_crossentropy",
    jit_compile=False,
)
start = {w.path: w.numpy().copy() for w in layered.trainable_weights}
layered.fit(x_small[:32], y_small[:32], epochs=1, batch_size=32, verbose=0)  # one step
moved = {w.path: float(np.abs(w.numpy() - start[w.path]).max()) for w in layered.trainable_weights}
for stage in (1, 2, 3):
    step = moved[f"backbone_{stage}_conv/kernel"]
    want = 1e-3 * multipliers[f"backbone_{stage}"]
    print(f"stage {stage}: largest first step {step:.2e} (rate x multiplier = {want:.2e})")
    assert abs(step - want) < 0.01 * want
assert abs(moved["layered_head/kernel"] - 1e-3) < 1e-5  # the head: the full rate
assert STAGE_DECAY == 1 / 3
assert all(abs(multipliers[f"backbone_{s}"] - (1 / 3) ** (4 - s)) < 1e-12 for s in (1, 2, 3))

# %% [markdown]
# ## 6. The strategies side by side
# `kerascnn experiment transfer` runs scratch, frozen features, partial freezing, fine-tuning
# and layer-wise rates with the same budget and writes a report; here is this run's table (fast
# mode: a few steps only, so the numbers are rough; the full run uses 40 images per class and
# 20 epochs).

# %%
result = run_experiment("transfer", OUT / "report", fast=FAST, seed=0)
for row in result.rows:
    print(
        f"{row['method']:17s} trainable {row['trainable params']:>7,}   target test accuracy "
        f"{row['target test accuracy']:.3f}"
    )
for finding in result.findings:
    print("-", finding)
by = {r["method"]: r for r in result.rows}
assert by["frozen features"]["trainable params"] < by["from scratch"]["trainable params"] / 100
assert by["partial freezing"]["trainable params"] == n_partial
print("report:", OUT / "report" / "README.md")

# %% [markdown]
# ## Exercises
#
# 1. **A head for ten classes.** Put a 10-class head on the frozen backbone instead of the
#    5-class one. Predict its trainable and total parameter counts, then let Keras count them.
# 2. **Adam does not see the gradient's scale.** Give `keras.optimizers.Adam` the same gradient
#    once as it is and once multiplied by 1000, one step each from the same weights. Predict the
#    two updates, then divide the learning rate by 3 instead. Which of the two changes is a
#    layer-wise learning rate?
# 3. **A frozen BatchNorm called with `training=True`.** `with_head` calls a frozen base with
#    `training=False`. What happens if it is called with `training=True`: do the outputs change,
#    do the moving statistics? And for a trainable base?
# 4. **Frozen or fine-tuned, by data size.** Section 2-3 used one size of target set. Starting
#    from the pretrained backbone of section 1, train a frozen-features model and a fully
#    fine-tuned one with 5 and with 50 images per class, for the same number of steps. Which
#    wins at each size, and how much does each gain from the extra data? Does the course's
#    rule (little data and a similar task: freeze; more data: fine-tune) hold here?
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · A head for ten classes
# Trainable and total parameters with a 10-class head on the frozen backbone.

# %% tags=["solution", "hide-cell"]
# The backbone ends in a global average pool of 128 channels, so the head has 128 * 10 weights
# and 10 biases; the total adds the whole (frozen) backbone, BatchNorm statistics included.
base.trainable = False
head10 = with_head(base, 10, "head10")
head10_trainable = sum(int(np.prod(w.shape)) for w in head10.trainable_weights)
print(
    f"10-class head: {head10_trainable:,} trainable of {head10.count_params():,} parameters "
    f"(backbone {base.count_params():,})"
)
assert head10_trainable == 128 * 10 + 10 == 1_290
assert head10.count_params() == base.count_params() + 1_290
base.trainable = True

# %% [markdown]
# ### Exercise 2 · Adam does not see the gradient's scale
# One Adam step with $g$ and with $1000 g$; then with the learning rate divided by 3.

# %% tags=["solution", "hide-cell"]
# Adam divides m_hat by sqrt(v_hat): a gradient 1000x larger makes both 1000x larger, and the
# update is the same (up to epsilon). Scaling gradients is therefore no way to slow a stage
# down; scaling the rate is, and the update scales with it exactly.
g2 = np.random.default_rng(0).normal(size=(4,)).astype("float32")


def adam_update(gradient, lr=1e-3):
    w = keras.Variable(np.zeros(4, "float32"))
    keras.optimizers.Adam(lr).apply_gradients([(gradient, w)])
    return -w.numpy()


u_1, u_1000, u_third = adam_update(g2), adam_update(1000 * g2), adam_update(g2, lr=1e-3 / 3)
print(f"update with g: {u_1}\nwith 1000 g:   {u_1000}\nwith lr / 3:   {u_third}")
assert np.allclose(u_1, u_1000, rtol=1e-4)  # the gradient's scale cancels
assert np.allclose(u_third, u_1 / 3, rtol=1e-4)  # the rate's does not: a layer-wise rate

# %% [markdown]
# ### Exercise 3 · A frozen BatchNorm called with `training=True`
# Outputs and moving statistics of the backbone, frozen and trainable, in both modes.

# %% tags=["solution", "hide-cell"]
# In Keras 3 a BatchNormalization layer whose trainable is False always runs in inference mode:
# `training=True` changes nothing, neither the output nor the moving statistics. A trainable
# one normalises with the batch's own statistics in training mode (a different output) and
# moves its moving mean and variance towards them.
x3 = tgt.x_test[:64]
bn_layer = base.get_layer("backbone_1_bn")


def bn_run(trainable):
    base.trainable = trainable
    saved, stats = base.get_weights(), [w.copy() for w in bn_layer.get_weights()]
    out_train = np.asarray(base(x3, training=True))
    moved_stats = any(not np.array_equal(a, b) for a, b in zip(stats, bn_layer.get_weights()))
    base.set_weights(saved)  # undo, so the next run starts from the same statistics
    out_infer = np.asarray(base(x3, training=False))
    return float(np.abs(out_train - out_infer).max()), moved_stats


frozen_diff, frozen_moved = bn_run(False)
trainable_diff, trainable_moved = bn_run(True)
print(
    f"frozen: max |training=True - training=False| = {frozen_diff:.1e}, statistics moved: "
    f"{frozen_moved}; trainable: {trainable_diff:.2e}, statistics moved: {trainable_moved}"
)
assert frozen_diff == 0 and not frozen_moved
assert trainable_diff > 1e-3 and trainable_moved

# %% [markdown]
# ### Exercise 4 · Frozen or fine-tuned, by data size
# 5 and 50 images per class, the same number of steps, frozen features against full fine-tuning.

# %% tags=["solution", "hide-cell"]
# The frozen model learns 645 parameters (a linear head on fixed features), fine-tuning all
# ~93,000. The rule expects fine-tuning to overfit a handful of images; here it does not: with
# a small backbone, a 3x smaller rate and the same short budget (the same number of steps of 32
# images for every run, so only the data differ), fine-tuning wins at both sizes, and both
# methods gain from the extra data. The target classes (sandals, shirts, sneakers, bags, boots)
# are only partly like the source ones (tops, trousers, pullovers, dresses, coats); testing the
# rule properly needs several similarities, not just this one. How good frozen features are also
# depends on the pretraining: in fast mode the backbone saw 400 source images for one epoch (its
# source accuracy is printed in section 1) and its frozen features are weak; run the lesson
# without `KERASCNN_FAST` for the real comparison. One seed, one similarity: the bounds below
# are loose on purpose.
ex4_steps = 30 if FAST else 150
ex4 = {}
for n_per_class in (5, 50):
    idx4 = np.concatenate(
        [np.flatnonzero(tgt.y_train == c)[:n_per_class] for c in range(len(TARGET))]
    )
    epochs4 = int(np.ceil(ex4_steps / np.ceil(len(idx4) / 32)))
    for method, lr4 in (("frozen", 1e-3), ("fine-tuned", 3e-4)):
        keras.utils.set_random_seed(1)
        b4 = backbone(tgt.input_shape)
        b4.set_weights(pretrained_weights)
        b4.trainable = method == "fine-tuned"
        m4 = with_head(b4, len(TARGET), "ex4")
        m4.compile(keras.optimizers.Adam(lr4), "sparse_categorical_crossentropy", jit_compile=False)
        m4.fit(tgt.x_train[idx4], tgt.y_train[idx4], epochs=epochs4, batch_size=32, verbose=0)
        ex4[(method, n_per_class)] = accuracy(m4, tgt.x_test, tgt.y_test)
        keras.backend.clear_session()
for method in ("frozen", "fine-tuned"):
    gain = ex4[(method, 50)] - ex4[(method, 5)]
    print(
        f"{method:>10}: 5 per class {ex4[(method, 5)]:.3f}, 50 per class {ex4[(method, 50)]:.3f} "
        f"(gain {gain:+.3f})"
    )
assert all(acc > 0.2 for acc in ex4.values())  # chance is 0.2 on five classes
assert all(ex4[("fine-tuned", n)] > ex4[("frozen", n)] + 0.05 for n in (5, 50))
assert all(ex4[(m, 50)] > ex4[(m, 5)] for m in ("frozen", "fine-tuned"))
