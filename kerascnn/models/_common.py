"""Shared pieces of every builder: input validation, keyword checks, the pooling/head tail.

Every builder takes the same keywords (keras.applications habits): ``input_shape``,
``num_classes``, ``include_top``, ``pooling``, ``classifier_activation``, ``name``.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

POOLING_CHOICES = (None, "avg", "max")


def check_common_args(
    model_name: str,
    *,
    num_classes: int,
    include_top: bool,
    pooling: str | None,
) -> None:
    """Validate the keywords shared by all builders; raise ValueError naming what was received."""
    if include_top and (not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1):
        raise ValueError(
            f"{model_name}: num_classes must be a positive integer when include_top=True. "
            f"Received: num_classes={num_classes!r}"
        )
    if pooling not in POOLING_CHOICES:
        raise ValueError(
            f"{model_name}: pooling must be one of None, 'avg', 'max'. Received: pooling={pooling!r}"
        )


def resolve_input_shape(
    model_name: str,
    input_shape: Sequence[int] | None,
    *,
    default: Sequence[int],
    min_size: int,
) -> tuple[int, int, int]:
    """Return a validated (height, width, channels) tuple.

    ``None`` means the model's canonical input (``default``). Height and width must be at
    least ``min_size``; the error names the minimum and what was received.
    """
    if input_shape is None:
        input_shape = default
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"{model_name}: input_shape must be (height, width, channels) of positive integers. "
            f"Received: input_shape={input_shape!r}"
        ) from None
    if len(shape) != 3 or any(d < 1 for d in shape):
        raise ValueError(
            f"{model_name}: input_shape must be (height, width, channels) of positive integers "
            f"(channels-last). Received: input_shape={tuple(input_shape)!r}"
        )
    h, w, _ = shape
    if h < min_size or w < min_size:
        raise ValueError(
            f"{model_name}: inputs must be at least {min_size}x{min_size} pixels "
            f"(height and width). Received: input_shape={shape}"
        )
    return shape  # type: ignore[return-value]


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
    return layers.Dense(num_classes, activation=classifier_activation, name=f"{name}_predictions")(x)
