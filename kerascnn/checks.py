"""Argument validators shared by the blocks, layers and model builders: one message style.

A validator is called as ``check(owner, key, value)`` and returns the value, normalized (an int
kernel size becomes a pair, a list becomes a tuple), or raises
:class:`~kerascnn.errors.ArgumentError`::

    resnet18: `width` must be a positive number. Received: width=0

``owner`` names what was being built (a model, a block function, a layer class). The
parametrized ones are factories: ``checks.choice("same", "valid")`` returns a validator.
Blocks declare theirs in ``@block(...)`` (:mod:`kerascnn.blocks._block`); builders call them
directly.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from kerascnn.errors import ArgumentError

Validator = Callable[[str, str, Any], Any]


def _fail(owner: str, key: str, what: str, value: Any) -> ArgumentError:
    return ArgumentError(f"{owner}: `{key}` must be {what}. Received: {key}={value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def int_at_least(minimum: int) -> Validator:
    """An integer >= ``minimum`` (booleans are not integers here)."""

    def check(owner: str, key: str, value: Any) -> int:
        if not _is_int(value) or value < minimum:
            raise _fail(owner, key, f"an integer >= {minimum}", value)
        return int(value)

    return check


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def optional(check: Validator) -> Validator:
    """None, or what ``check`` accepts."""

    def optional_check(owner: str, key: str, value: Any) -> Any:
        return None if value is None else check(owner, key, value)

    return optional_check


def int_or_pair(owner: str, key: str, value: Any) -> tuple[int, int]:
    """A positive int or a pair of them (Keras' kernel_size/strides), as a pair."""
    items = (value, value) if _is_int(value) else value
    if (
        not isinstance(items, (tuple, list))
        or len(items) != 2
        or not all(_is_int(v) and v >= 1 for v in items)
    ):
        raise _fail(owner, key, "an integer or a pair of integers >= 1", value)
    return int(items[0]), int(items[1])


def choice(*choices: Any) -> Validator:
    """One of ``choices`` (compared with ``==``; booleans only match booleans)."""

    def check(owner: str, key: str, value: Any) -> Any:
        for c in choices:
            if value == c and isinstance(value, bool) == isinstance(c, bool):
                return c
        raise _fail(owner, key, "one of " + ", ".join(repr(c) for c in choices), value)

    return check


boolean = choice(False, True)


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    what: str | None = None,
) -> Validator:
    """A finite real number in the interval (brackets as given); returned as a float."""
    if what is None:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        what = f"a number in {'(' if low_open or low is None else '['}{lo}, {hi}"
        what += ")" if high_open or high is None else "]"

    def check(owner: str, key: str, value: Any) -> float:
        ok = _is_real(value) and math.isfinite(float(value))
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            raise _fail(owner, key, what, value)
        return float(value)

    return check


positive_number = number(0.0, low_open=True, what="a positive number")  # widths, BN epsilon
rate = number(0.0, 1.0, high_open=True)  # dropout and drop-connect rates
ratio = number(0.0, 1.0, low_open=True)  # SE ratios, DenseNet compression
momentum = number(0.0, 1.0, high_open=True)  # BatchNormalization momentum (Keras convention)


def int_sequence(*, minimum: int = 1, allow_empty: bool = False) -> Validator:
    """A list or tuple of integers >= ``minimum``, as a tuple."""
    what = f"a {'' if allow_empty else 'non-empty '}sequence of integers >= {minimum}"

    def check(owner: str, key: str, value: Any) -> tuple[int, ...]:
        if (
            not isinstance(value, (tuple, list))
            or (not value and not allow_empty)
            or not all(_is_int(v) and v >= minimum for v in value)
        ):
            raise _fail(owner, key, what, value)
        return tuple(int(v) for v in value)

    return check


def string(*, blank: bool = False) -> Validator:
    """A string; unless ``blank``, one that holds more than whitespace."""
    what = "a string" if blank else "a non-empty string"

    def check(owner: str, key: str, value: Any) -> str:
        if not isinstance(value, str) or not (blank or value.strip()):
            raise _fail(owner, key, what, value)
        return value

    return check


def list_of(item: Validator, *, allow_empty: bool = False, length: int | None = None) -> Validator:
    """A list (not a tuple: the shape TOML and JSON give) of what ``item`` accepts, as a list of
    ``item``'s results; ``length``: exactly that many items. A bad item is named with its index
    (``seeds[1]``)."""
    if length is not None:
        what = f"a list of {length} items"
    else:
        what = "a list" if allow_empty else "a non-empty list"

    def check(owner: str, key: str, value: Any) -> list[Any]:
        if (
            not isinstance(value, list)
            or (length is not None and len(value) != length)
            or (not value and not allow_empty)
        ):
            raise _fail(owner, key, what, value)
        return [item(owner, f"{key}[{i}]", v) for i, v in enumerate(value)]

    return check


def accepts(check: Validator, value: Any) -> bool:
    """Whether ``check`` accepts ``value``: a validator as a predicate, for callers that word
    their own message (the benchmark config's rule table, :mod:`kerascnn.bench.config_checks`)."""
    try:
        check("value", "value", value)
    except ArgumentError:
        return False
    return True


def activation(owner: str, key: str, value: Any) -> str | None:
    """None (linear) or the name of a Keras activation ('relu', 'relu6', 'swish', ...)."""
    import keras

    if value is None:
        return None
    if isinstance(value, str):
        try:
            keras.activations.get(value)
            return value
        except (ValueError, TypeError):
            pass
    raise _fail(
        owner,
        key,
        "None or the name of a Keras activation such as 'relu', 'relu6', 'swish', 'sigmoid', "
        "'hard_sigmoid'",
        value,
    )


def padding(owner: str, key: str, value: Any) -> str | int:
    """'same', 'valid' or an int >= 0: zeros on every side (PyTorch's ``padding=p``)."""
    if value in ("same", "valid") and isinstance(value, str):
        return value
    if _is_int(value) and value >= 0:
        return int(value)
    raise _fail(owner, key, "'same', 'valid' or an integer >= 0 (zeros on every side)", value)


def initializer(owner: str, key: str, value: Any) -> Any:
    """A Keras initializer: a name ('glorot_uniform', 'he_normal', ...) or an instance.

    Checked without making one: an initializer made without a seed draws one from Python's
    random state, which would shift every later weight of a seeded run.
    """
    import keras

    if isinstance(value, keras.initializers.Initializer):
        return value
    if isinstance(value, str) and isinstance(getattr(keras.initializers, value, None), type):
        return value
    raise _fail(owner, key, "a Keras initializer such as 'glorot_uniform', 'he_normal'", value)


__all__: Sequence[str] = (
    "Validator",
    "int_at_least",
    "positive_int",
    "non_negative_int",
    "optional",
    "int_or_pair",
    "choice",
    "boolean",
    "number",
    "positive_number",
    "rate",
    "ratio",
    "momentum",
    "int_sequence",
    "string",
    "list_of",
    "accepts",
    "activation",
    "padding",
    "initializer",
)
