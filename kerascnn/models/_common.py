"""What every builder shares: the common keywords' checks, the input, the pooling/head tail.

Every builder takes the same keywords (keras.applications habits): ``input_shape``,
``num_classes``, ``include_top``, ``pooling``, ``classifier_activation``, ``name``, plus its
family's knobs, checked with :mod:`kerascnn.checks`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import keras
from keras import layers

from kerascnn import checks
from kerascnn.errors import ArgumentError

POOLING_CHOICES = (None, "avg", "max")


def check_common_args(
    model_name: str, *, num_classes: int, include_top: bool, pooling: str | None
) -> None:
    """Check the keywords shared by all builders (ArgumentError naming what was received)."""
    if include_top:
        checks.positive_int(model_name, "num_classes", num_classes)
    checks.boolean(model_name, "include_top", include_top)
    checks.choice(*POOLING_CHOICES)(model_name, "pooling", pooling)


def resolve_input_shape(
    model_name: str, input_shape: Sequence[int] | None, *, default: Sequence[int], min_size: int
) -> tuple[int, int, int]:
    """A checked (height, width, channels) tuple; None means the canonical ``default``.

    Height and width must be at least ``min_size``; the error names the minimum and what was
    received.
    """
    shape = default if input_shape is None else input_shape
    ints = isinstance(shape, (tuple, list)) and all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in shape
    )
    shape = tuple(int(d) for d in shape) if ints and len(shape) == 3 else ()
    if not shape or any(d < 1 for d in shape):
        raise ArgumentError(
            f"{model_name}: input_shape must be (height, width, channels) of positive integers "
            f"(channels-last). Received: input_shape={input_shape!r}"
        )
    if shape[0] < min_size or shape[1] < min_size:
        raise ArgumentError(
            f"{model_name}: inputs must be at least {min_size}x{min_size} pixels "
            f"(height and width). Received: input_shape={shape}"
        )
    return shape  # type: ignore[return-value]


def scaled(channels: int, width: float, divisor: int = 1) -> int:
    """``channels * width`` rounded to the nearest multiple of ``divisor`` (at least that).

    The ``width`` knob of the classic families: 64 x 0.25 -> 16. The paper's AlexNet splits its
    channels into two groups, so it passes ``divisor=2``.
    """
    return max(divisor, int(round(channels * width / divisor)) * divisor)


def model_input(shape: tuple[int, int, int], name: str) -> keras.KerasTensor:
    """The functional-API input tensor, named ``f"{name}_input"``."""
    return keras.Input(shape=shape, name=f"{name}_input")


def global_pool(x, pooling: str | None, name: str):
    """Apply the ``pooling`` option of a feature extractor (include_top=False)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=f"{name}_max_pool")(x)
    return x


def dense_head(
    x,
    units: Sequence[int],
    *,
    num_classes: int,
    classifier_activation: str | None,
    name: str,
    dropout: float = 0.0,
    dropout_first: bool = False,
):
    """The classic head: flatten, hidden dense layers ``{name}_fc{i}`` (ReLU), each with a
    dropout ``{name}_dropout{i}`` after it (VGG's order) or, with ``dropout_first``, before it
    (torchvision's AlexNet), then the classifier ``{name}_predictions``."""
    x = layers.Flatten(name=f"{name}_flatten")(x)
    for i, n in enumerate(units, start=1):
        if dropout and dropout_first:
            x = layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
        x = layers.Dense(n, activation="relu", name=f"{name}_fc{i}")(x)
        if dropout and not dropout_first:
            x = layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
    return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_predictions")(
        x
    )


def gap_classifier(
    x,
    *,
    include_top: bool,
    pooling: str | None,
    num_classes: int,
    classifier_activation: str | None,
    name: str,
    dropout: float = 0.0,
):
    """The modern head: global average pool, optional dropout, dense classifier.

    With ``include_top=False`` only ``pooling`` is applied (None keeps the feature map).
    """
    if not include_top:
        return global_pool(x, pooling, name)
    x = layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_head_dropout")(x)
    return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_predictions")(
        x
    )
