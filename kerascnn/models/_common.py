"""What every builder shares: the common keywords' checks, the input, the pooling/head tail.

Every builder takes the same keywords (keras.applications habits): ``input_shape``,
``num_classes``, ``include_top``, ``pooling``, ``classifier_activation``, ``name``, plus its
family's knobs, checked with :mod:`kerascnn.checks`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import keras
from keras import layers

from kerascnn import checks
from kerascnn.errors import ArgumentError

POOLING_CHOICES = (None, "avg", "max")


@dataclass(frozen=True)
class Top:
    """The checked common keywords: the model's name and what its top (head) does.

    Made by :func:`common_args`; the head helpers below take it whole, so every builder hands
    the same five keywords on in one piece.
    """

    name: str
    num_classes: int
    include_top: bool
    pooling: str | None
    classifier_activation: str | None

    def pool(self, x):
        """The ``pooling`` of a feature extractor (``include_top=False``); None keeps the map."""
        if self.pooling == "avg":
            return layers.GlobalAveragePooling2D(name=f"{self.name}_avg_pool")(x)
        if self.pooling == "max":
            return layers.GlobalMaxPooling2D(name=f"{self.name}_max_pool")(x)
        return x

    def classifier(self, x, name: str | None = None):
        """The last dense layer, ``{name}_predictions`` (or ``name``: GoogLeNet's aux heads)."""
        name = name or f"{self.name}_predictions"
        return layers.Dense(self.num_classes, activation=self.classifier_activation, name=name)(x)

    def model(self, inputs, outputs) -> keras.Model:
        return keras.Model(inputs, outputs, name=self.name)


def common_args(name, num_classes, include_top, pooling, classifier_activation) -> Top:
    """Check the keywords every builder takes (ArgumentError naming what was received)."""
    if include_top:
        checks.positive_int(name, "num_classes", num_classes)
    return Top(
        name=name,
        num_classes=num_classes,
        include_top=checks.boolean(name, "include_top", include_top),
        pooling=checks.choice(*POOLING_CHOICES)(name, "pooling", pooling),
        classifier_activation=checks.activation(
            name, "classifier_activation", classifier_activation
        ),
    )


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


def dense_head(x, units: Sequence[int], top: Top, *, dropout=0.0, dropout_first=False):
    """The classic head: flatten, hidden dense layers ``{name}_fc{i}`` (ReLU), each with a
    dropout ``{name}_dropout{i}`` after it (VGG's order) or, with ``dropout_first``, before it
    (torchvision's AlexNet), then the classifier."""
    x = layers.Flatten(name=f"{top.name}_flatten")(x)
    for i, n in enumerate(units, start=1):
        if dropout and dropout_first:
            x = layers.Dropout(dropout, name=f"{top.name}_dropout{i}")(x)
        x = layers.Dense(n, activation="relu", name=f"{top.name}_fc{i}")(x)
        if dropout and not dropout_first:
            x = layers.Dropout(dropout, name=f"{top.name}_dropout{i}")(x)
    return top.classifier(x)


def gap_classifier(x, top: Top, *, dropout: float = 0.0):
    """The modern head: global average pool, optional dropout, the classifier; with
    ``include_top=False`` only ``pooling`` (None keeps the feature map)."""
    if not top.include_top:
        return top.pool(x)
    x = layers.GlobalAveragePooling2D(name=f"{top.name}_avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{top.name}_head_dropout")(x)
    return top.classifier(x)
