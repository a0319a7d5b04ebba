"""The inverted residual: MobileNetV2's block, and EfficientNet's MBConv (the same block + SE)."""

from __future__ import annotations

from keras import layers

from kerascnn import checks
from kerascnn.blocks._block import block
from kerascnn.blocks.attention import se_block, se_channels
from kerascnn.blocks.conv import conv_bn_act, depthwise_bn_act
from kerascnn.blocks.defaults import BN_MOMENTUM, MOBILE_BN_EPSILON


@block(
    filters=checks.positive_int,
    expansion=checks.positive_int,
    kernel_size=checks.positive_int,
    strides=checks.positive_int,
    se_ratio=checks.optional(checks.positive_number),
    se_divisor=checks.positive_int,
    se_gate=checks.choice("sigmoid", "hard_sigmoid"),
    activation=checks.activation,
    drop_rate=checks.rate,
    use_residual=checks.boolean,
    bn_epsilon=checks.positive_number,
    bn_momentum=checks.momentum,
)
def inverted_residual(
    x,
    filters,
    *,
    expansion=6,
    kernel_size=3,
    strides=1,
    se_ratio=None,
    se_divisor=1,
    se_gate="sigmoid",
    activation="relu6",
    drop_rate=0.0,
    use_residual=True,
    bn_epsilon=MOBILE_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """Inverted residual with linear bottleneck (Sandler et al., 2018; Tan & Le, 2019).

    1. ``{name}_expand``: 1x1 conv to ``C_in * expansion``, BN, ``activation`` (skipped when
       ``expansion == 1``, as in the first block of both papers' networks);
    2. ``{name}_dw``: k x k depthwise conv with ``strides`` ("same"), BN, ``activation``;
    3. ``{name}_se`` (``se_ratio`` set): squeeze-and-excitation on the expanded map, its width
       ``se_channels(C_in, se_ratio, se_divisor)`` of the block's *input* channels and its
       reduce activation the block's (EfficientNet: ``se_ratio=0.25``, swish; MobileNetV3:
       ``se_ratio=expansion / 4, se_divisor=8, se_gate="hard_sigmoid"``);
    4. ``{name}_project``: 1x1 conv to ``filters``, BN, no activation (the linear bottleneck);
    5. ``{name}_add``: ``x + block(x)`` when ``strides == 1`` and ``C_in == filters`` (and
       ``use_residual``), after stochastic depth ``{name}_drop`` (``drop_rate``: the whole
       branch of a sample is dropped, EfficientNet's drop-connect).
    """
    c_in = x.shape[-1]
    shortcut = x
    bn = dict(bn_epsilon=bn_epsilon, bn_momentum=bn_momentum)
    if expansion != 1:
        x = conv_bn_act(x, c_in * expansion, 1, activation=activation, name=f"{name}_expand", **bn)
    x = depthwise_bn_act(
        x, kernel_size, strides=strides, activation=activation, name=f"{name}_dw", **bn
    )
    if se_ratio:
        x = se_block(
            x,
            reduced_channels=se_channels(c_in, se_ratio, se_divisor),
            activation=activation,
            gate=se_gate,
            name=f"{name}_se",
        )
    x = conv_bn_act(x, filters, 1, activation=None, name=f"{name}_project", **bn)
    if use_residual and strides == 1 and c_in == filters:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, shortcut])
    return x
