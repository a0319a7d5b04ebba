"""Public Keras layers, one per file: the zoo's blocks as layers, for your own networks.

Every layer except :class:`Padding2D` is made from a block function of
:mod:`kerascnn.blocks` (:class:`BlockLayer`): the function the zoo's builders call, so
``ResidualBasicBlock(128, strides=2)`` computes exactly what ``resnet18``'s first conv3_x block
(``resnet18_conv3_block1_*``) computes, given the same weights (a test holds every layer equal to its block inside
the models). The layers take channels-last (NHWC) input, import ``keras`` only (TensorFlow, JAX
and PyTorch backends), and are registered for serialization under the package name
``"kerascnn"`` (``"kerascnn>ConvBNAct"``, ...), so a ``.keras`` file that contains them loads
after ``import kerascnn.layers``.

Core layers
    ConvBNAct, DepthwiseSeparableConv2D, SpatiallySeparableConv2D, InvertedResidual,
    SqueezeExcite, DilatedConv2D, DilatedContextBlock, Padding2D.
Family blocks
    ResidualBasicBlock, ResidualBottleneckBlock, InceptionBlock, DenseBlock,
    TransitionBlock, NiNBlock, VGGBlock.

Analysis protocol (what :func:`kerascnn.analysis.profile` calls on a layer it meets):
``count_macs(input_shape)`` (multiply-accumulates per sample; the shape has the batch axis),
``count_other_ops(input_shape)`` and ``receptive_field(input_shape=None) -> (kernel, stride,
left_padding)``, each a (height, width) pair. For a BlockLayer all three are the profile of its
block's graph at that shape.
"""

from kerascnn.layers.block_layer import BlockLayer
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
    "BlockLayer",
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
