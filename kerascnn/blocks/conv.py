"""Convolution units: conv-BN-activation and its depthwise, separable and dilated relatives.

Naming (keras.applications' two habits, so their weights load by name):

- with BatchNormalization, a unit named ``n`` is ``n_conv`` -> ``n_bn`` -> ``n_<activation>``
  (ResNet, DenseNet, MobileNet);
- without it, the unit is one convolution named ``n`` with its bias and activation fused in
  (VGG's ``block1_conv1``);
- an int ``padding=p`` adds ``n_pad`` (zeros on every side, PyTorch's ``padding=p``) before a
  "valid" convolution.

Defaults: :mod:`kerascnn.blocks.defaults`.
"""

from __future__ import annotations

from keras import layers

from kerascnn import checks
from kerascnn.blocks._block import block
from kerascnn.blocks.defaults import BN_MOMENTUM, KERAS_BN_EPSILON, MOBILE_BN_EPSILON
from kerascnn.errors import ArgumentError

_BN_CHECKS = dict(bn_epsilon=checks.positive_number, bn_momentum=checks.momentum)
# what every convolution unit takes: its window, padding, bias, BN and activation
_UNIT_CHECKS = dict(
    kernel_size=checks.int_or_pair,
    strides=checks.int_or_pair,
    padding=checks.padding,
    dilation_rate=checks.int_or_pair,
    use_bias=checks.optional(checks.boolean),
    use_bn=checks.boolean,
    activation=checks.activation,
    **_BN_CHECKS,
)


def _no_strided_dilation(owner, values):
    strides, dilation = values["strides"], values["dilation_rate"]
    if max(strides) > 1 and max(dilation) > 1:
        raise ArgumentError(
            f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 (Keras convolutions). "
            f"Received: strides={strides!r}, dilation_rate={dilation!r}"
        )


def _conv_relations(owner, values):
    _no_strided_dilation(owner, values)
    if values["filters"] % values["groups"]:
        raise ArgumentError(
            f"{owner}: `filters` must be divisible by `groups`. "
            f"Received: filters={values['filters']}, groups={values['groups']}"
        )


@block(activation=checks.activation, **_BN_CHECKS)
def bn_act(x, *, activation="relu", bn_epsilon=KERAS_BN_EPSILON, bn_momentum=BN_MOMENTUM, name):
    """BatchNormalization (``{name}_bn``) then the activation (``{name}_<activation>``, if any).

    Alone, it is the pre-activation unit of DenseNet; after a conv, the tail of ``conv_bn_act``.
    """
    x = layers.BatchNormalization(epsilon=bn_epsilon, momentum=bn_momentum, name=f"{name}_bn")(x)
    if activation:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def _unit(x, conv, *, padding, use_bias, use_bn, activation, bn_epsilon, bn_momentum, name, **kw):
    """Padding, the convolution ``conv(**kw)`` (a Keras conv class), then BN + activation."""
    if isinstance(padding, int):
        if padding:
            x = layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
        padding = "valid"
    kw.update(padding=padding, use_bias=(not use_bn) if use_bias is None else use_bias)
    if not use_bn:
        return conv(activation=activation, name=name, **kw)(x)
    x = conv(name=f"{name}_conv", **kw)(x)
    return bn_act(
        x, activation=activation, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum, name=name
    )


@block(
    filters=checks.positive_int,
    groups=checks.positive_int,
    kernel_initializer=checks.initializer,
    relations=_conv_relations,
    **_UNIT_CHECKS,
)
def conv_bn_act(
    x,
    filters,
    kernel_size=3,
    *,
    strides=1,
    padding="same",
    groups=1,
    dilation_rate=1,
    use_bias=None,
    use_bn=True,
    activation="relu",
    kernel_initializer="glorot_uniform",
    bn_epsilon=KERAS_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """Conv2D (grouped, dilated) -> BatchNormalization -> activation; see the module docstring.

    ``use_bias=None`` gives the conv a bias only without BN. ``groups`` splits input and output
    channels into independent convolutions (AlexNet's two GPUs, ResNeXt), dividing parameters
    and MACs by ``groups``; ``dilation_rate`` spreads the taps (effective size k + (k-1)(d-1)).
    """
    if x.shape[-1] is not None and x.shape[-1] % groups:
        raise ArgumentError(
            f"conv_bn_act {name!r}: input channels must be divisible by `groups`. "
            f"Received: input channels={x.shape[-1]}, groups={groups}"
        )
    return _unit(
        x,
        layers.Conv2D,
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        groups=groups,
        dilation_rate=dilation_rate,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        use_bn=use_bn,
        activation=activation,
        bn_epsilon=bn_epsilon,
        bn_momentum=bn_momentum,
        name=name,
    )


@block(depth_multiplier=checks.positive_int, relations=_no_strided_dilation, **_UNIT_CHECKS)
def depthwise_bn_act(
    x,
    kernel_size=3,
    *,
    strides=1,
    padding="same",
    depth_multiplier=1,
    dilation_rate=1,
    use_bias=None,
    use_bn=True,
    activation="relu",
    bn_epsilon=MOBILE_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """DepthwiseConv2D (one k x k filter per channel) -> BatchNormalization -> activation."""
    return _unit(
        x,
        layers.DepthwiseConv2D,
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        depth_multiplier=depth_multiplier,
        dilation_rate=dilation_rate,
        use_bias=use_bias,
        use_bn=use_bn,
        activation=activation,
        bn_epsilon=bn_epsilon,
        bn_momentum=bn_momentum,
        name=name,
    )


@block(
    filters=checks.positive_int,
    depth_multiplier=checks.positive_int,
    depthwise_bn=checks.boolean,
    depthwise_activation=checks.activation,
    relations=_no_strided_dilation,
    **_UNIT_CHECKS,
)
def depthwise_separable_block(
    x,
    filters,
    kernel_size=3,
    *,
    strides=1,
    padding="same",
    depth_multiplier=1,
    dilation_rate=1,
    use_bias=None,
    depthwise_bn=True,
    depthwise_activation="relu",
    use_bn=True,
    activation="relu",
    bn_epsilon=MOBILE_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """MobileNet's separable block: depthwise k x k (``{name}_dw``) then pointwise 1 x 1
    (``{name}_pw``), each with BN and activation; Xception's form has neither between the two
    (``depthwise_bn=False, depthwise_activation=None``). Costs ``H W C (k^2 + C_out)`` MACs
    instead of a full convolution's ``H W C k^2 C_out``."""
    bn = dict(bn_epsilon=bn_epsilon, bn_momentum=bn_momentum)
    x = depthwise_bn_act(
        x,
        kernel_size,
        strides=strides,
        padding=padding,
        depth_multiplier=depth_multiplier,
        dilation_rate=dilation_rate,
        use_bias=use_bias,
        use_bn=depthwise_bn,
        activation=depthwise_activation,
        name=f"{name}_dw",
        **bn,
    )
    return conv_bn_act(
        x,
        filters,
        1,
        use_bias=use_bias,
        use_bn=use_bn,
        activation=activation,
        name=f"{name}_pw",
        **bn,
    )


@block(
    filters=checks.positive_int,
    kernel_size=checks.positive_int,
    strides=checks.positive_int,
    padding=checks.choice("same", "valid"),
    intermediate_filters=checks.optional(checks.positive_int),
    use_bias=checks.optional(checks.boolean),
    use_bn=checks.boolean,
    intermediate_activation=checks.activation,
    activation=checks.activation,
    **_BN_CHECKS,
)
def spatially_separable_block(
    x,
    filters,
    kernel_size=3,
    *,
    strides=1,
    padding="same",
    intermediate_filters=None,
    use_bias=None,
    use_bn=False,
    intermediate_activation=None,
    activation=None,
    bn_epsilon=MOBILE_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """A k x k convolution factorized into k x 1 (``{name}_k1``, stride (s, 1)) then 1 x k
    (``{name}_1k``, stride (1, s)): 2k weights per channel pair instead of k^2 (Inception v3)."""
    unit = dict(
        padding=padding,
        use_bias=use_bias,
        use_bn=use_bn,
        bn_epsilon=bn_epsilon,
        bn_momentum=bn_momentum,
    )
    x = conv_bn_act(
        x,
        intermediate_filters or filters,
        (kernel_size, 1),
        strides=(strides, 1),
        activation=intermediate_activation,
        name=f"{name}_k1",
        **unit,
    )
    return conv_bn_act(
        x,
        filters,
        (1, kernel_size),
        strides=(1, strides),
        activation=activation,
        name=f"{name}_1k",
        **unit,
    )


@block(
    filters=checks.positive_int,
    kernel_size=checks.int_or_pair,
    dilation_rate=checks.int_or_pair,
    padding=checks.padding,
    activation=checks.activation,
    use_bias=checks.boolean,
    kernel_initializer=checks.initializer,
)
def dilated_conv(
    x,
    filters,
    kernel_size=3,
    *,
    dilation_rate=2,
    padding="same",
    activation=None,
    use_bias=True,
    kernel_initializer="glorot_uniform",
    name,
):
    """One dilated (atrous) Conv2D named ``name``: a k x k kernel whose taps are d pixels
    apart spans k + (k - 1)(d - 1) pixels at the cost of a k x k conv (stride 1)."""
    return conv_bn_act(
        x,
        filters,
        kernel_size,
        dilation_rate=dilation_rate,
        padding=padding,
        use_bias=use_bias,
        use_bn=False,
        activation=activation,
        kernel_initializer=kernel_initializer,
        name=name,
    )


@block(
    filters=checks.positive_int,
    rates=checks.int_sequence(),
    kernel_size=checks.positive_int,
    activation=checks.activation,
    use_bn=checks.boolean,
    use_bias=checks.optional(checks.boolean),
    **_BN_CHECKS,
)
def dilated_context_block(
    x,
    filters,
    rates=(1, 2, 4),
    *,
    kernel_size=3,
    activation="relu",
    use_bn=False,
    use_bias=None,
    bn_epsilon=KERAS_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """Yu & Koltun's context module: "same" k x k convs with dilation rates ``rates``
    (``{name}_1``, ``{name}_2``, ...); receptive field 1 + sum (k - 1) d_i: 3, 7, 15 for
    rates (1, 2, 4), at a constant resolution and cost per conv."""
    for i, rate in enumerate(rates, start=1):
        x = conv_bn_act(
            x,
            filters,
            kernel_size,
            dilation_rate=rate,
            use_bias=use_bias,
            use_bn=use_bn,
            activation=activation,
            bn_epsilon=bn_epsilon,
            bn_momentum=bn_momentum,
            name=f"{name}_{i}",
        )
    return x
