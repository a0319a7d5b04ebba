"""DenseNet's blocks (Huang et al., "Densely Connected Convolutional Networks", 2017).

keras.applications' layout and names (after the block's ``name``), so DenseNet-121 loads its
weights by name: dense layer ``i`` of a block is ``_block{i}`` with the pre-activation
``_0_bn``/``_0_relu``, the bottleneck ``_1_conv``/``_1_bn``/``_1_relu``, the 3x3 ``_2_conv`` and
``_concat``; a transition is ``_bn``, ``_relu``, ``_conv``, ``_pool``.
"""

from __future__ import annotations

from keras import layers

from kerascnn import checks
from kerascnn.blocks._block import block
from kerascnn.blocks.conv import bn_act, conv_bn_act
from kerascnn.blocks.defaults import BN_MOMENTUM, KERAS_BN_EPSILON

_BN_CHECKS = dict(bn_epsilon=checks.positive_number, bn_momentum=checks.momentum)


@block(
    num_layers=checks.positive_int,
    growth_rate=checks.positive_int,
    bottleneck_width=checks.optional(checks.positive_int),
    dropout_rate=checks.rate,
    **_BN_CHECKS,
)
def dense_block(
    x,
    num_layers,
    growth_rate=32,
    *,
    bottleneck_width=4,
    dropout_rate=0.0,
    bn_epsilon=KERAS_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """``num_layers`` times ``x <- concat(x, H(x))``; output channels ``C_in + num_layers * k``.

    H is BN -> ReLU -> 1x1 conv (``bottleneck_width * growth_rate`` maps) -> BN -> ReLU -> 3x3
    conv (``growth_rate`` maps), DenseNet-B; ``bottleneck_width=None`` leaves the 1x1 out.
    Convs have no bias; ``dropout_rate`` drops the new maps of every layer (torchvision's
    ``drop_rate``). DenseNet-121's blocks have 6, 12, 24 and 16 layers, growth rate 32.
    """
    bn = dict(bn_epsilon=bn_epsilon, bn_momentum=bn_momentum)
    for i in range(1, num_layers + 1):
        n = f"{name}_block{i}"
        y = bn_act(x, name=f"{n}_0", **bn)
        if bottleneck_width:
            y = conv_bn_act(y, bottleneck_width * growth_rate, 1, name=f"{n}_1", **bn)
        y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{n}_2_conv")(y)
        if dropout_rate > 0:
            y = layers.Dropout(dropout_rate, name=f"{n}_drop")(y)
        x = layers.Concatenate(name=f"{n}_concat")([x, y])
    return x


def transition_channels(channels: int, compression: float) -> int:
    """Output channels of a transition: ``int(channels * compression)``, at least 1."""
    return max(1, int(channels * compression))


@block(compression=checks.ratio, **_BN_CHECKS)
def transition_block(
    x, compression=0.5, *, bn_epsilon=KERAS_BN_EPSILON, bn_momentum=BN_MOMENTUM, name
):
    """Between dense blocks: BN -> ReLU -> 1x1 conv to ``int(C * compression)`` maps (no bias)
    -> 2x2 average pool, stride 2 ("valid": an odd size is floored). DenseNet-BC: 0.5."""
    x = bn_act(x, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum, name=name)
    filters = transition_channels(x.shape[-1], compression)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)
