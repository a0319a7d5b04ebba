"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012), in torchvision's layout or the paper's.

Spec tables: one ``(filters, kernel, stride, groups)`` row per conv, ``"pool"`` for an
overlapping 3x3/2 max-pool::

    torchvision  (64, 11, 4, 1) pool (192, 5, 1, 1) pool (384, 3, 1, 1) (256, 3, 1, 1) (256, 3, 1, 1) pool
    paper        (96, 11, 4, 1) pool (256, 5, 1, 2) pool (384, 3, 1, 1) (384, 3, 1, 2) (256, 3, 1, 2) pool

then dropout -> FC 4096 -> ReLU -> dropout -> FC 4096 -> ReLU -> FC num_classes. Every conv has a
bias and a ReLU; the 11x11/4 conv sees the input zero-padded by 2 (torchvision's ``padding=2``:
224 -> 55 -> 27 -> 27 -> 13 -> 13 -> 6, the map sizes the paper reports).

``variant="torchvision"`` (default): ``torchvision.models.alexnet``, the single-GPU 64-192-384-
256-256 network of Krizhevsky's "One weird trick" (2014): 61,100,840 parameters at 224x224x3 /
1000 classes, exactly (tested).

``variant="paper"``: the 2012 paper's two-GPU network, 96-256-384-384-256, with the GPU split
expressed as ``Conv2D(groups=2)`` on conv2, conv4 and conv5 (the layers whose kernels in the
paper's Figure 2 see only the 48/192 maps on their own GPU; conv3 and the FC layers see both).
Derived count at 224x224x3/1000: 2,334,080 conv + 58,631,144 FC = 60,965,224 (the paper's "60
million parameters"; the same total the BVLC Caffe AlexNet reports). Local response
normalization (no parameters) is left out, as in torchvision; the paper's 224 vs 227 input
inconsistency is resolved by torchvision's padding of 2, which gives the paper's 55x55 map.

torchvision's ``AdaptiveAvgPool2d((6, 6))`` before the classifier: at 224 the map is already
6x6, where that pool is the identity, so no layer is added and the count matches. For larger
inputs the map is average-pooled down to 6x6 (``keras.layers.AdaptiveAveragePooling2D``, the
same bins as torchvision). Smaller maps are *not* upsampled to 6x6 (torchvision replicates
them, feeding the FC layer copies of the same numbers); the classifier is sized for the map
instead: flatten h x w x 256, hidden width ``min(4096 * width, features)`` (``fc_units``
overrides it).

Small inputs (``stem="auto"``, chosen from ``input_shape``): from 63 px (torchvision's
``min_size`` for alexnet) the ImageNet stem above is used. Below 63 px the 11x11/4 conv is
replaced by a 3x3/1 "same" conv with the same number of filters, the rest unchanged:
28x28 -> 28 -> 13 -> 13 -> 6 -> 6 -> 2x2x256, a 1,024-feature classifier (the usual CIFAR /
MNIST AlexNet adaptation: the stride-4 11x11 conv would leave 6x6 after one layer and nothing
after the third pool). The minimum is 15x15 (15 -> 7 -> 3 -> 1 through the three pools).
``stem="imagenet"`` or ``stem="small"`` forces a stem (``"imagenet"`` needs at least 63 px).

Knobs: ``variant``, ``width`` (multiplies conv filters and the 4096; the paper variant rounds to
even counts for its two groups), ``dropout`` (0.5, the paper's and torchvision's), ``stem``,
``fc_units``.
"""

from __future__ import annotations

import keras
from keras import layers

from kerascnn import checks
from kerascnn.errors import ArgumentError
from kerascnn.models._common import (
    common_args,
    dense_head,
    model_input,
    plan_side,
    resolve_input_shape,
    scaled,
)
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant
from kerascnn.models.vgg import FC_UNITS, check_fc_units

# (filters, kernel, stride, groups) per conv; "pool" = MaxPooling2D(3, strides=2), "valid".
SPECS = {
    "torchvision": (
        (64, 11, 4, 1), "pool", (192, 5, 1, 1), "pool",
        (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1), "pool",
    ),
    "paper": (
        (96, 11, 4, 1), "pool", (256, 5, 1, 2), "pool",
        (384, 3, 1, 1), (384, 3, 1, 2), (256, 3, 1, 2), "pool",
    ),
}  # fmt: skip
STEM_PADDING = 2  # torchvision's padding=2 on the 11x11/4 conv: 224 -> 55
POOLED_MAP = 6  # torchvision's AdaptiveAvgPool2d((6, 6))
IMAGENET_STEM_MIN = 63  # torchvision alexnet's min_size: 63 -> 15 -> 7 -> 3 -> 1
MIN_INPUT_SIZE = 15  # with the small stem: 15 -> 7 -> 3 -> 1
STEMS = ("auto", "imagenet", "small")

PAPER = "ImageNet Classification with Deep Convolutional Neural Networks"
REFERENCE_PARAMS = {"torchvision": 61_100_840, "paper": 60_965_224}
REFERENCE = (
    "torchvision.models.alexnet: 61,100,840 parameters at 224x224x3/1000; "
    "variant='paper' (two groups): 60,965,224, derived from the paper's layer sizes"
)


def resolve_stem(model_name: str, stem: str, shape, imagenet_min: int) -> str:
    """``"auto"`` -> ``"imagenet"`` from ``imagenet_min`` pixels up, else ``"small"``; a forced
    ImageNet stem on a smaller input is an error (its stride-4 conv would leave nothing).
    Shared by the families with an 11x11/4 stem (AlexNet, NiN)."""
    checks.choice(*STEMS)(model_name, "stem", stem)
    side = plan_side(shape, (224, 224, 3))
    if stem == "auto":
        return "imagenet" if side >= imagenet_min else "small"
    if stem == "imagenet" and side < imagenet_min:
        raise ArgumentError(
            f"{model_name}: stem='imagenet' (11x11 stride 4) needs inputs of at least "
            f"{imagenet_min}x{imagenet_min}; use stem='auto' or 'small' for smaller images. "
            f"Received: input_shape={shape}, stem='imagenet'"
        )
    return stem


def build_alexnet(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "alexnet",
    variant: str = "torchvision",
    width: float = 1.0,
    dropout: float = 0.5,
    stem: str = "auto",
    fc_units: int | None = None,
) -> keras.Model:
    """Build AlexNet (see the module docstring for variants, stems and the classifier)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.choice(*SPECS)(name, "variant", variant)
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
    stem = resolve_stem(name, stem, shape, IMAGENET_STEM_MIN)
    divisor = 2 if variant == "paper" else 1  # grouped convs need channel counts divisible by 2
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    convs = pools = 0
    for row in SPECS[variant]:
        if row == "pool":
            pools += 1
            x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool{pools}")(x)
            continue
        convs += 1
        filters, kernel, strides, groups = row
        filters = scaled(filters, width, divisor)
        padding = "same"
        if convs == 1 and stem == "imagenet":
            x = layers.ZeroPadding2D(STEM_PADDING, name=f"{name}_conv1_pad")(x)
            padding = "valid"
        elif convs == 1:  # small-input stem: 3x3 stride 1, same filters
            kernel, strides = 3, 1
        x = layers.Conv2D(
            filters,
            kernel,
            strides=strides,
            padding=padding,
            groups=groups,
            activation="relu",
            name=f"{name}_conv{convs}",
        )(x)
    if not top.include_top:
        return top.model(inputs, top.pool(x))
    h, w, c = x.shape[1:]
    if h > POOLED_MAP or w > POOLED_MAP:  # torchvision's adaptive pool, downsampling only
        h, w = min(h, POOLED_MAP), min(w, POOLED_MAP)
        x = layers.AdaptiveAveragePooling2D((h, w), name=f"{name}_adaptive_pool")(x)
    units = fc_units or min(scaled(FC_UNITS, width), h * w * c)
    x = dense_head(x, (units, units), top, dropout=dropout, dropout_first=True)
    return top.model(inputs, x)


alexnet = register_model(
    family="alexnet",
    paper=PAPER,
    year=2012,
    input_shape=(224, 224, 3),
    num_classes=1000,
    reference=REFERENCE,
    min_input_size=MIN_INPUT_SIZE,
)(
    variant(
        build_alexnet,
        "alexnet",
        doc=(
            "AlexNet: torchvision's 64-192-384-256-256 layout, or ``variant='paper'`` (two groups); "
            "61,100,840 parameters at 224x224x3/1000 (paper: 60,965,224). Inputs below 63 px get a "
            "3x3/1 stem (module docstring); the minimum is 15x15."
        ),
    )
)
