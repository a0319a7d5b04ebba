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
"""

from __future__ import annotations

import numbers

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
]


class Optimizer:
    def __init__(self, lr: float):
        if isinstance(lr, bool) or not (isinstance(lr, numbers.Real) and lr > 0):
            raise ArgumentError(
                f"{type(self).__name__}: lr must be a positive number. Received: lr={lr!r}"
            )
        self.lr = float(lr)
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
        self._begin()
        for key in params:
            self._step(key, params[key], np.asarray(grads[key]))

    def _begin(self) -> None:
        pass

    def _step(self, key, w, g):  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr})"


class SGD(Optimizer):
    def __init__(self, lr: float = 0.01):
        super().__init__(lr)

    def _step(self, key, w, g):
        w -= self.lr * g


class Momentum(Optimizer):
    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        super().__init__(lr)
        self.momentum = float(momentum)

    def _step(self, key, w, g):
        v = self._slot("v", key, w)
        v *= self.momentum
        v -= self.lr * g
        w += v


class AdaGrad(Optimizer):
    def __init__(self, lr: float = 0.01, eps: float = 1e-7):
        super().__init__(lr)
        self.eps = float(eps)

    def _step(self, key, w, g):
        h = self._slot("h", key, w)
        h += g * g
        w -= self.lr * g / (np.sqrt(h) + self.eps)


class RMSProp(Optimizer):
    def __init__(self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-7):
        super().__init__(lr)
        self.rho = float(rho)
        self.eps = float(eps)

    def _step(self, key, w, g):
        h = self._slot("h", key, w)
        h *= self.rho
        h += (1.0 - self.rho) * g * g
        w -= self.lr * g / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7
    ):
        super().__init__(lr)
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
