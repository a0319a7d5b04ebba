"""Network in Network's block (Lin, Chen & Yan, 2013): the "mlpconv" layer."""

from __future__ import annotations

from kerascnn import checks
from kerascnn.blocks._block import block
from kerascnn.blocks.conv import conv_bn_act
from kerascnn.blocks.defaults import BN_MOMENTUM, KERAS_BN_EPSILON


@block(
    filters=checks.positive_int,
    kernel_size=checks.positive_int,
    strides=checks.positive_int,
    padding=checks.padding,
    mlp_filters=checks.optional(checks.int_sequence(allow_empty=True)),
    activation=checks.activation,
    use_bn=checks.boolean,
    bn_epsilon=checks.positive_number,
    bn_momentum=checks.momentum,
)
def nin_block(
    x,
    filters,
    kernel_size=3,
    *,
    strides=1,
    padding="same",
    mlp_filters=None,
    activation="relu",
    use_bn=False,
    bn_epsilon=KERAS_BN_EPSILON,
    bn_momentum=BN_MOMENTUM,
    name,
):
    """A k x k conv (``{name}_conv``) then 1x1 convs (``{name}_mlp1``, ``{name}_mlp2``, ...): a
    small multilayer perceptron slid over the image, each conv with a bias and ``activation``.
    ``mlp_filters`` gives the 1x1 widths (None: two of ``filters``, d2l's and the paper's);
    ``use_bn=True`` puts BatchNormalization after every conv (which then loses its bias)."""
    unit = dict(
        use_bn=use_bn, activation=activation, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum
    )
    x = conv_bn_act(
        x, filters, kernel_size, strides=strides, padding=padding, name=f"{name}_conv", **unit
    )
    for i, width in enumerate((filters, filters) if mlp_filters is None else mlp_filters, start=1):
        x = conv_bn_act(x, width, 1, name=f"{name}_mlp{i}", **unit)
    return x
