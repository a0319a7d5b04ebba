"""TransitionBlock: BN, ReLU, 1x1 compression conv, 2x2 average pool (DenseNet)."""

from __future__ import annotations

import keras

from kerascnn.layers._base import CNNLayer, check_float, check_ratio


@keras.saving.register_keras_serializable(package="kerascnn")
class TransitionBlock(CNNLayer):
    """The transition layer between DenseNet's dense blocks.

    From Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks"
    (CVPR 2017): BN -> ReLU -> 1x1 conv to ``int(C * compression)`` channels (no bias) ->
    2x2 average pool, stride 2. DenseNet-BC uses compression 0.5 (keras.applications'
    ``reduction``). The pool is "valid": an odd size is floored.

    Args:
        compression: theta in (0, 1].
        bn_epsilon: BatchNormalization epsilon.

    Example::

        >>> import numpy as np
        >>> block = TransitionBlock(0.5)
        >>> tuple(block(np.zeros((1, 16, 16, 256), "float32")).shape)
        (1, 8, 8, 128)
    """

    def __init__(self, compression=0.5, bn_epsilon=1.001e-5, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.compression = check_ratio(name, "compression", compression, allow_none=False)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        dt = self.dtype_policy
        self.bn = keras.layers.BatchNormalization(epsilon=self.bn_epsilon, dtype=dt, name="bn")
        self.conv = None
        self.pool = keras.layers.AveragePooling2D(2, strides=2, data_format="channels_last",
                                                  dtype=dt, name="pool")

    def out_channels(self, channels: int) -> int:
        """``max(1, int(channels * compression))``."""
        return max(1, int(channels * self.compression))

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        self.bn.build(shape)
        self.conv = keras.layers.Conv2D(self.out_channels(shape[-1]), 1, use_bias=False,
                                        data_format="channels_last", dtype=self.dtype_policy,
                                        name="conv")
        self.conv.build(shape)

    def call(self, inputs, training=None):
        x = keras.ops.relu(self.bn(inputs, training=training))
        return self.pool(self.conv(x))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        return self.pool.compute_output_shape(shape[:-1] + (self.out_channels(shape[-1]),))

    def _rf_stages(self):
        return [(1, 1, "valid"), (2, 2, "valid")]

    def _macs(self, input_shape):
        c = input_shape[-1]
        return input_shape[1] * input_shape[2] * c * self.out_channels(c)

    def get_config(self):
        config = super().get_config()
        config.update(compression=self.compression, bn_epsilon=self.bn_epsilon)
        return config
