"""ConvBNAct: Conv2D (optionally grouped / dilated / padded) -> BatchNormalization -> activation."""

from __future__ import annotations

import keras

from kerascnn.blocks import conv_bn_act
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class ConvBNAct(BlockLayer):
    """Convolution, batch normalization, activation: the unit of nearly every modern CNN.

    The layer form of :func:`kerascnn.blocks.conv_bn_act` (its arguments and defaults). Batch
    normalization is from Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network
    Training by Reducing Internal Covariate Shift" (2015). ``groups > 1`` is grouped
    convolution (Krizhevsky, Sutskever & Hinton, 2012, two groups; Xie et al., "Aggregated
    Residual Transformations for Deep Neural Networks", 2017): parameters and MACs divided by
    ``groups``. ``dilation_rate`` spreads the kernel (effective size ``k + (k - 1)(d - 1)``);
    ``padding=p`` pads ``p`` zeros on every side (PyTorch's habit). ``use_bn=False`` is a plain
    Conv2D with bias and activation.

    Example::

        >>> import numpy as np
        >>> layer = ConvBNAct(64, 3, strides=2, groups=2)
        >>> tuple(layer(np.zeros((1, 32, 32, 16), "float32")).shape)
        (1, 16, 16, 64)
    """

    block = staticmethod(conv_bn_act)
