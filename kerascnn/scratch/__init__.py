"""A from-scratch CNN in NumPy: the teaching oracle the Keras models are checked against.

    >>> from kerascnn.scratch import Convolution, SimpleConvNet, Adam
    >>> net = SimpleConvNet(input_dim=(28, 28, 1))
    >>> mlp = MultiLayerNet(batchnorm=True, dropout=0.2)  # 784-50-100-10

Channels-last everywhere, kernels in Keras' (KH, KW, C_in, C_out) layout, so weights copy to
and from ``keras.layers.Conv2D`` / ``Dense`` / ``BatchNormalization`` unchanged. NumPy only (no
Keras, no TensorFlow).

- layers: Convolution, MaxPooling, AvgPooling, Affine, Relu, Sigmoid, SoftmaxWithLoss, and the
  two whose ``forward`` takes ``training``: BatchNormalization and Dropout (both forms);
- networks: SimpleConvNet (conv 30@5x5, FC 100, 10) and MultiLayerNet (784-50-100-10, optional
  BatchNorm, Dropout, L2 weight decay); ``train`` for either, ``numerical_gradient`` and
  ``gradient_speed`` (backprop vs central differences, timed);
- optimizers: SGD, Momentum, AdaGrad, RMSProp, Adam, each with optional ``weight_decay``.
"""

from kerascnn.scratch.dropout import DROPOUT_MODES, Dropout
from kerascnn.scratch.functional import col2im, im2col, resolve_padding
from kerascnn.scratch.layers import (
    Affine,
    AvgPooling,
    Convolution,
    Layer,
    MaxPooling,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
    cross_entropy_error,
    softmax,
)
from kerascnn.scratch.mlp import MultiLayerNet
from kerascnn.scratch.network import (
    Classifier,
    SimpleConvNet,
    gradient_speed,
    numerical_gradient,
    preprocess,
    train,
)
from kerascnn.scratch.normalization import BatchNormalization
from kerascnn.scratch.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Optimizer,
    RMSProp,
    add_weight_decay,
    get_optimizer,
    is_weight,
    l2_penalty,
)

__all__ = [
    "im2col",
    "col2im",
    "resolve_padding",
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
    "BatchNormalization",
    "Dropout",
    "DROPOUT_MODES",
    "Classifier",
    "SimpleConvNet",
    "MultiLayerNet",
    "numerical_gradient",
    "gradient_speed",
    "preprocess",
    "train",
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
