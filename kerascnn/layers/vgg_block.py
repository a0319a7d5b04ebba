"""VGGBlock: n same-padded k x k convolutions (+ ReLU), then a 2x2 max pool."""

from __future__ import annotations

import keras

from kerascnn.blocks import vgg_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class VGGBlock(BlockLayer):
    """One stage of VGG: ``num_convs`` k x k convs with ReLU, then a 2x2 max pool, stride 2.

    The layer form of :func:`kerascnn.blocks.vgg_block`, the stage inside ``vgg11`` ...
    ``vgg19_bn``. From Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale
    Image Recognition" (ICLR 2015). Stacked 3x3 convs: two see 5x5, three see 7x7, with fewer
    parameters and more non-linearities than one large kernel. VGG-16 is stages of (2, 64),
    (2, 128), (3, 256), (3, 512), (3, 512). ``use_bn=True`` gives torchvision's VGG-BN;
    ``pool=False`` leaves the pool out.

    Example::

        >>> import numpy as np
        >>> block = VGGBlock(64, num_convs=2)
        >>> tuple(block(np.zeros((1, 32, 32, 3), "float32")).shape)
        (1, 16, 16, 64)
    """

    block = staticmethod(vgg_block)
