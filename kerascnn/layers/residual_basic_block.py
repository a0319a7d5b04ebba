"""ResidualBasicBlock: two 3x3 conv-BN layers plus a shortcut (ResNet-18/34)."""

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
from kerascnn.layers.squeeze_excite import SqueezeExcite


def _check_projection(layer: str, projection):
    if projection not in (None, True, False):
        raise ValueError(
            f"{layer}: `projection` must be None (a 1x1 conv + BN shortcut only when the shape "
            f"changes), True (always) or False (never; the identity must fit). "
            f"Received: projection={projection!r}"
        )
    return projection


def _needs_projection(layer: str, projection, strides: int, cin: int, cout: int) -> bool:
    needed = strides != 1 or cin != cout
    if projection is False and needed:
        raise ValueError(
            f"{layer}: projection=False needs an identity shortcut, which requires strides=1 "
            f"and input channels == output channels. "
            f"Received: strides={strides}, input channels={cin}, output channels={cout}"
        )
    return bool(projection) or needed


@keras.saving.register_keras_serializable(package="kerascnn")
class ResidualBasicBlock(CNNLayer):
    """The basic residual block of ResNet-18/34: ``act(F(x) + shortcut(x))``.

    From He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition" (CVPR 2016).
    F is 3x3 conv (stride s) -> BN -> ReLU -> 3x3 conv -> BN (convs without bias); the
    shortcut is the identity, or a 1x1 conv (stride s) + BN projection (the paper's option B)
    when the stride or the channel count changes. ``se_ratio`` inserts squeeze-and-excitation
    on F before the addition, as in SE-ResNet (Hu, Shen & Sun, "Squeeze-and-Excitation
    Networks", 2018; their reduction r = 16 is ``se_ratio=1/16``).

    Args:
        filters: output channels.
        strides: stride of the first 3x3 conv (and of the projection).
        projection: None (automatic), True (always project) or False (identity; raises if
            the shapes differ).
        se_ratio: None or a number in (0, 1].
        activation: activation (default "relu").
        bn_epsilon, bn_momentum: BatchNormalization settings (keras.applications: 1.001e-5).

    Example::

        >>> import numpy as np
        >>> block = ResidualBasicBlock(128, strides=2)
        >>> tuple(block(np.zeros((1, 32, 32, 64), "float32")).shape)
        (1, 16, 16, 128)
    """

    def __init__(
        self,
        filters,
        strides=1,
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
        self.projection = _check_projection(name, projection)
        self.se_ratio = check_ratio(name, "se_ratio", se_ratio)
        self.activation = check_activation(name, "activation", activation)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        self.bn_momentum = check_float(name, "bn_momentum", bn_momentum, low=0.0, high=1.0)
        common = self._common_kwargs()
        self.conv1 = ConvBNAct(self.filters, 3, strides=self.strides, activation=self.activation,
                               name="conv1", **common)
        self.conv2 = ConvBNAct(self.filters, 3, activation=None, name="conv2", **common)
        self.se = SqueezeExcite(ratio=self.se_ratio, dtype=self.dtype_policy, name="se") if self.se_ratio else None
        self.shortcut = None
        self.out_act = (keras.layers.Activation(self.activation, dtype=self.dtype_policy, name="out_act")
                        if self.activation else None)

    def _common_kwargs(self):
        return dict(bn_epsilon=self.bn_epsilon, bn_momentum=self.bn_momentum, dtype=self.dtype_policy)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        self.conv1.build(shape)
        mid = self.conv1.compute_output_shape(shape)
        self.conv2.build(mid)
        if self.se is not None:
            self.se.build(mid)
        if _needs_projection(type(self).__name__, self.projection, self.strides, shape[-1], self.filters):
            self.shortcut = ConvBNAct(self.filters, 1, strides=self.strides, activation=None,
                                      name="shortcut", **self._common_kwargs())
            self.shortcut.build(shape)

    def call(self, inputs, training=None):
        x = self.conv2(self.conv1(inputs, training=training), training=training)
        if self.se is not None:
            x = self.se(x)
        s = inputs if self.shortcut is None else self.shortcut(inputs, training=training)
        x = x + s
        return self.out_act(x) if self.out_act is not None else x

    def compute_output_shape(self, input_shape):
        return self.conv1.compute_output_shape(tuple(input_shape))

    def _rf_stages(self):
        return [(3, self.strides, "same"), (3, 1, "same")]

    def _macs(self, input_shape):
        mid = self.conv1.compute_output_shape(input_shape)
        total = self.conv1._macs(input_shape) + self.conv2._macs(mid)
        if self.se is not None:
            total += self.se._macs(mid)
        if _needs_projection(type(self).__name__, self.projection, self.strides, input_shape[-1], self.filters):
            total += mid[1] * mid[2] * self.filters * input_shape[-1]
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            strides=self.strides,
            projection=self.projection,
            se_ratio=self.se_ratio,
            activation=self.activation,
            bn_epsilon=self.bn_epsilon,
            bn_momentum=self.bn_momentum,
        )
        return config
