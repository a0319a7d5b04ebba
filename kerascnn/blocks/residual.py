"""ResNet's residual blocks (He et al., 2015), with SE-ResNet's gate (Hu et al., 2018).

Both blocks are ``act(F(x) + shortcut(x))``. Layers (keras.applications' names, after the
block's ``name``): ``_0`` the projection shortcut (1x1 conv + BN, when the stride or the channel
count changes, or ``projection=True``), ``_1``, ``_2`` (``_3``) the convs of F, ``_se`` the SE
gate on F after its last BN, ``_add`` and ``_out`` (the final activation).

Defaults are torchvision's ResNet "v1.5", the zoo's default style: no conv bias, BN epsilon 1e-5,
the stride of a bottleneck in its 3x3 conv, and a strided 3x3 conv padded by 1 on every side
(PyTorch's padding, not Keras' asymmetric "same"). keras.applications' ResNet v1 is
``use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99, stride_in_1x1=True``.
"""

from __future__ import annotations

from keras import layers

from kerascnn import checks
from kerascnn.blocks._block import block
from kerascnn.blocks.attention import se_block, se_channels
from kerascnn.blocks.conv import conv_bn_act
from kerascnn.blocks.defaults import BN_EPSILON, BN_MOMENTUM
from kerascnn.errors import ArgumentError

_CHECKS = dict(
    filters=checks.positive_int,
    strides=checks.positive_int,
    projection=checks.optional(checks.boolean),
    se_ratio=checks.optional(checks.ratio),
    se_divisor=checks.positive_int,
    activation=checks.activation,
    use_bias=checks.boolean,
    bn_epsilon=checks.positive_number,
    bn_momentum=checks.momentum,
)


def _torch_padding(kernel: int, strides: int):
    """PyTorch's ``padding=k // 2`` for a strided k x k conv; "same" otherwise (equal there)."""
    return kernel // 2 if strides > 1 and kernel > 1 else "same"


def _shortcut(x, out_channels, strides, projection, unit, name):
    needed = strides != 1 or x.shape[-1] != out_channels
    if projection is False and needed:
        raise ArgumentError(
            f"residual block {name!r}: projection=False needs an identity shortcut, which "
            f"requires strides=1 and input channels == output channels. Received: "
            f"strides={strides}, input channels={x.shape[-1]}, output channels={out_channels}"
        )
    if not (projection or needed):
        return x
    return conv_bn_act(
        x, out_channels, 1, strides=strides, activation=None, name=f"{name}_0", **unit
    )


def _merge(shortcut, y, *, se_ratio, se_divisor, activation, name):
    if se_ratio:
        width = se_channels(y.shape[-1], se_ratio, se_divisor)
        y = se_block(y, reduced_channels=width, name=f"{name}_se")
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    if activation:
        y = layers.Activation(activation, name=f"{name}_out")(y)
    return y


def _groups_divide(owner, filters, groups):
    if filters % groups:
        raise ArgumentError(
            f"{owner}: `filters` must be divisible by `groups`. "
            f"Received: filters={filters}, groups={groups}"
        )


@block(**_CHECKS)
def basic_block(
    x,
    filters,
    strides=1,
    *,
    projection=None,
    se_ratio=None,
    se_divisor=1,
    activation="relu",
    use_bias=False,
    bn_epsilon=BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """ResNet-18/34's block: 3x3 conv (``strides``) -> BN -> act -> 3x3 conv -> BN, plus the
    shortcut (module docstring). SE-ResNet: ``se_ratio=1/16`` (``se_divisor=8``: timm's)."""
    unit = dict(use_bias=use_bias, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum)
    shortcut = _shortcut(x, filters, strides, projection, unit, name)
    y = conv_bn_act(
        x,
        filters,
        3,
        strides=strides,
        padding=_torch_padding(3, strides),
        activation=activation,
        name=f"{name}_1",
        **unit,
    )
    y = conv_bn_act(y, filters, 3, activation=None, name=f"{name}_2", **unit)
    return _merge(
        shortcut, y, se_ratio=se_ratio, se_divisor=se_divisor, activation=activation, name=name
    )


@block(
    expansion=checks.positive_int,
    groups=checks.positive_int,
    stride_in_1x1=checks.boolean,
    relations=lambda owner, v: _groups_divide(owner, v["filters"], v["groups"]),
    **_CHECKS,
)
def bottleneck_block(
    x,
    filters,
    strides=1,
    *,
    expansion=4,
    groups=1,
    stride_in_1x1=False,
    projection=None,
    se_ratio=None,
    se_divisor=1,
    activation="relu",
    use_bias=False,
    bn_epsilon=BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """ResNet-50/101's block: 1x1 (``filters``) -> 3x3 (``groups``) -> 1x1 (``filters *
    expansion``), BN after each, act after the first two, plus the shortcut. The stride sits on
    the 3x3 conv (torchvision's v1.5) or, with ``stride_in_1x1=True``, on the first 1x1 (the
    paper, keras.applications); ``groups > 1`` is ResNeXt's block."""
    unit = dict(use_bias=use_bias, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum)
    out_channels = expansion * filters
    shortcut = _shortcut(x, out_channels, strides, projection, unit, name)
    s1, s3 = (strides, 1) if stride_in_1x1 else (1, strides)
    y = conv_bn_act(x, filters, 1, strides=s1, activation=activation, name=f"{name}_1", **unit)
    y = conv_bn_act(
        y,
        filters,
        3,
        strides=s3,
        padding=_torch_padding(3, s3),
        groups=groups,
        activation=activation,
        name=f"{name}_2",
        **unit,
    )
    y = conv_bn_act(y, out_channels, 1, activation=None, name=f"{name}_3", **unit)
    return _merge(
        shortcut, y, se_ratio=se_ratio, se_divisor=se_divisor, activation=activation, name=name
    )
