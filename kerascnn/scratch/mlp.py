"""MultiLayerNet: the course's fully connected network in NumPy, 784-50-100-10 by default.

Each hidden layer is ``Affine -> [BatchNorm] -> ReLU -> [Dropout]`` (``batchnorm="after"``
moves the BatchNorm behind the activation), then ``Affine -> softmax + cross-entropy``::

    >>> net = MultiLayerNet()                       # 784-50-100-10, He init, 45,360 weights
    >>> net = MultiLayerNet(batchnorm=True, dropout=0.2, weight_decay=1e-4)

Images ``(N, 28, 28, 1)`` are flattened by the first Affine (C order, as
``keras.layers.Flatten``). Parameters are ``W1, b1, ...`` (affine) and ``gamma1, beta1, ...``
(BatchNorm); the layers hold these very arrays, so an optimizer's in-place update reaches both.
Train it with :func:`kerascnn.scratch.train`; ``predict``/``accuracy`` run in inference mode
(BatchNorm's moving statistics, no dropout), ``gradient`` in training mode.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.scratch.dropout import DROPOUT_MODES, Dropout
from kerascnn.scratch.functional import fraction
from kerascnn.scratch.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from kerascnn.scratch.network import Classifier, numerical_gradient
from kerascnn.scratch.normalization import BatchNormalization
from kerascnn.scratch.optimizers import add_weight_decay, l2_penalty

__all__ = ["MultiLayerNet"]

_ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}
_BN_PLACES = {False: None, None: None, True: "before", "before": "before", "after": "after"}
_MODAL = (BatchNormalization, Dropout)  # layers whose forward takes ``training``


def _positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ArgumentError(f"{name} must be a positive int. Received: {name}={value!r}")
    return int(value)


def _init_std(spec, fan_in: int) -> float:
    if spec == "he":
        return float(np.sqrt(2.0 / fan_in))
    if spec == "xavier":
        return float(np.sqrt(1.0 / fan_in))
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool) and spec > 0:
        return float(spec)
    raise ArgumentError(
        f"weight_init_std must be 'he', 'xavier' or a positive number. Received: weight_init_std={spec!r}"
    )


class MultiLayerNet(Classifier):
    """A fully connected ReLU (or sigmoid) network with optional BatchNorm, Dropout, L2 decay.

    - ``hidden_sizes``: units per hidden layer (default ``(50, 100)``: the course's MLP);
    - ``weight_init_std``: ``"he"`` (sqrt(2 / fan_in), for ReLU), ``"xavier"`` (sqrt(1 / fan_in),
      the course's choice for sigmoid) or a fixed standard deviation such as 0.01; biases 0;
    - ``batchnorm``: False, True / ``"before"`` (Affine -> BN -> activation) or ``"after"``
      (Affine -> activation -> BN); ``bn_momentum`` 0.9 as in the course (Keras' 0.99 needs
      thousands of steps before its moving statistics are usable), ``bn_epsilon`` Keras' 1e-3;
    - ``dropout``: rate after every hidden activation (0 = none), ``dropout_mode`` ``"inverted"``
      or ``"original"`` (see :class:`~kerascnn.scratch.Dropout`);
    - ``weight_decay``: L2 in the loss, ``weight_decay / 2 * sum(W**2)`` over the ``W`` keys
      (not biases, not gamma/beta), so ``gradient`` adds ``weight_decay * W`` (the course's
      form). Leave the optimizer's own ``weight_decay`` at 0 then, or the decay counts twice.
    - ``seed`` draws the weights and seeds the dropout masks; ``dtype`` of every parameter.
    """

    def __init__(
        self,
        input_size: int = 784,
        hidden_sizes=(50, 100),
        output_size: int = 10,
        *,
        activation: str = "relu",
        weight_init_std="he",
        batchnorm=False,
        bn_momentum: float = 0.9,
        bn_epsilon: float = 1e-3,
        dropout: float = 0.0,
        dropout_mode: str = "inverted",
        weight_decay: float = 0.0,
        seed: int = 0,
        dtype=np.float32,
    ):
        sizes = [_positive_int("input_size", input_size)]
        try:
            hidden = list(hidden_sizes)
        except TypeError:
            raise ArgumentError(
                f"hidden_sizes must be a sequence of positive ints. Received: hidden_sizes={hidden_sizes!r}"
            ) from None
        sizes += [_positive_int("hidden_sizes[i]", h) for h in hidden]
        sizes.append(_positive_int("output_size", output_size))
        if activation not in _ACTIVATIONS:
            raise ArgumentError(
                f"activation must be one of {sorted(_ACTIVATIONS)}. Received: activation={activation!r}"
            )
        if not isinstance(batchnorm, (bool, str, type(None))) or batchnorm not in _BN_PLACES:
            raise ArgumentError(
                f"batchnorm must be False, True, 'before' or 'after'. Received: batchnorm={batchnorm!r}"
            )
        if dropout_mode not in DROPOUT_MODES:
            raise ArgumentError(
                f"dropout_mode must be one of {DROPOUT_MODES}. Received: dropout_mode={dropout_mode!r}"
            )
        self.sizes = tuple(sizes)
        self.batchnorm = _BN_PLACES[batchnorm]
        self.dropout = fraction("dropout", dropout)
        l2_penalty({}, weight_decay)  # validates: a number >= 0
        self.weight_decay = float(weight_decay)
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        self.layers: OrderedDict = OrderedDict()
        self._owners: dict[str, tuple[str, str]] = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            std = _init_std(weight_init_std, fan_in)
            self.params[f"W{i}"] = (std * rng.standard_normal((fan_in, fan_out))).astype(dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype)
            self._own(f"Affine{i}", Affine(self.params[f"W{i}"], self.params[f"b{i}"]), i)
            if i == len(sizes) - 1:
                break
            if self.batchnorm == "before":
                self._add_batchnorm(i, fan_out, dtype, bn_momentum, bn_epsilon)
            self.layers[f"Activation{i}"] = _ACTIVATIONS[activation]()
            if self.batchnorm == "after":
                self._add_batchnorm(i, fan_out, dtype, bn_momentum, bn_epsilon)
            if self.dropout:
                self.layers[f"Dropout{i}"] = Dropout(
                    self.dropout, dropout_mode, seed=int(rng.integers(2**63))
                )
        self.last_layer = SoftmaxWithLoss()

    def _own(self, name, layer, i):
        self.layers[name] = layer
        for p in layer.params:  # "W" of Affine2 is params["W2"], "gamma" of BatchNorm1 "gamma1"
            self._owners[f"{p}{i}"] = (name, p)

    def _add_batchnorm(self, i, units, dtype, momentum, epsilon):
        self.params[f"gamma{i}"] = np.ones(units, dtype)
        self.params[f"beta{i}"] = np.zeros(units, dtype)
        bn = BatchNormalization(
            self.params[f"gamma{i}"], self.params[f"beta{i}"], momentum=momentum, epsilon=epsilon
        )
        self._own(f"BatchNorm{i}", bn, i)

    def predict(self, x, training: bool = False):
        """Logits; ``training=True`` uses batch statistics and draws dropout masks."""
        for layer in self.layers.values():
            x = layer.forward(x, training) if isinstance(layer, _MODAL) else layer.forward(x)
        return x

    def loss(self, x, t, training: bool = False) -> float:
        """Mean cross-entropy plus ``weight_decay / 2 * sum(W**2)``."""
        data = self.last_layer.forward(self.predict(x, training), t)
        return data + l2_penalty(self.params, self.weight_decay) if self.weight_decay else data

    def gradient(self, x, t) -> dict:
        """Backpropagation in training mode: gradients of :meth:`loss` w.r.t. every parameter."""
        self.loss(x, t, training=True)
        dout = self.last_layer.backward(1.0)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {k: self.layers[name].grads[p] for k, (name, p) in self._owners.items()}
        return add_weight_decay(grads, self.params, self.weight_decay)

    def numerical_gradient(self, x, t, h: float = 1e-5) -> dict:
        """Central differences of the training-mode :meth:`loss` (slow: tiny nets, float64).

        Every evaluation replays the dropout masks that a :meth:`gradient` call made now would
        draw (the dropout generators are rewound before each one), and BatchNorm's moving
        statistics are restored afterwards, so the result compares with :meth:`gradient`
        called from the same state.
        """
        drops = [layer for layer in self.layers.values() if isinstance(layer, Dropout)]
        rng_states = [d.rng.bit_generator.state for d in drops]
        bns = [layer for layer in self.layers.values() if isinstance(layer, BatchNormalization)]
        moving = [(b.moving_mean.copy(), b.moving_variance.copy()) for b in bns]

        def f():
            for d, state in zip(drops, rng_states):
                d.rng.bit_generator.state = state
            return self.loss(x, t, training=True)

        grads = {k: numerical_gradient(f, v, h) for k, v in self.params.items()}
        for d, state in zip(drops, rng_states):
            d.rng.bit_generator.state = state
        for b, (mean, var) in zip(bns, moving):
            b.moving_mean[...], b.moving_variance[...] = mean, var
        return grads
