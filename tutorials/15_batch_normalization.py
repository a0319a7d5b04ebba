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
# # 15 · Batch normalization
#
# A BatchNorm layer standardises every feature (every channel, for images) with the mean and
# variance of the current mini-batch, then lets the network rescale and shift it with two
# learned vectors, gamma and beta. This lesson
#
# 1. writes the formula in NumPy;
# 2. checks that `kerascnn.scratch.BatchNormalization` computes what `keras.layers.BatchNormalization`
#    computes, in training and in inference mode, moving statistics included;
# 3. shows the two sets of statistics (the batch's in training, the running averages at
#    inference) and what goes wrong when they are confused;
# 4. compares BN before and after the activation;
# 5. measures why BN makes training robust to the initialisation and the learning rate.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
from pathlib import Path

import keras
import numpy as np

import kerascnn
from kerascnn import scratch
from kerascnn.experiments import run_experiment
from kerascnn.scratch import SGD, BatchNormalization, MultiLayerNet
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "15_batch_normalization"
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The formula
#
# For a batch `x` of shape `(N, D)`, per feature `j`:
#
#     mu_j = mean_i x_ij        var_j = mean_i (x_ij - mu_j)^2        (divide by N, not N - 1)
#     x_hat_ij = (x_ij - mu_j) / sqrt(var_j + eps)
#     y_ij = gamma_j * x_hat_ij + beta_j
#
# For images `(N, H, W, C)` the means run over `N`, `H` and `W`: one mean and one variance per
# channel, shared by every pixel. `eps` (Keras: 0.001) keeps the division safe; it also keeps a
# feature whose variance is not much larger than `eps` (feature 1 below) from reaching std 1.

# %%
x = rng.normal(loc=[5.0, -3.0, 0.0], scale=[10.0, 0.1, 1.0], size=(256, 3))
gamma, beta, eps = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0]), 1e-3
mu = x.mean(axis=0)
var = ((x - mu) ** 2).mean(axis=0)
x_hat = (x - mu) / np.sqrt(var + eps)
y = gamma * x_hat + beta
for j in range(3):
    print(
        f"feature {j}: input mean {mu[j]:7.3f} std {np.sqrt(var[j]):6.3f} -> "
        f"x_hat mean {x_hat[:, j].mean():+.1e} std {x_hat[:, j].std():.4f} -> "
        f"y mean {y[:, j].mean():+.3f} std {y[:, j].std():.3f}"
    )
assert np.allclose(x_hat.mean(axis=0), 0.0, atol=1e-12)
assert np.allclose(x_hat.std(axis=0), np.sqrt(var / (var + eps)), rtol=1e-12)  # just under 1
assert np.allclose(y.mean(axis=0), beta)
assert np.allclose(y.std(axis=0), gamma * np.sqrt(var / (var + eps)), rtol=1e-12)
assert x_hat[:, 1].std() < 0.96  # feature 1's variance (0.01) is not large against eps

ours = BatchNormalization(gamma, beta)
assert np.allclose(ours.forward(x, training=True), y, atol=1e-12)

images = rng.normal(2.0, 3.0, size=(8, 5, 5, 4))  # (N, H, W, C)
per_channel = BatchNormalization.initial(4, np.float64).forward(images, training=True)
print("image batch", images.shape, "-> one mean per channel:", images.mean(axis=(0, 1, 2)).shape)
assert np.allclose(per_channel.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)

# %% [markdown]
# ## 2. The NumPy layer computes what Keras computes
#
# Give both layers the same gamma, beta, moving mean and moving variance, momentum and epsilon.
# In training mode they must agree on the output *and* on the moving statistics they leave
# behind (`moving = momentum * moving + (1 - momentum) * batch`); in inference mode on the output.

# %%
for shape in [(32, 8), (8, 6, 6, 4)]:
    c = shape[-1]
    state = [
        rng.normal(1.0, 0.2, c),  # gamma
        rng.normal(0.0, 0.2, c),  # beta
        rng.normal(0.0, 1.0, c),  # moving mean
        rng.uniform(0.5, 2.0, c),  # moving variance
    ]
    state = [s.astype("float32") for s in state]
    xb = rng.normal(0.5, 2.0, size=shape).astype("float32")
    ours = BatchNormalization(*state, momentum=0.9, epsilon=1e-3)
    theirs = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    theirs.build(shape)
    theirs.set_weights(state)
    diffs = {
        "inference y": np.abs(ours(xb) - np.asarray(theirs(xb, training=False))).max(),
        "training y": np.abs(ours(xb, training=True) - np.asarray(theirs(xb, training=True))).max(),
        "moving mean": np.abs(ours.moving_mean - np.asarray(theirs.moving_mean)).max(),
        "moving var": np.abs(ours.moving_variance - np.asarray(theirs.moving_variance)).max(),
        "inference y after the step": np.abs(
            ours(xb) - np.asarray(theirs(xb, training=False))
        ).max(),
    }
    print(shape, ", ".join(f"{k}: {v:.1e}" for k, v in diffs.items()))
    assert max(diffs.values()) < 1e-5, diffs
    trainable = sum(int(np.prod(w.shape)) for w in theirs.trainable_weights)
    assert theirs.count_params() == 4 * c and trainable == 2 * c  # gamma, beta are trained
print("BatchNorm holds 4 numbers per channel; only gamma and beta are trained by the gradient")

# %% [markdown]
# ## 3. Training statistics vs inference statistics
#
# In training, BN uses the batch's own mean and variance (and the gradient flows through them).
# At inference a prediction must not depend on which other images share the batch, so BN uses
# the running averages collected during training. We train the course's 784-50-100-10 MLP with
# BN before every ReLU (NumPy, SGD 0.1, 300 steps of 100 images from the embedded Fashion-MNIST)
# and then predict the 1,000 test images (100 per class) in different ways.

# %%
ds = kerascnn.load_dataset("fashion_mnist_mini")
x_train, y_train = scratch.preprocess(ds.x_train), ds.y_train
x_test, y_test = scratch.preprocess(ds.x_test), ds.y_test
net = MultiLayerNet(batchnorm=True, seed=0)
scratch.train(net, x_train, y_train, SGD(0.1), steps=300, batch_size=100, seed=0)
bns = [layer for layer in net.layers.values() if isinstance(layer, BatchNormalization)]


def acc(logits):
    return float(np.mean(np.argmax(logits, axis=1) == y_test))


ways = {"inference (moving statistics)": acc(net.predict(x_test))}
ways["batch statistics, 1 batch of 1000"] = acc(net.predict(x_test, training=True))
singles = np.concatenate(
    [net.predict(x_test[i : i + 1], training=True) for i in range(len(x_test))]
)
ways["batch statistics, batches of 1"] = acc(singles)
one_class = np.zeros((len(x_test), 10))
for k in range(10):
    sel = y_test == k
    one_class[sel] = net.predict(x_test[sel], training=True)
ways["batch statistics, one class per batch"] = acc(one_class)
saved = [(b.moving_mean.copy(), b.moving_variance.copy()) for b in bns]
for b in bns:  # as if the moving statistics had never been updated: mean 0, variance 1
    b.moving_mean[...], b.moving_variance[...] = 0.0, 1.0
ways["moving statistics never updated"] = acc(net.predict(x_test))
for b, (m, v) in zip(bns, saved):
    b.moving_mean[...], b.moving_variance[...] = m, v
for name, a in ways.items():
    print(f"{name:>40}: test accuracy {a:.3f}")

good = ways["inference (moving statistics)"]
assert np.all(np.bincount(y_test) == 100) and good > 0.7  # chance is 0.10
assert abs(ways["batch statistics, 1 batch of 1000"] - good) < 0.05  # a big mixed batch is fine
assert len(set(np.argmax(singles, axis=1))) == 1 and ways["batch statistics, batches of 1"] == 0.1
assert ways["batch statistics, one class per batch"] < good - 0.3
assert ways["moving statistics never updated"] < good - 0.05

# %% [markdown]
# A batch of one is the extreme case: each feature *is* its own mean, so `x - mu = 0` and the
# layer outputs `beta` whatever the image. Every test image gets the same prediction, and on a
# balanced test set that is exactly 10 % accuracy. Keras does the same when asked to:

# %%
k_bn = keras.layers.BatchNormalization()
k_bn.build((None, 4))
k_bn.set_weights([np.full(4, 2.0), np.array([0.1, 0.2, 0.3, 0.4]), np.zeros(4), np.ones(4)])
one = rng.normal(size=(1, 4)).astype("float32")
print("Keras BN, training=True, a batch of one:", np.asarray(k_bn(one, training=True))[0])
assert np.allclose(np.asarray(k_bn(one, training=True)), [[0.1, 0.2, 0.3, 0.4]], atol=1e-4)

# %% [markdown]
# The moving statistics are running averages: after `k` steps from their start (mean 0,
# variance 1) they have moved a fraction `1 - momentum^k` of the way. The MLP above uses
# momentum 0.9 (the course's value); Keras defaults to 0.99, which needs far more steps:

# %%
for m in (0.9, 0.99):
    print(f"momentum {m}: after 10 steps {1 - m**10:.0%}, after 100 steps {1 - m**100:.0%}")
assert 1 - 0.99**10 < 0.1 < 0.6 < 1 - 0.9**10

fig = new_figure((8, 3.5))
ax = fig.add_subplot(111)
ax.barh(list(ways), list(ways.values()), color=["C2"] + ["C0"] + ["C3"] * 3)
ax.axvline(0.1, color="k", ls=":", label="chance")
ax.set_xlabel("test accuracy")
ax.set_title("the same trained MLP, different BatchNorm statistics")
ax.legend()
print("saved", save_figure(fig, OUT / "train_vs_inference_statistics.png"))

# %% [markdown]
# ## 4. Before or after the activation?
#
# The BN paper puts BN between the affine layer and the nonlinearity; many networks put it after.
# Before the ReLU, BN centres the ReLU's input, so about half the units fire; and a bias just
# before BN is wasted, since BN subtracts the mean again (its gradient is zero up to rounding;
# this is why a conv followed by BN is built with `use_bias=False`). We train both orders from the same
# seeds.


# %%
def relu_outputs(model, x):
    """Every ReLU's output for the batch ``x``, BN in training mode (what training sees)."""
    outs = []
    for layer in model.layers.values():
        is_bn = isinstance(layer, BatchNormalization)
        x = layer.forward(x, training=True) if is_bn else layer.forward(x)
        if isinstance(layer, scratch.Relu):
            outs.append(x)
    return outs


steps, seeds = (150, (0, 1)) if FAST else (600, (0, 1, 2))
orders = {}
for place in ("before", "after"):
    fresh = MultiLayerNet(batchnorm=place, seed=0)
    active = float(np.mean(relu_outputs(fresh, x_train[:500])[0] > 0))
    b1 = np.abs(fresh.gradient(x_train[:100], y_train[:100])["b1"]).max()
    print(
        f"BN {place} ReLU, at init: {active:.0%} of first-layer units active, max |dL/db1| {b1:.1e}"
    )
    if place == "before":
        assert 0.4 < active < 0.6 and b1 < 1e-6
    else:
        assert b1 > 1e-4
    accs = []
    for seed in seeds:
        m = MultiLayerNet(batchnorm=place, seed=seed)
        scratch.train(m, x_train, y_train, SGD(0.1), steps=steps, batch_size=100, seed=seed)
        accs.append(m.accuracy(x_test, y_test))
    orders[place] = accs
    print(f"BN {place} ReLU: test accuracy {np.round(accs, 3)}, mean {np.mean(accs):.3f}")
gap = np.mean(orders["after"]) - np.mean(orders["before"])
print(f"after minus before: {gap:+.3f} (mean of {len(seeds)} seeds)")
assert min(orders["before"] + orders["after"]) > 0.7
assert abs(gap) < 0.04  # a small effect either way on this task

# %% [markdown]
# ## 5. Robust to the initialisation and the learning rate
#
# Without BN, the scale of every layer's output is the product of the weight scales before it:
# with weights of std 0.01 the signal shrinks layer by layer, with std 1.0 it explodes. With BN
# in training mode each layer starts again from mean 0, variance 1. Here with a deeper MLP
# (784-100-100-100-100-10), measured on 500 training images before any training:

# %%
deep = (100, 100, 100, 100)
probe = x_train[:500]
for std in (0.01, "he", 1.0):
    for bn in (False, True):
        m = MultiLayerNet(784, deep, 10, weight_init_std=std, batchnorm=bn, seed=0)
        stds = [float(h.std()) for h in relu_outputs(m, probe)]
        print(f"std {std!s:>4}, BN {bn!s:>5}: ReLU output std by layer", np.round(stds, 6))
        if bn:  # ReLU of a standard normal has std sqrt(1/2 - 1/(2 pi)) = 0.584
            assert all(0.45 < s < 0.7 for s in stds)
        elif std == 0.01:  # shrinks ~14x per layer
            assert stds[-1] < 0.01 * stds[0]
        elif std == 1.0:  # grows ~7x per layer
            assert stds[-1] > 100 * stds[0]
        else:  # He: keeps the scale
            assert 1 / 3 < stds[-1] / stds[0] < 3

# %% [markdown]
# Now train that deeper MLP with SGD: first over the initialisation (learning rate 0.1), then
# over the learning rate (He initialisation), with and without BN, same seed for every run.

# %%
grid_steps = 60 if FAST else 300
cells = [("init std", s, 0.1) for s in (0.01, "he", 1.0)]
cells += [("learning rate", "he", lr) for lr in (0.01, 1.0)]
grid = {}
for dim, std, lr in cells:
    for bn in (False, True):
        m = MultiLayerNet(784, deep, 10, weight_init_std=std, batchnorm=bn, seed=0)
        with np.errstate(all="ignore"):  # the runs that diverge overflow on the way
            hist = scratch.train(m, x_train, y_train, SGD(lr), steps=grid_steps, seed=0)
            a = m.accuracy(x_test, y_test)
        loss = float(np.mean(hist["loss"][-10:]))
        grid[(std, lr, bn)] = (a, loss)
        print(
            f"{dim:>13}: std {std!s:>4}, lr {lr:<4}, BN {bn!s:>5}: "
            f"test accuracy {a:.3f}, final loss {'diverged (NaN)' if np.isnan(loss) else f'{loss:.3f}'}"
        )
for (std, lr, bn), (a, _) in grid.items():
    if bn:
        assert a > 0.45, (std, lr, a)  # BN trains in every cell
failing = [(std, lr) for (std, lr, bn), (a, _) in grid.items() if not bn and a <= 0.15]
print("without BN, stuck at chance:", failing)
assert {(0.01, 0.1), (1.0, 0.1), ("he", 1.0)} <= set(failing)
assert abs(grid[(0.01, 0.1, False)][1] - np.log(10)) < 0.01  # std 0.01: nothing learned

fig = new_figure((9, 3.5))
ax = fig.add_subplot(111)
labels = [f"std {s}\nlr {lr}" for _, s, lr in cells]
xs = np.arange(len(cells))
for i, bn in enumerate((False, True)):
    vals = [grid[(s, lr, bn)][0] for _, s, lr in cells]
    ax.bar(xs + (i - 0.5) * 0.4, vals, 0.4, label="with BN" if bn else "without BN")
ax.axhline(0.1, color="k", ls=":", label="chance")
ax.set_xticks(xs, labels)
ax.set_ylabel("test accuracy")
ax.set_title(f"784-100x4-10 MLP, {grid_steps} SGD steps")
ax.set_ylim(0, 1.05)
ax.legend(loc="upper center", ncol=3)
print("saved", save_figure(fig, OUT / "bn_robustness.png"))

# %% [markdown]
# ### The same question for a conv net, in Keras
#
# `kerascnn experiment init` trains a small ReLU conv net from std-0.01, Glorot and He
# initialisations, without and with BN (SGD 0.01 with momentum 0.9); fast mode trains one epoch
# on 300 images, the full run four epochs on 3,000. Its activation statistics are measured in
# inference mode, where an untrained BN layer (moving mean 0, variance 1) only divides by
# `sqrt(1 + 0.001)`: the signal still vanishes there, which is section 3's lesson again. In fast
# mode (five SGD steps) only the training losses and these statistics mean something: the test
# accuracies of the BN nets then come from moving statistics that have seen five updates.

# %%
result = run_experiment("init", OUT / "init", fast=FAST, seed=0)
rows = {(r["init"], r["BatchNorm"]): r for r in result.rows}
for r in result.rows:
    print(
        f"{r['init']:>8}, BN {r['BatchNorm']:>3}: final train loss {r['final train loss']:.4f}, "
        f"test accuracy {r['test accuracy']:.3f}"
    )
first = "activation std, 1st ReLU (init)"
ratio = rows[("std 0.01", "yes")][first] / rows[("std 0.01", "no")][first]
print(f"untrained BN in inference mode scales the first ReLU's output by {ratio:.5f}")
assert abs(ratio - 1 / np.sqrt(1.001)) < 2e-4
small, small_bn = rows[("std 0.01", "no")], rows[("std 0.01", "yes")]
assert abs(small["final train loss"] - np.log(10)) < 0.005  # without BN: nothing learned
assert small_bn["final train loss"] < small["final train loss"] - 0.02  # with BN it learns
if not FAST:  # four epochs: BN rescues the std-0.01 network
    for finding in result.findings:
        print("-", finding)
    assert small["test accuracy"] < 0.2 and small_bn["test accuracy"] > 0.7, (small, small_bn)

# %% [markdown]
# Takeaway: BN standardises each channel with the batch's statistics in training and with
# running averages at inference; mixing the two up (tiny or one-class batches, statistics never
# updated) breaks a trained model. Because every layer restarts from mean 0 and variance 1, the
# scale of the weights stops mattering for the forward signal, and a network that could not
# learn from a bad initialisation or a large learning rate trains.
