"""ResidualBottleneckBlock: 1x1 reduce, 3x3, 1x1 expand plus a shortcut (ResNet-50/101)."""

from __future__ import annotations

import keras

from kerascnn.blocks import bottleneck_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class ResidualBottleneckBlock(BlockLayer):
    """The bottleneck residual block of ResNet-50/101/152: ``act(F(x) + shortcut(x))``.

    The layer form of :func:`kerascnn.blocks.bottleneck_block`, the block inside ``resnet50``
    and ``resnet101``. From He, Zhang, Ren & Sun, "Deep Residual Learning for Image
    Recognition" (CVPR 2016). F is 1x1 conv to ``filters`` -> BN -> ReLU -> 3x3 conv
    (``groups``) -> BN -> ReLU -> 1x1 conv to ``filters * expansion`` -> BN. The stride sits on
    the 3x3 conv (torchvision's "v1.5", the default) or, with ``stride_in_1x1=True``, on the
    first 1x1 (the paper, keras.applications' ResNet50, whose layout is ``use_bias=True,
    bn_epsilon=1.001e-5, bn_momentum=0.99, stride_in_1x1=True``). ``groups > 1`` is ResNeXt's
    block (Xie et al., 2017); ``se_ratio`` SE-ResNet's (Hu, Shen & Sun, 2018).

    Example::

        >>> import numpy as np
        >>> block = ResidualBottleneckBlock(64)
        >>> tuple(block(np.zeros((1, 16, 16, 64), "float32")).shape)
        (1, 16, 16, 256)
    """

    block = staticmethod(bottleneck_block)
