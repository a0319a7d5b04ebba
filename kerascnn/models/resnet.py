"""ResNet-18/34/50/101 (He et al., 2015) and SE-ResNet-18/50 (Hu et al., 2018).

Spec (``RESNET_SPECS``): a block type and the number of blocks in each of the four stages
``conv2_x .. conv5_x`` (64, 128, 256, 512 filters; bottleneck blocks output 4x that). The
first block of stages 3-5 halves the resolution; a block gets a projection shortcut
(1x1 conv + BN, ``_0_``) when it changes resolution or channels, otherwise the identity.

Two styles (``style=``), same graph shape, different details:

``"torchvision"`` (default): ResNet "v1.5", what torchvision and timm build and benchmark.
    The stride of a bottleneck block sits in its 3x3 conv, convolutions have no bias, BN
    epsilon 1e-5 and momentum 0.9 (PyTorch's momentum=0.1). Strided 3x3 convs are padded by
    1 on every side (PyTorch's padding, not Keras's asymmetric "same"). Canonical trainable
    parameter counts at 224x224x3/1000 equal torchvision's: resnet18 11,689,512, resnet34
    21,797,672, resnet50 25,557,032, resnet101 44,549,160. Keras ``count_params()`` is larger
    by 2 x (sum of BN channels): the moving mean/variance, which PyTorch keeps as buffers
    and does not count as parameters.
``"keras"``: exactly ``keras.applications.ResNet50``/``ResNet101`` (ResNet v1): the stride
    of a bottleneck block sits in its first 1x1 conv, convs have a bias, BN epsilon
    1.001e-5, momentum 0.99. ``count_params()`` equals keras.applications' (ResNet50:
    25,636,712; ResNet101: 44,707,176) and the layer names (after the ``f"{name}_"``
    prefix) are theirs, so their weights load layer by layer and give identical outputs.

Blocks: :func:`kerascnn.blocks.basic_block` and :func:`kerascnn.blocks.bottleneck_block`
(the public ``ResidualBasicBlock`` / ``ResidualBottleneckBlock`` layers are made from them).

SE-ResNet (``se=True``; ``seresnet18``, ``seresnet50``): a squeeze-and-excitation block on
the residual branch after its last BN, before the addition, reduction ratio 16 (the
paper's SE-ResNet module). seresnet50 has timm's ``seresnet50`` count, 28,088,024 trainable
parameters. For seresnet18 the paper's ratio gives 4 SE channels in the 64-filter stage
and 11,778,592 trainable parameters; timm's ``seresnet18`` rounds SE channels up to a
multiple of 8 (``se_divisor=8`` reproduces it: 11,779,624). Bottleneck stages are
unaffected (256/16 = 16 is already a multiple of 8).

Small inputs (``stem="auto"``, the default): below 64 pixels (height or width) the
ImageNet stem (7x7 stride-2 conv + 3x3 stride-2 max-pool, a 4x reduction) is replaced by
the CIFAR-style stem of He et al.'s CIFAR experiments: one 3x3 stride-1 conv, no pooling.
A 32x32 input then reaches stage 5 at 4x4 (28x28: 4x4 too) instead of 1x1. Every strided
layer rounds up (ceil(n/2)), so no feature map ever reaches size 0; inputs must be at least
8x8 (``MIN_INPUT_SIZE``). ``stem="imagenet"`` or ``stem="cifar"`` forces a stem.

``width`` scales every filter count (stem, stages, SE) for cheap experiments; 1.0 is the
paper's network.
"""

from __future__ import annotations

import keras
from keras import layers

from kerascnn import checks
from kerascnn.blocks import basic_block, bottleneck_block, conv_bn_act
from kerascnn.blocks.defaults import BN_EPSILON, BN_MOMENTUM, KERAS_BN_EPSILON
from kerascnn.errors import ArgumentError
from kerascnn.models._common import (
    common_args,
    gap_classifier,
    model_input,
    plan_side,
    requested_shape,
    resolve_input_shape,
    scaled,
)
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant
from kerascnn.models.weights import ImagenetFile, applications_file

# depth -> (block type, blocks per stage conv2_x..conv5_x)   (He et al. 2015, Table 1)
RESNET_SPECS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
}
STAGE_FILTERS = (64, 128, 256, 512)
STEM_FILTERS = 64
BOTTLENECK_EXPANSION = 4
SE_REDUCTION = 16

# style -> conv bias and BatchNormalization settings of every conv (blocks and stem)
STYLES = {
    "torchvision": {"use_bias": False, "bn_epsilon": BN_EPSILON, "bn_momentum": BN_MOMENTUM},
    "keras": {"use_bias": True, "bn_epsilon": KERAS_BN_EPSILON, "bn_momentum": 0.99},
}
STEMS = ("auto", "imagenet", "cifar")
SMALL_INPUT_THRESHOLD = 64  # below this (height or width) stem="auto" picks the CIFAR stem
MIN_INPUT_SIZE = 8

PAPER = "Deep Residual Learning for Image Recognition"
SE_PAPER = "Squeeze-and-Excitation Networks"

# trainable parameters at 224x224x3/1000 (torchvision / timm count nn.Parameters only)
REFERENCE_TRAINABLE = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "seresnet18": 11_778_592,
    "seresnet50": 28_088_024,
}


def _stem(x, filters, stem, unit, name):
    if stem == "cifar":
        return conv_bn_act(x, filters, 3, name=f"{name}_conv1", **unit)
    x = conv_bn_act(x, filters, 7, strides=2, padding=3, name=f"{name}_conv1", **unit)
    x = layers.ZeroPadding2D(1, name=f"{name}_pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name=f"{name}_pool1_pool")(x)


def resolve_stem(stem: str, shape, model_name: str) -> str:
    """``"auto"`` -> ``"cifar"`` below SMALL_INPUT_THRESHOLD pixels, else ``"imagenet"``."""
    checks.choice(*STEMS)(model_name, "stem", stem)
    if stem == "auto":
        return "cifar" if plan_side(shape, (224, 224)) < SMALL_INPUT_THRESHOLD else "imagenet"
    return stem


def build_resnet(
    depth: int = 50,
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str | None = None,
    style: str = "torchvision",
    se: bool = False,
    se_reduction: int = SE_REDUCTION,
    se_divisor: int = 1,
    width: float = 1.0,
    stem: str = "auto",
) -> keras.Model:
    """Build a ResNet of ``depth`` in ``RESNET_SPECS`` (see the module docstring).

    Args:
        style: ``"torchvision"`` (v1.5, default) or ``"keras"`` (keras.applications v1).
        se: add squeeze-and-excitation to every block (SE-ResNet).
        se_reduction, se_divisor: SE width ``channels / se_reduction`` rounded to a
            multiple of ``se_divisor`` (1: the paper; 8: timm).
        width: multiplier on every filter count.
        stem: ``"auto"`` (CIFAR stem below 64 px), ``"imagenet"`` or ``"cifar"``.
    """
    checks.choice(*RESNET_SPECS)("resnet", "depth", depth)
    name = name or (f"seresnet{depth}" if se else f"resnet{depth}")
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    unit = STYLES[checks.choice(*STYLES)(name, "style", style)]
    checks.boolean(name, "se", se)
    width = checks.positive_number(name, "width", width)
    checks.positive_int(name, "se_reduction", se_reduction)
    checks.positive_int(name, "se_divisor", se_divisor)
    shape = resolve_input_shape(
        name, input_shape, input_tensor=input_tensor, default=(224, 224, 3), min_size=MIN_INPUT_SIZE
    )
    stem = resolve_stem(stem, shape, name)
    block_type, counts = RESNET_SPECS[depth]
    if block_type == "bottleneck":
        block_fn, extra = bottleneck_block, {"stride_in_1x1": style == "keras"}
    else:
        block_fn, extra = basic_block, {}
    se_kw = {"se_ratio": 1 / se_reduction, "se_divisor": se_divisor} if se else {}

    inputs = model_input(shape, name, input_tensor)
    x = _stem(inputs, scaled(STEM_FILTERS, width), stem, unit, name)
    for stage, (filters, blocks) in enumerate(zip(STAGE_FILTERS, counts)):
        for b in range(blocks):
            x = block_fn(
                x,
                scaled(filters, width),
                2 if (stage > 0 and b == 0) else 1,
                name=f"{name}_conv{stage + 2}_block{b + 1}",
                **unit,
                **extra,
                **se_kw,
            )
    outputs = gap_classifier(x, top)
    return top.model(inputs, outputs)


_TORCH_NOTE = "trainable params at 224x224x3/1000 (Keras count_params adds BN moving stats)"


def _imagenet(key: str):
    def weight_file(kwargs) -> ImagenetFile:
        if kwargs["style"] != "keras" or kwargs["width"] != 1.0:
            raise ArgumentError(
                f"{key}: weights='imagenet' loads keras.applications' {key}, so it needs "
                f"style='keras' (and width=1.0). Received: style={kwargs['style']!r}, "
                f"width={kwargs['width']!r}"
            )
        shape = requested_shape(kwargs, (224, 224, 3))
        if resolve_stem(kwargs["stem"], shape, key) != "imagenet":
            raise ArgumentError(
                f"{key}: weights='imagenet' needs the ImageNet stem (7x7/2 conv + max-pool): "
                f"inputs of at least {SMALL_INPUT_THRESHOLD} px, or stem='imagenet'. "
                f"Received: input_shape={shape}, stem={kwargs['stem']!r}"
            )
        suffix = "" if kwargs["include_top"] else "_notop"
        return applications_file("resnet", f"{key}_weights_tf_dim_ordering_tf_kernels{suffix}.h5")

    return weight_file


def _register(depth: int, se: bool, reference: str):
    key = f"{'se' if se else ''}resnet{depth}"
    doc = f"{'SE-' if se else ''}ResNet-{depth} (:func:`build_resnet`; {reference})."
    return register_model(
        family="seresnet" if se else "resnet",
        paper=SE_PAPER if se else PAPER,
        year=2018 if se else 2015,
        min_input_size=MIN_INPUT_SIZE,
        reference=reference,
    )(
        variant(
            build_resnet,
            key,
            depth,
            se=se,
            doc=doc,
            imagenet=_imagenet(key) if key in ("resnet50", "resnet101") else None,
        )
    )


resnet18 = _register(18, False, f"torchvision resnet18: 11,689,512 {_TORCH_NOTE}")
resnet34 = _register(34, False, f"torchvision resnet34: 21,797,672 {_TORCH_NOTE}")
resnet50 = _register(
    50,
    False,
    f"torchvision resnet50: 25,557,032 {_TORCH_NOTE}; style='keras' = "
    "keras.applications.ResNet50: 25,636,712",
)
resnet101 = _register(
    101,
    False,
    f"torchvision resnet101: 44,549,160 {_TORCH_NOTE}; style='keras' = "
    "keras.applications.ResNet101: 44,707,176",
)
seresnet18 = _register(
    18,
    True,
    "derived: torchvision resnet18 + SE r=16 = 11,778,592 trainable params "
    "(timm seresnet18, SE width rounded to 8: 11,779,624 with se_divisor=8)",
)
seresnet50 = _register(50, True, "timm seresnet50: 28,088,024 trainable params at 224x224x3/1000")
