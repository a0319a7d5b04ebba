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
# # 09 · Regularization, data augmentation and hyper-parameter search
#
# With few training images a CNN memorises them: training accuracy climbs, test accuracy
# stalls, and the gap between them is *overfitting*. Three standard remedies:
#
# * **weight decay**: add a penalty on the size of the weights to the loss (below);
# * **dropout**: during training, zero each unit with probability $p$ and scale the survivors
#   by $\frac{1}{1-p}$, so the expected value is unchanged; at test time do nothing;
# * **data augmentation**: train on randomly flipped / shifted / rotated / erased copies.
#
# Weight decay with strength $\lambda$ changes the loss $L$ and its gradient to
#
# $$
# \tilde{L}(W) = L(W) + \frac{\lambda}{2} \lVert W \rVert^2 , \qquad \nabla_W \tilde{L} = \nabla_W L + \lambda W ,
# $$
#
# so every step also pulls each weight towards zero in proportion to its size.
#
# We check what each one does mechanically in Keras, then measure them on 300 images with
# `kerascnn experiment overfitting`, look hard at why the published gap barely moves, measure
# what does move it, and end with the search for the learning rate and the decay strength
# themselves: random on a log scale, then narrowing the ranges over rounds.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import json
import os
from pathlib import Path

import keras
import numpy as np

from kerascnn.data import load_dataset
from kerascnn.experiments import run_experiment
from kerascnn.experiments._common import load_data, tiny_convnet
from kerascnn.experiments.hparam import coarse_to_fine, narrow_ranges, sample_log_uniform
from kerascnn.scratch import SGD, MultiLayerNet, train
from kerascnn.viz import default_augmentations, new_figure, plot_augmentations, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "09_regularization_and_augmentation"
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Weight decay is a term in the loss
# Mind the factor of two. Keras's `kernel_regularizer=L2(l)` adds $l \lVert W \rVert^2$ per
# kernel, without the $\frac{1}{2}$, so `L2(l)` is the textbook's $\lambda = 2l$ (its gradient is
# $2lW$). `model.losses` holds those terms and `fit` adds them to the data loss.

# %%
lam = 1e-3
model = tiny_convnet((28, 28, 1), 10, l2=lam)
penalty = float(sum(keras.ops.convert_to_numpy(term) for term in model.losses))
by_hand = lam * sum(
    float(np.sum(np.square(w.numpy()))) for w in model.weights if "kernel" in w.path
)
print(f"L2 penalty from Keras {penalty:.6f}, by hand {by_hand:.6f} ({len(model.losses)} kernels)")
assert abs(penalty - by_hand) < 1e-6 * max(1.0, by_hand)

# %% [markdown]
# ## 2. Dropout: random zeros in training, identity at test time
# Each unit $h_i$ is kept with probability $1-p$ (a Bernoulli mask $m_i$) and rescaled:
#
# $$
# \tilde{h}_i = \frac{m_i h_i}{1-p}, \qquad \mathbb{E}[\tilde{h}_i] = \frac{(1-p) h_i}{1-p} = h_i .
# $$
#
# This is *inverted* dropout (Keras's): inference costs nothing. With $p = 0.5$ the survivors
# are doubled.

# %%
p = 0.5
drop = keras.layers.Dropout(p, seed=0)
x = np.ones((1, 10_000), "float32")
train_out = np.asarray(drop(x, training=True))
test_out = np.asarray(drop(x, training=False))
zero_fraction = float((train_out == 0).mean())
print(
    f"training: {100 * zero_fraction:.1f}% zeros, the rest = {train_out[train_out > 0][0]:.1f}, mean {train_out.mean():.3f}; "
    f"inference: unchanged = {np.array_equal(test_out, x)}"
)
assert set(np.unique(train_out)) <= {0.0, 1 / (1 - p)}
assert abs(zero_fraction - p) < 0.03 and abs(train_out.mean() - 1.0) < 0.06
assert np.array_equal(test_out, x)

# %% [markdown]
# ## 3. Augmentation with Keras preprocessing layers
# The layers are random in training and the identity at inference, so they can sit at the
# start of the model (they then run on the accelerator, batch by batch). The CIFAR-10 recipe
# (random 32x32 crops of the image padded by 4 pixels, horizontal flips, per-channel
# normalisation) is built and trained in lesson 16, with the course's networks.

# %%
ds = load_dataset("fashion_mnist_mini")
images = ds.x_test[:4].astype("float32") / 255.0
fig = plot_augmentations(images, path=OUT / "augmentations.png")
augs = default_augmentations(seed=0)
assert len(fig.axes) == 4 * (1 + len(augs))
flipped = np.asarray(augs["flip"](images, training=True))
for original, out in zip(images, flipped):  # each image is either unchanged or exactly mirrored
    assert np.allclose(out, original, atol=1e-6) or np.allclose(out, original[:, ::-1], atol=1e-6)
for name, layer in augs.items():  # every augmentation is the identity at inference
    assert np.allclose(np.asarray(layer(images, training=False)), images, atol=1e-6), name
print("augmentations:", ", ".join(augs), "- identity at inference: checked")

# %% [markdown]
# ## 4. Measured: 300 training images, baseline vs weight decay vs dropout
# `run_experiment("overfitting")` trains the same conv net three ways and writes a report
# (README.md table, plot, results.json). The full run trains 60 epochs; fast mode only 3
# epochs and scores 300 test images, which stops long before the net memorises its training
# set, so fast mode's gaps say nothing about regularisation (they only exercise the code).

# %%
result = run_experiment("overfitting", OUT / "overfitting", fast=FAST, seed=0)
print((OUT / "overfitting" / "README.md").read_text().split("## Findings")[0].split("\n\n")[-2])
for finding in result.findings:
    print("-", finding)
for row in result.rows:
    assert abs(row["gap (train - test)"] - (row["train accuracy"] - row["test accuracy"])) < 1e-12
if not FAST:  # 60 epochs on 300 images: the plain network memorises its training set
    base = result.rows[0]
    assert base["train accuracy"] > 0.95 and base["gap (train - test)"] > 0.1, base

# %% [markdown]
# ## 5. The published run: the gap barely moves
# The committed report `reports/experiments/overfitting/results.json` (60 epochs, 1,000 test
# images) is the one to read. Baseline gap 0.214; with weight decay 0.212; with dropout 0.211.
# The remedies above did, by this measure, almost nothing.

# %%
PUBLISHED = HERE.parent / "reports" / "experiments" / "overfitting" / "results.json"
published = json.loads(PUBLISHED.read_text())
pub = {row["model"]: row for row in published["rows"]}
gaps = {name: row["gap (train - test)"] for name, row in pub.items()}
n_test = published["settings"]["test_samples"]
for name, row in pub.items():
    print(
        f"{name:24s} train {row['train accuracy']:.3f}  test {row['test accuracy']:.3f}  "
        f"gap {row['gap (train - test)']:.3f}  best test (any epoch) {row['best test accuracy']:.3f}"
    )
base_test = pub["baseline"]["test accuracy"]
std_err = np.sqrt(base_test * (1 - base_test) / n_test)  # binomial standard error of a test score
print(f"standard error of one test accuracy on {n_test:,} images: {std_err:.3f}")
assert published["settings"]["epochs"] == 60 and published["settings"]["train_samples"] == 300
assert [round(g, 3) for g in gaps.values()] == [0.214, 0.212, 0.211]
assert [round(r["train accuracy"], 3) for r in pub.values()] == [1.0, 1.0, 0.997]
assert round(std_err, 3) == 0.013
assert max(abs(g - gaps["baseline"]) for g in gaps.values()) <= 0.0034 < std_err / 3
assert round(pub["dropout 0.5"]["best test accuracy"], 3) == 0.806
assert round(pub["baseline"]["best test accuracy"], 3) == 0.793
if not FAST:  # this lesson's own 60-epoch run (section 4) tells the same story
    fresh = [row["gap (train - test)"] for row in result.rows]
    assert all(abs(a - b) < 0.03 for a, b in zip(fresh, gaps.values())), fresh
    assert max(fresh) - min(fresh) < 0.03, fresh
overfit_net = tiny_convnet((28, 28, 1), 10, filters=(32, 64), dense=256, name="overfit_net")
print(f"the experiment's network: {overfit_net.count_params():,} weights for 300 images")
dense_kernel = overfit_net.get_layer("overfit_net_fc").kernel
assert overfit_net.count_params() == 824_458 and tuple(dense_kernel.shape) == (3136, 256)
keras.backend.clear_session()

# %% [markdown]
# Why so little?
#
# * **Every variant still memorises.** Training accuracy is 1.000, 1.000 and 0.997: with 300
#   images and a network of 824,458 weights (802,816 of them in its 3,136 x 256 dense layer),
#   neither penalty at these strengths stops it from fitting every training image. The gap is then
#   just $1 - \text{test accuracy}$, and moves only as far as test accuracy moves.
# * **The changes are noise.** A test accuracy on 1,000 images has a standard error of about
#   $\sqrt{a(1-a)/n} \approx 0.013$; the gaps differ by 0.003 at most, a quarter of that.
#   Dropout's best epoch (0.806 against 0.793) hints at more, but one seed cannot show it.
# * **The strengths are mild.** `L2(1e-3)` is $\lambda = 2 \times 10^{-3}$, and under Adam the
#   $\lambda W$ in the gradient is divided by each weight's running gradient scale like the
#   rest, so the weights with large gradients are decayed far less than $\lambda W$ suggests
#   (decoupled weight decay, AdamW, applies the decay outside that scaling). Dropout 0.5 after
#   the flatten and the dense layer leaves the conv layers untouched.
#
# What does move the gap? The next section measures it on a network small enough to train in
# a fraction of a second: the NumPy MLP of `kerascnn.scratch` (lesson 06) on 14x14 thumbnails
# of the same images, where `weight_decay` is exactly the $\frac{\lambda}{2} \lVert W \rVert^2$
# above. Same 1,500 SGD steps everywhere; only the data size or the decay changes.

# %% [markdown]
# ## 6. What moves the gap: more data, or a much stronger penalty

# %%
data = load_data(train=3000, test=1000, seed=0)


def thumbnails(x):
    """28x28 -> 14x14 by averaging 2x2 blocks, flattened to 196 numbers."""
    return x.reshape(len(x), 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(x), -1)


x_all, y_all = thumbnails(data.x_train), data.y_train
x_test, y_test = thumbnails(data.x_test), data.y_test


def fit_mlp(n, weight_decay=0.0, lr=0.1, steps=1500, x=x_all, y=y_all):
    """The 196-32-10 MLP on the first n images: (train accuracy, test accuracy)."""
    net = MultiLayerNet(196, (32,), 10, weight_decay=weight_decay, seed=0)
    train(net, x[:n], y[:n], SGD(lr), steps=steps, batch_size=32, seed=0)
    return net.accuracy(x[:n], y[:n]), net.accuracy(x_test, y_test)


by_size = {n: fit_mlp(n) for n in (300, 1000, 3000)}
by_decay = {wd: fit_mlp(300, wd) for wd in (0.0, 0.01, 0.03, 0.1)}
print("| training images | weight decay | train | test | gap |\n|---|---|---|---|---|")
for label, runs in (("size", by_size), ("decay", by_decay)):
    for key, (tr, te) in runs.items():
        n, wd = (key, 0.0) if label == "size" else (300, key)
        print(f"| {n:,} | {wd:g} | {tr:.3f} | {te:.3f} | {tr - te:.3f} |")
gap_size = [tr - te for tr, te in by_size.values()]
gap_decay = [tr - te for tr, te in by_decay.values()]
assert gap_size[0] > 0.15 and all(a > b for a, b in zip(gap_size, gap_size[1:]))
assert gap_size[-1] < gap_size[0] / 3  # 10x the data: a fraction of the gap
assert by_size[3000][1] > by_size[300][1] + 0.04  # ... and a better test accuracy
assert by_size[3000][0] < by_size[300][0]  # while the training accuracy comes down
assert all(a > b for a, b in zip(gap_decay, gap_decay[1:]))  # stronger decay, smaller gap
assert by_decay[0.1][0] < by_decay[0.0][0] - 0.15  # ... by pulling training accuracy down
assert by_decay[0.01][1] > by_decay[0.0][1]  # moderate: a little test accuracy
assert by_decay[0.1][1] < by_decay[0.0][1]  # too strong: the test accuracy falls too

fig = new_figure((9, 3.5))
ax1, ax2 = fig.subplots(1, 2)
for ax, runs, xlabel in ((ax1, by_size, "training images"), (ax2, by_decay, "weight decay")):
    keys = [str(k) for k in runs]
    ax.plot(keys, [tr for tr, _ in runs.values()], "o-", label="train")
    ax.plot(keys, [te for _, te in runs.values()], "s--", label="test")
    ax.set(xlabel=xlabel, ylabel="accuracy", ylim=(0.5, 1.02))
    ax.grid(alpha=0.3)
    ax.legend()
ax1.set_title("more data closes the gap from above and below")
ax2.set_title("a strong penalty closes it from above")
print(save_figure(fig, OUT / "what_moves_the_gap.png"))

# %% [markdown]
# Ten times the data shrinks the gap to a fraction and raises the test accuracy: the test
# accuracy comes up while the training accuracy comes down. A penalty strong enough to move the
# gap does it mostly by lowering training accuracy; a moderate one can add a little test
# accuracy, a strong one costs it. So the strength is a *hyper-parameter*, chosen on held-out
# data, like the learning rate. Augmentation is the cheap way to get "more data"; early
# stopping (keep the epoch with the best validation score) is the other remedy that works
# on 300 images.

# %% [markdown]
# ## 7. Hyper-parameter search: random on a log scale, then narrow the ranges over rounds
# Useful learning rates and decay strengths span several orders of magnitude, so sample the
# *exponent* uniformly: $\eta = 10^{u}$ with $u \sim \mathcal{U}(\log_{10} \eta_{\min}, \log_{10} \eta_{\max})$,
# every decade getting the same share of the trials. Random points beat a grid: with $n$ trials
# a grid tries only $\sqrt{n}$ values of each hyper-parameter, random search $n$ (Bergstra &
# Bengio, 2012). Then search coarse to fine:
#
# 1. round 1 samples a wide box, say $\eta \in [10^{-4}, 3]$ and $\lambda \in [10^{-6}, 1]$;
# 2. keep the $k$ best trials and shrink the box to their span (per hyper-parameter, the min and
#    max of their values: in log space the same box);
# 3. sample the smaller box; repeat.
#
# `kerascnn.experiments.hparam` has the pieces (`sample_log_uniform`, `narrow_ranges` and the
# loop `coarse_to_fine`). Each trial trains the MLP above on 800 images and is scored on 200
# *other training images* (a validation split): the test set stays out of the search.

# %%
x_fit, y_fit, x_val, y_val = x_all[:800], y_all[:800], x_all[800:1000], y_all[800:1000]
TRIALS, STEPS = (8, 200) if FAST else (16, 300)


def validation_accuracy(lr, weight_decay):
    net = MultiLayerNet(196, (32,), 10, weight_decay=weight_decay, seed=0)
    with np.errstate(all="ignore"):  # a too-large lr diverges: NaN loss, chance accuracy
        train(net, x_fit, y_fit, SGD(lr), steps=STEPS, batch_size=32, seed=0)
        return net.accuracy(x_val, y_val)


WIDE = {"lr": (1e-4, 3.0), "weight_decay": (1e-6, 1.0)}
rounds = coarse_to_fine(validation_accuracy, WIDE, rounds=3, trials=TRIALS, top_k=3, seed=0)


def decades(lo_hi):
    return float(np.log10(lo_hi[1] / lo_hi[0]))


for r in rounds:
    (lr_lo, lr_hi), (wd_lo, wd_hi) = r["ranges"]["lr"], r["ranges"]["weight_decay"]
    best, score = r["best"]
    print(
        f"round {r['round']}: lr [{lr_lo:.1e}, {lr_hi:.1e}] ({decades(r['ranges']['lr']):.1f} decades), "
        f"wd [{wd_lo:.1e}, {wd_hi:.1e}] ({decades(r['ranges']['weight_decay']):.1f}); "
        f"best {score:.3f} at lr {best['lr']:.2e}, wd {best['weight_decay']:.1e}; "
        f"median trial {np.median(r['scores']):.3f}"
    )
for before, after in zip(rounds, rounds[1:]):
    for k in WIDE:  # nested boxes, each at most as wide as the last
        assert before["ranges"][k][0] <= after["ranges"][k][0] <= after["ranges"][k][1]
        assert after["ranges"][k][1] <= before["ranges"][k][1]
assert decades(rounds[-1]["ranges"]["lr"]) < decades(WIDE["lr"]) / 4
shrink = {k: decades(WIDE[k]) / decades(rounds[-1]["ranges"][k]) for k in WIDE}
print("the box shrank by a factor of", {k: round(v, 1) for k, v in shrink.items()}, "in decades")
assert shrink["lr"] > shrink["weight_decay"]  # the learning rate narrows faster
assert np.median(rounds[-1]["scores"]) > np.median(rounds[0]["scores"]) + 0.1
best_point, best_score = max((r["best"] for r in rounds), key=lambda b: b[1])
assert best_score > 0.6
assert max(r["best"][1] for r in rounds[1:]) < rounds[0]["best"][1] + 0.05  # the best: little gain
val_std_err = np.sqrt(best_score * (1 - best_score) / len(y_val))
print(f"standard error of a validation accuracy on {len(y_val)} images: {val_std_err:.3f}")
assert round(val_std_err, 2) == 0.03

# %%
from matplotlib.patches import Rectangle  # noqa: E402

fig = new_figure((10, 4))
ax1, ax2 = fig.subplots(1, 2)
for r in rounds:
    c = f"C{r['round'] - 1}"
    (lr_lo, lr_hi), (wd_lo, wd_hi) = r["ranges"]["lr"], r["ranges"]["weight_decay"]
    ax1.add_patch(Rectangle((lr_lo, wd_lo), lr_hi - lr_lo, wd_hi - wd_lo, fill=False, ec=c))
    ax1.scatter(
        [p["lr"] for p in r["points"]],
        [p["weight_decay"] for p in r["points"]],
        c=c,
        s=20 + 60 * np.nan_to_num(r["scores"]),
        label=f"round {r['round']}",
    )
    ax2.plot(range(len(r["scores"])), sorted(r["scores"], reverse=True), "o-", c=c)
ax1.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="weight decay")
ax1.set_title("each round samples the box of the last round's best 3", fontsize=9)
ax1.legend(fontsize=8)
ax2.set(xlabel="trial (sorted)", ylabel="validation accuracy", title="scores per round")
ax2.grid(alpha=0.3)
print(save_figure(fig, OUT / "search_rounds.png"))

# %% [markdown]
# The box shrinks fast along the learning rate, which decides almost everything here, and
# more slowly along the weight decay, which matters less at this training length. The median
# trial improves a lot from round 1 to the next rounds: the search stops wasting trials on
# hopeless learning rates. The *best* score improves little, and can even drop in a later
# round: 200 validation images give a standard error of about 0.03, more than what separates
# the good trials. Once the best few are within the noise, narrowing further only fits the
# validation split; stop there, take the best point, and score it once on the test set. Expect
# the test score to come out a little lower than the winning validation score: the best of
# many noisy scores is biased upwards.

# %%
test_net = MultiLayerNet(196, (32,), 10, weight_decay=best_point["weight_decay"], seed=0)
train(test_net, x_fit, y_fit, SGD(best_point["lr"]), steps=STEPS, batch_size=32, seed=0)
test_acc = test_net.accuracy(x_test, y_test)
print(
    f"best point: lr {best_point['lr']:.2e}, weight decay {best_point['weight_decay']:.1e}; "
    f"validation {best_score:.3f}, test {test_acc:.3f}"
)
assert abs(test_acc - best_score) < 0.1  # the validation split was an honest stand-in

# %% [markdown]
# ## Exercises
#
# 1. **Keras's L2 against the textbook's.** Which `keras.regularizers.L2(l)` adds the same
#    penalty as the textbook's $\frac{\lambda}{2} \lVert W \rVert^2$ with $\lambda = 10^{-3}$ (the
#    form of `kerascnn.scratch`)? Check the two penalties on one weight matrix, and check by
#    central differences that the gradient of the Keras term is $2lW$.
# 2. **Original dropout.** Srivastava et al. did not rescale in training; they multiplied by
#    $1-p$ at inference instead. Using `kerascnn.scratch.Dropout(mode="original")`, show that
#    its average training output equals its inference output, as the inverted form's does,
#    and say by what factor the two forms' training outputs differ.
# 3. **A penalty or more data?** From section 6's table: which weight decay gives the
#    300-image MLP its best test accuracy, and does it beat simply training on 1,000 images
#    without any decay?
# 4. **Why a log scale?** Draw 4,000 learning rates from $[10^{-4}, 1]$ with
#    `sample_log_uniform` and 4,000 uniformly. What fraction of each lands below $10^{-2}$?
#    Predict both before you count.
# 5. **Narrow to the single best trial.** Run `narrow_ranges` on round 1 of section 7 with
#    `top_k=1`. What does round 2 then sample, and why is a top-$k$ of 2 or more (or a margin
#    around the best point) needed?
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Keras's L2 against the textbook's
# $\frac{\lambda}{2} \lVert W \rVert^2 = l \lVert W \rVert^2$ gives $l = \lambda / 2$.

# %% tags=["solution", "hide-cell"]
# The textbook's penalty with lambda = 1e-3 equals Keras's L2(5e-4). Its gradient: d/dW of
# l * sum(W^2) is 2 l W = lambda W, the same "pull towards zero" as the scratch optimizers add.
from kerascnn.scratch import l2_penalty  # noqa: E402

lam_book = 1e-3
W = rng.normal(size=(6, 4))
keras_l2 = keras.regularizers.L2(lam_book / 2)
keras_penalty = float(keras.ops.convert_to_numpy(keras_l2(W)))
book_penalty = l2_penalty({"W": W}, lam_book)  # lambda / 2 * sum(W^2)
print(
    f"Keras L2({lam_book / 2:g}): {keras_penalty:.6f}; textbook lambda={lam_book:g}: {book_penalty:.6f}"
)
assert np.isclose(keras_penalty, book_penalty, rtol=1e-5)
h, (i, j) = 0.1, (2, 3)  # a quadratic: central differences are exact for any h
W_plus, W_minus = W.copy(), W.copy()
W_plus[i, j] += h
W_minus[i, j] -= h
numeric = (float(keras_l2(W_plus)) - float(keras_l2(W_minus))) / (2 * h)
print(
    f"d penalty / dW[{i},{j}]: numeric {numeric:.6f}, 2 l W = lambda W = {lam_book * W[i, j]:.6f}"
)
assert np.isclose(numeric, lam_book * W[i, j], rtol=1e-3, atol=1e-9)

# %% [markdown]
# ### Exercise 2 · Original dropout
# Same expected value, different place for the factor $1-p$.

# %% tags=["solution", "hide-cell"]
# Inverted: training x*m/(1-p), inference x. Original: training x*m, inference x*(1-p).
# Both have E[training output] = inference output; the training outputs differ by 1/(1-p).
from kerascnn.scratch import Dropout as NumpyDropout  # noqa: E402

p_drop = 0.3
acts = rng.uniform(0.5, 1.5, size=(200, 500))
means = {}
for mode in ("inverted", "original"):
    layer = NumpyDropout(p_drop, mode=mode, seed=0)
    means[mode] = (layer(acts, training=True).mean(), layer(acts, training=False).mean())
    print(f"{mode:8s}: mean in training {means[mode][0]:.4f}, at inference {means[mode][1]:.4f}")
    assert abs(means[mode][0] - means[mode][1]) < 0.01 * means[mode][1]
assert np.isclose(means["inverted"][1], acts.mean()) and np.isclose(
    means["original"][1], (1 - p_drop) * acts.mean()
)
ratio = means["inverted"][0] / means["original"][0]
print(f"inverted / original in training: {ratio:.4f} (1 / (1 - p) = {1 / (1 - p_drop):.4f})")
assert abs(ratio - 1 / (1 - p_drop)) < 0.01

# %% [markdown]
# ### Exercise 3 · A penalty or more data?
# Read section 6's `by_decay` and `by_size`.

# %% tags=["solution", "hide-cell"]
# The best decay for 300 images is a moderate one; even so, 1,000 plain images do better:
# more data lowers the variance that the penalty can only trade against bias.
best_wd = max(by_decay, key=lambda wd: by_decay[wd][1])
print(
    f"best decay on 300 images: {best_wd:g} (test {by_decay[best_wd][1]:.3f}); "
    f"no decay on 1,000 images: test {by_size[1000][1]:.3f}"
)
assert 0 < best_wd < 0.1
assert by_size[1000][1] > by_decay[best_wd][1]

# %% [markdown]
# ### Exercise 4 · Why a log scale?
# Prediction: log-uniform puts 2 of 4 decades, half the draws, below $10^{-2}$; uniform puts
# $\frac{10^{-2} - 10^{-4}}{1 - 10^{-4}} \approx 1\%$ there.

# %% tags=["solution", "hide-cell"]
draws = sample_log_uniform({"lr": (1e-4, 1.0)}, 4000, np.random.default_rng(1))
log_frac = float(np.mean([d["lr"] < 1e-2 for d in draws]))
lin_frac = float(np.mean(np.random.default_rng(1).uniform(1e-4, 1.0, 4000) < 1e-2))
expected_lin = (1e-2 - 1e-4) / (1 - 1e-4)
print(
    f"below 1e-2: log-uniform {log_frac:.3f} (0.5 expected), uniform {lin_frac:.4f} ({expected_lin:.4f})"
)
assert abs(log_frac - 0.5) < 0.03 and abs(lin_frac - expected_lin) < 0.006

# %% [markdown]
# ### Exercise 5 · Narrow to the single best trial
# `top_k=1` on round 1's trials.

# %% tags=["solution", "hide-cell"]
# The box collapses to one point: every later trial repeats the same (lr, wd), so the search
# learns nothing more, and one lucky validation score decides everything. Two or more trials
# keep a box to explore (or widen the best point by a margin, in log space).
r1 = rounds[0]
point_box = narrow_ranges(r1["points"], r1["scores"], top_k=1)
again = sample_log_uniform(point_box, 5, np.random.default_rng(0))
print("top_k=1 box:", {k: f"[{lo:.2e}, {hi:.2e}]" for k, (lo, hi) in point_box.items()})
assert all(lo == hi for lo, hi in point_box.values())
assert all(np.isclose(d["lr"], point_box["lr"][0]) for d in again)
assert point_box["lr"][0] == r1["best"][0]["lr"]
