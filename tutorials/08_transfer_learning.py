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
print(
    f"source task test accuracy: {accuracy(pretrain, src.x_test, src.y_test):.3f} ({', '.join(src.class_names)})"
)
base.summary()

# %% [markdown]
# ## 2. Frozen features: only the new head learns
# `base.trainable = False` freezes every weight of the backbone, BatchNorm statistics
# included when the base is called with `training=False` (what `with_head` does for a frozen
# base). We check that training really leaves the backbone untouched.

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
assert n_trainable == 128 * len(TARGET) + len(
    TARGET
)  # only the dense head: 128 features -> 5 classes
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
# mode).

# %%
partial_base = backbone(tgt.input_shape)
partial_base.set_weights(base.get_weights())  # the fine-tuned backbone as the start
freeze_stages(partial_base, (1, 2))
partial = with_head(partial_base, len(TARGET), "partial")
frozen_stage = [w.numpy().copy() for w in partial_base.get_layer("backbone_1_conv").weights]
top_stage = [w.numpy().copy() for w in partial_base.get_layer("backbone_3_conv").weights]
n_partial = sum(int(np.prod(w.shape)) for w in partial.trainable_weights)
stage3 = 3 * 3 * 64 * 128 + 2 * 128  # conv kernel (no bias before BN) + BN gamma and beta
assert n_partial == stage3 + n_trainable, n_partial  # the top stage and the head only
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
# learns at the full rate and every stage below it 3x slower than the one above
# ("discriminative fine-tuning"). Adam's step does not depend on the gradient's scale, so this
# cannot be done by scaling gradients; `LayerwiseAdam` multiplies the rate of each variable
# instead. Adam's very first step moves every weight by about the rate itself, which makes the
# multipliers visible after one step.

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
