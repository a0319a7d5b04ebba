"""Network in Network (Lin, Chen & Yan, 2013), in the layout d2l.ai teaches.

A NiN block is a spatial conv followed by two 1x1 convs (an MLP applied at every pixel), each
with a bias and a ReLU. Spec (d2l, "Network in Network (NiN)"): one ``(filters, kernel, stride)``
row per block, each block followed by a 3x3/2 max-pool ("valid")::

    (96, 11, 4)  (256, 5, 1)  (384, 3, 1)

then dropout 0.5 and a last NiN block whose three convs (3x3, 1x1, 1x1) have ``num_classes``
channels, global average pooling of those maps, and ``classifier_activation``. There are no
fully connected layers. The first conv is "valid" (d2l's ``padding=0``), the others "same"
(d2l's padding 2 and 1): 224 -> 54 -> 26 -> 26 -> 12 -> 12 -> 5 -> 5 -> GAP.

Parameter count (derived from d2l's layer table; d2l prints shapes, not a total): d2l's own
network, 224x224x1 with 10 classes (Fashion-MNIST resized), has 1,992,166 parameters; at this
registry's canonical 224x224x3 / 1000 classes the same layout has 7,439,608 (the class block
alone is 5,459,000 there: 3x3x384x1000 plus two 1000x1000 1x1 convs). Both are tested. (The
paper's ImageNet model in Caffe puts a 1024-channel block before the classes instead; d2l's
class-width block is the one implemented here.)

Like d2l (and the paper's Caffe model), the class block keeps its ReLU before the global
average pool, so the pooled logits are non-negative; this trains fine with softmax
cross-entropy (tested on Fashion-MNIST).

Small inputs (``stem="auto"``, chosen from ``input_shape``): from 67 px the ImageNet block
above is used (67 is the smallest input for which d2l's 11x11/4 conv and three pools leave a
non-empty map). Below 67 px the first block's 11x11/4 conv becomes a 3x3/1 "same" conv with
the same 96 filters, everything else unchanged: 28 -> 28 -> 13 -> 13 -> 6 -> 6 -> 2 -> GAP
(d2l instead resizes Fashion-MNIST to 224). The minimum is 15x15 (15 -> 7 -> 3 -> 1).
``stem="imagenet"`` / ``"small"`` forces a stem.

``include_top=False`` returns the 384-channel map after the third pool (before the dropout and
the class block); ``pooling`` applies there.

Training note: like d2l's, this NiN has no normalization and starts slowly (the loss sits near
ln(10) for the first few hundred steps; on 6,000 Fashion-MNIST images at width 0.25 it reached
~60% test accuracy after 3 epochs with Adam 1e-3, where ``batch_norm=True`` reached ~78%).
``batch_norm=True`` is an option outside d2l and the paper: every conv becomes conv (no bias)
-> BatchNorm (torch momentum 0.1 = Keras 0.9) -> ReLU, which changes the parameter count.

Each block is :func:`kerascnn.blocks.nin_block` (the public ``NiNBlock`` layer is made from it).

Knobs: ``width`` (multiplies 96/256/384; the class block always has ``num_classes``
channels), ``dropout`` (0.5), ``stem``, ``batch_norm`` (False: d2l's network).
"""

from __future__ import annotations

import keras
from keras import layers

from kerascnn import checks
from kerascnn.blocks import nin_block
from kerascnn.models._common import (
    common_args,
    model_input,
    resolve_input_shape,
    scaled,
)
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant
from kerascnn.models.alexnet import resolve_stem

# (filters, kernel, stride) of the spatial conv opening each NiN block; each block continues with
# two 1x1 convs of the same width and is followed by MaxPooling2D(3, strides=2).
SPEC = ((96, 11, 4), (256, 5, 1), (384, 3, 1))
CLASS_BLOCK_KERNEL = 3  # the last block: (num_classes, 3, 1), then global average pooling
IMAGENET_STEM_MIN = 67  # 67 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1
MIN_INPUT_SIZE = 15  # with the small stem: 15 -> 7 -> 3 -> 1

PAPER = "Network In Network"
REFERENCE_PARAMS = {(224, 224, 3, 1000): 7_439_608, (224, 224, 1, 10): 1_992_166}
REFERENCE = (
    "d2l.ai NiN layout (count derived from d2l's layer table): 1,992,166 parameters at "
    "224x224x1/10 (d2l's setting); 7,439,608 at 224x224x3/1000"
)


def build_nin(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "nin",
    width: float = 1.0,
    dropout: float = 0.5,
    stem: str = "auto",
    batch_norm: bool = False,
) -> keras.Model:
    """Build NiN (see the module docstring for the layout, count and small-input stem)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.boolean(name, "batch_norm", batch_norm)
    width = checks.positive_number(name, "width", width)
    dropout = checks.rate(name, "dropout", dropout)
    shape = resolve_input_shape(
        name, input_shape, input_tensor=input_tensor, default=(224, 224, 3), min_size=MIN_INPUT_SIZE
    )
    stem = resolve_stem(name, stem, shape, IMAGENET_STEM_MIN)
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    for i, (filters, kernel, strides) in enumerate(SPEC, start=1):
        padding = "same"
        if i == 1 and stem == "imagenet":
            padding = "valid"
        elif i == 1:  # small-input stem: 3x3 stride 1
            kernel, strides = 3, 1
        x = nin_block(
            x,
            scaled(filters, width),
            kernel,
            strides=strides,
            padding=padding,
            use_bn=batch_norm,
            name=f"{name}_block{i}",
        )
        x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool{i}")(x)
    if not top.include_top:
        return top.model(inputs, top.pool(x))
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    x = nin_block(
        x, num_classes, CLASS_BLOCK_KERNEL, use_bn=batch_norm, name=f"{name}_block{len(SPEC) + 1}"
    )
    x = layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)
    x = layers.Activation(classifier_activation or "linear", name=f"{name}_predictions")(x)
    return top.model(inputs, x)


nin = register_model(
    family="nin",
    paper=PAPER,
    year=2013,
    input_shape=(224, 224, 3),
    num_classes=1000,
    reference=REFERENCE,
    min_input_size=MIN_INPUT_SIZE,
)(
    variant(
        build_nin,
        "nin",
        doc=(
            "NiN as d2l builds it: 7,439,608 parameters at 224x224x3/1000, 1,992,166 at d2l's "
            "224x224x1/10. Inputs below 67 px get a 3x3/1 first block (module docstring); minimum "
            "15x15."
        ),
    )
)
