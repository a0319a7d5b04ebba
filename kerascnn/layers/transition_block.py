"""TransitionBlock: BN, ReLU, 1x1 compression conv, 2x2 average pool (DenseNet)."""

from __future__ import annotations

import keras

from kerascnn.blocks import transition_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class TransitionBlock(BlockLayer):
    """The transition layer between DenseNet's dense blocks.

    The layer form of :func:`kerascnn.blocks.transition_block`. From Huang, Liu, van der
    Maaten & Weinberger, "Densely Connected Convolutional Networks" (CVPR 2017): BN -> ReLU ->
    1x1 conv to ``int(C * compression)`` channels (no bias) -> 2x2 average pool, stride 2.
    DenseNet-BC uses compression 0.5 (keras.applications' ``reduction``). The pool is "valid":
    an odd size is floored.

    Example::

        >>> import numpy as np
        >>> block = TransitionBlock(0.5)
        >>> tuple(block(np.zeros((1, 16, 16, 256), "float32")).shape)
        (1, 8, 8, 128)
    """

    block = staticmethod(transition_block)
