"""InceptionBlock: four parallel branches (1x1, 3x3, 5x5, pool) concatenated (GoogLeNet)."""

from __future__ import annotations

import keras

from kerascnn.blocks import inception_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class InceptionBlock(BlockLayer):
    """The Inception module with dimension reductions (GoogLeNet / Inception v1).

    The layer form of :func:`kerascnn.blocks.inception_block`, the block inside ``googlenet``.
    From Szegedy et al., "Going Deeper with Convolutions" (CVPR 2015), figure 2(b): a 1x1 conv,
    1x1 -> 3x3, 1x1 -> 5x5 and 3x3 max pool -> 1x1 on the same input, concatenated. The paper's
    convs have biases and no normalization (the default); ``use_bn=True, kernel_5x5=3`` is
    torchvision's GoogLeNet block. Inception 3a is ``InceptionBlock(64, 96, 128, 16, 32, 32)``.

    Example::

        >>> import numpy as np
        >>> block = InceptionBlock(64, 96, 128, 16, 32, 32)
        >>> tuple(block(np.zeros((1, 28, 28, 192), "float32")).shape)
        (1, 28, 28, 256)
    """

    block = staticmethod(inception_block)
