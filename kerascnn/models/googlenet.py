"""GoogLeNet / Inception v1 (Szegedy et al., 2015), torchvision's layout or the paper's.

Stem (ImageNet): conv 7x7/2 (64) -> max-pool 3x3/2 -> conv 1x1 (64) -> conv 3x3 (192) ->
max-pool 3x3/2. Then the inception table (Table 1 of the paper), one row per block with the
filters of its branches ``(1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj)``, ``"pool"``
marking a stride-2 max-pool::

    3a (64, 96, 128, 16, 32, 32)      3b (128, 128, 192, 32, 96, 64)     pool
    4a (192, 96, 208, 16, 48, 64)     4b (160, 112, 224, 24, 64, 64)     4c (128, 128, 256, 24, 64, 64)
    4d (112, 144, 288, 32, 64, 64)    4e (256, 160, 320, 32, 128, 128)   pool
    5a (256, 160, 320, 32, 128, 128)  5b (384, 192, 384, 48, 128, 128)

then global average pool -> dropout -> FC num_classes. Branches: 1x1 | 1x1 -> 3x3 | 1x1 ->
"5x5" | max-pool 3x3/1 -> 1x1, concatenated on channels (224 -> 112 -> 56 -> 28 [3a, 3b] -> 14
[4a-4e] -> 7 [5a, 5b]).

``variant="torchvision"`` (default) is ``torchvision.models.googlenet``, the network behind its
ported ImageNet weights: every conv is conv (no bias) -> BatchNorm (eps 1e-3, torch momentum
0.1 = Keras 0.9) -> ReLU, the "5x5" branch uses a 3x3 kernel (kept from the TensorFlow model
torchvision ported; pytorch/vision#906), the pool before 5a is 2x2/2, dropout 0.2. Without aux
heads it has 6,624,904 trainable parameters at 224x224x3/1000, exactly torchvision's
``num_params`` (tested); Keras additionally holds the BN moving mean/variance as 2 x 7,280 =
14,560 non-trainable weights (buffers in torch), so ``count_params()`` is 6,639,464.

``variant="paper"`` is the 2015 paper: convs with bias and ReLU, no BatchNorm (the paper
predates it), a true 5x5 kernel, a 3x3/2 pool before 5a, dropout 0.4. Local response
normalization (no parameters) is left out. Count derived from Table 1's filter sizes (weights
and biases): 6,998,552 at 224x224x3/1000 without aux heads (Table 1's column sums to ~6.8M
weights, biases excluded). BN is the default because the BN network is the one with a
reference count (and weights) and it trains reliably from scratch at small inputs.

Aux classifiers (``aux_logits=True``; off by default, as for inference): after 4a and 4d, the
paper's head: avg-pool 5x5/3 (14 -> 4x4) -> conv 1x1 (128) -> FC 1024 -> ReLU -> dropout 0.7 ->
FC num_classes. The model then has three outputs ``[main, aux1, aux2]`` (train with loss weights
e.g. ``[1, 0.3, 0.3]``, the paper's); torchvision's count with aux heads is 13,004,888
(6,624,904 + 3,188,968 + 3,191,016; tested). When the map at 4a/4d is smaller than 5x5 (small
inputs) the aux pool is a global average pool (1x1x128 -> FC 1024).

Max-pools use "same" padding, which equals torchvision's ``ceil_mode=True`` at even sizes
(224 -> 112 -> 56 -> 28 -> 14 -> 7); the 7x7/2 conv sees the input zero-padded by 3 as in
torchvision.

Small inputs (``stem="auto"``, chosen from ``input_shape``): from 64 px the ImageNet stem above
is used; it downsamples by 8 before 3a (64 -> 8 at 3a -> 4 at 4a -> 2 at 5a). Below 64 px the
stem's 7x7/2 conv becomes a 3x3/1 conv and its first max-pool is dropped, so the stem
downsamples by 2 instead of 8: 28x28 -> 14 at 3a -> 7 at 4a -> 4 at 5a (32x32 -> 16 -> 8 -> 4),
close to the 28 -> 14 -> 7 the canonical network sees at 224; the blocks are unchanged. The minimum is 15x15, torchvision's ``min_size`` for
googlenet. ``stem="imagenet"`` / ``"small"`` forces a stem.

Knobs: ``variant``, ``aux_logits``, ``width`` (multiplies every conv's filters, the aux 128 and
1024), ``dropout`` (None: 0.2 torchvision, 0.4 paper), ``stem``.
"""

from __future__ import annotations

import keras
from keras import layers

from kerascnn import checks
from kerascnn.blocks import conv_bn_act, inception_block
from kerascnn.blocks.defaults import MOBILE_BN_EPSILON
from kerascnn.errors import ArgumentError
from kerascnn.models._common import (
    common_args,
    model_input,
    plan_side,
    resolve_input_shape,
    scaled,
)
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant

# Inception blocks: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj); "pool" = stride-2 max-pool.
INCEPTION_SPEC = (
    ("3a", (64, 96, 128, 16, 32, 32)),
    ("3b", (128, 128, 192, 32, 96, 64)),
    "pool",
    ("4a", (192, 96, 208, 16, 48, 64)),
    ("4b", (160, 112, 224, 24, 64, 64)),
    ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)),
    ("4e", (256, 160, 320, 32, 128, 128)),
    "pool",
    ("5a", (256, 160, 320, 32, 128, 128)),
    ("5b", (384, 192, 384, 48, 128, 128)),
)
AUX_AFTER = ("4a", "4d")
AUX_CONV, AUX_FC, AUX_DROPOUT = 128, 1024, 0.7
VARIANTS = {
    # "5x5" branch kernel, pool before 5a, default dropout, batch norm
    "torchvision": {"kernel_5x5": 3, "last_pool": 2, "dropout": 0.2, "bn": True},
    "paper": {"kernel_5x5": 5, "last_pool": 3, "dropout": 0.4, "bn": False},
}
IMAGENET_STEM_MIN = 64
MIN_INPUT_SIZE = 15  # torchvision googlenet's min_size
STEMS = ("auto", "imagenet", "small")
BN_EPSILON = MOBILE_BN_EPSILON  # torchvision BasicConv2d

PAPER = "Going Deeper with Convolutions"
REFERENCE_PARAMS = {
    ("torchvision", False): 6_624_904,
    ("torchvision", True): 13_004_888,
    ("paper", False): 6_998_552,
}
REFERENCE = (
    "torchvision.models.googlenet: 6,624,904 trainable parameters at 224x224x3/1000 without aux "
    "heads (13,004,888 with); variant='paper' (no BN, true 5x5): 6,998,552, derived from Table 1"
)


def _aux_head(x, top, *, width, bn, name):
    """The paper's auxiliary classifier (avg-pool 5x5/3, 1x1 conv 128, FC 1024, dropout 0.7, FC)."""
    if x.shape[1] >= 5 and x.shape[2] >= 5:
        x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    else:  # small inputs: the map is smaller than the 5x5 window
        x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    x = conv_bn_act(
        x, scaled(AUX_CONV, width), 1, use_bn=bn, bn_epsilon=BN_EPSILON, name=f"{name}_reduce"
    )
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(scaled(AUX_FC, width), activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(AUX_DROPOUT, name=f"{name}_dropout")(x)
    return top.classifier(x, name=f"{name}_predictions")


def _stem(x, stem, width, bn, name):
    """conv 7x7/2 (pad 3) -> max-pool 3x3/2 -> conv 1x1 -> conv 3x3 -> max-pool 3x3/2; the
    small-input stem replaces the first two by one 3x3/1 conv."""
    unit = dict(use_bn=bn, bn_epsilon=BN_EPSILON)
    if stem == "imagenet":
        x = conv_bn_act(x, scaled(64, width), 7, strides=2, padding=3, name=f"{name}_conv1", **unit)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool1")(x)
    else:
        x = conv_bn_act(x, scaled(64, width), 3, name=f"{name}_conv1", **unit)
    x = conv_bn_act(x, scaled(64, width), 1, name=f"{name}_conv2", **unit)
    x = conv_bn_act(x, scaled(192, width), 3, name=f"{name}_conv3", **unit)
    return layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool2")(x)


def build_googlenet(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "googlenet",
    variant: str = "torchvision",
    aux_logits: bool = False,
    width: float = 1.0,
    dropout: float | None = None,
    stem: str = "auto",
) -> keras.Model:
    """Build GoogLeNet (see the module docstring for variants, aux heads and small inputs)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.choice(*VARIANTS)(name, "variant", variant)
    checks.choice(*STEMS)(name, "stem", stem)
    checks.boolean(name, "aux_logits", aux_logits)
    if aux_logits and not include_top:
        raise ArgumentError(
            f"{name}: aux_logits=True adds classifiers, so it needs include_top=True. "
            f"Received: aux_logits=True, include_top=False"
        )
    cfg = VARIANTS[variant]
    width = checks.positive_number(name, "width", width)
    dropout = checks.rate(name, "dropout", cfg["dropout"] if dropout is None else dropout)
    shape = resolve_input_shape(
        name,
        input_shape,
        input_tensor=input_tensor,
        default=(224, 224, 3),
        min_size=MIN_INPUT_SIZE,
        static=aux_logits,
    )
    if stem == "auto":
        stem = "imagenet" if plan_side(shape, (224, 224)) >= IMAGENET_STEM_MIN else "small"
    bn = cfg["bn"]
    inputs = model_input(shape, name, input_tensor)
    x = _stem(inputs, stem, width, bn, name)
    aux_outputs = []
    pool_index = 2
    for row in INCEPTION_SPEC:
        if row == "pool":
            pool_index += 1
            size = cfg["last_pool"] if pool_index == 4 else 3
            x = layers.MaxPooling2D(
                size, strides=2, padding="same", name=f"{name}_pool{pool_index}"
            )(x)
            continue
        block, filters = row
        x = inception_block(
            x,
            *(scaled(f, width) for f in filters),
            kernel_5x5=cfg["kernel_5x5"],
            use_bn=bn,
            bn_epsilon=BN_EPSILON,
            name=f"{name}_inception{block}",
        )
        if aux_logits and block in AUX_AFTER:
            aux_outputs.append(
                _aux_head(x, top, width=width, bn=bn, name=f"{name}_aux{len(aux_outputs) + 1}")
            )
    if not top.include_top:
        return top.model(inputs, top.pool(x))
    x = layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    x = top.classifier(x)
    outputs = [x, *aux_outputs] if aux_logits else x
    return top.model(inputs, outputs)


googlenet = register_model(
    family="googlenet",
    paper=PAPER,
    year=2015,
    input_shape=(224, 224, 3),
    num_classes=1000,
    reference=REFERENCE,
    min_input_size=MIN_INPUT_SIZE,
)(
    variant(
        build_googlenet,
        "googlenet",
        doc=(
            "GoogLeNet (Inception v1), torchvision's BN layout by default (6,624,904 trainable "
            "parameters at 224x224x3/1000); ``variant='paper'``; ``aux_logits=True`` gives three "
            "outputs ``[main, aux1, aux2]``. Inputs below 64 px get a 3x3/1 stem without the first "
            "max-pool (module docstring); the minimum is 15x15."
        ),
    )
)
