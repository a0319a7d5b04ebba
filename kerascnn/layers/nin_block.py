"""NiNBlock: a k x k convolution followed by 1x1 convolutions (an "mlpconv" layer)."""

from __future__ import annotations

import numbers

import keras

from kerascnn.layers._base import (
    PADDINGS,
    CNNLayer,
    check_activation,
    check_choice,
    check_positive_int,
)
from kerascnn.layers.conv_bn_act import ConvBNAct


@keras.saving.register_keras_serializable(package="kerascnn")
class NiNBlock(CNNLayer):
    """The mlpconv layer of Network In Network: a micro-MLP slid over the image.

    From Lin, Chen & Yan, "Network In Network" (ICLR 2014). A k x k conv (stride s) followed
    by 1x1 convs (a per-pixel multilayer perceptron across channels), each followed by ReLU.
    The paper's ImageNet NiN uses ``NiNBlock(96, 11, strides=4, padding="valid")``, then
    (256, 5), (384, 3), (1024, 3) with max pools between; the 1x1 layers have as many
    channels as the first conv (``mlp_filters=None``).

    Args:
        filters: channels of the k x k conv.
        kernel_size: k (int).
        strides: stride of the k x k conv.
        padding: "same" or "valid" (the k x k conv).
        mlp_filters: channels of each 1x1 conv (None: two of ``filters``).
        activation: activation after every conv (default "relu").
        use_bn: BatchNormalization after every conv (convs then lose their bias).

    Example::

        >>> import numpy as np
        >>> block = NiNBlock(96, 11, strides=4, padding="valid")
        >>> tuple(block(np.zeros((1, 224, 224, 3), "float32")).shape)
        (1, 54, 54, 96)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        padding="same",
        mlp_filters=None,
        activation="relu",
        use_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.kernel_size = check_positive_int(name, "kernel_size", kernel_size)
        self.strides = check_positive_int(name, "strides", strides)
        self.padding = check_choice(name, "padding", padding, PADDINGS)
        if mlp_filters is None:
            self.mlp_filters = None
        elif isinstance(mlp_filters, (tuple, list)) and all(
            isinstance(f, numbers.Integral) and not isinstance(f, bool) and f >= 1 for f in mlp_filters
        ):
            self.mlp_filters = tuple(int(f) for f in mlp_filters)
        else:
            raise ValueError(
                f"{name}: `mlp_filters` must be None or a sequence of positive integers (one per "
                f"1x1 conv; empty for none). Received: mlp_filters={mlp_filters!r}"
            )
        self.activation = check_activation(name, "activation", activation)
        self.use_bn = bool(use_bn)
        mlp = self.mlp_filters if self.mlp_filters is not None else (self.filters, self.filters)
        common = dict(use_bias=not self.use_bn, use_bn=self.use_bn, activation=self.activation,
                      dtype=self.dtype_policy)
        self.conv = ConvBNAct(self.filters, self.kernel_size, strides=self.strides,
                              padding=self.padding, name="conv", **common)
        self.mlp = [ConvBNAct(f, 1, name=f"mlp{i}", **common) for i, f in enumerate(mlp)]

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        self.conv.build(shape)
        shape = self.conv.compute_output_shape(shape)
        for layer in self.mlp:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = self.conv(inputs, training=training)
        for layer in self.mlp:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = self.conv.compute_output_shape(tuple(input_shape))
        for layer in self.mlp:
            shape = layer.compute_output_shape(shape)
        return shape

    def _rf_stages(self):
        return [(self.kernel_size, self.strides, self.padding)]

    def _macs(self, input_shape):
        total = self.conv._macs(tuple(input_shape))
        shape = self.conv.compute_output_shape(tuple(input_shape))
        for layer in self.mlp:
            total += layer._macs(shape)
            shape = layer.compute_output_shape(shape)
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            mlp_filters=self.mlp_filters,
            activation=self.activation,
            use_bn=self.use_bn,
        )
        return config
