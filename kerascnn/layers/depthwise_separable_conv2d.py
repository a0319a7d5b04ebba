"""DepthwiseSeparableConv2D: depthwise k x k (+ BN/activation) then pointwise 1 x 1 (+ BN/activation)."""

from __future__ import annotations

import keras

from kerascnn.blocks import depthwise_separable_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class DepthwiseSeparableConv2D(BlockLayer):
    """Depthwise separable convolution: a per-channel k x k filter, then a 1 x 1 channel mixer.

    The layer form of :func:`kerascnn.blocks.depthwise_separable_block`, MobileNet v1's block.
    From Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
    Applications" (2017): depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU (the
    defaults). Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions" (2017)
    puts no normalization or non-linearity between the two convs: ``depthwise_bn=False,
    depthwise_activation=None``. The cost is ``H W C (k^2 + C_out)`` MACs instead of
    ``H W C k^2 C_out``: a ratio of ``1 / C_out + 1 / k^2``.

    Example::

        >>> import numpy as np
        >>> layer = DepthwiseSeparableConv2D(64, strides=2)
        >>> tuple(layer(np.zeros((1, 32, 32, 32), "float32")).shape)
        (1, 16, 16, 64)
    """

    block = staticmethod(depthwise_separable_block)
