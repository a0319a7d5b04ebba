"""SpatiallySeparableConv2D: a k x 1 convolution followed by a 1 x k convolution."""

from __future__ import annotations

import keras

from kerascnn.layers._base import (
    PADDINGS,
    CNNLayer,
    check_activation,
    check_choice,
    check_float,
    check_positive_int,
    conv_macs,
)


@keras.saving.register_keras_serializable(package="kerascnn")
class SpatiallySeparableConv2D(CNNLayer):
    """A k x k convolution factorized into k x 1 then 1 x k (same k x k receptive field).

    From Szegedy et al., "Rethinking the Inception Architecture for Computer Vision" (2016),
    section 3.2 ("spatial factorization into asymmetric convolutions"): two thin convs cost
    ``2k`` weights per channel pair instead of ``k^2`` (for k = 7: 14 vs 49). The stride is
    split the same way: (s, 1) on the first conv, (1, s) on the second, so the output shape is
    that of a k x k conv with stride s and the same padding.

    Args:
        filters: output channels of the 1 x k conv.
        kernel_size: k (an int).
        strides: s (an int).
        padding: "same" or "valid".
        intermediate_filters: output channels of the k x 1 conv (None: ``filters``).
        use_bias: biases on both convs (default True, as a plain Conv2D).
        use_bn: BatchNormalization after each conv (Inception v3 style).
        intermediate_activation: activation after the k x 1 conv (None: linear).
        activation: activation after the 1 x k conv (None: linear).
        bn_epsilon: BatchNormalization epsilon.

    Example::

        >>> import numpy as np
        >>> layer = SpatiallySeparableConv2D(32, 7, use_bn=True, activation="relu",
        ...                                  intermediate_activation="relu")
        >>> tuple(layer(np.zeros((1, 17, 17, 16), "float32")).shape)
        (1, 17, 17, 32)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        padding="same",
        intermediate_filters=None,
        use_bias=True,
        use_bn=False,
        intermediate_activation=None,
        activation=None,
        bn_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.kernel_size = check_positive_int(name, "kernel_size", kernel_size)
        self.strides = check_positive_int(name, "strides", strides)
        self.padding = check_choice(name, "padding", padding, PADDINGS)
        self.intermediate_filters = (
            None if intermediate_filters is None
            else check_positive_int(name, "intermediate_filters", intermediate_filters)
        )
        self.use_bias = bool(use_bias)
        self.use_bn = bool(use_bn)
        self.intermediate_activation = check_activation(name, "intermediate_activation",
                                                        intermediate_activation)
        self.activation = check_activation(name, "activation", activation)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        dt = self.dtype_policy
        k, s = self.kernel_size, self.strides
        mid = self.intermediate_filters or self.filters
        self.conv_k1 = keras.layers.Conv2D(
            mid, (k, 1), strides=(s, 1), padding=self.padding, use_bias=self.use_bias,
            data_format="channels_last", dtype=dt, name="conv_k1",
        )
        self.conv_1k = keras.layers.Conv2D(
            self.filters, (1, k), strides=(1, s), padding=self.padding, use_bias=self.use_bias,
            data_format="channels_last", dtype=dt, name="conv_1k",
        )
        self.bn_k1 = (keras.layers.BatchNormalization(epsilon=self.bn_epsilon, dtype=dt, name="bn_k1")
                      if self.use_bn else None)
        self.bn_1k = (keras.layers.BatchNormalization(epsilon=self.bn_epsilon, dtype=dt, name="bn_1k")
                      if self.use_bn else None)
        self.act_k1 = (keras.layers.Activation(self.intermediate_activation, dtype=dt, name="act_k1")
                       if self.intermediate_activation else None)
        self.act_1k = (keras.layers.Activation(self.activation, dtype=dt, name="act_1k")
                       if self.activation else None)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        self.conv_k1.build(shape)
        mid = self.conv_k1.compute_output_shape(shape)
        self.conv_1k.build(mid)
        if self.use_bn:
            self.bn_k1.build(mid)
            self.bn_1k.build(self.conv_1k.compute_output_shape(mid))

    def call(self, inputs, training=None):
        x = self.conv_k1(inputs)
        if self.bn_k1 is not None:
            x = self.bn_k1(x, training=training)
        if self.act_k1 is not None:
            x = self.act_k1(x)
        x = self.conv_1k(x)
        if self.bn_1k is not None:
            x = self.bn_1k(x, training=training)
        if self.act_1k is not None:
            x = self.act_1k(x)
        return x

    def compute_output_shape(self, input_shape):
        mid = self.conv_k1.compute_output_shape(tuple(input_shape))
        return self.conv_1k.compute_output_shape(mid)

    def _rf_stages(self):
        # Along the height axis the k x 1 conv does all the work; the 1 x k conv is 1 x 1 there.
        # (The width axis is the mirror image, so both axes give the same triple.)
        return [(self.kernel_size, self.strides, self.padding)]

    def _macs(self, input_shape):
        mid = self.conv_k1.compute_output_shape(input_shape)
        return conv_macs(self.conv_k1, input_shape) + conv_macs(self.conv_1k, mid)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            intermediate_filters=self.intermediate_filters,
            use_bias=self.use_bias,
            use_bn=self.use_bn,
            intermediate_activation=self.intermediate_activation,
            activation=self.activation,
            bn_epsilon=self.bn_epsilon,
        )
        return config
