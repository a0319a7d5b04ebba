"""What ``kerascnn summary`` does: build a model from a name/spec, profile it, format the result."""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence

from kerascnn.errors import ArgumentError

FORMATS = ("table", "md", "csv", "json")
"""table: aligned text; md: markdown; csv: one row per layer; json: per-layer rows + totals."""


def parse_input_shape(text: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """``"224,224,3"`` (or ``224x224x3``) -> ``(224, 224, 3)``; None stays None.

    >>> parse_input_shape("32x32x3")
    (32, 32, 3)
    """
    if text is None:
        return None
    if not isinstance(text, str):
        parts = list(text)
    else:
        stripped = text.strip().strip("()[]")
        parts = [p for p in re.split(r"[,x\s]+", stripped) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) not in (2, 3, 4) or any(d < 1 for d in shape):
        raise ArgumentError(
            "The input shape must be 2-4 positive integers separated by commas or 'x', "
            f"height,width,channels (e.g. 224,224,3). Received: {text!r}"
        )
    return shape


def build(model: str, input_shape=None, classes: int | None = None):
    """A registered model (name or spec string), or ``keras:Name`` for keras.applications."""
    shape = parse_input_shape(input_shape)
    if classes is not None and (
        isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1
    ):
        raise ArgumentError(f"--classes must be a positive integer. Received: {classes!r}")
    if model.startswith("keras:"):
        import keras

        cls_name = model.split(":", 1)[1]
        fn = getattr(keras.applications, cls_name, None)
        if fn is None or not callable(fn):
            raise ArgumentError(
                f"keras.applications has no {cls_name!r} (e.g. keras:ResNet50, keras:MobileNetV2). "
                f"Received: {model!r}"
            )
        kwargs = {"weights": None}
        if shape is not None:
            kwargs["input_shape"] = shape
        if classes is not None:
            kwargs["classes"] = int(classes)
        return fn(**kwargs)
    from kerascnn.models import create_model

    kwargs = {}
    if shape is not None:
        kwargs["input_shape"] = shape
    if classes is not None:
        kwargs["num_classes"] = int(classes)
    return create_model(model, **kwargs)


def summarize(model: str, input_shape=None, classes: int | None = None, fmt: str = "table") -> str:
    """Build ``model``, profile it and return the per-layer table plus totals as text.

    ``fmt="json"`` gives ``{"totals": {...}, "layers": [{...}, ...]}`` with raw numbers
    (:meth:`~kerascnn.analysis.rows.ModelProfile.as_dict`).
    """
    if fmt not in FORMATS:
        raise ArgumentError(f"format must be one of {', '.join(FORMATS)}. Received: {fmt!r}")
    from kerascnn.analysis.profile import profile

    prof = profile(build(model, input_shape, classes))
    if fmt == "md":
        return prof.to_markdown()
    if fmt == "csv":
        return prof.to_csv()
    if fmt == "json":
        return prof.to_json()
    return prof.to_text()
