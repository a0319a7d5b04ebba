"""SimpleConvNet, a numerical gradient, and a small training loop, all in NumPy.

SimpleConvNet::

    conv 30@5x5 (stride 1, pad 0) - relu - max-pool 2x2 - affine 100 - relu - affine 10 - softmax

Channels-last input ``(N, H, W, C)``; parameters ``W1, b1`` (conv, HWIO), ``W2, b2`` and
``W3, b3`` (affine). At 28x28x1 it has 30*25+30 + 4320*100+100 + 100*10+10 = 433,890 weights.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.scratch.layers import Affine, Convolution, MaxPooling, Relu, SoftmaxWithLoss
from kerascnn.scratch.optimizers import Optimizer

__all__ = [
    "Classifier",
    "SimpleConvNet",
    "numerical_gradient",
    "gradient_speed",
    "train",
    "preprocess",
]


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of scalar ``f()`` w.r.t. array ``x`` (perturbed in place).

    ``f`` takes no arguments: it must read ``x`` (e.g. a closure over a layer's weights).
    Use float64 arrays; the truncation error is O(h^2).
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + h
        fp = f()
        x[idx] = old - h
        fm = f()
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
        it.iternext()
    return grad


def gradient_speed(
    network, x, t, *, entries: int | None = 200, repeats: int = 5, h: float = 1e-5, seed: int = 0
) -> dict:
    """Seconds for one backprop gradient vs one numerical gradient of ``network.loss(x, t)``.

    Backprop: the median of ``repeats`` calls of ``network.gradient(x, t)``. Numerical: central
    differences cost two ``loss`` evaluations per parameter entry, the same for every entry, so
    ``entries`` entries drawn at random (seeded) are timed and the time per entry is multiplied
    by the number of entries (``entries=None``, or at least the total, times them all). Returns
    ``{"backprop_s", "numerical_s", "numerical_s_per_entry", "entries_timed", "total_entries",
    "ratio"}`` with ``ratio = numerical_s / backprop_s``. Entries are restored exactly; the
    ``gradient`` calls act as in training (a BatchNorm layer's moving statistics move), and
    ``loss`` runs as the network defines it (inference mode for :class:`MultiLayerNet`).
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ArgumentError(f"repeats must be a positive int. Received: repeats={repeats!r}")
    if entries is not None and (
        isinstance(entries, bool) or not isinstance(entries, int) or entries < 1
    ):
        raise ArgumentError(
            f"entries must be a positive int or None. Received: entries={entries!r}"
        )
    keys = list(network.params)
    sizes = np.array([network.params[k].size for k in keys])
    total = int(sizes.sum())
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        network.gradient(x, t)
        timings.append(time.perf_counter() - start)
    flat = np.arange(total)
    if entries is not None and entries < total:
        flat = np.sort(np.random.default_rng(seed).choice(total, entries, replace=False))
    owner = np.searchsorted(np.cumsum(sizes), flat, side="right")
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    start = time.perf_counter()
    for i, j in zip(owner, flat):
        arr = network.params[keys[i]]
        idx = np.unravel_index(j - offsets[i], arr.shape)
        old = arr[idx]
        arr[idx] = old + h
        fp = network.loss(x, t)
        arr[idx] = old - h
        fm = network.loss(x, t)
        arr[idx] = old
        _ = (fp - fm) / (2 * h)
    per_entry = (time.perf_counter() - start) / len(flat)
    backprop = float(np.median(timings))
    return {
        "backprop_s": backprop,
        "numerical_s": per_entry * total,
        "numerical_s_per_entry": per_entry,
        "entries_timed": int(len(flat)),
        "total_entries": total,
        "ratio": per_entry * total / backprop,
    }


def preprocess(x_uint8: np.ndarray, dtype=np.float32) -> np.ndarray:
    """uint8 NHWC images -> floats in [0, 1]."""
    return (np.asarray(x_uint8, dtype=dtype) / 255.0).astype(dtype)


class Classifier:
    """What every NumPy network here shares: ``params``, ``predict`` (logits) and ``accuracy``."""

    params: dict[str, np.ndarray]

    def predict(self, x):  # pragma: no cover - interface
        raise NotImplementedError

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def accuracy(self, x, t, batch_size: int = 500) -> float:
        """Top-1 accuracy against integer or one-hot labels, ``batch_size`` images at a time."""
        t = np.asarray(t)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        hits = 0
        for i in range(0, len(x), batch_size):
            hits += int(
                np.sum(
                    np.argmax(self.predict(x[i : i + batch_size]), axis=1) == t[i : i + batch_size]
                )
            )
        return hits / max(len(x), 1)


class SimpleConvNet(Classifier):
    """conv - relu - pool - affine - relu - affine - softmax, forward and backward by hand.

    ``weight_init_std="he"`` (default) scales each layer by sqrt(2 / fan_in); a float gives a
    fixed standard deviation (the classic 0.01).
    """

    def __init__(
        self,
        input_dim=(28, 28, 1),
        filter_num=30,
        filter_size=5,
        conv_stride=1,
        conv_pad=0,
        pool_size=2,
        hidden_size=100,
        output_size=10,
        weight_init_std="he",
        seed=0,
        dtype=np.float32,
    ):
        h, w, c = (int(d) for d in input_dim)
        conv_h = (h + 2 * conv_pad - filter_size) // conv_stride + 1
        conv_w = (w + 2 * conv_pad - filter_size) // conv_stride + 1
        if conv_h < pool_size or conv_w < pool_size:
            raise ArgumentError(
                f"SimpleConvNet: a {filter_size}x{filter_size} conv and {pool_size}x{pool_size} pooling do not "
                f"fit the input. Received: input_dim={tuple(input_dim)}"
            )
        pool_out = filter_num * (conv_h // pool_size) * (conv_w // pool_size)
        rng = np.random.default_rng(seed)

        def std(fan_in):
            return np.sqrt(2.0 / fan_in) if weight_init_std == "he" else float(weight_init_std)

        fan1 = filter_size * filter_size * c
        self.params = {
            "W1": (
                std(fan1) * rng.standard_normal((filter_size, filter_size, c, filter_num))
            ).astype(dtype),
            "b1": np.zeros(filter_num, dtype),
            "W2": (std(pool_out) * rng.standard_normal((pool_out, hidden_size))).astype(dtype),
            "b2": np.zeros(hidden_size, dtype),
            "W3": (std(hidden_size) * rng.standard_normal((hidden_size, output_size))).astype(
                dtype
            ),
            "b3": np.zeros(output_size, dtype),
        }
        self.layers = OrderedDict(
            Conv1=Convolution(self.params["W1"], self.params["b1"], conv_stride, conv_pad),
            Relu1=Relu(),
            Pool1=MaxPooling(pool_size, pool_size),
            Affine1=Affine(self.params["W2"], self.params["b2"]),
            Relu2=Relu(),
            Affine2=Affine(self.params["W3"], self.params["b3"]),
        )
        self.last_layer = SoftmaxWithLoss()
        # The layers hold the very arrays in self.params: optimizers update both at once.
        self._owners = {
            "W1": ("Conv1", "W"),
            "b1": ("Conv1", "b"),
            "W2": ("Affine1", "W"),
            "b2": ("Affine1", "b"),
            "W3": ("Affine2", "W"),
            "b3": ("Affine2", "b"),
        }

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t) -> float:
        return self.last_layer.forward(self.predict(x), t)

    def gradient(self, x, t) -> dict:
        """Backpropagation: gradients of the mean loss w.r.t. every parameter."""
        self.loss(x, t)
        dout = self.last_layer.backward(1.0)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        return {k: self.layers[name].grads[p] for k, (name, p) in self._owners.items()}

    def numerical_gradient(self, x, t, h: float = 1e-5) -> dict:
        """Central differences on every weight (slow: only for tiny nets in float64)."""
        return {
            k: numerical_gradient(lambda: self.loss(x, t), v, h) for k, v in self.params.items()
        }


def train(
    network,
    x,
    t,
    optimizer: Optimizer,
    *,
    steps: int = 100,
    batch_size: int = 100,
    seed: int = 0,
    x_val=None,
    t_val=None,
    eval_every: int = 0,
) -> dict:
    """Mini-batch training; returns ``{"loss": [...], "val_acc": [(step, acc), ...]}``.

    ``network`` needs ``gradient``, ``loss`` and ``params`` (e.g. :class:`SimpleConvNet`).
    """
    if steps < 1 or batch_size < 1:
        raise ArgumentError(
            f"steps and batch_size must be positive. Received: steps={steps}, batch_size={batch_size}"
        )
    rng = np.random.default_rng(seed)
    history: dict[str, list] = {"loss": [], "val_acc": []}
    n = len(x)
    for step in range(1, steps + 1):
        idx = rng.choice(n, size=min(batch_size, n), replace=False)
        grads = network.gradient(x[idx], t[idx])
        history["loss"].append(network.last_layer.loss)
        optimizer.update(network.params, grads)
        if eval_every and x_val is not None and (step % eval_every == 0 or step == steps):
            history["val_acc"].append((step, network.accuracy(x_val, t_val)))
    return history
