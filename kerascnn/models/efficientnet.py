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

Block (keras.applications layout): 1x1 expand (skipped when t=1) -> BN -> swish ->
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
from keras import layers

from kerascnn._utils import make_divisible
from kerascnn.models._common import check_common_args, gap_classifier, model_input, resolve_input_shape
from kerascnn.models.blocks import conv_bn_act, se_block
from kerascnn.models.mobilenet import MIN_INPUT_SIZE, stride_plan
from kerascnn.registry import register_model

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
BN_EPSILON = 1e-3

PAPER = "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"


def mbconv(x, filters_out: int, *, kernel_size: int, expansion: int, stride: int, se_ratio: float,
           drop_rate: float, activation: str = "swish", bn_momentum: float = 0.9, name: str):
    """EfficientNet's MBConv block (see the module docstring)."""
    filters_in = x.shape[-1]
    shortcut = x
    bn = dict(bn_epsilon=BN_EPSILON, bn_momentum=bn_momentum)
    filters = filters_in * expansion
    if expansion != 1:
        x = conv_bn_act(x, filters, 1, activation=activation, name=f"{name}_expand", **bn)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same", use_bias=False,
                               name=f"{name}_dw_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=bn_momentum, name=f"{name}_dw_bn")(x)
    x = layers.Activation(activation, name=f"{name}_dw_{activation}")(x)
    if se_ratio:
        x = se_block(x, max(1, int(filters_in * se_ratio)), activation=activation, name=f"{name}_se")
    x = conv_bn_act(x, filters_out, 1, activation=None, name=f"{name}_project", **bn)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, shortcut])
    return x


def _efficientnet(
    spec,
    *,
    input_shape=None,
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
    check_common_args(name, num_classes=num_classes, include_top=include_top, pooling=pooling)
    if isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0:
        raise ValueError(f"{name}: width must be a positive number. Received: width={width!r}")
    for key, rate in (("dropout", dropout), ("drop_connect_rate", drop_connect_rate)):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"{name}: {key} must be in [0, 1). Received: {key}={rate!r}")
    shape = resolve_input_shape(name, input_shape, default=(224, 224, 3), min_size=MIN_INPUT_SIZE)
    keep = iter(stride_plan(min(shape[:2]), adapt=adapt_strides))
    inputs = model_input(shape, name)

    def filters(c):
        return make_divisible(c * width, 8)

    x = conv_bn_act(inputs, filters(B0_STEM), 3, strides=2 if next(keep) else 1, activation="swish",
                    bn_epsilon=BN_EPSILON, bn_momentum=bn_momentum, name=f"{name}_stem")
    total = sum(n for _, n, *_ in spec)
    b = 0
    for i, (k, n, _c_in, c_out, t, s) in enumerate(spec, start=1):
        for j in range(n):
            stride = s if j == 0 else 1
            if stride == 2:
                stride = 2 if next(keep) else 1
            x = mbconv(x, filters(c_out), kernel_size=k, expansion=t, stride=stride,
                       se_ratio=SE_RATIO if se else 0.0, drop_rate=drop_connect_rate * b / total,
                       bn_momentum=bn_momentum, name=f"{name}_block{i}{chr(ord('a') + j)}")
            b += 1
    x = conv_bn_act(x, filters(B0_TOP), 1, activation="swish", bn_epsilon=BN_EPSILON,
                    bn_momentum=bn_momentum, name=f"{name}_top")
    x = gap_classifier(x, include_top=include_top, pooling=pooling, num_classes=num_classes,
                       classifier_activation=classifier_activation, name=name, dropout=dropout)
    return keras.Model(inputs, x, name=name)


@register_model(
    family="efficientnet",
    paper=PAPER,
    year=2019,
    reference=("keras.applications.EfficientNetB0(weights=None): 5,330,571 params incl. 7 of its "
               "Normalization layer (ours 5,330,564); trainable 5,288,548 = torchvision efficientnet_b0"),
    min_input_size=MIN_INPUT_SIZE,
)
def efficientnet_b0(**kwargs) -> keras.Model:
    """EfficientNet-B0. Knobs: ``width`` (channel multiplier, rounded to multiples of 8),
    ``se`` (squeeze-excitation on/off), ``dropout`` (head, 0.2), ``drop_connect_rate`` (0.2),
    ``adapt_strides``, ``bn_momentum``. Small inputs: see the module docstring."""
    kwargs.setdefault("name", "efficientnet_b0")
    return _efficientnet(B0_SPEC, **kwargs)
