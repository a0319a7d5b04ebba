"""Reusable Keras layers: the building blocks of the zoo, one public layer per file.

Every layer is built from Keras primitives (Conv2D with ``groups=``/``dilation_rate=``,
DepthwiseConv2D, BatchNormalization, pooling, ``keras.ops``), imports ``keras`` only (it runs
on the TensorFlow, JAX and PyTorch backends), is registered for serialization under the
package name ``"kerascnn"`` (``"kerascnn>ConvBNAct"``...), so a ``.keras`` file that contains
it loads after ``import kerascnn.layers``, and takes channels-last (NHWC) input.

Core layers
    ConvBNAct, DepthwiseSeparableConv2D, SpatiallySeparableConv2D, InvertedResidual,
    SqueezeExcite, DilatedConv2D, DilatedContextBlock, Padding2D.
Family blocks
    ResidualBasicBlock, ResidualBottleneckBlock, InceptionBlock, DenseBlock,
    TransitionBlock, NiNBlock, VGGBlock.

Analysis protocol
-----------------
Every layer here implements two methods that ``kerascnn.analysis`` calls when present:

``count_macs(input_shape) -> int``
    Multiply-accumulates per sample of the conv / dense / depthwise work of the whole layer
    (batch excluded; BN, activations, pooling, additions and the SE rescale are "other ops"
    and not counted). ``input_shape`` includes the batch axis, e.g. ``(None, 32, 32, 3)``;
    height and width must be known. A conv costs ``H_out W_out C_out k_h k_w C_in / groups``,
    a depthwise conv ``H_out W_out C_in m k_h k_w``, a dense (or 1x1 on a pooled map)
    ``C_in C_out``.

``receptive_field(input_shape=None) -> (kernel, stride, left_padding)``
    The whole layer seen as one convolution along one spatial axis (the height; every layer
    here is symmetric in height and width except Padding2D with different pads): ``kernel``
    is the receptive field of one output pixel in input pixels, ``stride`` the product of the
    strides, ``left_padding`` the padding before the first input pixel, all in input pixels.
    Stages ``(k_i, s_i, p_i)`` compose as ``k = 1 + sum (k_i - 1) S_{i-1}``, ``s = S_n``,
    ``p = sum p_i S_{i-1}`` with ``S_i = s_1 ... s_i``. Parallel branches report the widest
    (all are centred); SqueezeExcite reports its local path (1, 1, 0). Examples:
    InvertedResidual(k=3, strides=s) -> (3, s, pad), DilatedContextBlock(rates=(1, 2, 4)) ->
    (15, 1, 7), Padding2D(p) -> (1, 1, p), VGGBlock(num_convs=2) -> (6, 2, 2). The left
    padding of a strided "same" op depends on the input size (Keras puts the odd pixel on the
    right): it comes from ``input_shape`` if given, else from the shape the layer was built
    with, else the input is assumed divisible by the stride.
"""

from kerascnn.layers.conv_bn_act import ConvBNAct
from kerascnn.layers.dense_block import DenseBlock
from kerascnn.layers.depthwise_separable_conv2d import DepthwiseSeparableConv2D
from kerascnn.layers.dilated_context_block import DilatedContextBlock
from kerascnn.layers.dilated_conv2d import DilatedConv2D
from kerascnn.layers.inception_block import InceptionBlock
from kerascnn.layers.inverted_residual import InvertedResidual
from kerascnn.layers.nin_block import NiNBlock
from kerascnn.layers.padding2d import Padding2D
from kerascnn.layers.residual_basic_block import ResidualBasicBlock
from kerascnn.layers.residual_bottleneck_block import ResidualBottleneckBlock
from kerascnn.layers.spatially_separable_conv2d import SpatiallySeparableConv2D
from kerascnn.layers.squeeze_excite import SqueezeExcite
from kerascnn.layers.transition_block import TransitionBlock
from kerascnn.layers.vgg_block import VGGBlock

__all__ = [
    "ConvBNAct",
    "DepthwiseSeparableConv2D",
    "SpatiallySeparableConv2D",
    "InvertedResidual",
    "SqueezeExcite",
    "DilatedConv2D",
    "DilatedContextBlock",
    "Padding2D",
    "ResidualBasicBlock",
    "ResidualBottleneckBlock",
    "InceptionBlock",
    "DenseBlock",
    "TransitionBlock",
    "NiNBlock",
    "VGGBlock",
]
