"""``@block``: declare a block function's argument checks once, for the zoo and the layers.

A block function takes the input tensor ``x`` first and a keyword-only ``name`` last, builds
Keras primitives named ``f"{name}_..."`` and returns the output tensor (keras.applications
style). ``@block(key=validator, ...)`` names a validator from :mod:`kerascnn.checks` for every
other argument (a missing one is a programming error, raised at import). Then

- calling the block (what the model builders do) checks and normalizes the arguments first,
  so a bad value raises :class:`~kerascnn.errors.ArgumentError` before any layer is made;
- ``block_fn.validate(*args, owner=..., **kwargs)`` returns the checked, normalized keywords
  without building anything: the public layer made from the block
  (:class:`kerascnn.layers.BlockLayer`) calls it in ``__init__``, so a bad argument fails at
  construction, as Keras' own layers do;
- ``relations(owner, values)`` (optional) checks what involves several arguments at once.
  Checks that need the input (its channel count) live in the block body.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from kerascnn.checks import Validator
from kerascnn.errors import ArgumentError


def block(
    *, relations: Callable[[str, dict[str, Any]], None] | None = None, **checks: Validator
) -> Callable:
    """Decorate a block function ``fn(x, ..., *, ..., name)`` with its argument checks."""

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        if not params or params[0].name != "x" or "name" not in sig.parameters:
            raise TypeError(f"@block: {fn.__name__} must take `x` first and a keyword `name`.")
        args = [p for p in params[1:] if p.name != "name"]
        keys = tuple(p.name for p in args)
        if set(keys) != set(checks):
            raise TypeError(
                f"@block: {fn.__name__} needs one check per argument; unchecked "
                f"{sorted(set(keys) - set(checks))}, unknown {sorted(set(checks) - set(keys))}."
            )
        arg_sig = sig.replace(parameters=args)

        def validate(*a: Any, owner: str | None = None, **kw: Any) -> dict[str, Any]:
            owner = owner or fn.__name__
            try:
                bound = arg_sig.bind(*a, **kw)
            except TypeError as exc:
                raise ArgumentError(
                    f"{owner}: {exc}. Accepted arguments: {', '.join(keys)}. "
                    f"Received: args={a!r}, kwargs={kw!r}"
                ) from None
            bound.apply_defaults()
            values = {key: checks[key](owner, key, value) for key, value in bound.arguments.items()}
            if relations is not None:
                relations(owner, values)
            return values

        @functools.wraps(fn)
        def wrapper(x, *a: Any, name: str, **kw: Any):
            return fn(x, **validate(*a, **kw), name=name)

        wrapper.validate = validate
        wrapper.arguments = keys
        wrapper.signature = arg_sig
        return wrapper

    return decorate
