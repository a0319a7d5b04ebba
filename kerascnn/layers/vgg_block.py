"""VGGBlock: n same-padded 3x3 convolutions (+ ReLU), then a 2x2 max pool."""

from __future__ import annotations

import keras

from kerascnn.layers._base import (
    CNNLayer,
    check_activation,
    check_float,
    check_positive_int,
)
from kerascnn.layers.conv_bn_act import ConvBNAct


@keras.saving.register_keras_serializable(package="kerascnn")
class VGGBlock(CNNLayer):
    """One stage of VGG: ``num_convs`` k x k convs with ReLU, then a 2x2 max pool, stride 2.

    From Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition" (ICLR 2015). Stacked 3x3 convs: two see 5x5, three see 7x7, with fewer
    parameters and more non-linearities than one large kernel. VGG-16 is stages of
    (2, 64), (2, 128), (3, 256), (3, 512), (3, 512). ``use_bn=True`` gives the VGG-BN variant
    (conv -> BN -> ReLU, no conv bias); ``pool=False`` leaves the pool out (small inputs that
    are already 1x1).

    Args:
        filters: channels of every conv.
        num_convs: number of convs.
        kernel_size: k (int, default 3).
        use_bn: BatchNormalization after each conv.
        activation: activation after each conv (default "relu").
        pool: finish with 2x2 max pool, stride 2 ("valid": odd sizes are floored).
        bn_epsilon: BatchNormalization epsilon.

    Example::

        >>> import numpy as np
        >>> block = VGGBlock(64, num_convs=2)
        >>> tuple(block(np.zeros((1, 32, 32, 3), "float32")).shape)
        (1, 16, 16, 64)
    """

    def __init__(
        self,
        filters,
        num_convs=2,
        kernel_size=3,
        use_bn=False,
        activation="relu",
        pool=True,
        bn_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.num_convs = check_positive_int(name, "num_convs", num_convs)
        self.kernel_size = check_positive_int(name, "kernel_size", kernel_size)
        self.use_bn = bool(use_bn)
        self.activation = check_activation(name, "activation", activation)
        self.pool = bool(pool)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        self.convs = [
            ConvBNAct(self.filters, self.kernel_size, use_bias=not self.use_bn, use_bn=self.use_bn,
                      activation=self.activation, bn_epsilon=self.bn_epsilon,
                      dtype=self.dtype_policy, name=f"conv{i}")
            for i in range(self.num_convs)
        ]
        self.pool_layer = (keras.layers.MaxPooling2D(2, strides=2, data_format="channels_last",
                                                     dtype=self.dtype_policy, name="pool")
                           if self.pool else None)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = inputs
        for conv in self.convs:
            x = conv(x, training=training)
        return self.pool_layer(x) if self.pool_layer is not None else x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return self.pool_layer.compute_output_shape(shape) if self.pool_layer is not None else shape

    def _rf_stages(self):
        stages = [(self.kernel_size, 1, "same")] * self.num_convs
        return stages + ([(2, 2, "valid")] if self.pool else [])

    def _macs(self, input_shape):
        total, shape = 0, tuple(input_shape)
        for conv in self.convs:
            total += conv._macs(shape)
            shape = conv.compute_output_shape(shape)
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            num_convs=self.num_convs,
            kernel_size=self.kernel_size,
            use_bn=self.use_bn,
            activation=self.activation,
            pool=self.pool,
            bn_epsilon=self.bn_epsilon,
        )
        return config
