"""Blocks: every building block of the zoo, written once, as a function of a tensor.

A block function takes the input tensor ``x`` first and a keyword-only ``name``, builds Keras
primitives (Conv2D, DepthwiseConv2D, BatchNormalization, ...) named ``f"{name}_..."`` and
returns the output tensor, keras.applications style. The builders in :mod:`kerascnn.models`
call them, so a model stays a flat graph of standard layers: it profiles layer by layer, saves
without custom objects and takes keras.applications' weights by layer name. The public layers
in :mod:`kerascnn.layers` are made from these same functions (each builds its block's graph in
``build()``), so ``ResidualBasicBlock(64, strides=2)`` *is* the block inside ``resnet18``.

Every block declares a check for each argument with ``@block`` (:mod:`kerascnn.blocks._block`);
the shared defaults are in :mod:`kerascnn.blocks.defaults`.

    >>> import keras
    >>> from kerascnn.blocks import basic_block
    >>> x = keras.Input((32, 32, 64))
    >>> tuple(basic_block(x, 128, strides=2, name="stage3").shape)
    (None, 16, 16, 128)
"""

from kerascnn.blocks.attention import se_block, se_channels
from kerascnn.blocks.conv import (
    bn_act,
    conv_bn_act,
    depthwise_bn_act,
    depthwise_separable_block,
    dilated_context_block,
    dilated_conv,
    spatially_separable_block,
)
from kerascnn.blocks.dense import dense_block, transition_block, transition_channels
from kerascnn.blocks.inception import inception_block
from kerascnn.blocks.mobile import inverted_residual
from kerascnn.blocks.nin import nin_block
from kerascnn.blocks.residual import basic_block, bottleneck_block
from kerascnn.blocks.vgg import vgg_block

__all__ = [
    "bn_act",
    "conv_bn_act",
    "depthwise_bn_act",
    "depthwise_separable_block",
    "spatially_separable_block",
    "dilated_conv",
    "dilated_context_block",
    "se_block",
    "se_channels",
    "inverted_residual",
    "basic_block",
    "bottleneck_block",
    "dense_block",
    "transition_block",
    "transition_channels",
    "inception_block",
    "nin_block",
    "vgg_block",
]
