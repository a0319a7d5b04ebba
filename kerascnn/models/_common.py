"""What every builder shares: the common keywords' checks, the input, the pooling/head tail.

Every builder takes the same keywords (keras.applications habits): ``input_shape``,
``num_classes``, ``include_top``, ``pooling``, ``classifier_activation``, ``name``, plus its
family's knobs, checked with :mod:`kerascnn.checks`.

``num_classes=0`` is timm's habit (``create_model(..., num_classes=0)``,
``reset_classifier(0)``): the model keeps its top but without a classifier, so it returns
global-average-pooled features, one vector of the backbone's last channels per image
(``pooling="max"`` pools by the maximum instead). It builds the same graph as keras.applications'
``include_top=False, pooling="avg"``: the flatten-and-dense heads (LeNet, AlexNet, VGG, the
course nets) drop their hidden dense layers too, so the features are the last feature map's
channels and any input size works. ``include_top=False`` keeps keras.applications' meaning
(``pooling`` None returns the unpooled map).
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
        if self.num_classes == 0:
            raise ArgumentError(
                f"{self.name}: num_classes=0 returns pooled features without a classifier, so "
                f"the classifier {name!r} cannot be built; give num_classes >= 1 for a model "
                f"with classifiers. Received: num_classes=0"
            )
        return layers.Dense(self.num_classes, activation=self.classifier_activation, name=name)(x)

    def model(self, inputs, outputs) -> keras.Model:
        """The functional model from ``inputs`` (:func:`model_input`) to ``outputs``; built on an
        ``input_tensor``, it starts at that tensor's own inputs (keras.applications' rule)."""
        sources = keras.utils.get_source_inputs(inputs)
        return keras.Model(sources[0] if len(sources) == 1 else sources, outputs, name=self.name)


def common_args(name, num_classes, include_top, pooling, classifier_activation) -> Top:
    """Check the keywords every builder takes (ArgumentError naming what was received).

    ``num_classes=0`` (with the top) is the top without a classifier: the returned :class:`Top`
    has ``include_top=False`` and ``pooling="avg"`` (or the ``pooling`` given), so every head
    helper below returns pooled features.
    """
    if include_top:
        num_classes = checks.non_negative_int(name, "num_classes", num_classes)
    include_top = checks.boolean(name, "include_top", include_top)
    pooling = checks.choice(*POOLING_CHOICES)(name, "pooling", pooling)
    if include_top and num_classes == 0:  # timm: no classifier, pooled features
        include_top, pooling = False, pooling or "avg"
    return Top(
        name=name,
        num_classes=num_classes,
        include_top=include_top,
        pooling=pooling,
        classifier_activation=checks.activation(
            name, "classifier_activation", classifier_activation
        ),
    )


def resolve_input_shape(
    model_name: str,
    input_shape: Sequence[int | None] | None,
    *,
    default: Sequence[int],
    min_size: int,
    input_tensor=None,
    static: bool = False,
) -> tuple[int | None, int | None, int]:
    """A checked (height, width, channels) tuple; None means the canonical ``default``, or the
    shape of ``input_tensor`` when one is given (keras.applications' rule).

    Height and width may be None (any size, e.g. ``(None, None, 3)``) unless ``static``: a
    builder passes ``static=True`` when its classifier flattens a fixed-size map. Known sizes
    must be at least ``min_size``; a None size is checked by the layers when data arrives.
    Errors name what was received and what works.
    """
    if input_tensor is not None:
        tensor_shape = _tensor_shape(model_name, input_tensor)
        if input_shape is not None and tuple(input_shape) != tensor_shape:
            raise ArgumentError(
                f"{model_name}: input_shape and input_tensor disagree; give one, or the tensor's "
                f"own shape. Received: input_shape={tuple(input_shape)!r}, input_tensor shape "
                f"{tensor_shape!r}"
            )
        input_shape = tensor_shape
    shape = default if input_shape is None else input_shape
    ok = isinstance(shape, (tuple, list)) and len(shape) == 3
    ok = ok and all(_is_size(d) or (i < 2 and d is None) for i, d in enumerate(shape))
    if not ok:
        raise ArgumentError(
            f"{model_name}: input_shape must be (height, width, channels) of positive integers "
            f"(channels-last; height and width may be None). Received: input_shape={input_shape!r}"
        )
    shape = tuple(None if d is None else int(d) for d in shape)
    if static and None in shape:
        raise ArgumentError(
            f"{model_name}: its classifier flattens a fixed-size map, so with include_top=True "
            f"height and width must be given; use include_top=False (with pooling='avg' for "
            f"vectors) for any input size. Received: input_shape={shape}, include_top=True"
        )
    if any(d is not None and d < min_size for d in shape[:2]):
        height, width, channels = shape
        if height in (1, 3, 4) and width is not None and channels is not None and channels > 4:
            raise ArgumentError(  # (3, 224, 224): PyTorch's order
                f"{model_name}: input_shape looks channels-first (channels, height, width); Keras "
                f"models take channels-last (height, width, channels), here "
                f"{(width, channels, height)}. Received: input_shape={shape}"
            )
        raise ArgumentError(
            f"{model_name}: inputs must be at least {min_size}x{min_size} pixels "
            f"(height and width). Received: input_shape={shape}"
        )
    return shape  # type: ignore[return-value]


def _is_size(d) -> bool:
    return isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1


def _tensor_shape(model_name: str, tensor) -> tuple:
    if not keras.backend.is_keras_tensor(tensor) or len(tensor.shape) != 4:
        raise ArgumentError(
            f"{model_name}: input_tensor must be a symbolic Keras tensor of shape (batch, height, "
            f"width, channels), such as keras.Input((32, 32, 3)) or a layer's output. Received: "
            f"input_tensor={tensor!r}"
        )
    return tuple(tensor.shape[1:])


def requested_shape(kwargs: dict, default: Sequence[int]) -> tuple:
    """The input shape a builder call asks for, before checks: ``input_shape``, else the
    ``input_tensor``'s, else ``default`` (for code that decides before the build, such as which
    ImageNet weight file fits)."""
    if kwargs.get("input_shape") is not None:
        return tuple(kwargs["input_shape"])
    tensor = kwargs.get("input_tensor")
    if tensor is not None and getattr(tensor, "shape", None) is not None:
        return tuple(tensor.shape[1:])
    return tuple(default)


def plan_side(shape: Sequence[int | None], default: Sequence[int]) -> int:
    """The side a builder plans its layout for (stems, stride plans): the smaller known side,
    or the canonical ``default``'s when height and width are None (the ImageNet layout, as
    keras.applications builds for any-size inputs)."""
    known = [int(d) for d in shape[:2] if d is not None]
    return min(known) if known else min(int(d) for d in default[:2])


def scaled(channels: int, width: float, divisor: int = 1) -> int:
    """``channels * width`` rounded to the nearest multiple of ``divisor`` (at least that).

    The ``width`` knob of the classic families: 64 x 0.25 -> 16. The paper's AlexNet splits its
    channels into two groups, so it passes ``divisor=2``.
    """
    return max(divisor, int(round(channels * width / divisor)) * divisor)


def model_input(shape: tuple, name: str, input_tensor=None) -> keras.KerasTensor:
    """The functional-API input tensor, named ``f"{name}_input"``; ``input_tensor`` (a Keras
    tensor the model is built on, checked by :func:`resolve_input_shape`) when one is given."""
    if input_tensor is not None:
        return input_tensor
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
