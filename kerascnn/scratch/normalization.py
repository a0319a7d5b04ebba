"""Batch normalization as a NumPy layer, with Keras' conventions.

For an input ``x`` of shape ``(N, D)`` or ``(N, H, W, C)`` (channels-last) the statistics are
taken over every axis but the last, one mean and variance per feature/channel::

    mu  = mean(x)                      var = mean((x - mu)^2)     # biased, as Keras
    x_hat = (x - mu) / sqrt(var + epsilon)
    y = gamma * x_hat + beta

- ``training=True``: ``mu``/``var`` are the batch's, and the running ("moving") statistics
  move towards them: ``moving = momentum * moving + (1 - momentum) * batch`` (Keras' rule,
  with the same biased variance);
- ``training=False`` (the default, as when a Keras layer is called): the moving statistics
  replace the batch's, so the layer is a fixed per-channel affine map.

Defaults are Keras': ``momentum=0.99``, ``epsilon=1e-3``, gamma 1, beta 0, moving mean 0,
moving variance 1. NumPy only.
"""

from __future__ import annotations

import numbers

import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.scratch.functional import fraction
from kerascnn.scratch.layers import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Batch normalization over all axes but the last; ``forward(x, training=False)``.

    ``gamma``, ``beta``: ``(C,)`` (the trainable ``params``); ``moving_mean``,
    ``moving_variance``: ``(C,)`` state (not in ``params``: optimizers never touch them),
    copied, default 0 and 1. ``backward(dout)`` returns ``dx`` and fills ``grads["gamma"]``,
    ``grads["beta"]`` for the mode of the last ``forward``: in training mode ``dx`` includes
    the paths through the batch mean and variance::

        dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + epsilon),  g = dout * gamma

    (means over the reduced axes); in inference mode it is simply ``g / sqrt(var + epsilon)``.
    Copy to and from ``keras.layers.BatchNormalization`` with
    ``[gamma, beta, moving_mean, moving_variance]`` (its ``get_weights`` order).
    """

    def __init__(
        self,
        gamma,
        beta,
        moving_mean=None,
        moving_variance=None,
        *,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
    ):
        super().__init__()
        gamma, beta = np.asarray(gamma), np.asarray(beta)
        if gamma.ndim != 1 or beta.shape != gamma.shape:
            raise ArgumentError(
                "BatchNormalization needs gamma and beta of the same shape (C,). "
                f"Received: gamma.shape={gamma.shape}, beta.shape={beta.shape}"
            )
        dtype = np.result_type(gamma.dtype, np.float32)
        self.params = {"gamma": gamma, "beta": beta}
        state = {}
        for name, value, default in (
            ("moving_mean", moving_mean, 0.0),
            ("moving_variance", moving_variance, 1.0),
        ):
            arr = np.full(gamma.shape, default, dtype) if value is None else np.array(value, dtype)
            if arr.shape != gamma.shape:
                raise ArgumentError(
                    f"BatchNormalization: {name} must have gamma's shape {gamma.shape}. "
                    f"Received: {name}.shape={arr.shape}"
                )
            state[name] = arr
        self.moving_mean = state["moving_mean"]
        self.moving_variance = state["moving_variance"]
        self.momentum = fraction("momentum", momentum)
        if isinstance(epsilon, bool) or not (isinstance(epsilon, numbers.Real) and epsilon > 0):
            raise ArgumentError(f"epsilon must be a positive number. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)

    @classmethod
    def initial(cls, num_features: int, dtype=np.float32, **kwargs) -> BatchNormalization:
        """A fresh layer as Keras builds one: gamma 1, beta 0, moving mean 0, variance 1."""
        if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral):
            raise ArgumentError(
                f"num_features must be a positive int. Received: num_features={num_features!r}"
            )
        if num_features < 1:
            raise ArgumentError(
                f"num_features must be a positive int. Received: num_features={num_features!r}"
            )
        return cls(np.ones(num_features, dtype), np.zeros(num_features, dtype), **kwargs)

    def forward(self, x, training: bool = False):
        x = np.asarray(x)
        x = x.astype(np.result_type(x.dtype, np.float32), copy=False)  # ints -> floats
        c = self.params["gamma"].shape[0]
        if x.ndim < 2 or x.shape[-1] != c:
            raise ArgumentError(
                f"BatchNormalization expects (N, ..., {c}) input (features last). "
                f"Received: x.shape={x.shape}"
            )
        axes = tuple(range(x.ndim - 1))
        if training:
            mean = x.mean(axis=axes)
            var = np.square(x - mean).mean(axis=axes)
            m = self.momentum
            self.moving_mean[...] = m * self.moving_mean + (1.0 - m) * mean
            self.moving_variance[...] = m * self.moving_variance + (1.0 - m) * var
        else:
            mean = self.moving_mean.astype(x.dtype, copy=False)
            var = self.moving_variance.astype(x.dtype, copy=False)
        std = np.sqrt(var + self.epsilon)
        x_hat = (x - mean) / std
        self._cache = (x_hat, std, bool(training), axes)
        return self.params["gamma"] * x_hat + self.params["beta"]

    def __call__(self, x, training: bool = False):
        return self.forward(x, training)

    def backward(self, dout):
        x_hat, std, training, axes = self._cache
        dout = np.asarray(dout)
        self.grads = {
            "gamma": (dout * x_hat).sum(axis=axes),
            "beta": dout.sum(axis=axes),
        }
        g = dout * self.params["gamma"]
        if not training:
            return g / std
        return (g - g.mean(axis=axes) - x_hat * (g * x_hat).mean(axis=axes)) / std
