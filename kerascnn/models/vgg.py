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

Each stage is :func:`kerascnn.blocks.vgg_block` (the public ``VGGBlock`` layer is made from it).
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

import keras

from kerascnn import checks
from kerascnn.blocks import vgg_block
from kerascnn.models._common import (
    common_args,
    dense_head,
    model_input,
    resolve_input_shape,
    scaled,
)
from kerascnn.models._registry import register_alias, register_model
from kerascnn.models._variant import variant
from kerascnn.models.weights import ImagenetFile, applications_file

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
check_fc_units = checks.optional(checks.positive_int)


def build_vgg(
    spec,
    *,
    input_shape=None,
    input_tensor=None,
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
    """Build a VGG from a ``(convs, filters)`` stage table (see the module docstring)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.boolean(name, "batch_norm", batch_norm)
    width = checks.positive_number(name, "width", width)
    dropout = checks.rate(name, "dropout", dropout)
    check_fc_units(name, "fc_units", fc_units)
    shape = resolve_input_shape(
        name,
        input_shape,
        input_tensor=input_tensor,
        default=(224, 224, 3),
        min_size=MIN_INPUT_SIZE,
        static=top.include_top,
    )
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    for i, (convs, filters) in enumerate(spec, start=1):
        # small inputs: no pooling once the map is 1 pixel high or wide
        pool = all(d is None or d >= 2 for d in x.shape[1:3])
        x = vgg_block(
            x, scaled(filters, width), convs, use_bn=batch_norm, pool=pool, name=f"{name}_block{i}"
        )
    if not top.include_top:
        return top.model(inputs, top.pool(x))
    units = fc_units or min(scaled(FC_UNITS, width), x.shape[1] * x.shape[2] * x.shape[3])
    x = dense_head(x, (units, units), top, dropout=dropout)
    return top.model(inputs, x)


def _imagenet(key: str):
    def weight_file(kwargs) -> ImagenetFile:
        suffix = "" if kwargs["include_top"] else "_notop"
        return applications_file(key, f"{key}_weights_tf_dim_ordering_tf_kernels{suffix}.h5")

    return weight_file


def _register(key: str):
    batch_norm = key.endswith("_bn")
    if key in ("vgg16", "vgg19"):
        source = f"keras.applications.{key.upper()}(weights=None)"
    else:
        source = f"torchvision.models.{key}"
    reference = f"{source}: {REFERENCE_PARAMS[key]:,} parameters at 224x224x3/1000"
    if batch_norm:
        reference += " (trainable; Keras adds the BN moving mean/variance as non-trainable)"
    doc = f"{key.upper().replace('_BN', ' with batch normalization')} ({reference})."
    return register_model(
        family="vgg",
        paper=PAPER,
        year=2014,
        input_shape=(224, 224, 3),
        num_classes=1000,
        reference=reference,
        min_input_size=MIN_INPUT_SIZE,
    )(
        variant(
            build_vgg,
            key,
            SPECS[key.removesuffix("_bn")],
            batch_norm=batch_norm,
            doc=doc,
            imagenet=_imagenet(key) if key in ("vgg16", "vgg19") else None,
        )
    )


vgg11 = _register("vgg11")
vgg13 = _register("vgg13")
vgg16 = _register("vgg16")
vgg19 = _register("vgg19")
vgg11_bn = _register("vgg11_bn")
vgg13_bn = _register("vgg13_bn")
vgg16_bn = _register("vgg16_bn")
vgg19_bn = _register("vgg19_bn")
register_alias("vgg", "vgg11")
