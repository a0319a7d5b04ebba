"""MobileNet v1 (Howard et al., 2017) and MobileNet v2 (Sandler et al., 2018).

MobileNet v1 spec (paper Table 1): a 3x3 stem conv, then 13 depthwise-separable blocks
(3x3 depthwise -> BN -> ReLU6 -> 1x1 pointwise -> BN -> ReLU6), rows ``(filters, stride)``::

    stem 32 s2 | 64 s1 | 128 s2 | 128 | 256 s2 | 256 | 512 s2 | 512 x5 | 1024 s2 | 1024

MobileNet v2 spec (paper Table 2), rows ``(t, c, n, s)`` = expansion, output channels,
repeats, stride of the first repeat; a 3x3 stem conv of 32 (s2) before and a 1x1 conv of
1280 after, then global average pool and the classifier::

    t  c    n  s
    1  16   1  1
    6  24   2  2
    6  32   3  2
    6  64   4  2
    6  96   3  1
    6  160  3  2
    6  320  1  1

Fidelity (224x224x3, 1000 classes, ``weights=None`` references):

- ``mobilenet`` = keras.applications.MobileNet: 4,253,864 parameters (4,231,976 trainable).
  Keras' head is GAP -> dropout(1e-3) -> 1x1 conv -> reshape; ours is GAP -> dropout(1e-3) ->
  Dense, the same 1,025,000 parameters.
- ``mobilenetv2`` = keras.applications.MobileNetV2: 3,538,984 parameters (3,504,872
  trainable); ``alpha`` widths follow Keras' rounding (``make_divisible(int(c * alpha), 8)``,
  last conv 1280 unless alpha > 1), so e.g. alpha=0.5 gives Keras' 1,987,224.
- Layer order matches keras.applications, so their weights transfer layer by layer
  (tests/test_models_mobilenet.py checks identical outputs).

Blocks: :func:`kerascnn.blocks.depthwise_separable_block` (v1) and
:func:`kerascnn.blocks.inverted_residual` (v2; the public ``DepthwiseSeparableConv2D`` and
``InvertedResidual`` layers are made from them).

Choices, on purpose:

- Stride-2 convolutions use ``padding="same"``. For MobileNet v2 (and EfficientNet) this is
  exactly Keras' ``ZeroPadding2D(correct_pad) + "valid"``; for MobileNet v1 Keras pads
  (0, 1) on both axes, which equals "same" on even-sized maps and differs on odd ones
  ("same" keeps ceil(n/2) and can never produce a 0-size map).
- BatchNormalization momentum defaults to 0.9 (PyTorch's 0.1 convention) rather than Keras'
  0.99/0.999: moving statistics then settle within a few dozen steps, so short training runs
  evaluate well. It changes no parameter and no layout; pass ``bn_momentum=0.999`` for Keras'.

Small inputs: both nets have five stride-2 steps (output stride 32), which leaves a 1x1 map
of mostly padding at 32x32. With ``adapt_strides=True`` (default) stride-2 steps are turned
into stride 1 from the front (stem first, then the first downsampling stage, ...) until the
final feature map is at least 3x3 (see :func:`stride_plan`). Inputs from 96 px up (every
size Keras ships ImageNet weights for) are unchanged; 28x28 and 32x32 drop the stem's and
the first stage's stride and end at 4x4 (output stride 8, as CIFAR variants of these nets
do). Parameter counts never change. Inputs below 16x16 raise ValueError.
"""

from __future__ import annotations

import keras

from kerascnn import checks
from kerascnn._utils import make_divisible
from kerascnn.blocks import conv_bn_act, depthwise_separable_block, inverted_residual
from kerascnn.blocks.defaults import MOBILE_BN_EPSILON
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
from kerascnn.recipe import Recipe

# MobileNet v1: stem filters/stride, then (pointwise filters, stride) per separable block.
V1_STEM = (32, 2)
V1_SPEC = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)

# MobileNet v2: (t, c, n, s) as in the paper's Table 2.
V2_STEM = (32, 2)
V2_SPEC = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
V2_LAST = 1280

MIN_INPUT_SIZE = 16
MIN_FINAL_MAP = 3
BN_EPSILON = MOBILE_BN_EPSILON  # keras.applications MobileNet / MobileNetV2 / EfficientNet

PAPER_V1 = "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications"
PAPER_V2 = "MobileNetV2: Inverted Residuals and Linear Bottlenecks"


def stride_plan(
    size: int, num_stride2: int = 5, *, adapt: bool = True, min_final: int = MIN_FINAL_MAP
) -> tuple[bool, ...]:
    """Which of a net's ``num_stride2`` downsampling steps keep stride 2 at input ``size``.

    Returns one bool per step, in network order. With ``adapt`` the earliest steps are turned
    into stride 1, one at a time, until the final map (a "same"-padded stride-2 step keeps
    ``ceil(n / 2)``) is at least ``min_final`` pixels; ``adapt=False`` keeps every step.

    >>> stride_plan(224)
    (True, True, True, True, True)
    >>> stride_plan(32)
    (False, False, True, True, True)
    """
    if not adapt:
        return (True,) * num_stride2
    for dropped in range(num_stride2 + 1):
        final = size
        for _ in range(num_stride2 - dropped):
            final = conv_output_size(final, 3, 2, "same")
        if final >= min_final:
            return (False,) * dropped + (True,) * (num_stride2 - dropped)
    return (False,) * num_stride2


class StridePlan:
    """The strides of a net's stride-2 steps, one ``stride()`` call per step in network order."""

    def __init__(self, size: int, adapt: bool):
        self._keep = iter(stride_plan(size, adapt=adapt))

    def stride(self, nominal: int) -> int:
        """``nominal`` (1 stays 1), or 1 where the plan drops a stride-2 step."""
        return 2 if nominal == 2 and next(self._keep) else 1


def _mobile_knobs(
    name, *, alpha, adapt_strides, bn_momentum, input_shape, input_tensor=None, key="alpha"
):
    """Check the knobs the mobile families share; the input shape and its stride plan."""
    checks.positive_number(name, key, alpha)
    checks.boolean(name, "adapt_strides", adapt_strides)
    checks.momentum(name, "bn_momentum", bn_momentum)
    default = (224, 224, 3)
    shape = resolve_input_shape(
        name, input_shape, input_tensor=input_tensor, default=default, min_size=MIN_INPUT_SIZE
    )
    return shape, StridePlan(plan_side(shape, default), adapt_strides)


# --------------------------------------------------------------------------- MobileNet v1


def build_mobilenet_v1(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "mobilenet",
    alpha: float = 1.0,
    depth_multiplier: int = 1,
    dropout: float = 1e-3,
    adapt_strides: bool = True,
    bn_momentum: float = 0.9,
) -> keras.Model:
    """Build MobileNet v1 (see the module docstring)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.positive_int(name, "depth_multiplier", depth_multiplier)
    checks.rate(name, "dropout", dropout)
    shape, plan = _mobile_knobs(
        name,
        alpha=alpha,
        adapt_strides=adapt_strides,
        bn_momentum=bn_momentum,
        input_shape=input_shape,
        input_tensor=input_tensor,
    )
    bn = dict(bn_epsilon=BN_EPSILON, bn_momentum=bn_momentum)
    inputs = model_input(shape, name, input_tensor)
    filters, stride = V1_STEM
    x = conv_bn_act(
        inputs,
        int(filters * alpha),
        3,
        strides=plan.stride(stride),
        activation="relu6",
        name=f"{name}_stem",
        **bn,
    )
    for i, (filters, stride) in enumerate(V1_SPEC, start=1):
        x = depthwise_separable_block(
            x,
            int(filters * alpha),
            3,
            strides=plan.stride(stride),
            depth_multiplier=depth_multiplier,
            depthwise_activation="relu6",
            activation="relu6",
            name=f"{name}_block{i}",
            **bn,
        )
    x = gap_classifier(x, top, dropout=dropout)
    return top.model(inputs, x)


# --------------------------------------------------------------------------- MobileNet v2


def build_mobilenet_v2(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 1000,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "mobilenetv2",
    alpha: float = 1.0,
    dropout: float = 0.0,
    adapt_strides: bool = True,
    bn_momentum: float = 0.9,
) -> keras.Model:
    """Build MobileNet v2 (see the module docstring)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.rate(name, "dropout", dropout)
    shape, plan = _mobile_knobs(
        name,
        alpha=alpha,
        adapt_strides=adapt_strides,
        bn_momentum=bn_momentum,
        input_shape=input_shape,
        input_tensor=input_tensor,
    )
    bn = dict(bn_epsilon=BN_EPSILON, bn_momentum=bn_momentum)
    inputs = model_input(shape, name, input_tensor)
    stem_filters, stride = V2_STEM
    x = conv_bn_act(
        inputs,
        make_divisible(stem_filters * alpha, 8),
        3,
        strides=plan.stride(stride),
        activation="relu6",
        name=f"{name}_stem",
        **bn,
    )
    block = 0
    for t, c, n, s in V2_SPEC:
        for j in range(n):
            x = inverted_residual(
                x,
                make_divisible(int(c * alpha), 8),
                expansion=t,
                strides=plan.stride(s if j == 0 else 1),
                name=f"{name}_block{block}",
                **bn,
            )
            block += 1
    last = make_divisible(V2_LAST * alpha, 8) if alpha > 1.0 else V2_LAST
    x = conv_bn_act(x, last, 1, activation="relu6", name=f"{name}_last", **bn)
    x = gap_classifier(x, top, dropout=dropout)
    return top.model(inputs, x)


V1_IMAGENET_ALPHAS = {0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"}
V1_IMAGENET_ROWS = (128, 160, 192, 224)
V2_IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
V2_IMAGENET_ROWS = (96, 128, 160, 192, 224)


def _imagenet_rows(key: str, kwargs, alphas, rows) -> int:
    """Check a MobileNet configuration against Keras' ImageNet files; the file's image size."""
    shape = requested_shape(kwargs, (224, 224, 3))
    if kwargs["alpha"] not in alphas:
        raise ArgumentError(
            f"{key}: keras.applications has ImageNet weights for alpha in {sorted(alphas)}. "
            f"Received: alpha={kwargs['alpha']!r}"
        )
    if not all(stride_plan(plan_side(shape, (224, 224)), adapt=kwargs["adapt_strides"])):
        raise ArgumentError(
            f"{key}: weights='imagenet' needs keras.applications' strides, which adapt_strides "
            f"changes at this input size; pass adapt_strides=False or inputs of at least 96 px. "
            f"Received: input_shape={shape}"
        )
    side = shape[0] if shape[0] == shape[1] else None
    return side if side in rows else 224  # Keras' rule: another size loads the 224 px file


def _v1_imagenet(kwargs) -> ImagenetFile:
    rows = _imagenet_rows("mobilenet", kwargs, V1_IMAGENET_ALPHAS, V1_IMAGENET_ROWS)
    if kwargs["depth_multiplier"] != 1:
        raise ArgumentError(
            f"mobilenet: keras.applications has ImageNet weights for depth_multiplier=1 only. "
            f"Received: depth_multiplier={kwargs['depth_multiplier']!r}"
        )
    alpha = V1_IMAGENET_ALPHAS[kwargs["alpha"]]
    suffix = "" if kwargs["include_top"] else "_no_top"
    return applications_file("mobilenet", f"mobilenet_{alpha}_{rows}_tf{suffix}.h5")


def _v2_imagenet(kwargs) -> ImagenetFile:
    rows = _imagenet_rows("mobilenetv2", kwargs, V2_IMAGENET_ALPHAS, V2_IMAGENET_ROWS)
    suffix = "" if kwargs["include_top"] else "_no_top"
    return applications_file(
        "mobilenet_v2",
        f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(kwargs['alpha'])}_{rows}{suffix}.h5",
    )


mobilenet = register_model(
    family="mobilenet",
    paper=PAPER_V1,
    year=2017,
    reference="keras.applications.MobileNet(weights=None): 4,253,864 params at 224x224x3/1000",
    min_input_size=MIN_INPUT_SIZE,
)(
    variant(
        build_mobilenet_v1,
        "mobilenet",
        imagenet=_v1_imagenet,
        doc=(
            "MobileNet v1. Knobs: ``alpha`` (width), ``depth_multiplier`` (depthwise channel "
            "multiplier), ``dropout`` (head, 1e-3 as Keras), ``adapt_strides``, ``bn_momentum``. Small "
            "inputs: see the module docstring."
        ),
    )
)
mobilenetv2 = register_model(
    family="mobilenet",
    paper=PAPER_V2,
    year=2018,
    reference="keras.applications.MobileNetV2(weights=None): 3,538,984 params at 224x224x3/1000",
    min_input_size=MIN_INPUT_SIZE,
    recipe=Recipe(
        "adam",
        3e-3,
        why="it learns faster at a higher peak rate than 1e-3: 1-4 points better in all four "
        "runs of reports/main-job/recipes (45 and 90 steps, two seeds)",
    ),
)(
    variant(
        build_mobilenet_v2,
        "mobilenetv2",
        imagenet=_v2_imagenet,
        doc=(
            "MobileNet v2. Knobs: ``alpha`` (width; Keras ships weights for 0.35, 0.5, 0.75, 1.0, "
            "1.3, 1.4), ``dropout`` (before the classifier; 0 as Keras), ``adapt_strides``, "
            "``bn_momentum``. Small inputs: see the module docstring."
        ),
    )
)
