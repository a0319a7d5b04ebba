"""JSON (as parsed by :mod:`json`) into typed dataclasses, checked against their type hints.

The reader of every stored record (:mod:`kerascnn.record.run`): ``parse(RunRecord, data, where)``
builds the dataclass or raises :class:`~kerascnn.errors.CorruptDataError` naming the field
(``where.test.top1 must be a number. Received: 'high'``), never a KeyError or TypeError.
Plain Python: imports nothing of kerascnn but its errors.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Union

from kerascnn.errors import CorruptDataError


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _bad(where: str, expected: str, value: Any) -> CorruptDataError:
    return CorruptDataError(f"{where} must be {expected}. Received: {value!r:.80}")


def parse(tp: Any, value: Any, where: str) -> Any:
    """``value`` (parsed JSON) as type ``tp`` (a dataclass, ``X | None``, ``list[X]``, ``dict[str, X]``,
    a scalar or Any), checked against the type hints; raises CorruptDataError naming ``where``."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return parse(inner, value, where)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _bad(where, f"an object ({tp.__name__})", value)
        known = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise _bad(where, f"an object with the fields of {tp.__name__}", f"unknown {unknown}")
        kwargs = {}
        for name, f in known.items():
            if name in value:
                kwargs[name] = parse(_hints(tp)[name], value[name], f"{where}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _bad(where, f"an object with the field {name!r}", sorted(value))
        return tp(**kwargs)
    if origin is list:
        if not isinstance(value, list):
            raise _bad(where, "a list", value)
        (item,) = typing.get_args(tp)
        return [parse(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _bad(where, "an object", value)
        _, item = typing.get_args(tp)
        return {k: parse(item, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(where, "a number", value)
        return float(value)
    if tp is int and isinstance(value, bool):
        raise _bad(where, "an integer", value)
    if not isinstance(value, tp):
        raise _bad(where, f"of type {tp.__name__}", value)
    return value


__all__ = ["parse"]
