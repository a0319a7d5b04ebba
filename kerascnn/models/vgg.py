"""VGG (Simonyan & Zisserman, 2014): stacks of 3x3 convolutions, each stage closed by a 2x2 max-pool.

Spec tables (d2l style): one ``(convs, filters)`` pair per stage, read straight from Table 1 of
the paper (configurations A, B, D, E)::

    vgg11  ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
    vgg13  ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512))
    vgg16  ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
    vgg19  ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))

Each conv is 3x3, stride 1, "same" padding, with bias, then ReLU; each stage ends in a 2x2/2
max-pool. The classifier is flatten -> FC 4096 -> ReLU -> dropout -> FC 4096 -> ReLU -> dropout
-> FC num_classes (the paper's; torchvision's order). Layer names follow keras.applications
(``{name}_block{i}_conv{j}``, ``{name}_fc1``, ``{name}_fc2``, ``{name}_predictions``), so
keras.applications.VGG16/VGG19 weights load layer by layer (tested).

Fidelity at 224x224x3 / 1000 classes (tested exactly):

    vgg11 132,863,336   vgg13 133,047,848   (torchvision.models.vgg11 / vgg13 num_params)
    vgg16 138,357,544   vgg19 143,667,240   (keras.applications.VGG16 / VGG19(weights=None))

``*_bn`` variants (torchvision's ``vgg*_bn``): conv (with bias) -> BatchNorm -> ReLU. Trainable
parameters equal torchvision's ``num_params`` exactly (vgg11_bn 132,868,840, vgg13_bn
133,053,736, vgg16_bn 138,365,992, vgg19_bn 143,678,248): the BN scale and offset are 2 per
channel. Keras also counts BN's moving mean and variance, as non-trainable weights (torchvision
keeps them as buffers, outside ``parameters()``), so ``count_params()`` is larger by another 2
per conv channel (e.g. vgg16_bn: 8,448 non-trainable, 138,374,440 in all). BN uses
torchvision's epsilon 1e-5 and momentum 0.1 (Keras momentum 0.9).

Dropout: the paper and torchvision use dropout 0.5 before FC2 and FC3; keras.applications has
none. ``dropout=0.5`` by default (no parameters; ``dropout=0.0`` gives keras.applications' graph).

Small inputs (adapted automatically from ``input_shape``):

- A stage's max-pool is skipped once the map is already 1 pixel high or wide, so the map never
  reaches 0x0. From 32 px up all five pools run (224 -> 7x7, 32 -> 1x1); at 16-31 px the fifth
  is skipped (28 -> 14 -> 7 -> 3 -> 1, then 1x1); 16 px is the minimum (``min_input_size``).
- The classifier is sized for the final map: the hidden FC width is
  ``min(4096 * width, flattened features)``, e.g. 4096 at 224 (7x7x512 = 25,088 features), 512
  at 28-63 px (1x1x512, the classic CIFAR VGG head 512-512-classes), 2048 at 64 px.
  ``fc_units=N`` overrides it (``fc_units=4096`` gives keras.applications' head at any size).

Knobs: ``width`` multiplies every conv's filters and the 4096 (``vgg11(width=0.25)``: 16-32-64-
128-128 filters); ``batch_norm``; ``dropout``; ``fc_units``.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from kerascnn.models._common import check_common_args, global_pool, model_input, resolve_input_shape
from kerascnn.models.blocks import conv_bn_act
from kerascnn.registry import register_alias, register_model

# (number of 3x3 convs, filters) per stage: Table 1 of the paper, configurations A, B, D, E.
SPECS = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}
FC_UNITS = 4096
MIN_INPUT_SIZE = 16

PAPER = "Very Deep Convolutional Networks for Large-Scale Image Recognition"

# Reference parameter counts at 224x224x3 / 1000 classes (trainable; see the module docstring).
REFERENCE_PARAMS = {
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840,
    "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992,
    "vgg19_bn": 143_678_248,
}


# ----------------------------------------------------------------- knob checks (shared by the
# classic families: alexnet, nin, googlenet import these)


def _check_width(model_name: str, width) -> float:
    """``width`` multiplies channel counts; it must be a positive finite number."""
    if (
        isinstance(width, bool)
        or not isinstance(width, (int, float))
        or not math.isfinite(width)
        or width <= 0
    ):
        raise ValueError(
            f"{model_name}: width must be a positive number (1.0 = the paper's channel counts, "
            f"e.g. 0.25 for a quarter). Received: width={width!r}"
        )
    return float(width)


def _check_rate(model_name: str, key: str, value) -> float:
    """A dropout rate in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{model_name}: {key} must be a number in [0, 1). Received: {key}={value!r}")
    return float(value)


def _check_choice(model_name: str, key: str, value, choices) -> None:
    if value not in choices:
        accepted = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{model_name}: {key} must be one of {accepted}. Received: {key}={value!r}")


def _check_units(model_name: str, fc_units) -> None:
    if fc_units is not None and (isinstance(fc_units, bool) or not isinstance(fc_units, int) or fc_units < 1):
        raise ValueError(
            f"{model_name}: fc_units must be None (sized for the final map) or a positive integer. "
            f"Received: fc_units={fc_units!r}"
        )


def _scale(channels: int, width: float, divisor: int = 1) -> int:
    """``channels * width`` rounded to a multiple of ``divisor`` (at least ``divisor``)."""
    return max(divisor, int(round(channels * width / divisor)) * divisor)


# ----------------------------------------------------------------------------------- builder


def _vgg(
    spec,
    *,
    input_shape=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "vgg",
    width: float = 1.0,
    batch_norm: bool = False,
    dropout: float = 0.5,
    fc_units: int | None = None,
) -> keras.Model:
    check_common_args(name, num_classes=num_classes, include_top=include_top, pooling=pooling)
    _check_choice(name, "batch_norm", batch_norm, (False, True))
    width = _check_width(name, width)
    dropout = _check_rate(name, "dropout", dropout)
    _check_units(name, fc_units)
    shape = resolve_input_shape(name, input_shape, default=(224, 224, 3), min_size=MIN_INPUT_SIZE)
    inputs = model_input(shape, name)
    x = inputs
    h, w = shape[0], shape[1]
    filters = shape[2]
    for i, (convs, stage_filters) in enumerate(spec, start=1):
        filters = _scale(stage_filters, width)
        for j in range(1, convs + 1):
            if batch_norm:  # torchvision vgg*_bn: conv (with bias) -> BN -> ReLU
                x = conv_bn_act(
                    x, filters, 3, use_bias=True, bn_epsilon=1e-5, bn_momentum=0.9,
                    name=f"{name}_block{i}_conv{j}",
                )
            else:
                x = layers.Conv2D(
                    filters, 3, padding="same", activation="relu", name=f"{name}_block{i}_conv{j}"
                )(x)
        if h >= 2 and w >= 2:  # small inputs: no pooling once the map is 1 pixel high or wide
            x = layers.MaxPooling2D(2, strides=2, name=f"{name}_block{i}_pool")(x)
            h, w = h // 2, w // 2
    if not include_top:
        return keras.Model(inputs, global_pool(x, pooling, name), name=name)
    units = fc_units or min(_scale(FC_UNITS, width), h * w * filters)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    for k in (1, 2):
        x = layers.Dense(units, activation="relu", name=f"{name}_fc{k}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_dropout{k}")(x)
    x = layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_predictions")(x)
    return keras.Model(inputs, x, name=name)


def _register(variant: str, batch_norm: bool):
    key = f"{variant}_bn" if batch_norm else variant
    if variant in ("vgg16", "vgg19") and not batch_norm:
        source = f"keras.applications.{variant.upper()}(weights=None)"
    else:
        source = f"torchvision.models.{key}"
    reference = f"{source}: {REFERENCE_PARAMS[key]:,} parameters at 224x224x3/1000"
    if batch_norm:
        reference += " (trainable; Keras adds the BN moving mean/variance as non-trainable)"

    def builder(**kwargs) -> keras.Model:
        kwargs.setdefault("name", key)
        if batch_norm:
            kwargs.setdefault("batch_norm", True)
        return _vgg(SPECS[variant], **kwargs)

    builder.__name__ = builder.__qualname__ = key
    builder.__doc__ = (
        f"{variant.upper()}{' with batch normalization' if batch_norm else ''} "
        f"({reference}). Keywords: input_shape, num_classes, include_top, pooling, "
        f"classifier_activation, name, width, batch_norm, dropout, fc_units; small-input "
        f"adaptation in the module docstring."
    )
    return register_model(
        family="vgg", paper=PAPER, year=2014, input_shape=(224, 224, 3), num_classes=1000,
        reference=reference, min_input_size=MIN_INPUT_SIZE,
    )(builder)


vgg11 = _register("vgg11", False)
vgg13 = _register("vgg13", False)
vgg16 = _register("vgg16", False)
vgg19 = _register("vgg19", False)
vgg11_bn = _register("vgg11", True)
vgg13_bn = _register("vgg13", True)
vgg16_bn = _register("vgg16", True)
vgg19_bn = _register("vgg19", True)
register_alias("vgg", "vgg11")
