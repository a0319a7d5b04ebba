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

import math

import keras
from keras import layers

from kerascnn.models._common import (
    check_common_args,
    gap_classifier,
    model_input,
    resolve_input_shape,
)
from kerascnn.models.blocks import conv_bn_act, se_block
from kerascnn.registry import register_model

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

# style -> conv bias, BN epsilon, BN momentum (Keras convention), stride in the 3x3 conv
STYLES = {
    "torchvision": {"use_bias": False, "bn_epsilon": 1e-5, "bn_momentum": 0.9, "stride_in_3x3": True},
    "keras": {"use_bias": True, "bn_epsilon": 1.001e-5, "bn_momentum": 0.99, "stride_in_3x3": False},
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


def _style(style: str) -> dict:
    if style not in STYLES:
        raise ValueError(
            f"ResNet style must be one of {', '.join(repr(s) for s in STYLES)}. "
            f"Received: style={style!r}"
        )
    return STYLES[style]


def se_channels(channels: int, reduction: int = SE_REDUCTION, divisor: int = 1) -> int:
    """SE bottleneck width: ``channels / reduction``, rounded to a multiple of ``divisor``.

    ``divisor=1`` is the paper (floor, at least 1); ``divisor=8`` is timm's rounding
    (``make_divisible(channels / reduction, 8)``: nearest multiple, at least 8).
    """
    if divisor <= 1:
        return max(1, channels // reduction)
    v = channels / reduction
    return max(divisor, int(v + divisor / 2) // divisor * divisor)


def _conv_bn(x, filters, kernel, stride, cfg, activation, name):
    """conv_bn_act with PyTorch/keras.applications padding for strided k>1 convs (k//2 each side)."""
    padding = "same"
    if stride > 1 and kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        padding = "valid"
    return conv_bn_act(
        x, filters, kernel, strides=stride, padding=padding, use_bias=cfg["use_bias"],
        activation=activation, bn_epsilon=cfg["bn_epsilon"], bn_momentum=cfg["bn_momentum"],
        name=name,
    )


def _shortcut(x, filters, stride, cfg, name):
    if stride == 1 and x.shape[-1] == filters:
        return x
    return _conv_bn(x, filters, 1, stride, cfg, None, f"{name}_0")


def _merge(shortcut, y, name, se_filters):
    if se_filters:
        y = se_block(y, se_filters, name=f"{name}_se")
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def basic_block(x, filters, stride, name, *, style="torchvision", se_filters=0):
    """Two 3x3 conv-BN (ReLU between), optional SE, plus the shortcut, then ReLU.

    Layers: ``{name}_1_*`` (3x3, carries the stride), ``{name}_2_*`` (3x3), ``{name}_0_*``
    (projection shortcut when needed), ``{name}_se_*``, ``{name}_add``, ``{name}_out``.
    """
    cfg = _style(style)
    shortcut = _shortcut(x, filters, stride, cfg, name)
    y = _conv_bn(x, filters, 3, stride, cfg, "relu", f"{name}_1")
    y = _conv_bn(y, filters, 3, 1, cfg, None, f"{name}_2")
    return _merge(shortcut, y, name, se_filters)


def bottleneck_block(x, filters, stride, name, *, style="torchvision", se_filters=0):
    """1x1 (filters) -> 3x3 (filters) -> 1x1 (4 x filters), optional SE, shortcut, ReLU.

    ``style="torchvision"`` strides the 3x3 conv (v1.5); ``style="keras"`` strides the first
    1x1 conv (v1, keras.applications). Layer names follow keras.applications
    (``_0`` shortcut, ``_1``/``_2``/``_3`` convs, ``_add``, ``_out``).
    """
    cfg = _style(style)
    out_filters = BOTTLENECK_EXPANSION * filters
    shortcut = _shortcut(x, out_filters, stride, cfg, name)
    s1, s3 = (1, stride) if cfg["stride_in_3x3"] else (stride, 1)
    y = _conv_bn(x, filters, 1, s1, cfg, "relu", f"{name}_1")
    y = _conv_bn(y, filters, 3, s3, cfg, "relu", f"{name}_2")
    y = _conv_bn(y, out_filters, 1, 1, cfg, None, f"{name}_3")
    return _merge(shortcut, y, name, se_filters)


BLOCKS = {"basic": basic_block, "bottleneck": bottleneck_block}


def _stem(x, filters, stem, cfg, name):
    if stem == "cifar":
        return _conv_bn(x, filters, 3, 1, cfg, "relu", f"{name}_conv1")
    x = _conv_bn(x, filters, 7, 2, cfg, "relu", f"{name}_conv1")
    x = layers.ZeroPadding2D(1, name=f"{name}_pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name=f"{name}_pool1_pool")(x)


def resolve_stem(stem: str, shape, model_name: str) -> str:
    """``"auto"`` -> ``"cifar"`` below SMALL_INPUT_THRESHOLD pixels, else ``"imagenet"``."""
    if stem not in STEMS:
        raise ValueError(
            f"{model_name}: stem must be one of {', '.join(repr(s) for s in STEMS)}. "
            f"Received: stem={stem!r}"
        )
    if stem == "auto":
        return "cifar" if min(shape[0], shape[1]) < SMALL_INPUT_THRESHOLD else "imagenet"
    return stem


def _scaled(filters: int, width: float) -> int:
    return max(1, int(round(filters * width)))


def resnet(
    depth: int = 50,
    *,
    input_shape=None,
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
    if depth not in RESNET_SPECS:
        raise ValueError(
            f"ResNet depth must be one of {sorted(RESNET_SPECS)}. Received: depth={depth!r}"
        )
    name = name or (f"seresnet{depth}" if se else f"resnet{depth}")
    cfg = _style(style)
    check_common_args(name, num_classes=num_classes, include_top=include_top, pooling=pooling)
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width) or width <= 0:
        raise ValueError(f"{name}: width must be a positive number. Received: width={width!r}")
    if se and (isinstance(se_reduction, bool) or not isinstance(se_reduction, int) or se_reduction < 1):
        raise ValueError(
            f"{name}: se_reduction must be a positive integer. Received: se_reduction={se_reduction!r}"
        )
    if isinstance(se_divisor, bool) or not isinstance(se_divisor, int) or se_divisor < 1:
        raise ValueError(
            f"{name}: se_divisor must be a positive integer. Received: se_divisor={se_divisor!r}"
        )
    shape = resolve_input_shape(name, input_shape, default=(224, 224, 3), min_size=MIN_INPUT_SIZE)
    stem = resolve_stem(stem, shape, name)
    block_type, counts = RESNET_SPECS[depth]
    block_fn = BLOCKS[block_type]
    expansion = BOTTLENECK_EXPANSION if block_type == "bottleneck" else 1

    inputs = model_input(shape, name)
    x = _stem(inputs, _scaled(STEM_FILTERS, width), stem, cfg, name)
    for stage, (filters, blocks) in enumerate(zip(STAGE_FILTERS, counts)):
        filters = _scaled(filters, width)
        se_filters = se_channels(filters * expansion, se_reduction, se_divisor) if se else 0
        for b in range(blocks):
            stride = 2 if (stage > 0 and b == 0) else 1
            x = block_fn(
                x, filters, stride, f"{name}_conv{stage + 2}_block{b + 1}",
                style=style, se_filters=se_filters,
            )
    outputs = gap_classifier(
        x, include_top=include_top, pooling=pooling, num_classes=num_classes,
        classifier_activation=classifier_activation, name=name,
    )
    return keras.Model(inputs, outputs, name=name)


def _builder(depth: int, se: bool, model_name: str):
    def build(**kwargs) -> keras.Model:
        kwargs.setdefault("name", model_name)
        kwargs.setdefault("se", se)
        return resnet(depth, **kwargs)

    build.__name__ = model_name
    build.__doc__ = (
        f"{'SE-' if se else ''}ResNet-{depth} (see kerascnn.models.resnet). Keywords: input_shape, "
        "num_classes, include_top, pooling, classifier_activation, name, style, se, "
        "se_reduction, se_divisor, width, stem."
    )
    return build


_TORCH_NOTE = "trainable params at 224x224x3/1000 (Keras count_params adds BN moving stats)"

resnet18 = register_model(
    family="resnet", paper=PAPER, year=2015, min_input_size=MIN_INPUT_SIZE,
    reference=f"torchvision resnet18: 11,689,512 {_TORCH_NOTE}",
)(_builder(18, False, "resnet18"))
resnet34 = register_model(
    family="resnet", paper=PAPER, year=2015, min_input_size=MIN_INPUT_SIZE,
    reference=f"torchvision resnet34: 21,797,672 {_TORCH_NOTE}",
)(_builder(34, False, "resnet34"))
resnet50 = register_model(
    family="resnet", paper=PAPER, year=2015, min_input_size=MIN_INPUT_SIZE,
    reference=f"torchvision resnet50: 25,557,032 {_TORCH_NOTE}; style='keras' = "
              "keras.applications.ResNet50: 25,636,712",
)(_builder(50, False, "resnet50"))
resnet101 = register_model(
    family="resnet", paper=PAPER, year=2015, min_input_size=MIN_INPUT_SIZE,
    reference=f"torchvision resnet101: 44,549,160 {_TORCH_NOTE}; style='keras' = "
              "keras.applications.ResNet101: 44,707,176",
)(_builder(101, False, "resnet101"))
seresnet18 = register_model(
    family="seresnet", paper=SE_PAPER, year=2018, min_input_size=MIN_INPUT_SIZE,
    reference="derived: torchvision resnet18 + SE r=16 = 11,778,592 trainable params "
              "(timm seresnet18, SE width rounded to 8: 11,779,624 with se_divisor=8)",
)(_builder(18, True, "seresnet18"))
seresnet50 = register_model(
    family="seresnet", paper=SE_PAPER, year=2018, min_input_size=MIN_INPUT_SIZE,
    reference="timm seresnet50: 28,088,024 trainable params at 224x224x3/1000",
)(_builder(50, True, "seresnet50"))
