"""InvertedResidual: MobileNetV2's expand -> depthwise -> (SE) -> linear project (+ residual)."""

from __future__ import annotations

import keras

from kerascnn.blocks import inverted_residual
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class InvertedResidual(BlockLayer):
    """The inverted residual with linear bottleneck of MobileNetV2, and EfficientNet's MBConv.

    The layer form of :func:`kerascnn.blocks.inverted_residual`, the block of ``mobilenetv2``
    and (with ``se_ratio=0.25, activation="swish"``) of ``efficientnet_b0``. From Sandler,
    Howard, Zhu, Zhmoginov & Chen, "MobileNetV2: Inverted Residuals and Linear Bottlenecks"
    (CVPR 2018) and Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
    Networks" (ICML 2019): 1x1 expand (t x), depthwise k x k, optional squeeze-and-excitation,
    1x1 project with no activation (a linear bottleneck), and the shortcut between the narrow
    ends when the shape allows (``has_residual``, once built).

    Example::

        >>> import numpy as np
        >>> block = InvertedResidual(24, expansion=6, strides=2)
        >>> tuple(block(np.zeros((1, 32, 32, 16), "float32")).shape)
        (1, 16, 16, 24)
    """

    block = staticmethod(inverted_residual)

    @property
    def has_residual(self) -> bool | None:
        """Whether the block adds its input to its output (None until built)."""
        if self.graph is None:
            return None
        return any(layer.name == f"{self.name}_add" for layer in self.graph.layers)
