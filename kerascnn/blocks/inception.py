"""GoogLeNet's inception block (Szegedy et al., "Going Deeper with Convolutions", 2015)."""

from __future__ import annotations

from keras import layers

from kerascnn import checks
from kerascnn.blocks._block import block
from kerascnn.blocks.conv import conv_bn_act
from kerascnn.blocks.defaults import BN_MOMENTUM, MOBILE_BN_EPSILON

FILTER_ARGUMENTS = (
    "filters_1x1",
    "filters_3x3_reduce",
    "filters_3x3",
    "filters_5x5_reduce",
    "filters_5x5",
    "filters_pool_proj",
)


@block(
    kernel_5x5=checks.positive_int,
    use_bn=checks.boolean,
    activation=checks.activation,
    bn_epsilon=checks.positive_number,
    bn_momentum=checks.momentum,
    **dict.fromkeys(FILTER_ARGUMENTS, checks.positive_int),
)
def inception_block(
    x,
    filters_1x1,
    filters_3x3_reduce,
    filters_3x3,
    filters_5x5_reduce,
    filters_5x5,
    filters_pool_proj,
    *,
    kernel_5x5=5,
    use_bn=False,
    activation="relu",
    bn_epsilon=MOBILE_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """The inception module with dimension reductions (the paper's figure 2b): four branches on
    the same input, concatenated in this order (``{name}_concat``):

    1. 1x1 conv (``{name}_1x1``);
    2. 1x1 conv (``{name}_3x3_reduce``) -> 3x3 conv (``{name}_3x3``);
    3. 1x1 conv (``{name}_5x5_reduce``) -> ``kernel_5x5`` conv (``{name}_5x5``);
    4. 3x3 max pool, stride 1, "same" (``{name}_pool``) -> 1x1 conv (``{name}_pool_proj``).

    Every conv is followed by ``activation``; the paper's convs have biases and no BN
    (the default); ``use_bn=True`` is torchvision's BasicConv2d (conv, BN, ReLU), and torchvision's
    GoogLeNet also uses ``kernel_5x5=3`` (pytorch/vision#906). Inception 3a is
    ``inception_block(x, 64, 96, 128, 16, 32, 32, name=...)``: 256 output channels.
    """
    unit = dict(
        use_bn=use_bn, activation=activation, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum
    )
    b1 = conv_bn_act(x, filters_1x1, 1, name=f"{name}_1x1", **unit)
    b2 = conv_bn_act(x, filters_3x3_reduce, 1, name=f"{name}_3x3_reduce", **unit)
    b2 = conv_bn_act(b2, filters_3x3, 3, name=f"{name}_3x3", **unit)
    b3 = conv_bn_act(x, filters_5x5_reduce, 1, name=f"{name}_5x5_reduce", **unit)
    b3 = conv_bn_act(b3, filters_5x5, kernel_5x5, name=f"{name}_5x5", **unit)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    b4 = conv_bn_act(b4, filters_pool_proj, 1, name=f"{name}_pool_proj", **unit)
    return layers.Concatenate(name=f"{name}_concat")([b1, b2, b3, b4])
