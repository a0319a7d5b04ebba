"""DenseBlock: each layer's output is concatenated to all earlier feature maps (DenseNet)."""

from __future__ import annotations

import keras

from kerascnn.blocks import dense_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class DenseBlock(BlockLayer):
    """A dense block: ``x <- concat(x, H_i(x))`` for ``num_layers`` layers.

    The layer form of :func:`kerascnn.blocks.dense_block`, the block inside ``densenet121``.
    From Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks"
    (CVPR 2017). Each H_i is BN -> ReLU -> 1x1 conv (``bottleneck_width * growth_rate``
    channels) -> BN -> ReLU -> 3x3 conv (``growth_rate`` channels), DenseNet-B; output channels
    ``C_in + num_layers * growth_rate``. DenseNet-121's blocks have 6, 12, 24 and 16 layers with
    growth rate 32.

    Example::

        >>> import numpy as np
        >>> block = DenseBlock(6, growth_rate=32)
        >>> tuple(block(np.zeros((1, 8, 8, 64), "float32")).shape)
        (1, 8, 8, 256)
    """

    block = staticmethod(dense_block)
