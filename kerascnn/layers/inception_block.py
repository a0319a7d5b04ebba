"""InceptionBlock: four parallel branches (1x1, 3x3, 5x5, pool) concatenated (GoogLeNet)."""

from __future__ import annotations

import keras

from kerascnn.layers._base import CNNLayer, check_activation, check_float, check_positive_int
from kerascnn.layers.conv_bn_act import ConvBNAct

_FILTER_ARGS = ("filters_1x1", "filters_3x3_reduce", "filters_3x3", "filters_5x5_reduce",
                "filters_5x5", "filters_pool_proj")


@keras.saving.register_keras_serializable(package="kerascnn")
class InceptionBlock(CNNLayer):
    """The Inception module with dimension reductions (GoogLeNet / Inception v1).

    From Szegedy et al., "Going Deeper with Convolutions" (CVPR 2015), figure 2(b). Four
    branches on the same input, concatenated on channels (in this order):

    1. 1x1 conv (``filters_1x1``);
    2. 1x1 conv (``filters_3x3_reduce``) -> 3x3 conv (``filters_3x3``);
    3. 1x1 conv (``filters_5x5_reduce``) -> 5x5 conv (``filters_5x5``);
    4. 3x3 max pool (stride 1, "same") -> 1x1 conv (``filters_pool_proj``).

    Every conv is followed by ``activation`` (ReLU); the paper's convs have biases and no
    normalization (``use_bn=False``, the default); ``use_bn=True`` adds BN after each conv and
    drops the biases (the "Inception-BN" habit). Output channels: ``filters_1x1 + filters_3x3
    + filters_5x5 + filters_pool_proj``; the spatial size is kept. Inception 3a is
    ``InceptionBlock(64, 96, 128, 16, 32, 32)`` (256 channels).

    Example::

        >>> import numpy as np
        >>> block = InceptionBlock(64, 96, 128, 16, 32, 32)
        >>> tuple(block(np.zeros((1, 28, 28, 192), "float32")).shape)
        (1, 28, 28, 256)
    """

    def __init__(
        self,
        filters_1x1,
        filters_3x3_reduce,
        filters_3x3,
        filters_5x5_reduce,
        filters_5x5,
        filters_pool_proj,
        use_bn=False,
        activation="relu",
        bn_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        values = (filters_1x1, filters_3x3_reduce, filters_3x3, filters_5x5_reduce, filters_5x5,
                  filters_pool_proj)
        for arg, value in zip(_FILTER_ARGS, values):
            setattr(self, arg, check_positive_int(name, arg, value))
        self.use_bn = bool(use_bn)
        self.activation = check_activation(name, "activation", activation)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)

        def unit(filters, k, n):
            return ConvBNAct(filters, k, use_bias=not self.use_bn, use_bn=self.use_bn,
                             activation=self.activation, bn_epsilon=self.bn_epsilon,
                             dtype=self.dtype_policy, name=n)

        self.branch1 = unit(self.filters_1x1, 1, "branch1_1x1")
        self.branch2_reduce = unit(self.filters_3x3_reduce, 1, "branch2_reduce")
        self.branch2 = unit(self.filters_3x3, 3, "branch2_3x3")
        self.branch3_reduce = unit(self.filters_5x5_reduce, 1, "branch3_reduce")
        self.branch3 = unit(self.filters_5x5, 5, "branch3_5x5")
        self.pool = keras.layers.MaxPooling2D(3, strides=1, padding="same",
                                              data_format="channels_last",
                                              dtype=self.dtype_policy, name="branch4_pool")
        self.branch4 = unit(self.filters_pool_proj, 1, "branch4_proj")

    @property
    def out_channels(self) -> int:
        return self.filters_1x1 + self.filters_3x3 + self.filters_5x5 + self.filters_pool_proj

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        self.branch1.build(shape)
        self.branch2_reduce.build(shape)
        self.branch2.build(shape[:-1] + (self.filters_3x3_reduce,))
        self.branch3_reduce.build(shape)
        self.branch3.build(shape[:-1] + (self.filters_5x5_reduce,))
        self.branch4.build(shape)

    def call(self, inputs, training=None):
        b1 = self.branch1(inputs, training=training)
        b2 = self.branch2(self.branch2_reduce(inputs, training=training), training=training)
        b3 = self.branch3(self.branch3_reduce(inputs, training=training), training=training)
        b4 = self.branch4(self.pool(inputs), training=training)
        return keras.ops.concatenate([b1, b2, b3, b4], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.out_channels,)

    def _rf_stages(self):
        # The widest branch (1x1 then 5x5) bounds the block; every branch is centred.
        return [(1, 1, "same"), (5, 1, "same")]

    def _macs(self, input_shape):
        shape = tuple(input_shape)
        return (
            self.branch1._macs(shape)
            + self.branch2_reduce._macs(shape)
            + self.branch2._macs(shape[:-1] + (self.filters_3x3_reduce,))
            + self.branch3_reduce._macs(shape)
            + self.branch3._macs(shape[:-1] + (self.filters_5x5_reduce,))
            + self.branch4._macs(shape)
        )

    def get_config(self):
        config = super().get_config()
        config.update({arg: getattr(self, arg) for arg in _FILTER_ARGS})
        config.update(use_bn=self.use_bn, activation=self.activation, bn_epsilon=self.bn_epsilon)
        return config
