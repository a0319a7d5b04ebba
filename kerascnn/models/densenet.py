"""DenseNet-121 (Huang et al., 2017): DenseNet-BC, growth rate 32, blocks (6, 12, 24, 16).

Spec (``DENSENET_SPECS``): the number of dense layers in each of four dense blocks. A dense
layer is pre-activation BN-ReLU-conv1x1 (``BOTTLENECK_WIDTH`` x growth = 128 filters)
-BN-ReLU-conv3x3 (growth = 32 filters), whose output is concatenated to its input. Between
blocks a transition layer (BN-ReLU-conv1x1 to ``COMPRESSION`` x channels, 2x2 average pool)
halves the resolution and the channels. A final BN-ReLU precedes the head.

Fidelity: the layout, BN epsilon (1.001e-5) and layer names (after the ``f"{name}_"``
prefix) are ``keras.applications.DenseNet121``'s, so at 224x224x3/1000 ``count_params()``
is exactly its 8,062,504 and its weights load layer by layer with identical outputs.
torchvision's ``densenet121`` reports 7,978,856: the same network. The 83,648 difference
is the BatchNormalization moving mean and variance (2 x 41,824 BN channels), which Keras
counts as (non-trainable) weights and PyTorch keeps as buffers outside ``parameters()``;
our trainable count is 7,978,856. One deliberate difference: BN momentum defaults to 0.9
(PyTorch's 0.1; keras.applications: 0.99, ``bn_momentum=0.99``), see ``BN_MOMENTUM``; it is
not a weight, so counts and outputs with loaded weights are unchanged.

Small inputs (``stem="auto"``, the default): below 64 pixels (height or width) the
ImageNet stem (7x7 stride-2 conv + 3x3 stride-2 max-pool) is replaced by the CIFAR stem of
the DenseNet paper's CIFAR/SVHN networks: one 3x3 stride-1 conv with 2 x growth = 64
filters (followed, as in the ImageNet stem, by BN-ReLU), no pooling. A 32x32 input then
reaches the last block at 4x4 (28x28: 3x3). The three transitions' 2x2 average pools
floor odd sizes (as keras.applications does), so the CIFAR stem needs at least 8x8 inputs
(``MIN_INPUT_SIZE``) and a forced ImageNet stem (``stem="imagenet"``) at least 29x29; a
smaller request raises ValueError instead of producing a 0-size map.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from kerascnn.models._common import (
    check_common_args,
    gap_classifier,
    model_input,
    resolve_input_shape,
)
from kerascnn.models.blocks import BN_EPSILON, conv_bn_act
from kerascnn.registry import register_model

# depth -> dense layers per block (Huang et al. 2017, Table 1)
DENSENET_SPECS = {
    121: (6, 12, 24, 16),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
}
GROWTH_RATE = 32
BOTTLENECK_WIDTH = 4  # 1x1 conv of a dense layer has BOTTLENECK_WIDTH * growth filters
COMPRESSION = 0.5
STEMS = ("auto", "imagenet", "cifar")
SMALL_INPUT_THRESHOLD = 64
MIN_INPUT_SIZE = 8
# Keras convention (new = m * old + (1 - m) * batch). 0.9 is PyTorch's momentum=0.1 (torchvision);
# keras.applications keeps Keras's 0.99, whose moving statistics lag far behind the weights in
# short runs (a few hundred steps): a DenseNet trained 4 epochs on 3,000 Fashion-MNIST images
# reached 0.49 training loss but chance accuracy in inference mode with 0.99. Momentum is not
# a weight: counts and loaded-weight outputs are keras.applications' either way.
BN_MOMENTUM = 0.9

PAPER = "Densely Connected Convolutional Networks"


def _bn_relu(x, name, bn_momentum=BN_MOMENTUM):
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def dense_layer(x, growth_rate: int, name: str, *, bottleneck_width: int = BOTTLENECK_WIDTH,
                bn_momentum: float = BN_MOMENTUM):
    """BN-ReLU-conv1x1-BN-ReLU-conv3x3 producing ``growth_rate`` maps, concatenated to ``x``."""
    y = _bn_relu(x, f"{name}_0", bn_momentum)
    y = conv_bn_act(y, bottleneck_width * growth_rate, 1, bn_momentum=bn_momentum, name=f"{name}_1")
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def dense_block(x, num_layers: int, growth_rate: int, name: str, *,
                bottleneck_width: int = BOTTLENECK_WIDTH, bn_momentum: float = BN_MOMENTUM):
    """``num_layers`` dense layers named ``{name}_block{i}``: channels grow by growth_rate each."""
    for i in range(num_layers):
        x = dense_layer(x, growth_rate, f"{name}_block{i + 1}", bottleneck_width=bottleneck_width,
                        bn_momentum=bn_momentum)
    return x


def transition_block(x, compression: float, name: str, *, bn_momentum: float = BN_MOMENTUM):
    """BN-ReLU-conv1x1 to ``int(channels * compression)`` maps, then 2x2 average pool."""
    x = _bn_relu(x, name, bn_momentum)
    x = layers.Conv2D(int(x.shape[-1] * compression), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _final_size(size: int, stem: str, transitions: int) -> int:
    if stem == "imagenet":
        size = math.ceil(math.ceil(size / 2) / 2)  # 7x7/2 conv (pad 3), 3x3/2 max-pool (pad 1)
    for _ in range(transitions):
        size //= 2
    return size


def min_input_size(stem: str, transitions: int = 3) -> int:
    """Smallest input side for which every feature map keeps at least 1 pixel."""
    n = 1
    while _final_size(n, stem, transitions) < 1:
        n += 1
    return n


def densenet(
    blocks=DENSENET_SPECS[121],
    *,
    input_shape=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "densenet",
    growth_rate: int = GROWTH_RATE,
    compression: float = COMPRESSION,
    stem: str = "auto",
    bn_momentum: float = BN_MOMENTUM,
) -> keras.Model:
    """Build a DenseNet-BC with dense layers per block ``blocks`` (see the module docstring).

    Args:
        blocks: dense layers per block, e.g. ``DENSENET_SPECS[121]``.
        growth_rate: maps added by each dense layer (32 for DenseNet-121); the stem has
            2 x growth_rate filters and each bottleneck 4 x growth_rate.
        compression: transition channel factor in (0, 1].
        stem: ``"auto"`` (CIFAR stem below 64 px), ``"imagenet"`` or ``"cifar"``.
        bn_momentum: BatchNormalization momentum (0.9; keras.applications uses 0.99).
    """
    check_common_args(name, num_classes=num_classes, include_top=include_top, pooling=pooling)
    try:
        blocks = tuple(int(b) for b in blocks)
    except (TypeError, ValueError):
        blocks = ()
    if not blocks or any(b < 1 for b in blocks):
        raise ValueError(
            f"{name}: blocks must be a non-empty sequence of positive integers (dense layers "
            f"per block). Received: blocks={blocks!r}"
        )
    if isinstance(growth_rate, bool) or not isinstance(growth_rate, int) or growth_rate < 1:
        raise ValueError(
            f"{name}: growth_rate must be a positive integer. Received: growth_rate={growth_rate!r}"
        )
    if isinstance(compression, bool) or not isinstance(compression, (int, float)) or not 0 < compression <= 1:
        raise ValueError(
            f"{name}: compression must be in (0, 1]. Received: compression={compression!r}"
        )
    if isinstance(bn_momentum, bool) or not isinstance(bn_momentum, (int, float)) or not 0 <= bn_momentum < 1:
        raise ValueError(
            f"{name}: bn_momentum must be in [0, 1). Received: bn_momentum={bn_momentum!r}"
        )
    if stem not in STEMS:
        raise ValueError(
            f"{name}: stem must be one of {', '.join(repr(s) for s in STEMS)}. Received: stem={stem!r}"
        )
    transitions = len(blocks) - 1
    if stem == "auto":
        min_size = min_input_size("cifar", transitions)
        shape = resolve_input_shape(name, input_shape, default=(224, 224, 3), min_size=min_size)
        stem = "cifar" if min(shape[0], shape[1]) < SMALL_INPUT_THRESHOLD else "imagenet"
    else:
        min_size = min_input_size(stem, transitions)
        shape = resolve_input_shape(name, input_shape, default=(224, 224, 3), min_size=min_size)

    inputs = model_input(shape, name)
    stem_filters = 2 * growth_rate
    if stem == "cifar":
        x = conv_bn_act(inputs, stem_filters, 3, bn_momentum=bn_momentum, name=f"{name}_conv1")
    else:
        x = layers.ZeroPadding2D(3, name=f"{name}_conv1_pad")(inputs)
        x = conv_bn_act(x, stem_filters, 7, strides=2, padding="valid", bn_momentum=bn_momentum,
                        name=f"{name}_conv1")
        x = layers.ZeroPadding2D(1, name=f"{name}_pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool1")(x)
    for i, num_layers in enumerate(blocks):
        x = dense_block(x, num_layers, growth_rate, f"{name}_conv{i + 2}", bn_momentum=bn_momentum)
        if i < transitions:
            x = transition_block(x, compression, f"{name}_pool{i + 2}", bn_momentum=bn_momentum)
    x = _bn_relu(x, name, bn_momentum)
    outputs = gap_classifier(
        x, include_top=include_top, pooling=pooling, num_classes=num_classes,
        classifier_activation=classifier_activation, name=name,
    )
    return keras.Model(inputs, outputs, name=name)


@register_model(
    family="densenet", paper=PAPER, year=2017, min_input_size=MIN_INPUT_SIZE,
    reference="keras.applications.DenseNet121: 8,062,504 params (torchvision densenet121: "
              "7,978,856 = our trainable count; the rest are BN moving statistics)",
)
def densenet121(**kwargs) -> keras.Model:
    """DenseNet-121 (growth 32, blocks 6-12-24-16); keywords of :func:`densenet` except blocks."""
    kwargs.setdefault("name", "densenet121")
    return densenet(DENSENET_SPECS[121], **kwargs)
