"""SqueezeExcite: channel attention by a global-pool bottleneck and a (0, 1) gate."""

from __future__ import annotations

import keras

from kerascnn.blocks import se_block, se_channels
from kerascnn.blocks.attention import SE_RATIO
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class SqueezeExcite(BlockLayer):
    """Squeeze-and-Excitation: rescale each channel by a gate computed from the whole map.

    The layer form of :func:`kerascnn.blocks.se_block`, the gate of SE-ResNet and EfficientNet
    in the zoo. From Hu, Shen & Sun, "Squeeze-and-Excitation Networks" (CVPR 2018; TPAMI 2020).
    squeeze: global average pool to 1 x 1 x C; excite: 1 x 1 conv to R channels with
    ``activation``, 1 x 1 conv back to C with ``gate``; scale: ``output = input * gate``. The two
    1 x 1 convs (with bias) hold exactly the paper's two FC layers: ``2 C R + R + C`` parameters.

    R is ``reduced_channels`` if given, else ``se_channels(C, ratio, divisor)``: the paper's
    reduction r = 16 is ``ratio=1/16, divisor=1`` (the default); MobileNetV3 uses
    ``ratio=0.25, divisor=8, gate="hard_sigmoid"``.

    ``receptive_field()`` is the whole input: the gate of every output pixel depends on the
    mean over the whole map.

    Example::

        >>> import numpy as np
        >>> se = SqueezeExcite(ratio=0.25)
        >>> tuple(se(np.ones((2, 8, 8, 32), "float32")).shape)
        (2, 8, 8, 32)
    """

    block = staticmethod(se_block)

    def reduced_filters(self, channels: int) -> int:
        """R for an input with ``channels`` channels."""
        if self.reduced_channels is not None:
            return self.reduced_channels
        return se_channels(channels, SE_RATIO if self.ratio is None else self.ratio, self.divisor)

    def gate_values(self, inputs):
        """The per-sample, per-channel gate, shape (batch, 1, 1, C), values in (0, 1)."""
        if not self.built:
            self.build(tuple(inputs.shape))
        gate = self.graph.get_layer(f"{self.name}_expand").output
        return keras.Model(self.graph.input, gate)(inputs, training=False)
