"""Layers of the NumPy reference CNN, each with ``forward`` and ``backward``.

Conventions (chosen so weights move to and from Keras unchanged):

- images are channels-last ``(N, H, W, C)``, like Keras and ``kerascnn.data``;
- a convolution kernel is ``(KH, KW, C_in, C_out)`` (Keras ``Conv2D.kernel``), an affine
  weight is ``(D_in, D_out)`` (Keras ``Dense.kernel``); Affine flattens NHWC in C order, like
  ``keras.layers.Flatten``;
- ``forward(x)`` caches what ``backward(dout)`` needs; ``backward`` returns ``dx`` and fills
  ``layer.grads`` with the same keys as ``layer.params``.

Convolutions here are cross-correlations, as in every deep-learning library.
"""

from __future__ import annotations

import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.scratch.functional import col2im, im2col, pair, resolve_padding

__all__ = [
    "Layer",
    "Convolution",
    "MaxPooling",
    "AvgPooling",
    "Affine",
    "Relu",
    "Sigmoid",
    "SoftmaxWithLoss",
    "softmax",
    "cross_entropy_error",
]


class Layer:
    """Base class: ``params``/``grads`` dicts (empty for layers without weights)."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)


def _check_nhwc(x, who):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ArgumentError(f"{who} expects NHWC input (4 dims). Received: shape={x.shape}")
    return x


def _weights(layer: str, W, b, w_shape: str, b_shape: str) -> dict:
    """``{"W": W, "b": b}`` as arrays, checked: W has the named rank, b one value per output."""
    W, b = np.asarray(W), np.asarray(b)
    if W.ndim != w_shape.count(",") + 1 or b.shape != (W.shape[-1],):
        raise ArgumentError(
            f"{layer} needs W of shape {w_shape} and b of shape {b_shape}. "
            f"Received: W.shape={W.shape}, b.shape={b.shape}"
        )
    return {"W": W, "b": b}


class Convolution(Layer):
    """2-D convolution (cross-correlation) with stride and zero padding, via im2col.

    ``W``: ``(KH, KW, C_in, C_out)``; ``b``: ``(C_out,)``. ``pad``: int, pairs, ``"valid"`` or
    ``"same"`` (see :func:`kerascnn.scratch.functional.resolve_padding`).
    """

    def __init__(self, W, b, stride=1, pad=0):
        super().__init__()
        self.params = _weights("Convolution", W, b, "(KH, KW, C_in, C_out)", "(C_out,)")
        self.stride = pair(stride, "stride")
        self.pad = pad

    @property
    def W(self):
        return self.params["W"]

    @property
    def b(self):
        return self.params["b"]

    def forward(self, x):
        x = _check_nhwc(x, "Convolution")
        kh, kw, c, f = self.W.shape
        if x.shape[3] != c:
            raise ArgumentError(
                f"Convolution kernel expects {c} input channels. Received: x.shape={x.shape}"
            )
        pads = resolve_padding(self.pad, x.shape[1:3], (kh, kw), self.stride)
        col = im2col(x, (kh, kw), self.stride, pads)
        out = col @ self.W.reshape(-1, f) + self.b
        n = x.shape[0]
        oh = (x.shape[1] + sum(pads[0]) - kh) // self.stride[0] + 1
        ow = (x.shape[2] + sum(pads[1]) - kw) // self.stride[1] + 1
        self._cache = (x.shape, col, pads)
        return out.reshape(n, oh, ow, f)

    def backward(self, dout):
        x_shape, col, pads = self._cache
        kh, kw, c, f = self.W.shape
        dout = dout.reshape(-1, f)
        self.grads = {
            "W": (col.T @ dout).reshape(self.W.shape),
            "b": dout.sum(axis=0),
        }
        dcol = dout @ self.W.reshape(-1, f).T
        return col2im(dcol, x_shape, (kh, kw), self.stride, pads)


class _Pooling(Layer):
    def __init__(self, pool_size=2, stride=None, pad=0):
        super().__init__()
        self.pool_size = pair(pool_size, "pool_size")
        self.stride = pair(self.pool_size if stride is None else stride, "stride")
        self.pad = pad

    def _windows(self, x, pad_value):
        x = _check_nhwc(x, type(self).__name__)
        n, h, w, c = x.shape
        ph, pw = self.pool_size
        pads = resolve_padding(self.pad, (h, w), (ph, pw), self.stride)
        col = im2col(x, (ph, pw), self.stride, pads, pad_value=pad_value)
        oh = (h + sum(pads[0]) - ph) // self.stride[0] + 1
        ow = (w + sum(pads[1]) - pw) // self.stride[1] + 1
        return col.reshape(-1, ph * pw, c), pads, (n, oh, ow, c)

    def _to_image(self, dwin, x_shape, pads):
        c = x_shape[3]
        dcol = dwin.reshape(-1, self.pool_size[0] * self.pool_size[1] * c)
        return col2im(dcol, x_shape, self.pool_size, self.stride, pads)


class MaxPooling(_Pooling):
    """Max pooling. Padded positions never win (they hold ``-inf``), as in Keras "same".

    Ties send the whole gradient to the first maximum in window order (row-major).
    """

    def forward(self, x):
        win, pads, out_shape = self._windows(np.asarray(x), -np.inf)
        # argmax over the (short) window axis, one slice at a time: first maximum wins.
        out = win[:, 0, :].copy()
        arg = np.zeros(out.shape, dtype=np.intp)
        for j in range(1, win.shape[1]):
            better = win[:, j, :] > out
            out[better] = win[:, j, :][better]
            arg[better] = j
        self._cache = (np.shape(x), arg, win.shape, pads)
        return out.reshape(out_shape)

    def backward(self, dout):
        x_shape, arg, win_shape, pads = self._cache
        dwin = np.zeros(win_shape, dtype=dout.dtype)
        np.put_along_axis(
            dwin, arg[:, None, :], dout.reshape(win_shape[0], 1, win_shape[2]), axis=1
        )
        return self._to_image(dwin, x_shape, pads)


class AvgPooling(_Pooling):
    """Average pooling; padded positions are not counted (Keras/TensorFlow "same" semantics)."""

    def forward(self, x):
        x = np.asarray(x)
        win, pads, out_shape = self._windows(x, 0.0)
        ones = np.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype)
        count = im2col(ones, self.pool_size, self.stride, pads).sum(axis=1)  # (OH*OW,)
        count = np.tile(count, x.shape[0])[:, None]
        self._cache = (x.shape, count, win.shape, pads)
        return (win.sum(axis=1) / count).reshape(out_shape)

    def backward(self, dout):
        x_shape, count, win_shape, pads = self._cache
        d = dout.reshape(win_shape[0], 1, win_shape[2]) / count[:, :, None]
        dwin = np.broadcast_to(d, win_shape)
        return self._to_image(dwin, x_shape, pads)


class Affine(Layer):
    """``y = flatten(x) @ W + b``; ``W``: ``(D_in, D_out)``. ``backward`` restores x's shape."""

    def __init__(self, W, b):
        super().__init__()
        self.params = _weights("Affine", W, b, "(D_in, D_out)", "(D_out,)")

    def forward(self, x):
        x = np.asarray(x)
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.params["W"].shape[0]:
            raise ArgumentError(
                f"Affine expects {self.params['W'].shape[0]} features per sample. Received: x.shape={x.shape}"
            )
        self._cache = (x.shape, flat)
        return flat @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        x_shape, flat = self._cache
        self.grads = {"W": flat.T @ dout, "b": dout.sum(axis=0)}
        return (dout @ self.params["W"].T).reshape(x_shape)


class Relu(Layer):
    """``max(x, 0)``; the gradient at exactly 0 is taken as 0 (as Keras/TensorFlow do)."""

    def forward(self, x):
        self._mask = np.asarray(x) <= 0
        out = np.array(x, copy=True)
        out[self._mask] = 0
        return out

    def backward(self, dout):
        dx = np.array(dout, copy=True)
        dx[self._mask] = 0
        return dx


class Sigmoid(Layer):
    """``1 / (1 + exp(-x))``; backward uses ``y (1 - y)``."""

    def forward(self, x):
        x = np.asarray(x)
        self._out = 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic
        return self._out

    def backward(self, dout):
        return dout * self._out * (1.0 - self._out)


def softmax(x):
    """Row-wise softmax over the last axis (shifted by the max for stability)."""
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _labels_to_onehot(t, num_classes, dtype=np.float64):
    t = np.asarray(t)
    if t.ndim == 1:
        if t.size and (t.min() < 0 or t.max() >= num_classes):
            raise ArgumentError(
                f"integer labels must lie in [0, {num_classes}). Received: labels in [{t.min()}, {t.max()}]"
            )
        return np.eye(num_classes, dtype=dtype)[t.astype(np.int64)]
    return t.astype(dtype, copy=False)


def cross_entropy_error(y, t, eps: float = 1e-12):
    """Mean cross-entropy of probabilities ``y`` against integer or one-hot labels ``t``."""
    y = np.asarray(y)
    y2 = y.reshape(1, -1) if y.ndim == 1 else y
    t1 = _labels_to_onehot(t, y2.shape[-1]).reshape(y2.shape)
    return float(-np.sum(t1 * np.log(y2 + eps)) / y2.shape[0])


class SoftmaxWithLoss(Layer):
    """Softmax + mean cross-entropy. ``forward(x, t)`` -> loss; ``backward()`` -> ``(y - t) / N``.

    ``t`` holds integer labels ``(N,)`` or one-hot / soft targets ``(N, K)``. The loss is
    computed from the log-softmax of the logits (exact, no ``log(0)``).
    """

    def forward(self, x, t):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ArgumentError(
                f"SoftmaxWithLoss expects logits of shape (N, K). Received: shape={x.shape}"
            )
        t1 = _labels_to_onehot(t, x.shape[1], x.dtype)
        if t1.shape != x.shape:
            raise ArgumentError(
                f"targets must be (N,) integers or (N, K) one-hot matching logits {x.shape}. Received: shape={np.shape(t)}"
            )
        shifted = x - x.max(axis=1, keepdims=True)
        logsum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.y = np.exp(shifted - logsum)
        self.t = t1
        self.loss = float(-np.sum(t1 * (shifted - logsum)) / x.shape[0])
        return self.loss

    def __call__(self, x, t):
        return self.forward(x, t)

    def backward(self, dout=1.0):
        return (dout * (self.y - self.t) / self.y.shape[0]).astype(self.y.dtype, copy=False)
