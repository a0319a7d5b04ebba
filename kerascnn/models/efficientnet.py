"""EfficientNet-B0 (Tan & Le, 2019): MBConv blocks with squeeze-and-excitation and swish.

Spec (paper Table 1), rows ``(kernel, repeats, filters_in, filters_out, expansion, stride)``,
SE ratio 0.25 of the block's input channels everywhere; a 3x3 stem conv of 32 (s2) before,
a 1x1 conv of 1280 after, then global average pool, dropout 0.2 and the classifier::

    k  n  in   out  t  s
    3  1  32   16   1  1
    3  2  16   24   6  2
    5  2  24   40   6  2
    3  3  40   80   6  2
    5  3  80   112  6  1
    5  4  112  192  6  2
    3  1  192  320  6  1

Block: :func:`kerascnn.blocks.inverted_residual` with ``se_ratio=0.25`` and swish, MobileNetV2's
block (the public ``InvertedResidual`` layer is made from it), in keras.applications' layout: 1x1 expand (skipped when t=1) -> BN -> swish ->
kxk depthwise -> BN -> swish -> SE (GAP, 1x1 conv to in*0.25, swish, 1x1 conv, sigmoid,
multiply) -> linear 1x1 project -> BN -> stochastic depth (drop-connect, rate rising
linearly to ``drop_connect_rate`` = 0.2) + identity shortcut when stride 1 and in == out.

Fidelity at 224x224x3 / 1000 classes:

- 5,330,564 parameters, 5,288,548 of them trainable. The trainable count is exactly
  torchvision's ``efficientnet_b0`` (5,288,548) and Keras' trainable count.
- keras.applications.EfficientNetB0(weights=None).count_params() is 5,330,571: 7 more,
  because Keras puts its input preprocessing inside the model (``Rescaling(1/255)`` and a
  ``Normalization`` layer whose non-trainable mean (3), variance (3) and count (1) make the
  7). Our builders take already-scaled inputs, like every model in the zoo, so there is no
  preprocessing layer: keras(x) == ours(x / 255) when Keras' Normalization is the identity
  (as with ``weights=None``). Everything else transfers layer by layer
  (tests/test_models_efficientnet.py checks identical outputs).
- Stride-2 depthwise convs use ``padding="same"``, which equals Keras'
  ``ZeroPadding2D(correct_pad) + "valid"`` for kernels 3 and 5 at any size.
- BatchNormalization momentum defaults to 0.9 (PyTorch convention; Keras uses 0.99) so short
  training runs evaluate well; it changes no parameter. ``bn_momentum=0.99`` gives Keras'.

Small inputs: the same stride plan as MobileNet (:func:`kerascnn.models.mobilenet.stride_plan`):
of the five stride-2 steps (stem, stages 2, 3, 4, 6) the earliest become stride 1 until the
final map is at least 3x3; 28x28 and 32x32 end at 4x4, 96 px and up are unchanged
(``adapt_strides=False`` keeps Keras' strides). Inputs below 16x16 raise ValueError.
"""

from __future__ import annotations

import keras

from kerascnn import checks
from kerascnn._utils import make_divisible
from kerascnn.blocks import conv_bn_act, inverted_residual
from kerascnn.models._common import common_args, gap_classifier, model_input
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant
from kerascnn.models.mobilenet import BN_EPSILON, MIN_INPUT_SIZE, _mobile_knobs

# (kernel, repeats, filters_in, filters_out, expansion, stride) -- EfficientNet-B0, Table 1.
B0_SPEC = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
B0_STEM = 32
B0_TOP = 1280
SE_RATIO = 0.25

PAPER = "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"


def build_efficientnet(
    spec=B0_SPEC,
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "efficientnet",
    width: float = 1.0,
    se: bool = True,
    dropout: float = 0.2,
    drop_connect_rate: float = 0.2,
    adapt_strides: bool = True,
    bn_momentum: float = 0.9,
) -> keras.Model:
    """Build an EfficientNet from its block table ``spec`` (see the module docstring)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.boolean(name, "se", se)
    checks.rate(name, "dropout", dropout)
    checks.rate(name, "drop_connect_rate", drop_connect_rate)
    shape, plan = _mobile_knobs(
        name,
        alpha=width,
        adapt_strides=adapt_strides,
        bn_momentum=bn_momentum,
        input_shape=input_shape,
        input_tensor=input_tensor,
        key="width",
    )
    bn = dict(bn_epsilon=BN_EPSILON, bn_momentum=bn_momentum)

    def filters(c):
        return make_divisible(c * width, 8)

    inputs = model_input(shape, name, input_tensor)
    x = conv_bn_act(
        inputs,
        filters(B0_STEM),
        3,
        strides=plan.stride(2),
        activation="swish",
        name=f"{name}_stem",
        **bn,
    )
    total = sum(n for _, n, *_ in spec)
    b = 0
    for i, (k, n, _c_in, c_out, t, s) in enumerate(spec, start=1):
        for j in range(n):
            x = inverted_residual(
                x,
                filters(c_out),
                expansion=t,
                kernel_size=k,
                strides=plan.stride(s if j == 0 else 1),
                se_ratio=SE_RATIO if se else None,
                activation="swish",
                drop_rate=drop_connect_rate * b / total,
                name=f"{name}_block{i}{chr(ord('a') + j)}",
                **bn,
            )
            b += 1
    x = conv_bn_act(x, filters(B0_TOP), 1, activation="swish", name=f"{name}_top", **bn)
    x = gap_classifier(x, top, dropout=dropout)
    return top.model(inputs, x)


efficientnet_b0 = register_model(
    family="efficientnet",
    paper=PAPER,
    year=2019,
    reference=(
        "keras.applications.EfficientNetB0(weights=None): 5,330,571 params incl. 7 of its "
        "Normalization layer (ours 5,330,564); trainable 5,288,548 = torchvision efficientnet_b0"
    ),
    min_input_size=MIN_INPUT_SIZE,
)(
    variant(
        build_efficientnet,
        "efficientnet_b0",
        B0_SPEC,
        doc=(
            "EfficientNet-B0. Knobs: ``width`` (channel multiplier, rounded to multiples of 8), ``se`` "
            "(squeeze-excitation on/off), ``dropout`` (head, 0.2), ``drop_connect_rate`` (0.2), "
            "``adapt_strides``, ``bn_momentum``. Small inputs: see the module docstring."
        ),
    )
)
