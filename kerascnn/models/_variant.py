"""``variant``: one registered model as a family builder with fixed arguments and defaults."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from kerascnn.models._registry import check_keywords
from kerascnn.models.keywords import APPLICATION_PARAMETERS, build_application

__all__ = ["variant"]


def variant(
    builder: Callable[..., Any],
    name: str,
    *fixed: Any,
    doc: str | None = None,
    imagenet: Callable[[dict[str, Any]], Any] | None = None,
    **defaults: Any,
) -> Callable[..., Any]:
    """A model variant: ``builder`` with its leading arguments ``fixed`` and new ``defaults``.

    The variant takes keywords only; its signature is the builder's without the fixed
    arguments, with ``name`` defaulting to the variant's name and ``defaults`` applied, plus
    keras.applications' ``classes`` and ``weights`` and timm's ``features_only`` /
    ``out_indices`` (:mod:`kerascnn.models.keywords`)::

        vgg11_bn = variant(build_vgg, "vgg11_bn", SPECS["vgg11"], batch_norm=True)

    ``imagenet``: for a variant whose layout equals keras.applications, a function of the
    call's keywords that returns keras.applications' weight file for ``weights="imagenet"``
    (raising ArgumentError for a configuration those weights do not fit).
    """
    params = list(inspect.signature(builder).parameters.values())
    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    if len(fixed) > len(positional):
        raise TypeError(
            f"variant {name!r}: {builder.__name__} takes {len(positional)} positional "
            f"arguments, {len(fixed)} were fixed."
        )
    rest = [p for p in params if p not in positional[: len(fixed)]]
    defaults = {"name": name, **defaults}
    missing = set(defaults) - {p.name for p in rest}
    if missing:
        raise TypeError(f"variant {name!r}: {builder.__name__} has no argument {sorted(missing)}.")
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=defaults.get(p.name, p.default))
        for p in rest
    ]
    signature = inspect.Signature([*own, *APPLICATION_PARAMETERS])
    own_defaults = {p.name: p.default for p in own if p.default is not inspect.Parameter.empty}

    def build(**kwargs: Any):
        check_keywords(name, signature, kwargs)
        return build_application(
            name,
            lambda **kw: builder(*fixed, **kw),
            kwargs,
            own_defaults,
            imagenet=imagenet,
        )

    build.__name__ = build.__qualname__ = name
    build.__module__ = builder.__module__
    build.__signature__ = signature  # type: ignore[attr-defined]
    build.imagenet = imagenet  # type: ignore[attr-defined]
    summary = (builder.__doc__ or "").strip().splitlines()[:1]
    build.__doc__ = doc or f"{name}: {summary[0] if summary else builder.__name__}"
    return build
