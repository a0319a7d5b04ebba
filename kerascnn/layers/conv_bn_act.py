"""ConvBNAct: Conv2D (optionally grouped / dilated) -> BatchNormalization -> activation."""

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
class ConvBNAct(CNNLayer):
    """Convolution, batch normalization, activation: the unit of nearly every modern CNN.

    Batch normalization is from Ioffe & Szegedy, "Batch Normalization: Accelerating Deep
    Network Training by Reducing Internal Covariate Shift" (2015). ``groups > 1`` is grouped
    convolution (Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", 2012, two groups; Xie et al., "Aggregated Residual
    Transformations for Deep Neural Networks", 2017): input and output channels are split
    into ``groups`` independent convolutions, dividing parameters and MACs by ``groups``.
    ``dilation_rate`` spreads the kernel (effective size ``k + (k - 1)(d - 1)``).

    Args:
        filters: output channels (divisible by ``groups``).
        kernel_size: int or (height, width).
        strides: int or pair. Keras does not combine strides > 1 with dilation > 1.
        padding: "same" or "valid".
        groups: number of channel groups (input channels must be divisible by it too).
        dilation_rate: int or pair.
        use_bias: conv bias (default False: BN's beta makes it redundant).
        use_bn: apply BatchNormalization after the conv.
        activation: a Keras activation name, or None for linear.
        bn_epsilon, bn_momentum: BatchNormalization settings.
        kernel_initializer: initializer of the conv kernel.

    Example::

        >>> import numpy as np
        >>> layer = ConvBNAct(64, 3, strides=2, groups=2)
        >>> tuple(layer(np.zeros((1, 32, 32, 16), "float32")).shape)
        (1, 16, 16, 64)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        padding="same",
        groups=1,
        dilation_rate=1,
        use_bias=False,
        use_bn=True,
        activation="relu",
        bn_epsilon=1e-3,
        bn_momentum=0.99,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.kernel_size = check_pair(name, "kernel_size", kernel_size)
        self.strides = check_pair(name, "strides", strides)
        self.padding = check_choice(name, "padding", padding, PADDINGS)
        self.groups = check_positive_int(name, "groups", groups)
        self.dilation_rate = check_pair(name, "dilation_rate", dilation_rate)
        self.use_bias = bool(use_bias)
        self.use_bn = bool(use_bn)
        self.activation = check_activation(name, "activation", activation)
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        self.bn_momentum = check_float(name, "bn_momentum", bn_momentum, low=0.0, high=1.0)
        self.kernel_initializer = kernel_initializer
        if self.filters % self.groups:
            raise ValueError(
                f"{name}: `filters` must be divisible by `groups`. "
                f"Received: filters={filters!r}, groups={groups!r}"
            )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{name}: strides > 1 cannot be combined with dilation_rate > 1 (Keras Conv2D). "
                f"Received: strides={strides!r}, dilation_rate={dilation_rate!r}"
            )
        self.conv = keras.layers.Conv2D(
            self.filters, self.kernel_size, strides=self.strides, padding=self.padding,
            groups=self.groups, dilation_rate=self.dilation_rate, use_bias=self.use_bias,
            kernel_initializer=kernel_initializer, data_format="channels_last",
            dtype=self.dtype_policy, name="conv",
        )
        self.bn = (
            keras.layers.BatchNormalization(
                epsilon=self.bn_epsilon, momentum=self.bn_momentum,
                dtype=self.dtype_policy, name="bn",
            )
            if self.use_bn
            else None
        )
        self.act = (
            keras.layers.Activation(self.activation, dtype=self.dtype_policy, name="act")
            if self.activation
            else None
        )

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        if shape[-1] % self.groups:
            raise ValueError(
                f"{type(self).__name__}: input channels must be divisible by `groups`. "
                f"Received: input channels={shape[-1]}, groups={self.groups}"
            )
        self.conv.build(shape)
        out = self.conv.compute_output_shape(shape)
        if self.bn is not None:
            self.bn.build(out)

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        if self.bn is not None:
            x = self.bn(x, training=training)
        if self.act is not None:
            x = self.act(x)
        return x

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(tuple(input_shape))

    def _rf_stages(self):
        k = effective_kernel(self.kernel_size[0], self.dilation_rate[0])
        return [(k, self.strides[0], self.padding)]

    def _macs(self, input_shape):
        return conv_macs(self.conv, input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            groups=self.groups,
            dilation_rate=self.dilation_rate,
            use_bias=self.use_bias,
            use_bn=self.use_bn,
            activation=self.activation,
            bn_epsilon=self.bn_epsilon,
            bn_momentum=self.bn_momentum,
            kernel_initializer=keras.initializers.serialize(
                keras.initializers.get(self.kernel_initializer)
            )
            if not isinstance(self.kernel_initializer, str)
            else self.kernel_initializer,
        )
        return config
