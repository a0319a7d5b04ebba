"""DepthwiseSeparableConv2D: depthwise k x k (+ BN/activation) then pointwise 1 x 1 (+ BN/activation)."""

from __future__ import annotations

import keras

from kerascnn.layers._base import (
    PADDINGS,
    CNNLayer,
    check_activation,
    check_choice,
    check_float,
    check_pair,
    check_positive_int,
    conv_macs,
    effective_kernel,
)


@keras.saving.register_keras_serializable(package="kerascnn")
class DepthwiseSeparableConv2D(CNNLayer):
    """Depthwise separable convolution: a per-channel k x k filter, then a 1 x 1 channel mixer.

    From Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
    Applications" (2017): depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU (the
    defaults). Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions" (2017)
    uses no normalization or non-linearity between the two convs: pass
    ``depthwise_bn=False, depthwise_activation=None``. The cost is
    ``H W C (k^2 + C_out)`` MACs instead of ``H W C k^2 C_out`` for a full convolution.

    Args:
        filters: output channels of the pointwise conv.
        kernel_size: depthwise kernel, int or pair.
        strides: depthwise stride, int or pair.
        padding: "same" or "valid" (depthwise conv).
        depth_multiplier: depthwise output channels per input channel.
        dilation_rate: depthwise dilation, int or pair (not with strides > 1).
        use_bias: biases on both convs (default False: BN follows).
        depthwise_bn: BatchNormalization after the depthwise conv.
        depthwise_activation: activation after the depthwise conv (None: linear).
        use_bn: BatchNormalization after the pointwise conv.
        activation: activation after the pointwise conv (None: linear).
        bn_epsilon, bn_momentum: BatchNormalization settings.

    Example::

        >>> import numpy as np
        >>> layer = DepthwiseSeparableConv2D(64, strides=2)
        >>> tuple(layer(np.zeros((1, 32, 32, 32), "float32")).shape)
        (1, 16, 16, 64)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        padding="same",
        depth_multiplier=1,
        dilation_rate=1,
        use_bias=False,
        depthwise_bn=True,
        depthwise_activation="relu",
        use_bn=True,
        activation="relu",
        bn_epsilon=1e-3,
        bn_momentum=0.99,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.kernel_size = check_pair(name, "kernel_size", kernel_size)
        self.strides = check_pair(name, "strides", strides)
        self.padding = check_choice(name, "padding", padding, PADDINGS)
        self.depth_multiplier = check_positive_int(name, "depth_multiplier", depth_multiplier)
        self.dilation_rate = check_pair(name, "dilation_rate", dilation_rate)
        self.use_bias = bool(use_bias)
        self.depthwise_bn = bool(depthwise_bn)
        self.depthwise_activation = check_activation(name, "depthwise_activation", depthwise_activation)
        self.use_bn = bool(use_bn)
        self.activation = check_activation(name, "activation", activation)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        self.bn_momentum = check_float(name, "bn_momentum", bn_momentum, low=0.0, high=1.0)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{name}: strides > 1 cannot be combined with dilation_rate > 1 (Keras "
                f"DepthwiseConv2D). Received: strides={strides!r}, dilation_rate={dilation_rate!r}"
            )
        dt = self.dtype_policy
        self.depthwise = keras.layers.DepthwiseConv2D(
            self.kernel_size, strides=self.strides, padding=self.padding,
            depth_multiplier=self.depth_multiplier, dilation_rate=self.dilation_rate,
            use_bias=self.use_bias, data_format="channels_last", dtype=dt, name="depthwise",
        )
        self.depthwise_norm = (
            keras.layers.BatchNormalization(epsilon=self.bn_epsilon, momentum=self.bn_momentum,
                                            dtype=dt, name="depthwise_bn")
            if self.depthwise_bn else None
        )
        self.depthwise_act = (
            keras.layers.Activation(self.depthwise_activation, dtype=dt, name="depthwise_act")
            if self.depthwise_activation else None
        )
        self.pointwise = keras.layers.Conv2D(
            self.filters, 1, use_bias=self.use_bias, data_format="channels_last", dtype=dt,
            name="pointwise",
        )
        self.pointwise_norm = (
            keras.layers.BatchNormalization(epsilon=self.bn_epsilon, momentum=self.bn_momentum,
                                            dtype=dt, name="pointwise_bn")
            if self.use_bn else None
        )
        self.act = keras.layers.Activation(self.activation, dtype=dt, name="act") if self.activation else None

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        self.depthwise.build(shape)
        mid = self.depthwise.compute_output_shape(shape)
        if self.depthwise_norm is not None:
            self.depthwise_norm.build(mid)
        self.pointwise.build(mid)
        if self.pointwise_norm is not None:
            self.pointwise_norm.build(self.pointwise.compute_output_shape(mid))

    def call(self, inputs, training=None):
        x = self.depthwise(inputs)
        if self.depthwise_norm is not None:
            x = self.depthwise_norm(x, training=training)
        if self.depthwise_act is not None:
            x = self.depthwise_act(x)
        x = self.pointwise(x)
        if self.pointwise_norm is not None:
            x = self.pointwise_norm(x, training=training)
        if self.act is not None:
            x = self.act(x)
        return x

    def compute_output_shape(self, input_shape):
        mid = self.depthwise.compute_output_shape(tuple(input_shape))
        return self.pointwise.compute_output_shape(mid)

    def _rf_stages(self):
        k = effective_kernel(self.kernel_size[0], self.dilation_rate[0])
        return [(k, self.strides[0], self.padding)]

    def _macs(self, input_shape):
        mid = self.depthwise.compute_output_shape(input_shape)
        return conv_macs(self.depthwise, input_shape) + conv_macs(self.pointwise, mid)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            depth_multiplier=self.depth_multiplier,
            dilation_rate=self.dilation_rate,
            use_bias=self.use_bias,
            depthwise_bn=self.depthwise_bn,
            depthwise_activation=self.depthwise_activation,
            use_bn=self.use_bn,
            activation=self.activation,
            bn_epsilon=self.bn_epsilon,
            bn_momentum=self.bn_momentum,
        )
        return config
