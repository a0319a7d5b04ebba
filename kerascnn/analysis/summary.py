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


def keras_application(spec: str):
    """The keras.applications builder ``keras:Name`` names; an unknown name is an ArgumentError
    that suggests the names it is close to (case aside: keras:mobilenetv2 -> keras:MobileNetV2)."""
    import difflib

    import keras

    cls_name = spec.split(":", 1)[1]
    fn = getattr(keras.applications, cls_name, None)
    if fn is not None and callable(fn):
        return fn
    known = [n for n in dir(keras.applications) if n[:1].isupper()]
    same = [n for n in known if n.lower() == cls_name.lower()]
    close = same or difflib.get_close_matches(cls_name, known, n=3, cutoff=0.6)
    hint = f"Did you mean {', '.join('keras:' + n for n in close)}? " if close else ""
    raise ArgumentError(
        f"keras.applications has no {cls_name!r} (the names are case-sensitive, e.g. "
        f"keras:ResNet50, keras:MobileNetV2). {hint}Received: {spec!r}"
    )


def _with_channels(model: str, shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """``(height, width)`` -> ``(height, width, channels)`` with the model's own channel count
    (3 for keras.applications); any other shape as it is."""
    if shape is None or len(shape) != 2:
        return shape
    if model.startswith("keras:"):
        return (*shape, 3)
    from kerascnn.models import model_info

    return (*shape, model_info(model).input_shape[-1])


def build(model: str, input_shape=None, classes: int | None = None):
    """A registered model (name or spec string), or ``keras:Name`` for keras.applications.
    ``input_shape`` (height, width) keeps the model's own channel count."""
    shape = _with_channels(model, parse_input_shape(input_shape))
    if classes is not None and (
        isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1
    ):
        raise ArgumentError(f"--classes must be a positive integer. Received: {classes!r}")
    if model.startswith("keras:"):
        fn = keras_application(model)
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
