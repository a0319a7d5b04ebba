"""SqueezeExcite: channel attention by a global-pool bottleneck and a (0, 1) gate."""

from __future__ import annotations

import keras

from kerascnn._utils import make_divisible
from kerascnn.layers._base import (
    CNNLayer,
    check_activation,
    check_positive_int,
    check_ratio,
)

GATES = ("sigmoid", "hard_sigmoid")
DEFAULT_RATIO = 1 / 16


@keras.saving.register_keras_serializable(package="kerascnn")
class SqueezeExcite(CNNLayer):
    """Squeeze-and-Excitation: rescale each channel by a gate computed from the whole map.

    From Hu, Shen & Sun, "Squeeze-and-Excitation Networks" (CVPR 2018; TPAMI 2020).
    squeeze: global average pool to 1 x 1 x C; excite: 1 x 1 conv to R channels with
    ``activation``, 1 x 1 conv back to C with ``gate``; scale: ``output = input * gate``.
    The 1 x 1 convs (with bias) on the pooled map hold exactly the paper's two FC layers
    (``2 C R + R + C`` parameters) in the layout of keras.applications' EfficientNet.

    R is ``reduced_channels`` if given, else ``make_divisible(C * ratio, divisor)``. The
    paper's reduction r = 16 is ``ratio=1/16, divisor=1`` (the default when neither is set);
    MobileNetV3 uses ``ratio=0.25, divisor=8, gate="hard_sigmoid"``.

    Args:
        ratio: R / C, a number in (0, 1]. None: 1/16 unless ``reduced_channels`` is set.
        reduced_channels: R directly (excludes ``ratio``).
        divisor: round R to a multiple of it (``kerascnn._utils.make_divisible``); 1 rounds
            to the nearest integer.
        activation: activation of the reduce conv (default "relu").
        gate: "sigmoid" (default) or "hard_sigmoid"; both map into [0, 1].

    ``receptive_field()`` is that of the local path, (1, 1, 0): the gate itself sees the
    whole map (global context), which a (kernel, stride, padding) triple cannot express.

    Example::

        >>> import numpy as np
        >>> se = SqueezeExcite(ratio=0.25)
        >>> tuple(se(np.ones((2, 8, 8, 32), "float32")).shape)
        (2, 8, 8, 32)
    """

    def __init__(
        self,
        ratio=None,
        reduced_channels=None,
        divisor=1,
        activation="relu",
        gate="sigmoid",
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        if ratio is not None and reduced_channels is not None:
            raise ValueError(
                f"{name}: give either `ratio` or `reduced_channels`, not both. "
                f"Received: ratio={ratio!r}, reduced_channels={reduced_channels!r}"
            )
        self.ratio = check_ratio(name, "ratio", ratio)
        self.reduced_channels = (
            None if reduced_channels is None
            else check_positive_int(name, "reduced_channels", reduced_channels)
        )
        self.divisor = check_positive_int(name, "divisor", divisor)
        self.activation = check_activation(name, "activation", activation)
        if gate not in GATES:
            raise ValueError(
                f"{name}: `gate` must be one of {', '.join(repr(g) for g in GATES)}. "
                f"Received: gate={gate!r}"
            )
        self.gate = gate
        self.channels = None
        self.reduce = None
        self.expand = None

    def reduced_filters(self, channels: int) -> int:
        """R for an input with ``channels`` channels."""
        if self.reduced_channels is not None:
            return self.reduced_channels
        ratio = DEFAULT_RATIO if self.ratio is None else self.ratio
        return make_divisible(channels * ratio, self.divisor, min_value=1)

    def build(self, input_shape):
        shape = self._remember_input_shape(input_shape)
        self.channels = int(shape[-1])
        reduced = self.reduced_filters(self.channels)
        dt = self.dtype_policy
        self.reduce = keras.layers.Conv2D(reduced, 1, activation=self.activation,
                                          data_format="channels_last", dtype=dt, name="reduce")
        self.expand = keras.layers.Conv2D(self.channels, 1, activation=self.gate,
                                          data_format="channels_last", dtype=dt, name="expand")
        pooled = (shape[0], 1, 1, self.channels)
        self.reduce.build(pooled)
        self.expand.build((shape[0], 1, 1, reduced))

    def gate_values(self, inputs):
        """The per-sample, per-channel gate, shape (batch, 1, 1, C), values in [0, 1]."""
        s = keras.ops.mean(inputs, axis=(1, 2), keepdims=True)
        return self.expand(self.reduce(s))

    def call(self, inputs):
        return inputs * self.gate_values(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _rf_stages(self):
        return []

    def _macs(self, input_shape):
        channels = int(input_shape[-1])
        return 2 * channels * self.reduced_filters(channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            ratio=self.ratio,
            reduced_channels=self.reduced_channels,
            divisor=self.divisor,
            activation=self.activation,
            gate=self.gate,
        )
        return config
