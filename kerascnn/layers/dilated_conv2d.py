"""DilatedConv2D: a convolution whose kernel taps are ``dilation_rate`` pixels apart."""

from __future__ import annotations

import keras

from kerascnn.layers._base import (
    PADDINGS,
    CNNLayer,
    check_activation,
    check_choice,
    check_pair,
    check_positive_int,
    conv_macs,
    effective_kernel,
)


@keras.saving.register_keras_serializable(package="kerascnn")
class DilatedConv2D(CNNLayer):
    """Dilated (atrous) convolution: a larger receptive field at the same cost.

    From Yu & Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions" (ICLR 2016).
    A k x k kernel with dilation d samples the input every d pixels, so it spans an
    **effective kernel of k + (k - 1)(d - 1)** pixels (3x3 with d = 2 spans 5x5, d = 4 spans
    9x9) with the parameters and MACs of a k x k conv. Stride is always 1 (Keras does not
    combine strides > 1 with dilation > 1).

    Args:
        filters: output channels.
        kernel_size: int or pair.
        dilation_rate: int or pair (default 2).
        padding: "same" (keeps the size) or "valid" (shrinks by ``effective_kernel_size - 1``).
        activation: activation (None: linear).
        use_bias: conv bias.
        kernel_initializer: initializer of the kernel.

    Example::

        >>> import numpy as np
        >>> conv = DilatedConv2D(8, 3, dilation_rate=2, padding="valid")
        >>> conv.effective_kernel_size
        (5, 5)
        >>> tuple(conv(np.zeros((1, 9, 9, 3), "float32")).shape)
        (1, 5, 5, 8)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        dilation_rate=2,
        padding="same",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        self.kernel_size = check_pair(name, "kernel_size", kernel_size)
        self.dilation_rate = check_pair(name, "dilation_rate", dilation_rate)
        self.padding = check_choice(name, "padding", padding, PADDINGS)
        self.activation = check_activation(name, "activation", activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.conv = keras.layers.Conv2D(
            self.filters, self.kernel_size, padding=self.padding, dilation_rate=self.dilation_rate,
            activation=self.activation, use_bias=self.use_bias,
            kernel_initializer=kernel_initializer, data_format="channels_last",
            dtype=self.dtype_policy, name="conv",
        )

    @property
    def effective_kernel_size(self) -> tuple[int, int]:
        """(height, width) spanned by the dilated kernel: ``k + (k - 1)(d - 1)`` per axis."""
        return (
            effective_kernel(self.kernel_size[0], self.dilation_rate[0]),
            effective_kernel(self.kernel_size[1], self.dilation_rate[1]),
        )

    def build(self, input_shape):
        self.conv.build(self._remember_input_shape(input_shape))

    def call(self, inputs):
        return self.conv(inputs)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(tuple(input_shape))

    def _rf_stages(self):
        return [(self.effective_kernel_size[0], 1, self.padding)]

    def _macs(self, input_shape):
        return conv_macs(self.conv, input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            dilation_rate=self.dilation_rate,
            padding=self.padding,
            activation=self.activation,
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer
            if isinstance(self.kernel_initializer, str)
            else keras.initializers.serialize(keras.initializers.get(self.kernel_initializer)),
        )
        return config
