"""Optimizers of the NumPy reference: ``opt.update(params, grads)`` changes ``params`` in place.

``params`` and ``grads`` are dicts of arrays with the same keys (a network's ``params`` and
the result of its ``gradient``). Update rules, for a weight ``w`` with gradient ``g``:

- SGD:      ``w -= lr * g``
- Momentum: ``v = momentum * v - lr * g;  w += v``
- AdaGrad:  ``h += g*g;  w -= lr * g / (sqrt(h) + eps)``
- RMSProp:  ``h = rho * h + (1 - rho) * g*g;  w -= lr * g / (sqrt(h) + eps)``
- Adam:     ``m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g*g;``
  ``w -= lr * m_hat / (sqrt(v_hat) + eps)`` with bias-corrected ``m_hat``, ``v_hat``
  (Kingma & Ba, 2015, Algorithm 1).

Weight decay (``weight_decay=lambda`` on any optimizer) is the L2 form the course uses: the loss
gains ``lambda / 2 * sum(W**2)`` over the *weights* (not the biases, not BatchNorm's gamma and
beta), so each weight's gradient gains ``lambda * W`` before the rule above runs::

    g = g + lambda * W          # then SGD: W -= lr * g, Momentum: v = ..., Adam: m = ...

Weights are the keys that start with ``"W"`` (``W1``, ``W2``, ... in SimpleConvNet and
MultiLayerNet; ``W`` in a layer's ``params``) unless ``decay_keys`` names them.
:func:`l2_penalty` gives the loss term and :func:`add_weight_decay` the gradients, for a network
that puts the decay in its loss instead (``MultiLayerNet(weight_decay=...)``, as the course's
``MultiLayerNet`` does; use one of the two, not both). Keras' ``weight_decay=`` argument is the
*decoupled* form (``W -= lr * lambda * W`` beside the rule, AdamW's): identical for plain SGD,
different for the adaptive rules.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from kerascnn.errors import ArgumentError

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "get_optimizer",
    "OPTIMIZERS",
    "is_weight",
    "l2_penalty",
    "add_weight_decay",
]


def is_weight(key: str) -> bool:
    """True for a weight's key (``"W"``, ``"W1"``, ...), False for biases, gamma and beta."""
    return str(key).startswith("W")


def _decay(name: str, weight_decay) -> float:
    if isinstance(weight_decay, bool) or not (
        isinstance(weight_decay, numbers.Real) and weight_decay >= 0
    ):
        raise ArgumentError(
            f"{name}: weight_decay must be a number >= 0. Received: weight_decay={weight_decay!r}"
        )
    return float(weight_decay)


def _selected(params: dict, decay_keys) -> list:
    if decay_keys is None:
        return [k for k in params if is_weight(k)]
    return [k for k in params if k in decay_keys]


def l2_penalty(params: dict, weight_decay: float, decay_keys: Iterable[str] | None = None) -> float:
    """``weight_decay / 2 * sum(W**2)`` over the weights of ``params`` (see :func:`is_weight`)."""
    wd = _decay("l2_penalty", weight_decay)
    return (
        0.5
        * wd
        * sum(
            float(np.sum(np.square(params[k], dtype=np.float64)))
            for k in _selected(params, decay_keys)
        )
    )


def add_weight_decay(
    grads: dict, params: dict, weight_decay: float, decay_keys: Iterable[str] | None = None
) -> dict:
    """A new dict: ``grads[k] + weight_decay * params[k]`` for the weights, the rest as given."""
    wd = _decay("add_weight_decay", weight_decay)
    out = dict(grads)
    if wd:
        for k in _selected(params, decay_keys):
            out[k] = np.asarray(grads[k]) + wd * params[k]
    return out


class Optimizer:
    """Base class: ``update(params, grads)``; ``weight_decay`` adds ``lambda * W`` to the
    weights' gradients first (L2, see the module docstring)."""

    def __init__(self, lr: float, *, weight_decay: float = 0.0, decay_keys=None):
        if isinstance(lr, bool) or not (isinstance(lr, numbers.Real) and lr > 0):
            raise ArgumentError(
                f"{type(self).__name__}: lr must be a positive number. Received: lr={lr!r}"
            )
        self.lr = float(lr)
        self.weight_decay = _decay(type(self).__name__, weight_decay)
        self.decay_keys = None if decay_keys is None else frozenset(decay_keys)
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def _slot(self, slot: str, key: str, like: np.ndarray) -> np.ndarray:
        table = self.state.setdefault(slot, {})
        if key not in table:
            table[key] = np.zeros_like(like)
        return table[key]

    def update(self, params: dict, grads: dict) -> None:
        missing = set(params) - set(grads)
        if missing:
            raise ArgumentError(
                f"grads lack entries for some params. Received: missing keys {sorted(missing)}"
            )
        if self.weight_decay:
            grads = add_weight_decay(grads, params, self.weight_decay, self.decay_keys)
        self._begin()
        for key in params:
            self._step(key, params[key], np.asarray(grads[key]))

    def _begin(self) -> None:
        pass

    def _step(self, key, w, g):  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        wd = f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return f"{type(self).__name__}(lr={self.lr}{wd})"


class SGD(Optimizer):
    def __init__(self, lr: float = 0.01, **decay):
        super().__init__(lr, **decay)

    def _step(self, key, w, g):
        w -= self.lr * g


class Momentum(Optimizer):
    def __init__(self, lr: float = 0.01, momentum: float = 0.9, **decay):
        super().__init__(lr, **decay)
        self.momentum = float(momentum)

    def _step(self, key, w, g):
        v = self._slot("v", key, w)
        v *= self.momentum
        v -= self.lr * g
        w += v


class AdaGrad(Optimizer):
    def __init__(self, lr: float = 0.01, eps: float = 1e-7, **decay):
        super().__init__(lr, **decay)
        self.eps = float(eps)

    def _step(self, key, w, g):
        h = self._slot("h", key, w)
        h += g * g
        w -= self.lr * g / (np.sqrt(h) + self.eps)


class RMSProp(Optimizer):
    def __init__(self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-7, **decay):
        super().__init__(lr, **decay)
        self.rho = float(rho)
        self.eps = float(eps)

    def _step(self, key, w, g):
        h = self._slot("h", key, w)
        h *= self.rho
        h += (1.0 - self.rho) * g * g
        w -= self.lr * g / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-7,
        **decay,
    ):
        super().__init__(lr, **decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.iterations = 0

    def _begin(self):
        self.iterations += 1

    def _step(self, key, w, g):
        m = self._slot("m", key, w)
        v = self._slot("v", key, w)
        m += (1.0 - self.beta1) * (g - m)
        v += (1.0 - self.beta2) * (g * g - v)
        t = self.iterations
        m_hat = m / (1.0 - self.beta1**t)
        v_hat = v / (1.0 - self.beta2**t)
        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
}


def get_optimizer(name: str, **kwargs) -> Optimizer:
    """``get_optimizer("adam", lr=1e-3)``; names: sgd, momentum, adagrad, rmsprop, adam."""
    try:
        cls = OPTIMIZERS[str(name).lower()]
    except KeyError:
        raise ArgumentError(
            f"unknown optimizer; choose one of {sorted(OPTIMIZERS)}. Received: name={name!r}"
        ) from None
    return cls(**kwargs)
