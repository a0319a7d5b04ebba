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
# learned vectors, $\gamma$ and $\beta$. This lesson
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
# For a mini-batch $B$ of $N$ values $x_1, \dots, x_N$ of one feature (a batch `x` of shape
# `(N, D)` has $D$ features, each normalised on its own):
#
# $$
# \mu_B = \frac{1}{N} \sum_{i=1}^{N} x_i, \qquad \sigma_B^2 = \frac{1}{N} \sum_{i=1}^{N} (x_i - \mu_B)^2
# $$
#
# (divide by $N$, not $N - 1$), then
#
# $$
# \hat{x} = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma \hat{x} + \beta
# $$
#
# For images `(N, H, W, C)` the means run over `N`, `H` and `W`: one mean and one variance per
# channel, shared by every pixel. $\epsilon$ (Keras: 0.001) keeps the division safe; it also
# leaves $\hat{x}$ with std $\sqrt{\sigma_B^2 / (\sigma_B^2 + \epsilon)}$, so a feature whose
# variance is not much larger than $\epsilon$ (feature 1 below) does not reach std 1.

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
# Give both layers the same $\gamma$, $\beta$, moving mean and moving variance, momentum $m$ and
# $\epsilon$. In training mode they must agree on the output *and* on the moving statistics they
# leave behind,
#
# $$
# \mu_{\mathrm{moving}} \leftarrow m \, \mu_{\mathrm{moving}} + (1 - m) \, \mu_B, \qquad \sigma^2_{\mathrm{moving}} \leftarrow m \, \sigma^2_{\mathrm{moving}} + (1 - m) \, \sigma_B^2
# $$
#
# and in inference mode on the output, $y = \gamma \frac{x - \mu_{\mathrm{moving}}}{\sqrt{\sigma^2_{\mathrm{moving}} + \epsilon}} + \beta$.

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
# A batch of one is the extreme case: each feature *is* its own mean, so $x - \mu_B = 0$ and
# the layer outputs $\beta$ whatever the image. Every test image gets the same prediction, and on a
# balanced test set that is exactly 10 % accuracy. Keras does the same when asked to:

# %%
k_bn = keras.layers.BatchNormalization()
k_bn.build((None, 4))
k_bn.set_weights([np.full(4, 2.0), np.array([0.1, 0.2, 0.3, 0.4]), np.zeros(4), np.ones(4)])
one = rng.normal(size=(1, 4)).astype("float32")
print("Keras BN, training=True, a batch of one:", np.asarray(k_bn(one, training=True))[0])
assert np.allclose(np.asarray(k_bn(one, training=True)), [[0.1, 0.2, 0.3, 0.4]], atol=1e-4)

# %% [markdown]
# The moving statistics are running averages: unrolling the update, after $k$ steps on
# batches with the same mean $\mu$,
#
# $$
# \mu_{\mathrm{moving}}^{(k)} = m^k \mu_{\mathrm{moving}}^{(0)} + (1 - m^k) \, \mu
# $$
#
# so from their start (mean 0, variance 1) they have moved a fraction $1 - m^k$ of the way.
# The MLP above uses momentum 0.9 (the course's value); Keras defaults to 0.99, which needs
# far more steps:

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
# in training mode each layer starts again from mean 0, variance 1, and the ReLU of a standard
# normal has std $\sqrt{\frac{1}{2} - \frac{1}{2\pi}} \approx 0.584$. Here with a deeper MLP
# (784-100-100-100-100-10), measured on 500 training images before any training:

# %%
deep = (100, 100, 100, 100)
probe = x_train[:500]
assert abs(np.sqrt(1 / 2 - 1 / (2 * np.pi)) - 0.584) < 5e-4  # std of ReLU(z), z ~ N(0, 1)
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
# $\sqrt{1 + 0.001}$: the signal still vanishes there, which is section 3's lesson again. In fast
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

# %% [markdown]
# ## Exercises
#
# 1. **Fold BN into the conv.** At inference a BatchNormalization after a `Conv2D` is a fixed
#    per-channel affine map, so it can be folded into the conv:
#    $W' = W \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}}$ (per output channel) and
#    $b' = (b - \mu) \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}} + \beta$, with $\mu$ and
#    $\sigma^2$ the moving statistics. Fold a Keras `Conv2D` + `BatchNormalization` pair with
#    non-trivial statistics and check that one `Conv2D` gives the same outputs to float32
#    rounding. Does the folded conv also match in training mode?
# 2. **How long to forget.** With momentum $m$, how many training steps until the moving mean
#    has forgotten 99 % of its initial value, i.e. $1 - m^n \ge 0.99$? Answer for 0.9 and for
#    Keras' default 0.99, then check on a Keras layer fed the same batch again and again.
# 3. **A batch of one.** Predict what a fresh Keras BatchNormalization ($\gamma = 1$,
#    $\beta = 0$) outputs in training mode for a batch of one vector, and what gradient
#    reaches its input. What changes for a batch of one *image* `(1, H, W, C)`?
# 4. **$N$ or $N - 1$?** Keras' moving variance is fed the batch variance divided by $N$;
#    PyTorch's running variance uses the unbiased estimate, divided by $N - 1$. Check which one
#    Keras uses (a momentum of 0 makes the moving variance equal the last batch's), and by how
#    much the two differ for batches of 8 and of 256.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Fold BN into the conv
# Fold an inference-mode BatchNormalization into the `Conv2D` before it and compare outputs.

# %% tags=["solution", "hide-cell"]
# In inference mode BN computes gamma (z - mu) / sqrt(var + eps) + beta for the conv's output
# z = W * x + b: per output channel a scale s = gamma / sqrt(var + eps) and a shift. Scaling
# output channel o of a conv = scaling its filter o (the last axis of the Keras kernel) and
# its bias, so W' = W s and b' = (b - mu) s + beta.
conv_bn = keras.Sequential(
    [
        keras.Input((12, 12, 3)),
        keras.layers.Conv2D(8, 3, padding="same"),
        keras.layers.BatchNormalization(),
    ]
)
conv_layer, bn_layer = conv_bn.layers
conv_layer.set_weights(
    [rng.normal(0, 0.5, (3, 3, 3, 8)).astype("float32"), rng.normal(0, 1, 8).astype("float32")]
)
g_, b_, mu_, var_ = (
    rng.uniform(0.5, 2.0, 8),  # gamma
    rng.normal(0, 1, 8),  # beta
    rng.normal(0, 2, 8),  # moving mean
    rng.uniform(0.1, 4.0, 8),  # moving variance
)
bn_layer.set_weights([a.astype("float32") for a in (g_, b_, mu_, var_)])

kernel, bias = (w.astype("float64") for w in conv_layer.get_weights())
scale = g_ / np.sqrt(var_ + bn_layer.epsilon)
folded = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(8, 3, padding="same")])
folded.set_weights(
    [(kernel * scale).astype("float32"), ((bias - mu_) * scale + b_).astype("float32")]
)

x_img = rng.normal(0, 1, (4, 12, 12, 3)).astype("float32")
reference = np.asarray(conv_bn(x_img, training=False))
err = np.abs(np.asarray(folded(x_img)) - reference).max()
print(f"max |folded conv - conv + BN| = {err:.1e} (outputs up to {np.abs(reference).max():.1f})")
assert err < 1e-5 * np.abs(reference).max()  # float32 rounding (~6e-8 relative per operation)
# In training mode BN uses the batch's statistics, not the stored ones: the fold is an
# inference-only rewrite (export tools apply it after training).
train_err = np.abs(np.asarray(folded(x_img)) - np.asarray(conv_bn(x_img, training=True))).max()
assert train_err > 0.1
print(f"training mode: max difference {train_err:.2f}")

# %% [markdown]
# ### Exercise 2 · How long to forget
# Steps until $1 - m^n \ge 0.99$ for $m$ = 0.9 and 0.99, checked on a Keras layer.

# %% tags=["solution", "hide-cell"]
# m^n <= 0.01  <=>  n >= ln 0.01 / ln m
needed = {m: int(np.ceil(np.log(0.01) / np.log(m))) for m in (0.9, 0.99)}
print(f"steps to forget 99 % of the start: {needed}")
assert needed == {0.9: 44, 0.99: 459}
for m, n_steps in needed.items():
    assert m**n_steps <= 0.01 < m ** (n_steps - 1)

# Keras: a fresh layer (moving mean 0) fed one batch of mean 3 over and over.
batch = np.array([[2.0], [4.0]], "float32")  # mean 3, variance 1
for m, n_steps in needed.items():
    layer = keras.layers.BatchNormalization(momentum=m)
    layer.build(batch.shape)
    history = []
    for _ in range(n_steps):
        layer(batch, training=True)
        history.append(float(np.asarray(layer.moving_mean)[0]))
    assert abs(history[-1] - 3 * (1 - m**n_steps)) < 1e-4  # the closed form
    assert history[-2] < 0.99 * 3 <= history[-1] + 1e-6  # crosses 99 % at step n
    print(
        f"momentum {m}: moving mean {history[-2]:.4f} after {n_steps - 1} steps, "
        f"{history[-1]:.4f} after {n_steps} (target 3)"
    )
# A short fine-tuning run with Keras' default (a few hundred steps) leaves the moving
# statistics part-way between the old data and the new.

# %% [markdown]
# ### Exercise 3 · A batch of one
# Training-mode output and input gradient for a batch of one vector, and for one image.

# %% tags=["solution", "hide-cell"]
# N = 1: mu_B = x, sigma_B^2 = 0, so x_hat = 0 / sqrt(eps) = 0 and y = gamma * 0 + beta = 0.
fresh = keras.layers.BatchNormalization()
single = rng.normal(5.0, 3.0, (1, 6)).astype("float32")
out_single = np.asarray(fresh(single, training=True))
print("fresh BN, training, batch of one vector:", out_single[0])
assert np.allclose(out_single, 0.0, atol=1e-6)
# The gradient: with dx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps) and a batch of
# one, mean(g) = g and x_hat = 0, so dx = 0: nothing reaches the layers below.
np_bn = BatchNormalization.initial(6, np.float64)
np_bn.forward(single.astype("float64"), training=True)
dx_single = np_bn.backward(rng.normal(size=(1, 6)))
assert np.array_equal(dx_single, np.zeros((1, 6)))
# For images the statistics run over N, H and W: one image still gives H x W values per
# channel, so BN standardises each channel over its pixels instead of zeroing it.
one_image = rng.normal(2.0, 3.0, (1, 6, 6, 4)).astype("float32")
out_image = np.asarray(keras.layers.BatchNormalization()(one_image, training=True))
print(
    "batch of one image: per-channel mean",
    np.round(out_image.mean(axis=(0, 1, 2)), 6),
    "std",
    np.round(out_image.std(axis=(0, 1, 2)), 4),
)
assert np.allclose(out_image.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
assert np.allclose(out_image.std(axis=(0, 1, 2)), 1.0, atol=0.01)  # just under 1: eps

# %% [markdown]
# ### Exercise 4 · $N$ or $N - 1$?
# Which variance Keras' moving variance is fed, and how much the two estimates differ.

# %% tags=["solution", "hide-cell"]
for n_batch in (8, 256):
    xb = rng.normal(0.0, 2.0, (n_batch, 5)).astype("float32")
    layer = keras.layers.BatchNormalization(momentum=0.0)  # moving = the last batch's
    layer.build(xb.shape)
    layer(xb, training=True)
    moving_var = np.asarray(layer.moving_variance)
    biased, unbiased = xb.var(axis=0, ddof=0), xb.var(axis=0, ddof=1)
    assert np.allclose(moving_var, biased, rtol=1e-4) and not np.allclose(moving_var, unbiased)
    ratio = unbiased / biased  # N / (N - 1)
    assert np.allclose(ratio, n_batch / (n_batch - 1))
    print(f"batch {n_batch}: unbiased / biased = N / (N - 1) = {ratio[0]:.4f}")
# 14 % apart for batches of 8, under 0.4 % for 256: copying running statistics between the
# frameworks only matters for small batches.
assert n_batch / (n_batch - 1) < 1.004 < 8 / 7
