"""Dropout as a NumPy layer, in both of its forms.

In training each unit is kept with probability ``1 - rate`` and zeroed otherwise; the two
forms differ only in where the factor ``1 - rate`` is paid, so that the expected output in
training equals the output at inference:

=============  ==========================  =========================
mode           training                    inference
=============  ==========================  =========================
``inverted``   ``x * mask / (1 - rate)``   ``x`` (identity)
``original``   ``x * mask``                ``x * (1 - rate)``
=============  ==========================  =========================

``inverted`` is what Keras (``keras.layers.Dropout``) and every modern library do: inference
costs nothing. ``original`` is the form of Srivastava et al. (2014), used by the course's
NumPy code. The mask comes from a seeded ``numpy.random.Generator`` (``layer.rng``), and
``backward`` multiplies by the very mask and factor of the last ``forward``. NumPy only.
"""

from __future__ import annotations

import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.scratch.functional import fraction
from kerascnn.scratch.layers import Layer

__all__ = ["Dropout", "DROPOUT_MODES"]

DROPOUT_MODES = ("inverted", "original")
"""The two forms of :class:`Dropout`: scale in training (``inverted``) or at inference."""


class Dropout(Layer):
    """Zero each unit with probability ``rate`` in training; ``forward(x, training=False)``.

    ``rate`` in ``[0, 1)``; ``mode``: ``"inverted"`` (default, Keras' form) or ``"original"``;
    ``seed``: int or None, seeds ``self.rng`` (a ``numpy.random.default_rng``). After a
    training-mode ``forward``, ``self.mask`` holds the boolean keep-mask it used (None after
    an inference-mode call).
    """

    def __init__(self, rate: float = 0.5, mode: str = "inverted", seed=None):
        super().__init__()
        self.rate = fraction("rate", rate)
        if mode not in DROPOUT_MODES:
            raise ArgumentError(f"mode must be one of {DROPOUT_MODES}. Received: mode={mode!r}")
        self.mode = mode
        self.rng = np.random.default_rng(seed)
        self.mask = None
        self._scale = 1.0

    def forward(self, x, training: bool = False):
        x = np.asarray(x)
        keep = 1.0 - self.rate
        if training:
            self.mask = self.rng.random(x.shape) >= self.rate
            self._scale = 1.0 / keep if self.mode == "inverted" else 1.0
            return x * self.mask * self._scale
        self.mask = None
        self._scale = 1.0 if self.mode == "inverted" else keep
        return x * self._scale

    def __call__(self, x, training: bool = False):
        return self.forward(x, training)

    def backward(self, dout):
        dout = np.asarray(dout)
        if self.mask is not None:
            return dout * self.mask * self._scale
        return dout * self._scale
