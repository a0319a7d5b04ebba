"""A from-scratch CNN in NumPy: the teaching oracle the Keras models are checked against.

    >>> from kerascnn.scratch import Convolution, SimpleConvNet, Adam
    >>> net = SimpleConvNet(input_dim=(28, 28, 1))

Channels-last everywhere, kernels in Keras' (KH, KW, C_in, C_out) layout, so weights copy to
and from ``keras.layers.Conv2D`` / ``Dense`` unchanged. NumPy only (no Keras, no TensorFlow).
"""

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
from kerascnn.scratch.network import SimpleConvNet, numerical_gradient, preprocess, train
from kerascnn.scratch.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Optimizer,
    RMSProp,
    get_optimizer,
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
    "SimpleConvNet",
    "numerical_gradient",
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
]
