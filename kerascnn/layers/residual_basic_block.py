"""ResidualBasicBlock: two 3x3 conv-BN layers plus a shortcut (ResNet-18/34)."""

from __future__ import annotations

import keras

from kerascnn.blocks import basic_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class ResidualBasicBlock(BlockLayer):
    """The basic residual block of ResNet-18/34: ``act(F(x) + shortcut(x))``.

    The layer form of :func:`kerascnn.blocks.basic_block`, the block inside ``resnet18`` and
    ``resnet34``. From He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition"
    (CVPR 2016). F is 3x3 conv (stride s) -> BN -> ReLU -> 3x3 conv -> BN (no conv bias, a
    strided conv padded by 1 on every side as torchvision does); the shortcut is the identity, or
    a 1x1 conv (stride s) + BN projection (the paper's option B) when the stride or the channel
    count changes. ``se_ratio=1/16`` adds squeeze-and-excitation on F before the addition, as in
    SE-ResNet (Hu, Shen & Sun, "Squeeze-and-Excitation Networks", 2018).

    Example::

        >>> import numpy as np
        >>> block = ResidualBasicBlock(128, strides=2)
        >>> tuple(block(np.zeros((1, 32, 32, 64), "float32")).shape)
        (1, 16, 16, 128)
    """

    block = staticmethod(basic_block)
