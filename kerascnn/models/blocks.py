"""Functional building blocks shared by several families (Keras primitives only).

Block functions take a tensor ``x`` and a ``name`` and return a tensor, keras.applications
style, so a model stays a flat graph of standard layers: it profiles layer by layer,
serializes without custom objects, and can take keras.applications weights.
"""

from __future__ import annotations

from keras import layers

BN_EPSILON = 1.001e-5  # keras.applications ResNet/DenseNet; MobileNet/EfficientNet pass 1e-3


def conv_bn_act(
    x,
    filters: int,
    kernel_size=3,
    *,
    strides=1,
    padding: str = "same",
    groups: int = 1,
    dilation_rate=1,
    use_bias: bool = False,
    activation: str | None = "relu",
    bn_epsilon: float = BN_EPSILON,
    bn_momentum: float = 0.99,
    name: str,
):
    """Conv2D (no bias by default) -> BatchNormalization -> activation (None: linear)."""
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, groups=groups,
        dilation_rate=dilation_rate, use_bias=use_bias, name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(epsilon=bn_epsilon, momentum=bn_momentum, name=f"{name}_bn")(x)
    if activation:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def se_block(x, reduced_filters: int, *, activation: str = "relu", name: str):
    """Squeeze-and-Excitation (Hu et al., 2018): channel attention by a gated bottleneck.

    squeeze: global average pool (kept as 1x1xC); excite: 1x1 conv to ``reduced_filters``
    with ``activation``, 1x1 conv back to C with a sigmoid; scale: multiply the input.
    1x1 convs with bias on the pooled map hold the same parameters as the paper's two FC
    layers, and match keras.applications' EfficientNet layout.
    """
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
    s = layers.Conv2D(reduced_filters, 1, activation=activation, name=f"{name}_reduce")(s)
    s = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_expand")(s)
    return layers.Multiply(name=f"{name}_excite")([x, s])
