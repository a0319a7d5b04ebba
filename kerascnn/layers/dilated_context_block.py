"""DilatedContextBlock: stacked 3 x 3 dilated convolutions with exponentially growing rates."""

from __future__ import annotations

import numbers

import keras

from kerascnn.layers._base import (
    CNNLayer,
    check_activation,
    check_float,
    check_positive_int,
    conv_macs,
    effective_kernel,
)


@keras.saving.register_keras_serializable(package="kerascnn")
class DilatedContextBlock(CNNLayer):
    """A stack of "same"-padded dilated convs: the context module of Yu & Koltun.

    From Yu & Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions" (ICLR 2016).
    Stacking k x k convs with rates d_1, d_2, ... gives a receptive field of
    ``1 + sum_i (k - 1) d_i``: with k = 3 and rates (1, 2, 4) the fields after each conv are
    **3, 7 and 15** pixels (``cumulative_receptive_fields()``), so the field grows
    exponentially with depth while the resolution and the cost per conv stay constant.

    Args:
        filters: channels of every conv.
        rates: dilation rate of each conv, in order (default (1, 2, 4)).
        kernel_size: k (an int, default 3).
        activation: activation after each conv (None: linear).
        use_bn: BatchNormalization after each conv (before the activation).
        use_bias: conv biases (default: True without BN, False with BN).
        bn_epsilon: BatchNormalization epsilon.

    Example::

        >>> import numpy as np
        >>> block = DilatedContextBlock(16, rates=(1, 2, 4))
        >>> block.cumulative_receptive_fields()
        (3, 7, 15)
        >>> tuple(block(np.zeros((1, 32, 32, 3), "float32")).shape)
        (1, 32, 32, 16)
    """

    def __init__(
        self,
        filters,
        rates=(1, 2, 4),
        kernel_size=3,
        activation="relu",
        use_bn=False,
        use_bias=None,
        bn_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.filters = check_positive_int(name, "filters", filters)
        if (
            not isinstance(rates, (tuple, list))
            or not rates
            or any(isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1 for r in rates)
        ):
            raise ValueError(
                f"{name}: `rates` must be a non-empty sequence of integers >= 1, one per conv. "
                f"Received: rates={rates!r}"
            )
        self.rates = tuple(int(r) for r in rates)
        self.kernel_size = check_positive_int(name, "kernel_size", kernel_size)
        self.activation = check_activation(name, "activation", activation)
        self.use_bn = bool(use_bn)
        self.use_bias = (not self.use_bn) if use_bias is None else bool(use_bias)
        self._use_bias_arg = use_bias
        self.bn_epsilon = check_float(name, "bn_epsilon", bn_epsilon, low=0.0, low_inclusive=False)
        dt = self.dtype_policy
        self.convs = [
            keras.layers.Conv2D(self.filters, self.kernel_size, padding="same", dilation_rate=r,
                                use_bias=self.use_bias, data_format="channels_last", dtype=dt,
                                name=f"conv{i}")
            for i, r in enumerate(self.rates)
        ]
        self.norms = [
            keras.layers.BatchNormalization(epsilon=self.bn_epsilon, dtype=dt, name=f"bn{i}")
            for i in range(len(self.rates))
        ] if self.use_bn else []
        self.acts = [
            keras.layers.Activation(self.activation, dtype=dt, name=f"act{i}")
            for i in range(len(self.rates))
        ] if self.activation else []

    def cumulative_receptive_fields(self) -> tuple[int, ...]:
        """Receptive field (pixels along one axis) after each conv: ``1 + sum (k - 1) d_i``."""
        fields, rf = [], 1
        for r in self.rates:
            rf += effective_kernel(self.kernel_size, r) - 1
            fields.append(rf)
        return tuple(fields)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        for i, conv in enumerate(self.convs):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if self.use_bn:
                self.norms[i].build(shape)

    def call(self, inputs, training=None):
        x = inputs
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if self.use_bn:
                x = self.norms[i](x, training=training)
            if self.acts:
                x = self.acts[i](x)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return shape

    def _rf_stages(self):
        return [(effective_kernel(self.kernel_size, r), 1, "same") for r in self.rates]

    def _macs(self, input_shape):
        total, shape = 0, tuple(input_shape)
        for conv in self.convs:
            total += conv_macs(conv, shape)
            shape = conv.compute_output_shape(shape)
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            rates=self.rates,
            kernel_size=self.kernel_size,
            activation=self.activation,
            use_bn=self.use_bn,
            use_bias=self._use_bias_arg,
            bn_epsilon=self.bn_epsilon,
        )
        return config
