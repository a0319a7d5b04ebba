"""NiNBlock: a k x k convolution followed by 1x1 convolutions (an "mlpconv" layer)."""

from __future__ import annotations

import keras

from kerascnn.blocks import nin_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class NiNBlock(BlockLayer):
    """The mlpconv layer of Network In Network: a micro-MLP slid over the image.

    The layer form of :func:`kerascnn.blocks.nin_block`, the block inside ``nin``. From Lin,
    Chen & Yan, "Network In Network" (ICLR 2014): a k x k conv (stride s) followed by 1x1 convs
    (a per-pixel multilayer perceptron across channels), each followed by ReLU. d2l's NiN opens
    with ``NiNBlock(96, 11, strides=4, padding="valid")``, then (256, 5), (384, 3).

    Example::

        >>> import numpy as np
        >>> block = NiNBlock(96, 11, strides=4, padding="valid")
        >>> tuple(block(np.zeros((1, 224, 224, 3), "float32")).shape)
        (1, 54, 54, 96)
    """

    block = staticmethod(nin_block)
