"""DenseBlock: each layer's output is concatenated to all earlier feature maps (DenseNet)."""

from __future__ import annotations

import keras

from kerascnn.layers._base import CNNLayer, check_float, check_positive_int


@keras.saving.register_keras_serializable(package="kerascnn")
class DenseBlock(CNNLayer):
    """A dense block: ``x <- concat(x, H_i(x))`` for ``num_layers`` layers.

    From Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks"
    (CVPR 2017). With ``bottleneck_width`` (DenseNet-B, the default) each H_i is
    BN -> ReLU -> 1x1 conv (``bottleneck_width * growth_rate`` channels) -> BN -> ReLU -> 3x3
    conv (``growth_rate`` channels); with ``bottleneck_width=None`` it is BN -> ReLU -> 3x3
    conv. Convs have no bias; optional dropout after each conv (the paper uses 0.2 without
    data augmentation). Output channels: ``C_in + num_layers * growth_rate``. DenseNet-121's
    blocks have 6, 12, 24 and 16 layers with growth rate 32.

    Args:
        num_layers: number of H_i layers.
        growth_rate: k, channels added per layer (paper: 32 for DenseNet-121).
        bottleneck_width: 1x1 bottleneck channels as a multiple of k (paper: 4), or None.
        dropout_rate: dropout after each conv, in [0, 1).
        bn_epsilon: BatchNormalization epsilon (keras.applications: 1.001e-5).

    Example::

        >>> import numpy as np
        >>> block = DenseBlock(6, growth_rate=32)
        >>> tuple(block(np.zeros((1, 8, 8, 64), "float32")).shape)
        (1, 8, 8, 256)
    """

    def __init__(
        self,
        num_layers,
        growth_rate=32,
        bottleneck_width=4,
        dropout_rate=0.0,
        bn_epsilon=1.001e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.num_layers = check_positive_int(name, "num_layers", num_layers)
        self.growth_rate = check_positive_int(name, "growth_rate", growth_rate)
        self.bottleneck_width = (
            None if bottleneck_width is None
            else check_positive_int(name, "bottleneck_width", bottleneck_width)
        )
        self.dropout_rate = check_float(name, "dropout_rate", dropout_rate, low=0.0, high=0.999)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        dt = self.dtype_policy
        n = self.num_layers

        def bns(tag):
            return [keras.layers.BatchNormalization(epsilon=self.bn_epsilon, dtype=dt, name=f"{tag}{i}")
                    for i in range(n)]

        def convs(filters, k, tag):
            return [keras.layers.Conv2D(filters, k, padding="same", use_bias=False,
                                        data_format="channels_last", dtype=dt, name=f"{tag}{i}")
                    for i in range(n)]

        if self.bottleneck_width is not None:
            self.norms_1x1 = bns("bn_1x1_")
            self.convs_1x1 = convs(self.bottleneck_width * self.growth_rate, 1, "conv_1x1_")
        else:
            self.norms_1x1, self.convs_1x1 = [], []
        self.norms_3x3 = bns("bn_3x3_")
        self.convs_3x3 = convs(self.growth_rate, 3, "conv_3x3_")
        self.dropout = (keras.layers.Dropout(self.dropout_rate, dtype=dt, name="dropout")
                        if self.dropout_rate > 0 else None)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        channels = shape[-1]
        for i in range(self.num_layers):
            s = shape[:-1] + (channels,)
            if self.bottleneck_width is not None:
                self.norms_1x1[i].build(s)
                self.convs_1x1[i].build(s)
                s = shape[:-1] + (self.bottleneck_width * self.growth_rate,)
            self.norms_3x3[i].build(s)
            self.convs_3x3[i].build(s)
            channels += self.growth_rate

    def _drop(self, x, training):
        return self.dropout(x, training=training) if self.dropout is not None else x

    def call(self, inputs, training=None):
        x = inputs
        for i in range(self.num_layers):
            y = x
            if self.bottleneck_width is not None:
                y = keras.ops.relu(self.norms_1x1[i](y, training=training))
                y = self._drop(self.convs_1x1[i](y), training)
            y = keras.ops.relu(self.norms_3x3[i](y, training=training))
            y = self._drop(self.convs_3x3[i](y), training)
            x = keras.ops.concatenate([x, y], axis=-1)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        return shape[:-1] + (shape[-1] + self.num_layers * self.growth_rate,)

    def _rf_stages(self):
        return [(3, 1, "same")] * self.num_layers

    def _macs(self, input_shape):
        h, w, c = input_shape[1], input_shape[2], input_shape[3]
        k, total = self.growth_rate, 0
        for i in range(self.num_layers):
            cin = c + i * k
            if self.bottleneck_width is not None:
                mid = self.bottleneck_width * k
                total += h * w * cin * mid + h * w * 9 * mid * k
            else:
                total += h * w * 9 * cin * k
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            num_layers=self.num_layers,
            growth_rate=self.growth_rate,
            bottleneck_width=self.bottleneck_width,
            dropout_rate=self.dropout_rate,
            bn_epsilon=self.bn_epsilon,
        )
        return config
