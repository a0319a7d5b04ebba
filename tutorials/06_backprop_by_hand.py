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
# # 06 · Backpropagation by hand
#
# `kerascnn.scratch` is a CNN written in NumPy only: every layer has a `forward` and a
# `backward` you can read in a few lines. This lesson
#
# 1. checks each backward pass against a numerical gradient (central differences);
# 2. checks the same numbers against Keras + `tf.GradientTape` given the same weights;
# 3. shows *why* the input gradient of a convolution is a "full" convolution with the kernel
#    rotated by 180 degrees (a transposed convolution);
# 4. trains the NumPy SimpleConvNet on real images, then copies its weights into a Keras
#    model and gets identical predictions;
# 5. compares the update rules of SGD, Momentum, AdaGrad, RMSProp and Adam on a 2-D valley,
#    and where AdaGrad's $\epsilon$ goes (the course and Keras: inside the square root; our
#    NumPy optimizer: outside);
# 6. adds Dropout (both forms) and BatchNorm as NumPy layers, gradient-checked;
# 7. adds weight decay to the parameter update;
# 8. trains the course's 784-50-100-10 MLP on Fashion-MNIST, with and without BN and Dropout;
# 9. measures how much faster backprop is than the numerical gradient, on this machine.

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
from kerascnn.scratch import (
    SGD,
    Adam,
    BatchNormalization,
    Convolution,
    Dropout,
    MaxPooling,
    MultiLayerNet,
    SimpleConvNet,
    SoftmaxWithLoss,
    numerical_gradient,
)
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "06_backprop_by_hand"
rng = np.random.default_rng(0)


def rel_error(a, b):
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


# %% [markdown]
# ## 1. Backward passes vs numerical gradients
#
# For a layer $y = f(x)$ and any upstream gradient $R = \partial L / \partial y$, the scalar
# $L = \sum_i y_i R_i$ has $\partial L / \partial x$ = `backward(R)`. The numerical gradient
# perturbs each input by $\pm h$:
#
# $$\frac{\partial L}{\partial x_i} \approx \frac{L(x + h e_i) - L(x - h e_i)}{2h},$$
#
# exact up to $O(h^2)$ (exercise 1). In float64 the two agree to ~1e-9.
#
# The last layer of a classifier is softmax followed by cross-entropy, averaged over a batch of
# $N$ with one-hot targets $t$: $y = \operatorname{softmax}(a)$,
# $L = -\frac{1}{N} \sum_{n} \sum_{k} t_{nk} \log y_{nk}$. The two layers together have the
# simplest backward pass of all,
#
# $$\frac{\partial L}{\partial a} = \frac{y - t}{N},$$
#
# because $\partial y_k / \partial a_j = y_k (\delta_{kj} - y_j)$ and $\sum_k t_k = 1$.
# Checked at the end of the next cell.

# %%
x = rng.standard_normal((2, 7, 7, 3))
layers = {
    "conv 3x3 stride 2 pad 1": Convolution(
        rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4), 2, 1
    ),
    "max pool 2x2": MaxPooling(2),
    "avg pool 3x3 stride 2 same": scratch.AvgPooling(3, 2, "same"),
    "relu": scratch.Relu(),
    "sigmoid": scratch.Sigmoid(),
    "affine 147->5": scratch.Affine(rng.standard_normal((147, 5)), rng.standard_normal(5)),
}
for name, layer in layers.items():
    out = layer.forward(x)
    r = rng.standard_normal(out.shape)
    analytic = layer.backward(r)
    grads = dict(layer.grads)

    def loss(layer=layer, r=r):  # the layer and upstream gradient of this iteration
        return float(np.sum(layer.forward(x) * r))

    numeric = numerical_gradient(loss, x)
    errs = [rel_error(analytic, numeric)] + [
        rel_error(grads[k], numerical_gradient(loss, p)) for k, p in layer.params.items()
    ]
    print(f"{name:>28}: max relative error {max(errs):.1e}")
    assert max(errs) < 1e-6

# softmax + cross-entropy: the gradient is simply (softmax - onehot) / N
logits, labels = rng.standard_normal((4, 10)), np.array([3, 1, 4, 1])
sl = SoftmaxWithLoss()
sl.forward(logits, labels)
assert np.allclose(sl.backward(), (scratch.softmax(logits) - np.eye(10)[labels]) / 4)
assert (
    rel_error(sl.backward(), numerical_gradient(lambda: sl.forward(logits, labels), logits)) < 1e-7
)

# %% [markdown]
# ## 2. The same numbers from Keras
#
# Give a `keras.layers.Conv2D` the same kernel and bias and ask `tf.GradientTape` for the
# gradients of the same scalar: input, kernel and bias gradients all match.

# %%
import tensorflow as tf  # noqa: E402  (Keras' default backend; used here only for GradientTape)

x32 = rng.standard_normal((2, 9, 9, 3)).astype("float32")
W, b = rng.standard_normal((3, 3, 3, 4)).astype("float32"), rng.standard_normal(4).astype("float32")
ours = Convolution(W, b, stride=2, pad="same")
y_ours = ours.forward(x32)
r = rng.standard_normal(y_ours.shape).astype("float32")
dx_ours = ours.backward(r)

conv = keras.layers.Conv2D(4, 3, strides=2, padding="same")
conv.build(x32.shape)
conv.set_weights([W, b])
xt = tf.constant(x32)
with tf.GradientTape() as tape:
    tape.watch(xt)
    y_keras = conv(xt)
    objective = tf.reduce_sum(y_keras * r)
dx_k, dW_k, db_k = tape.gradient(objective, [xt, conv.kernel.value, conv.bias.value])
for name, a, k in [
    ("y", y_ours, y_keras),
    ("dx", dx_ours, dx_k),
    ("dW", ours.grads["W"], dW_k),
    ("db", ours.grads["b"], db_k),
]:
    diff = np.abs(a - np.asarray(k)).max()
    print(f"{name:>3}: max |NumPy - Keras| = {diff:.1e}")
    assert diff < 1e-4

# %% [markdown]
# ## 3. dx is a full convolution with the rotated kernel
#
# In 1-D with kernel $w = (w_0, w_1, w_2)$: $y_i = x_i w_0 + x_{i+1} w_1 + x_{i+2} w_2$, so
# input $x_j$ reaches $y_j$ (through $w_0$), $y_{j-1}$ ($w_1$) and $y_{j-2}$ ($w_2$):
#
# $$\frac{\partial L}{\partial x_j} = \delta_j w_0 + \delta_{j-1} w_1 + \delta_{j-2} w_2, \qquad \delta_i = \frac{\partial L}{\partial y_i},$$
#
# a correlation of the zero-padded $\delta$ with the **reversed** kernel $(w_2, w_1, w_0)$. In
# 2-D: pad `dy` by $k - 1$, rotate the kernel 180 degrees and swap its input/output channels.
# With stride $s$, first put $s - 1$ zeros between the `dy` entries (exercise 2). That whole
# recipe is what "transposed convolution" means.

# %%
x64 = rng.standard_normal((1, 8, 8, 2))
W64 = rng.standard_normal((3, 3, 2, 3))
c = Convolution(W64, np.zeros(3))
dy = rng.standard_normal(c.forward(x64).shape)
dx = c.backward(dy)
W_rot = W64[::-1, ::-1].transpose(0, 1, 3, 2)  # rotate 180 deg, swap C_in/C_out
full = Convolution(W_rot, np.zeros(2), pad=2).forward(dy)  # "full" = pad k-1 on every side
transposed = np.asarray(
    keras.ops.conv_transpose(dy.astype("float32"), W64.astype("float32"), strides=1)
)
print("max |dx - full conv with rotated kernel| =", np.abs(dx - full).max())
print("max |dx - keras.ops.conv_transpose|      =", np.abs(dx - transposed).max())
assert np.allclose(dx, full, atol=1e-12) and np.allclose(dx, transposed, atol=1e-4)

# %% [markdown]
# ## 4. Train the NumPy network on real images
#
# SimpleConvNet: conv 30@5x5 - ReLU - max-pool 2x2 - affine 100 - ReLU - affine 10 -
# softmax, 433,890 weights, trained with the NumPy Adam on the embedded Fashion-MNIST.
# (Fast mode: 80 steps of 32 images; full: 600 steps of 100, i.e. 10 epochs, a few minutes.)

# %%
ds = kerascnn.load_dataset("fashion_mnist_mini")
x_train, y_train = scratch.preprocess(ds.x_train), ds.y_train
x_test, y_test = scratch.preprocess(ds.x_test), ds.y_test
steps, batch = (80, 32) if FAST else (600, 100)
net = SimpleConvNet(input_dim=(28, 28, 1), seed=0)
assert net.count_params() == 433_890
before = net.accuracy(x_test[:300], y_test[:300])
hist = scratch.train(
    net,
    x_train,
    y_train,
    Adam(lr=2e-3),
    steps=steps,
    batch_size=batch,
    seed=0,
    x_val=x_test,
    t_val=y_test,
    eval_every=0 if FAST else steps // 5,
)
after = net.accuracy(x_test, y_test)
print(
    f"test accuracy {before:.3f} -> {after:.3f} after {steps} steps; validation: {hist['val_acc']}"
)
assert after > (0.6 if FAST else 0.8) and after > before + 0.3  # chance is 0.10

fig = new_figure((6, 3.5))
ax = fig.add_subplot(111)
ax.plot(hist["loss"], alpha=0.5, label="mini-batch loss")
k = max(len(hist["loss"]) // 20, 1)
ax.plot(
    np.arange(k - 1, len(hist["loss"])),
    np.convolve(hist["loss"], np.ones(k) / k, "valid"),
    label="moving average",
)
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy")
ax.set_title("SimpleConvNet in NumPy")
ax.legend()
print("saved", save_figure(fig, OUT / "numpy_training_loss.png"))

# %% [markdown]
# ### The same network in Keras, with the NumPy weights
#
# Our layouts are Keras' layouts (NHWC images, HWIO kernels, row-major flatten), so the
# trained weights drop straight into an equivalent Keras model: same predictions.

# %%
keras_net = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(30, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10),
    ]
)
keras_net.set_weights([net.params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")])
logits_np = net.predict(x_test)
logits_k = np.asarray(keras_net(x_test))
print("max |logits NumPy - logits Keras| =", np.abs(logits_np - logits_k).max())
assert np.allclose(logits_np, logits_k, atol=1e-3)
assert np.mean(np.argmax(logits_k, 1) == y_test) == after

# %% [markdown]
# ## 5. Update rules on a 2-D valley
#
# $f(x, y) = x^2 / 20 + y^2$: twenty times steeper across the valley than along it. For a
# weight $w$ with gradient $g$ and learning rate $\eta$ (all operations per coordinate) the
# rules of `kerascnn.scratch` are
#
# $$\text{SGD:} \quad w \leftarrow w - \eta g$$
#
# $$\text{Momentum:} \quad v \leftarrow \alpha v - \eta g, \quad w \leftarrow w + v \quad (\alpha = 0.9)$$
#
# $$\text{AdaGrad:} \quad h \leftarrow h + g^2, \quad w \leftarrow w - \frac{\eta g}{\sqrt{h} + \epsilon}$$
#
# $$\text{RMSProp:} \quad h \leftarrow \rho h + (1 - \rho) g^2, \quad w \leftarrow w - \frac{\eta g}{\sqrt{h} + \epsilon}$$
#
# $$\text{Adam:} \quad m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad w \leftarrow w - \frac{\eta \hat{m}}{\sqrt{\hat{v}} + \epsilon}$$
#
# with Adam's bias corrections $\hat{m} = m / (1 - \beta_1^t)$, $\hat{v} = v / (1 - \beta_2^t)$
# at step $t$. Plain SGD zig-zags; Momentum builds speed along the valley; AdaGrad, RMSProp and
# Adam rescale each coordinate by its gradient history. (The full comparison on real training
# is `kerascnn experiment optimizers`.)


# %%
def grad_f(p):
    return np.array([p[0] / 10.0, 2.0 * p[1]])


start = np.array([-7.0, 2.0])
settings = {
    "SGD": scratch.SGD(0.9),
    "Momentum": scratch.Momentum(0.1),
    "AdaGrad": scratch.AdaGrad(1.5),
    "RMSProp": scratch.RMSProp(0.3),
    "Adam": scratch.Adam(0.3),
}
paths = {}
for name, opt in settings.items():
    params = {"p": start.copy()}
    path = [start.copy()]
    for _ in range(40):
        opt.update(params, {"p": grad_f(params["p"])})
        path.append(params["p"].copy())
    paths[name] = np.array(path)
    f_end = paths[name][-1, 0] ** 2 / 20 + paths[name][-1, 1] ** 2
    print(
        f"{name:>8}: f after 40 steps = {f_end:.4f} (start {start[0] ** 2 / 20 + start[1] ** 2:.2f})"
    )
    assert f_end < 0.1 * (start[0] ** 2 / 20 + start[1] ** 2)

sgd_zigzag = np.sum(np.diff(np.sign(paths["SGD"][:, 1])) != 0)
print("SGD crosses the valley floor", sgd_zigzag, "times")
assert sgd_zigzag >= 10  # y flips sign nearly every step: the zig-zag

fig = new_figure((9, 4))
ax = fig.add_subplot(111)
gx, gy = np.meshgrid(np.linspace(-8, 8, 200), np.linspace(-3, 3, 100))
ax.contour(gx, gy, gx**2 / 20 + gy**2, levels=15, colors="lightgray")
for name, path in paths.items():
    ax.plot(path[:, 0], path[:, 1], "o-", ms=2, label=name)
ax.plot(0, 0, "k+", ms=12)
ax.legend()
ax.set_title("40 steps on f(x, y) = x^2/20 + y^2")
print("saved", save_figure(fig, OUT / "optimizer_paths.png"))

# %% [markdown]
# ### Where does AdaGrad's $\epsilon$ go?
# The course material (and Keras' `keras.optimizers.Adagrad`) puts $\epsilon$ *inside* the
# square root, our NumPy `AdaGrad` (like its RMSProp and Adam, and like Keras' Adam) *outside*:
#
# $$\text{course, Keras:} \quad w \leftarrow w - \frac{\eta g}{\sqrt{h + \epsilon}} \qquad \text{scratch:} \quad w \leftarrow w - \frac{\eta g}{\sqrt{h} + \epsilon}$$
#
# Both only keep the division finite, and with $\epsilon = 10^{-7}$ they agree while the gradients
# are large. They part for small gradients: the very first step ($h = g^2$) is
# $\eta g / (|g| + \epsilon) \approx \eta$ outside but $\eta g / \sqrt{g^2 + \epsilon}$ inside,
# which shrinks once $|g|$ nears $\sqrt{\epsilon} \approx 3 \times 10^{-4}$. We measure the first
# step of our optimizer, of the inside formula and of Keras' Adagrad (its initial accumulator set
# to 0, as in the course) for gradients from 1 down to $10^{-5}$.

# %%
EPS, ETA = 1e-7, 0.01
eps_rows = []
for g0 in (1.0, 1e-2, 1e-3, 1e-4, 1e-5):
    w = {"w": np.zeros(1)}
    scratch.AdaGrad(ETA, eps=EPS).update(w, {"w": np.array([g0])})
    keras_adagrad = keras.optimizers.Adagrad(ETA, initial_accumulator_value=0.0, epsilon=EPS)
    w_keras = keras.Variable(np.zeros(1, "float32"))
    keras_adagrad.apply_gradients([(np.array([g0], "float32"), w_keras)])
    eps_rows.append(
        {
            "gradient": g0,
            "scratch (outside) / eta": -w["w"][0] / ETA,
            "course (inside) / eta": g0 / np.sqrt(g0**2 + EPS),
            "Keras Adagrad / eta": -float(w_keras.numpy()[0]) / ETA,
        }
    )
import pandas as pd  # noqa: E402

eps_table = pd.DataFrame(eps_rows).set_index("gradient")
eps_table["outside / inside"] = eps_table.iloc[:, 0] / eps_table.iloc[:, 1]
print("first AdaGrad step, in units of the learning rate:")
print(eps_table.to_markdown(floatfmt=".4g"))
big, tiny = eps_table.loc[1.0], eps_table.loc[1e-4]
assert np.allclose(eps_table["Keras Adagrad / eta"], eps_table["course (inside) / eta"], rtol=1e-5)
assert abs(big["outside / inside"] - 1) < 1e-6  # large gradients: the same step
assert tiny["scratch (outside) / eta"] > 0.99 and tiny["course (inside) / eta"] < 0.31
assert 3.3 < tiny["outside / inside"] < 3.4  # gradient 1e-4: our first step is 3.3x larger

# %% [markdown]
# ## 6. Dropout and BatchNorm as NumPy layers
#
# Both behave differently in training and at inference, so their `forward` takes `training`
# (default False, as when a Keras layer is called). **Dropout** keeps each unit with
# probability $1 - p$. The *inverted* form (Keras') scales the kept units by $1 / (1 - p)$ in
# training and does nothing at inference; the *original* form keeps them unscaled and
# multiplies by $1 - p$ at inference. Either way the expected training output equals the
# inference output: $\mathbb{E}[m x / (1 - p)] = x$ for a mask $m$ that is 1 with probability
# $1 - p$. Backward multiplies by the same mask (and factor) as the forward pass.

# %%
p = 0.5
ones = np.ones((1, 10_000))
for mode in ("inverted", "original"):
    drop = Dropout(p, mode, seed=0)
    train_out, test_out = drop.forward(ones, training=True), drop.forward(ones, training=False)
    kept = sorted(set(np.unique(train_out)) - {0.0})
    print(
        f"{mode:>8}: training keeps {np.mean(train_out != 0):.1%} of units at value {kept[0]:g} "
        f"(mean {train_out.mean():.3f}); inference multiplies by {test_out[0, 0]:g}"
    )
    assert kept == [1 / (1 - p) if mode == "inverted" else 1.0]
    assert test_out[0, 0] == (1.0 if mode == "inverted" else 1 - p)
    assert abs(train_out.mean() - test_out.mean()) < 0.03  # same expectation

    drop.forward(x, training=True)  # a new mask on the image batch of section 1
    r = rng.standard_normal(x.shape)
    dx = drop.backward(r)
    assert np.array_equal(dx == 0, ~drop.mask)  # the gradient flows only where units were kept

    def dropout_loss(mode=mode, r=r):  # the same seed draws the same mask every time
        return float(np.sum(Dropout(p, mode, seed=1).forward(x, training=True) * r))

    check = Dropout(p, mode, seed=1)
    check.forward(x, training=True)
    err = rel_error(check.backward(r), numerical_gradient(dropout_loss, x))
    print(f"{mode:>8}: dx vs numerical gradient, relative error {err:.1e}")
    assert err < 1e-6

# %% [markdown]
# **BatchNorm** standardises every channel with the batch's mean and variance in training
# (lesson 15 is all about it). Its backward pass must also account for the mean and variance
# depending on every input. With $\hat{x} = (x - \mu) / \sqrt{\sigma^2 + \epsilon}$,
# $y = \gamma \hat{x} + \beta$ and $g = \gamma \, \partial L / \partial y$, averaging over the
# batch (and the pixels) of each channel:
#
# $$\frac{\partial L}{\partial x} = \frac{g - \operatorname{mean}(g) - \hat{x} \cdot \operatorname{mean}(g \hat{x})}{\sqrt{\sigma^2 + \epsilon}}.$$
#
# Checked against central differences, on `(N, D)` and `(N, H, W, C)`:

# %%
for shape in [(6, 5), (2, 7, 7, 3)]:
    c = shape[-1]
    xb = 2.0 + 3.0 * rng.standard_normal(shape)
    bn = BatchNormalization(rng.standard_normal(c), rng.standard_normal(c))
    out = bn.forward(xb, training=True)
    assert np.allclose(out.mean(axis=tuple(range(len(shape) - 1))), bn.params["beta"])
    r = rng.standard_normal(out.shape)
    analytic = bn.backward(r)
    grads = dict(bn.grads)

    def bn_loss(bn=bn, xb=xb, r=r):
        return float(np.sum(bn.forward(xb, training=True) * r))

    errs = [rel_error(analytic, numerical_gradient(bn_loss, xb))] + [
        rel_error(grads[k], numerical_gradient(bn_loss, v)) for k, v in bn.params.items()
    ]
    print(f"batchnorm {shape}, training mode: max relative error {max(errs):.1e}")
    assert max(errs) < 1e-6

# %% [markdown]
# ## 7. Weight decay in the update
#
# L2 weight decay adds $\frac{\lambda}{2} \sum W^2$ to the loss, so every weight's gradient
# gains $\lambda W$ (biases, $\gamma$ and $\beta$ are not decayed); an SGD step becomes
# $W \leftarrow W - \eta (g + \lambda W)$, i.e. the weights also shrink by $\eta \lambda W$.
# In `kerascnn.scratch` every optimizer takes `weight_decay=lambda` and does exactly that
# before its own rule; `MultiLayerNet` can instead carry the term in its loss, as the course's
# code does. Same numbers either way:

# %%
lam, lr = 0.01, 0.1
params = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
g = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
plain = {k: v.copy() for k, v in params.items()}
decayed = {k: v.copy() for k, v in params.items()}
SGD(lr).update(plain, g)
SGD(lr, weight_decay=lam).update(decayed, g)
shrink = plain["W"] - decayed["W"]
print(
    f"SGD step with decay - without: lr * lambda * W, max error {np.abs(shrink - lr * lam * params['W']).max():.1e}"
)
assert np.allclose(shrink, lr * lam * params["W"], rtol=1e-12, atol=0)
assert np.array_equal(plain["b"], decayed["b"])  # the bias is not decayed

xs, ts = rng.standard_normal((5, 12)), np.array([0, 1, 2, 1, 0])
net0 = MultiLayerNet(12, (6,), 3, seed=0, dtype=np.float64)
net1 = MultiLayerNet(12, (6,), 3, seed=0, dtype=np.float64, weight_decay=lam)
penalty = lam / 2 * sum(np.sum(net0.params[k] ** 2) for k in ("W1", "W2"))
assert np.isclose(net1.loss(xs, ts) - net0.loss(xs, ts), penalty, rtol=1e-12)
g0, g1 = net0.gradient(xs, ts), net1.gradient(xs, ts)
assert np.allclose(g1["W1"] - g0["W1"], lam * net0.params["W1"], rtol=1e-10, atol=0)
assert np.array_equal(g1["b1"], g0["b1"])
print(f"MultiLayerNet: loss + {penalty:.4f} (= lambda/2 sum W^2), gradient + lambda * W: checked")

# %% [markdown]
# ## 8. The course's MLP: 784-50-100-10 on Fashion-MNIST
#
# `MultiLayerNet` stacks `Affine -> [BatchNorm] -> ReLU -> [Dropout]` and ends with
# `Affine -> softmax + cross-entropy`. First the whole network, with BN, Dropout and weight
# decay, against the numerical gradient (on a small float64 copy: section 9 measures what
# central differences on all 45,360 weights of the real one cost). Then the real one, trained
# with SGD 0.1 on the embedded Fashion-MNIST (6,000 images; fast mode: 3 epochs, full: 20).

# %%
small = MultiLayerNet(
    10, (6, 5), 3, batchnorm=True, dropout=0.3, weight_decay=0.1, seed=0, dtype=np.float64
)
for k, v in small.params.items():
    if k.startswith("b"):
        v[...] = rng.standard_normal(v.shape)  # no ReLU input exactly on its kink
xs, ts = rng.standard_normal((8, 10)), rng.integers(0, 3, 8)
numeric = small.numerical_gradient(xs, ts)  # replays the dropout masks gradient() will draw
analytic = small.gradient(xs, ts)
flat_a = np.concatenate([analytic[k].ravel() for k in sorted(analytic)])
flat_n = np.concatenate([numeric[k].ravel() for k in sorted(numeric)])
print(f"MLP with BN, Dropout and weight decay: relative error {rel_error(flat_a, flat_n):.1e}")
assert rel_error(flat_a, flat_n) < 1e-6

epochs = 3 if FAST else 20
mlp_steps = epochs * len(x_train) // 100
variants = {
    "plain": MultiLayerNet(seed=0),
    "BatchNorm": MultiLayerNet(batchnorm=True, seed=0),
    "BatchNorm + Dropout 0.2 + decay 1e-4": MultiLayerNet(
        batchnorm=True, dropout=0.2, weight_decay=1e-4, seed=0
    ),
}
assert variants["plain"].count_params() == 784 * 50 + 50 + 50 * 100 + 100 + 100 * 10 + 10 == 45_360
mlp_hist = {}
for name, mlp in variants.items():
    mlp_hist[name] = scratch.train(
        mlp, x_train, y_train, SGD(0.1), steps=mlp_steps, batch_size=100, seed=0
    )["loss"]
    tr_acc, te_acc = mlp.accuracy(x_train, y_train), mlp.accuracy(x_test, y_test)
    print(f"{name:>36}: {epochs} epochs, train accuracy {tr_acc:.3f}, test accuracy {te_acc:.3f}")
    assert te_acc > (0.6 if FAST else 0.78)  # chance is 0.10

fig = new_figure((6, 3.5))
ax = fig.add_subplot(111)
k = 20
for name, losses in mlp_hist.items():
    ax.plot(np.arange(k - 1, len(losses)), np.convolve(losses, np.ones(k) / k, "valid"), label=name)
ax.set_xlabel("step (100 images)")
ax.set_ylabel("cross-entropy (moving average)")
ax.set_title("784-50-100-10 MLP in NumPy")
ax.legend()
print("saved", save_figure(fig, OUT / "mlp_training_loss.png"))

# %% [markdown]
# ## 9. Backprop vs the numerical gradient: how much faster?
#
# The numerical gradient needs two forward passes per weight:
# $2 \times 45{,}360 = 90{,}720$ for this MLP. Backprop
# needs one forward and one backward pass for all of them. `scratch.gradient_speed` times
# backprop on a batch of 100 images, and the central differences on randomly chosen weights
# (every weight costs the same two passes), scaled to all 45,360.

# %%
speed = scratch.gradient_speed(
    variants["plain"], x_train[:100], y_train[:100], entries=200 if FAST else 2000
)
print(
    f"backprop {1e3 * speed['backprop_s']:.2f} ms, numerical gradient "
    f"{speed['numerical_s']:.1f} s ({speed['entries_timed']} of {speed['total_entries']} "
    f"weights timed): backprop is {speed['ratio']:,.0f}x faster on this machine"
)
assert 2 * speed["total_entries"] == 90_720  # forward passes for one numerical gradient
assert speed["ratio"] > 100

# %% [markdown]
# Takeaway: backprop is the chain rule applied layer by layer, each layer only needing its
# cached forward values. Keras computes exactly these numbers; the NumPy version lets you
# read them. Next in the course: classic architectures (lesson 07).

# %% [markdown]
# ## Exercises
#
# 1. **Central against forward differences.** Replace the central difference of section 1 by
#    the forward difference $(L(x + h) - L(x)) / h$. Predict how the error of each shrinks when
#    $h$ goes from $10^{-2}$ to $10^{-3}$, then measure both on the sigmoid, whose exact
#    derivative is $\sigma(x)(1 - \sigma(x))$.
# 2. **The backward pass of a strided convolution.** Section 3 did stride 1. For a 3x3 conv
#    with stride 2 on a 7x7 input (3x3 output), build $\partial L / \partial x$ yourself: put one
#    zero between the entries of `dy`, pad by $k - 1 = 2$ and correlate with the rotated kernel.
#    Compare with `Convolution(..., stride=2).backward` and `keras.ops.conv_transpose`.
# 3. **Momentum's terminal velocity.** Feed `scratch.Momentum` the same gradient $g$ at every
#    step. What step size does it settle at, compared with SGD's $\eta g$, and after how many
#    steps is it within 10% of that?
# 4. **Adam's first step.** Predict the size of Adam's very first step for gradients $10^3$, 1
#    and $10^{-3}$, and what it would be without the bias corrections $\hat{m}$, $\hat{v}$.
#    Check with `scratch.Adam`. (This is why lesson 08's layer-wise rates scale the step and
#    not the gradient.)
# 5. **When does AdaGrad's $\epsilon$ placement matter?** For the first step ($h = g^2$), find
#    the gradient size below which the scratch step (outside) is more than 1% larger than the
#    course's (inside), with $\epsilon = 10^{-7}$: first by formula, then by bisection on the
#    two measured steps.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Central against forward differences
# Errors of both difference quotients on the sigmoid at $h = 10^{-2}$ and $10^{-3}$.

# %% tags=["solution", "hide-cell"]
# Taylor: L(x + h) = L + h L' + h^2/2 L'' + h^3/6 L''' + ...  The forward quotient keeps the
# h/2 L'' term: error O(h), 10x smaller for 10x smaller h. In the central quotient the even
# terms cancel: error h^2/6 L''', 100x smaller.
x_ex, sig = 0.5, scratch.Sigmoid()


def sigmoid(v):
    return float(sig.forward(np.array([v]))[0])


exact = sigmoid(x_ex) * (1 - sigmoid(x_ex))
fd_err, cd_err = {}, {}
for h in (1e-2, 1e-3):
    fd_err[h] = abs((sigmoid(x_ex + h) - sigmoid(x_ex)) / h - exact)
    cd_err[h] = abs((sigmoid(x_ex + h) - sigmoid(x_ex - h)) / (2 * h) - exact)
    print(f"h = {h:g}: forward error {fd_err[h]:.2e}, central error {cd_err[h]:.2e}")
fd_ratio, cd_ratio = fd_err[1e-2] / fd_err[1e-3], cd_err[1e-2] / cd_err[1e-3]
print(f"10x smaller h: forward error {fd_ratio:.1f}x smaller, central {cd_ratio:.1f}x smaller")
assert 8 < fd_ratio < 12 and 80 < cd_ratio < 120
assert cd_err[1e-3] < fd_err[1e-3] / 100

# %% [markdown]
# ### Exercise 2 · The backward pass of a strided convolution
# Zero insertion, padding and the rotated kernel, against our layer and Keras.

# %% tags=["solution", "hide-cell"]
# Output pixel (i, j) of a stride-2 conv reads input pixels from (2i, 2j) on. Spreading dy onto
# that grid (zeros between its entries) turns the strided conv into a stride-1 one, so the rest
# is section 3's recipe. With n = 7, k = 3, s = 2 the grid covers the input exactly
# ((n - k) is divisible by s); otherwise the last rows and columns get extra zeros.
x7 = rng.standard_normal((1, 7, 7, 2))
W7 = rng.standard_normal((3, 3, 2, 3))
strided = Convolution(W7, np.zeros(3), stride=2, pad=0)
dy7 = rng.standard_normal(strided.forward(x7).shape)  # (1, 3, 3, 3)
dx7 = strided.backward(dy7)
spread = np.zeros((1, 5, 5, 3))
spread[:, ::2, ::2, :] = dy7  # s - 1 = 1 zero between neighbours
W7_rot = W7[::-1, ::-1].transpose(0, 1, 3, 2)
ours_dx = Convolution(W7_rot, np.zeros(2), pad=2).forward(spread)
keras_dx = np.asarray(
    keras.ops.conv_transpose(dy7.astype("float32"), W7.astype("float32"), strides=2)
)
print(
    f"dx shape {ours_dx.shape}; max |recipe - backward| = {np.abs(ours_dx - dx7).max():.1e}, "
    f"max |conv_transpose - backward| = {np.abs(keras_dx - dx7).max():.1e}"
)
assert ours_dx.shape == dx7.shape == x7.shape
assert np.allclose(ours_dx, dx7, atol=1e-12) and np.allclose(keras_dx, dx7, atol=1e-4)

# %% [markdown]
# ### Exercise 3 · Momentum's terminal velocity
# A constant gradient: the step Momentum settles at, and how soon.

# %% tags=["solution", "hide-cell"]
# v_t = alpha v_{t-1} - eta g = -eta g (1 + alpha + ... + alpha^(t-1)) = -eta g (1 - alpha^t) / (1 - alpha)
# -> eta g / (1 - alpha) = 10 eta g for alpha = 0.9. Within 10% once alpha^t <= 0.1:
# t >= log(0.1) / log(0.9) = 21.9, so after 22 steps.
eta_m, g_m = 0.01, np.array([1.0])
mom = scratch.Momentum(eta_m, momentum=0.9)
w_m, steps_m = {"w": np.zeros(1)}, []
for _ in range(100):
    before_m = w_m["w"].copy()
    mom.update(w_m, {"w": g_m})
    steps_m.append(float(before_m[0] - w_m["w"][0]))
steps_m = np.array(steps_m)
first_close = int(np.argmax(steps_m >= 0.9 * 10 * eta_m * g_m[0])) + 1
print(
    f"step 1: {steps_m[0]:.4f}, step 100: {steps_m[-1]:.5f} (SGD: {eta_m * g_m[0]}); "
    f"within 10% of 10 x eta g from step {first_close}"
)
assert abs(steps_m[-1] / (eta_m * g_m[0]) - 10) < 1e-3
assert first_close == int(np.ceil(np.log(0.1) / np.log(0.9))) == 22

# %% [markdown]
# ### Exercise 4 · Adam's first step
# The size of the first step for gradients $10^3$, 1, $10^{-3}$; with and without bias correction.

# %% tags=["solution", "hide-cell"]
# At t = 1: m = (1 - b1) g and v = (1 - b2) g^2, so the corrected m_hat = g, v_hat = g^2 and the
# step is eta g / (|g| + eps) = eta (a hair less): the gradient's size cancels. Uncorrected,
# m / sqrt(v) = 0.1 g / sqrt(0.001 g^2) = 0.1 / 0.0316 = 3.16: every first step would be
# 3.16 x eta, whatever the gradient.
eta_a = 1e-3
for g_a in (1e3, 1.0, 1e-3):
    w_a = {"w": np.zeros(1)}
    Adam(eta_a).update(w_a, {"w": np.array([g_a])})
    uncorrected = eta_a * 0.1 * g_a / (np.sqrt(0.001 * g_a**2) + 1e-7)
    print(
        f"gradient {g_a:g}: first step {-w_a['w'][0]:.6f}, without bias correction {uncorrected:.6f}"
    )
    assert abs(-w_a["w"][0] / eta_a - 1) < 1e-3
    assert abs(uncorrected / eta_a - np.sqrt(10)) < 1e-2

# %% [markdown]
# ### Exercise 5 · When does AdaGrad's $\epsilon$ placement matter?
# The gradient size below which the outside step is more than 1% larger than the inside one.

# %% tags=["solution", "hide-cell"]
# outside / inside = sqrt(g^2 + eps) / (|g| + eps). While |g| >> eps the denominator is about
# |g|, so the ratio is sqrt(1 + eps / g^2) = 1.01 at g* = sqrt(eps / (1.01^2 - 1)) = 2.23e-3
# (neglecting eps next to |g| moves g* by about 0.2%): a gradient of that size is not unusual
# for a weight, so the two AdaGrads do differ in practice.


def first_step_ratio(g_r):
    w_r = {"w": np.zeros(1)}
    scratch.AdaGrad(ETA, eps=EPS).update(w_r, {"w": np.array([g_r])})
    return (-w_r["w"][0] / ETA) / (g_r / np.sqrt(g_r**2 + EPS))


g_formula = np.sqrt(EPS / (1.01**2 - 1))
lo, hi = 1e-5, 1.0  # ratio > 1.01 at lo, < 1.01 at hi; bisect in log space
for _ in range(60):
    mid = np.sqrt(lo * hi)
    lo, hi = (mid, hi) if first_step_ratio(mid) > 1.01 else (lo, mid)
print(f"1% apart below |g| = {hi:.4g} (bisection) vs {g_formula:.4g} (formula)")
assert abs(hi / g_formula - 1) < 5e-3
assert 2.2e-3 < hi < 2.3e-3
