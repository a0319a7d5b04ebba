"""VGG's stage (Simonyan & Zisserman, 2014): n "same" k x k convolutions, then a 2x2 max pool."""

from __future__ import annotations

from keras import layers

from kerascnn import checks
from kerascnn.blocks._block import block
from kerascnn.blocks.conv import conv_bn_act
from kerascnn.blocks.defaults import BN_EPSILON, BN_MOMENTUM


@block(
    filters=checks.positive_int,
    num_convs=checks.positive_int,
    kernel_size=checks.positive_int,
    use_bn=checks.boolean,
    use_bias=checks.boolean,
    activation=checks.activation,
    pool=checks.boolean,
    bn_epsilon=checks.positive_number,
    bn_momentum=checks.momentum,
)
def vgg_block(
    x,
    filters,
    num_convs=2,
    *,
    kernel_size=3,
    use_bn=False,
    use_bias=True,
    activation="relu",
    pool=True,
    bn_epsilon=BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """``num_convs`` convs ``{name}_conv1``, ... (stride 1, "same", with bias), each followed by
    ``activation``, then a 2x2/2 max pool ``{name}_pool`` ("valid": odd sizes are floored;
    ``pool=False`` leaves it out). Two stacked 3x3 convs see 5x5, three see 7x7, with fewer
    parameters and more non-linearities than one large kernel. ``use_bn=True`` is torchvision's
    VGG-BN (conv with bias -> BN -> ReLU). Without BN the names are keras.applications' VGG's
    (``block1_conv1`` after the model prefix), so its weights load by name."""
    for j in range(1, num_convs + 1):
        x = conv_bn_act(
            x,
            filters,
            kernel_size,
            use_bias=use_bias,
            use_bn=use_bn,
            activation=activation,
            bn_epsilon=bn_epsilon,
            bn_momentum=bn_momentum,
            name=f"{name}_conv{j}",
        )
    if pool:
        x = layers.MaxPooling2D(2, strides=2, name=f"{name}_pool")(x)
    return x
