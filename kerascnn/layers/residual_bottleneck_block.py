"""ResidualBottleneckBlock: 1x1 reduce, 3x3, 1x1 expand plus a shortcut (ResNet-50/101/152)."""

from __future__ import annotations

import keras

from kerascnn.layers._base import (
    CNNLayer,
    check_activation,
    check_float,
    check_positive_int,
    check_ratio,
)
from kerascnn.layers.conv_bn_act import ConvBNAct
from kerascnn.layers.residual_basic_block import _check_projection, _needs_projection
from kerascnn.layers.squeeze_excite import SqueezeExcite


@keras.saving.register_keras_serializable(package="kerascnn")
class ResidualBottleneckBlock(CNNLayer):
    """The bottleneck residual block of ResNet-50/101/152: ``act(F(x) + shortcut(x))``.

    From He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition" (CVPR 2016).
    F is 1x1 conv to ``filters`` -> BN -> ReLU -> 3x3 conv (``groups``) -> BN -> ReLU -> 1x1
    conv to ``filters * expansion`` -> BN (no conv biases). The stride sits on the 3x3 conv
    (torchvision's "ResNet v1.5") or, with ``stride_in_1x1=True``, on the first 1x1 conv (the
    paper and keras.applications' ResNet50); both have the same parameters. The shortcut is the
    identity or a 1x1 conv (stride s) + BN projection. ``groups > 1`` gives the ResNeXt block
    (Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", 2017);
    ``se_ratio`` gives SE-ResNet (Hu, Shen & Sun, "Squeeze-and-Excitation Networks", 2018).

    Args:
        filters: bottleneck width (output channels are ``filters * expansion``).
        strides: block stride.
        expansion: output channels / bottleneck width (paper: 4).
        groups: groups of the 3x3 conv (``filters`` must be divisible by it).
        stride_in_1x1: put the stride on the first 1x1 conv instead of the 3x3.
        projection: None (automatic), True (always project) or False (identity).
        se_ratio: None or a number in (0, 1] (relative to the output channels).
        activation: activation (default "relu").
        bn_epsilon, bn_momentum: BatchNormalization settings.

    Example::

        >>> import numpy as np
        >>> block = ResidualBottleneckBlock(64)
        >>> tuple(block(np.zeros((1, 16, 16, 64), "float32")).shape)
        (1, 16, 16, 256)
    """

    def __init__(
        self,
        filters,
        strides=1,
        expansion=4,
        groups=1,
        stride_in_1x1=False,
        projection=None,
        se_ratio=None,
        activation="relu",
        bn_epsilon=1.001e-5,
        bn_momentum=0.99,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.strides = check_positive_int(name, "strides", strides)
        self.expansion = check_positive_int(name, "expansion", expansion)
        self.groups = check_positive_int(name, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                f"{name}: `filters` must be divisible by `groups`. "
                f"Received: filters={filters!r}, groups={groups!r}"
            )
        self.stride_in_1x1 = bool(stride_in_1x1)
        self.projection = _check_projection(name, projection)
        self.se_ratio = check_ratio(name, "se_ratio", se_ratio)
        self.activation = check_activation(name, "activation", activation)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        self.bn_momentum = check_float(name, "bn_momentum", bn_momentum, low=0.0, high=1.0)
        common = self._common_kwargs()
        s1, s3 = (self.strides, 1) if self.stride_in_1x1 else (1, self.strides)
        self.out_channels = self.filters * self.expansion
        self.conv1 = ConvBNAct(self.filters, 1, strides=s1, activation=self.activation,
                               name="conv1", **common)
        self.conv2 = ConvBNAct(self.filters, 3, strides=s3, groups=self.groups,
                               activation=self.activation, name="conv2", **common)
        self.conv3 = ConvBNAct(self.out_channels, 1, activation=None, name="conv3", **common)
        self.se = SqueezeExcite(ratio=self.se_ratio, dtype=self.dtype_policy, name="se") if self.se_ratio else None
        self.shortcut = None
        self.out_act = (keras.layers.Activation(self.activation, dtype=self.dtype_policy, name="out_act")
                        if self.activation else None)

    def _shapes(self, shape):
        a = self.conv1.compute_output_shape(shape)
        b = self.conv2.compute_output_shape(a)
        return a, b, self.conv3.compute_output_shape(b)

    def _common_kwargs(self):
        return dict(bn_epsilon=self.bn_epsilon, bn_momentum=self.bn_momentum, dtype=self.dtype_policy)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        a, b, c = self._shapes(shape)
        self.conv1.build(shape)
        self.conv2.build(a)
        self.conv3.build(b)
        if self.se is not None:
            self.se.build(c)
        if _needs_projection(type(self).__name__, self.projection, self.strides, shape[-1], self.out_channels):
            self.shortcut = ConvBNAct(self.out_channels, 1, strides=self.strides, activation=None,
                                      name="shortcut", **self._common_kwargs())
            self.shortcut.build(shape)

    def call(self, inputs, training=None):
        x = self.conv1(inputs, training=training)
        x = self.conv2(x, training=training)
        x = self.conv3(x, training=training)
        if self.se is not None:
            x = self.se(x)
        s = inputs if self.shortcut is None else self.shortcut(inputs, training=training)
        x = x + s
        return self.out_act(x) if self.out_act is not None else x

    def compute_output_shape(self, input_shape):
        return self._shapes(tuple(input_shape))[2]

    def _rf_stages(self):
        s1, s3 = (self.strides, 1) if self.stride_in_1x1 else (1, self.strides)
        return [(1, s1, "same"), (3, s3, "same"), (1, 1, "same")]

    def _macs(self, input_shape):
        a, b, c = self._shapes(input_shape)
        total = self.conv1._macs(input_shape) + self.conv2._macs(a) + self.conv3._macs(b)
        if self.se is not None:
            total += self.se._macs(c)
        if _needs_projection(type(self).__name__, self.projection, self.strides, input_shape[-1], self.out_channels):
            total += c[1] * c[2] * self.out_channels * input_shape[-1]
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            strides=self.strides,
            expansion=self.expansion,
            groups=self.groups,
            stride_in_1x1=self.stride_in_1x1,
            projection=self.projection,
            se_ratio=self.se_ratio,
            activation=self.activation,
            bn_epsilon=self.bn_epsilon,
            bn_momentum=self.bn_momentum,
        )
        return config
