"""InvertedResidual: MobileNetV2's expand -> depthwise -> (SE) -> linear project (+ residual)."""

from __future__ import annotations

import keras

from kerascnn._utils import make_divisible
from kerascnn.layers._base import (
    CNNLayer,
    check_activation,
    check_float,
    check_positive_int,
    check_ratio,
    conv_macs,
)
from kerascnn.layers.squeeze_excite import GATES, SqueezeExcite


@keras.saving.register_keras_serializable(package="kerascnn")
class InvertedResidual(CNNLayer):
    """The inverted residual with linear bottleneck of MobileNetV2.

    From Sandler, Howard, Zhu, Zhmoginov & Chen, "MobileNetV2: Inverted Residuals and Linear
    Bottlenecks" (CVPR 2018). Structure (keras.applications' MobileNetV2 layout):

    1. expand: 1x1 conv to ``C_in * expansion`` channels, BN, ``activation`` (ReLU6); skipped
       when ``expansion == 1``, as in the first block of the paper's network;
    2. depthwise k x k conv with ``strides`` ("same" padding), BN, ``activation``;
    3. optional squeeze-and-excitation on the expanded map (Howard et al., "Searching for
       MobileNetV3", 2019): R = ``make_divisible(expanded * se_ratio, 8)``;
    4. project: 1x1 conv to ``filters``, BN, **no activation** (the linear bottleneck);
    5. residual ``x + block(x)`` when ``strides == 1`` and ``C_in == filters`` (and
       ``use_residual``); ``has_residual`` tells, once built.

    Convs have no bias; BN uses epsilon 1e-3 and momentum 0.999 as keras.applications.

    Args:
        filters: output channels.
        expansion: expansion factor t (paper: 6).
        kernel_size: depthwise kernel k (int).
        strides: depthwise stride (int).
        se_ratio: None (no SE) or a number in (0, 1].
        se_gate: "sigmoid" or "hard_sigmoid".
        activation: activation after expand and depthwise (default "relu6").
        use_residual: allow the residual connection where shapes permit.
        bn_epsilon, bn_momentum: BatchNormalization settings.

    Example::

        >>> import numpy as np
        >>> block = InvertedResidual(24, expansion=6, strides=2)
        >>> tuple(block(np.zeros((1, 32, 32, 16), "float32")).shape)
        (1, 16, 16, 24)
    """

    def __init__(
        self,
        filters,
        expansion=6,
        kernel_size=3,
        strides=1,
        se_ratio=None,
        se_gate="sigmoid",
        activation="relu6",
        use_residual=True,
        bn_epsilon=1e-3,
        bn_momentum=0.999,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.expansion = check_positive_int(name, "expansion", expansion)
        self.kernel_size = check_positive_int(name, "kernel_size", kernel_size)
        self.strides = check_positive_int(name, "strides", strides)
        self.se_ratio = check_ratio(name, "se_ratio", se_ratio)
        if se_gate not in GATES:
            raise ValueError(
                f"{name}: `se_gate` must be one of {', '.join(repr(g) for g in GATES)}. "
                f"Received: se_gate={se_gate!r}"
            )
        self.se_gate = se_gate
        self.activation = check_activation(name, "activation", activation)
        self.use_residual = bool(use_residual)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        self.bn_momentum = check_float(name, "bn_momentum", bn_momentum, low=0.0, high=1.0)
        dt = self.dtype_policy
        self.has_residual = None
        self.expand = None
        self.expand_bn = None

        self.se = None
        bn, act = self._make_bn, self._make_act
        self.expand_act = act("expand_act")
        self.depthwise = keras.layers.DepthwiseConv2D(
            self.kernel_size, strides=self.strides, padding="same", use_bias=False,
            data_format="channels_last", dtype=dt, name="depthwise",
        )
        self.depthwise_bn = bn("depthwise_bn")
        self.depthwise_act = act("depthwise_act")
        self.project = keras.layers.Conv2D(self.filters, 1, use_bias=False,
                                           data_format="channels_last", dtype=dt, name="project")
        self.project_bn = bn("project_bn")

    def _make_bn(self, name):
        return keras.layers.BatchNormalization(
            epsilon=self.bn_epsilon, momentum=self.bn_momentum, dtype=self.dtype_policy, name=name)

    def _make_act(self, name):
        if not self.activation:
            return None
        return keras.layers.Activation(self.activation, dtype=self.dtype_policy, name=name)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        cin = int(shape[-1])
        expanded = cin * self.expansion
        dt = self.dtype_policy
        if self.expansion != 1:
            self.expand = keras.layers.Conv2D(expanded, 1, use_bias=False,
                                              data_format="channels_last", dtype=dt, name="expand")
            self.expand_bn = self._make_bn("expand_bn")
            self.expand.build(shape)
            self.expand_bn.build(shape[:-1] + (expanded,))
        mid_in = shape[:-1] + (expanded,)
        self.depthwise.build(mid_in)
        mid = self.depthwise.compute_output_shape(mid_in)
        self.depthwise_bn.build(mid)
        if self.se_ratio is not None:
            self.se = SqueezeExcite(
                reduced_channels=make_divisible(expanded * self.se_ratio, 8),
                gate=self.se_gate, dtype=dt, name="se",
            )
            self.se.build(mid)
        self.project.build(mid)
        self.project_bn.build(self.project.compute_output_shape(mid))
        self.has_residual = self.use_residual and self.strides == 1 and cin == self.filters

    def call(self, inputs, training=None):
        x = inputs
        if self.expand is not None:
            x = self.expand(x)
            x = self.expand_bn(x, training=training)
            if self.expand_act is not None:
                x = self.expand_act(x)
        x = self.depthwise(x)
        x = self.depthwise_bn(x, training=training)
        if self.depthwise_act is not None:
            x = self.depthwise_act(x)
        if self.se is not None:
            x = self.se(x)
        x = self.project(x)
        x = self.project_bn(x, training=training)
        if self.has_residual:
            x = x + inputs
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        mid = self.depthwise.compute_output_shape(shape)
        return mid[:-1] + (self.filters,)

    def _rf_stages(self):
        return [(self.kernel_size, self.strides, "same")]

    def _macs(self, input_shape):
        cin = int(input_shape[-1])
        expanded = cin * self.expansion
        total = 0
        if self.expansion != 1:
            total += input_shape[1] * input_shape[2] * cin * expanded
        mid_in = tuple(input_shape[:-1]) + (expanded,)
        total += conv_macs(self.depthwise, mid_in)
        mid = self.depthwise.compute_output_shape(mid_in)
        if self.se_ratio is not None:
            total += 2 * expanded * make_divisible(expanded * self.se_ratio, 8)
        total += conv_macs(self.project, mid)
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            expansion=self.expansion,
            kernel_size=self.kernel_size,
            strides=self.strides,
            se_ratio=self.se_ratio,
            se_gate=self.se_gate,
            activation=self.activation,
            use_residual=self.use_residual,
            bn_epsilon=self.bn_epsilon,
            bn_momentum=self.bn_momentum,
        )
        return config
