"""DenseNet-121 (Huang et al., 2017): DenseNet-BC, growth rate 32, blocks (6, 12, 24, 16).

Spec (``DENSENET_SPECS``): the number of dense layers in each of four dense blocks. A dense
layer is pre-activation BN-ReLU-conv1x1 (``BOTTLENECK_WIDTH`` x growth = 128 filters)
-BN-ReLU-conv3x3 (growth = 32 filters), whose output is concatenated to its input. Between
blocks a transition layer (BN-ReLU-conv1x1 to ``COMPRESSION`` x channels, 2x2 average pool)
halves the resolution and the channels. A final BN-ReLU precedes the head.

Blocks: :func:`kerascnn.blocks.dense_block` and :func:`kerascnn.blocks.transition_block`
(the public ``DenseBlock`` / ``TransitionBlock`` layers are made from them).

Fidelity: the layout, BN epsilon (1.001e-5) and layer names (after the ``f"{name}_"``
prefix) are ``keras.applications.DenseNet121``'s, so at 224x224x3/1000 ``count_params()``
is exactly its 8,062,504 and its weights load layer by layer with identical outputs.
torchvision's ``densenet121`` reports 7,978,856: the same network. The 83,648 difference
is the BatchNormalization moving mean and variance (2 x 41,824 BN channels), which Keras
counts as (non-trainable) weights and PyTorch keeps as buffers outside ``parameters()``;
our trainable count is 7,978,856. One deliberate difference: BN momentum defaults to 0.9
(PyTorch's 0.1; keras.applications: 0.99, ``bn_momentum=0.99``), see
:mod:`kerascnn.blocks.defaults`; it is not a weight, so counts and outputs with loaded weights are unchanged.

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

import keras
from keras import layers

from kerascnn import checks
from kerascnn.blocks import bn_act, conv_bn_act, dense_block, transition_block
from kerascnn.errors import ArgumentError
from kerascnn.geometry import conv_output_size
from kerascnn.models._common import (
    common_args,
    gap_classifier,
    model_input,
    plan_side,
    requested_shape,
    resolve_input_shape,
)
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant
from kerascnn.models.weights import ImagenetFile, applications_file

# depth -> dense layers per block (Huang et al. 2017, Table 1)
DENSENET_SPECS = {
    121: (6, 12, 24, 16),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
}
GROWTH_RATE = 32
COMPRESSION = 0.5
STEMS = ("auto", "imagenet", "cifar")
SMALL_INPUT_THRESHOLD = 64
MIN_INPUT_SIZE = 8

PAPER = "Densely Connected Convolutional Networks"


def _final_size(size: int, stem: str, transitions: int) -> int:
    if stem == "imagenet":  # 7x7/2 conv (pad 3), 3x3/2 max-pool (pad 1)
        size = conv_output_size(conv_output_size(size, 7, 2, 3), 3, 2, 1)
    for _ in range(transitions):
        size //= 2  # 2x2/2 average pool, "valid"
    return size


def min_input_size(stem: str, transitions: int = 3) -> int:
    """Smallest input side for which every feature map keeps at least 1 pixel."""
    n = 1
    while _final_size(n, stem, transitions) < 1:
        n += 1
    return n


def build_densenet(
    blocks=DENSENET_SPECS[121],
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "densenet",
    growth_rate: int = GROWTH_RATE,
    compression: float = COMPRESSION,
    stem: str = "auto",
    bn_momentum: float = 0.9,
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
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    blocks = checks.int_sequence()(name, "blocks", blocks)
    checks.positive_int(name, "growth_rate", growth_rate)
    checks.ratio(name, "compression", compression)
    checks.momentum(name, "bn_momentum", bn_momentum)
    checks.choice(*STEMS)(name, "stem", stem)
    transitions = len(blocks) - 1
    min_size = min_input_size("cifar" if stem == "auto" else stem, transitions)
    shape = resolve_input_shape(
        name, input_shape, input_tensor=input_tensor, default=(224, 224, 3), min_size=min_size
    )
    if stem == "auto":
        stem = "cifar" if plan_side(shape, (224, 224)) < SMALL_INPUT_THRESHOLD else "imagenet"
    bn = dict(bn_momentum=bn_momentum)

    inputs = model_input(shape, name, input_tensor)
    if stem == "cifar":
        x = conv_bn_act(inputs, 2 * growth_rate, 3, name=f"{name}_conv1", **bn)
    else:
        x = conv_bn_act(
            inputs, 2 * growth_rate, 7, strides=2, padding=3, name=f"{name}_conv1", **bn
        )
        x = layers.ZeroPadding2D(1, name=f"{name}_pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool1")(x)
    for i, num_layers in enumerate(blocks):
        x = dense_block(x, num_layers, growth_rate, name=f"{name}_conv{i + 2}", **bn)
        if i < transitions:
            x = transition_block(x, compression, name=f"{name}_pool{i + 2}", **bn)
    x = bn_act(x, name=name, **bn)
    outputs = gap_classifier(x, top)
    return top.model(inputs, outputs)


def _imagenet(kwargs) -> ImagenetFile:
    shape = requested_shape(kwargs, (224, 224, 3))
    stem = kwargs["stem"]
    if stem == "cifar" or (stem == "auto" and plan_side(shape, (224, 224)) < SMALL_INPUT_THRESHOLD):
        raise ArgumentError(
            f"densenet121: weights='imagenet' needs the ImageNet stem (7x7/2 conv + max-pool): "
            f"inputs of at least {SMALL_INPUT_THRESHOLD} px, or stem='imagenet'. "
            f"Received: input_shape={shape}, stem={stem!r}"
        )
    suffix = "" if kwargs["include_top"] else "_notop"
    return applications_file(
        "densenet", f"densenet121_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    )


densenet121 = register_model(
    family="densenet",
    paper=PAPER,
    year=2017,
    min_input_size=MIN_INPUT_SIZE,
    reference="keras.applications.DenseNet121: 8,062,504 params (torchvision densenet121: "
    "7,978,856 = our trainable count; the rest are BN moving statistics)",
)(
    variant(
        build_densenet,
        "densenet121",
        DENSENET_SPECS[121],
        imagenet=_imagenet,
        doc=(
            "DenseNet-121 (growth 32, blocks 6-12-24-16); the keywords of :func:`build_densenet`."
        ),
    )
)
