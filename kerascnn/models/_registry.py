"""Model registry: name -> builder, plus metadata, spec strings and ``create_model``.

Habits from timm: one small callable per variant, registered with ``@register_model``;
``create_model`` accepts a plain name (``"resnet18"``) or a spec string with literal keyword
arguments (``"vgg11(width=0.25)"``). Spec strings are parsed with :mod:`ast` and only
literals are accepted: no names, calls, attributes or arithmetic beyond a unary minus, so a
spec can never run code.

The zoo registers every variant the same way: a family builder with a real signature
(``build_resnet(depth, *, input_shape=None, num_classes=1000, ...)``) and one line per variant,
``resnet18 = register_model(...)(variant(build_resnet, "resnet18", 18))``. A variant has the
builder's keywords as its own signature (``help(resnet18)`` shows them), so ``create_model``
rejects a keyword the model does not take, naming those it does.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import fnmatch
import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kerascnn.errors import ArgumentError
from kerascnn.recipe import DEFAULT_RECIPE, Recipe

__all__ = [
    "DEFAULT_RECIPE",
    "ModelInfo",
    "Recipe",
    "register_model",
    "register_alias",
    "create_model",
    "list_models",
    "matches_pattern",
    "model_info",
    "parse_spec",
]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model variant."""

    name: str
    builder: Callable[..., Any] = field(repr=False, compare=False)
    family: str
    paper: str
    year: int
    input_shape: tuple[int, ...]
    num_classes: int
    reference: str
    """The canonical parameter-count reference (e.g. ``keras.applications.VGG16``)."""
    min_input_size: int = 1
    """Smallest spatial size (height and width) the builder accepts."""
    recipe: Recipe | None = None
    """The model's own default training recipe; None: :data:`DEFAULT_RECIPE`."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "paper": self.paper,
            "year": self.year,
            "input_shape": self.input_shape,
            "num_classes": self.num_classes,
            "reference": self.reference,
            "min_input_size": self.min_input_size,
            "recipe": None if self.recipe is None else dataclasses.asdict(self.recipe),
        }


_REGISTRY: dict[str, ModelInfo] = {}
_ALIASES: dict[str, str] = {}


def register_model(
    *,
    family: str,
    paper: str,
    year: int,
    input_shape: tuple[int, ...] = (224, 224, 3),
    num_classes: int = 1000,
    reference: str,
    min_input_size: int = 1,
    recipe: Recipe | None = None,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that registers a builder function under its function name.

    Example::

        @register_model(family="vgg", paper="Very Deep Convolutional Networks ...",
                        year=2014, reference="keras.applications.VGG16")
        def vgg16(**kwargs):
            return _vgg(..., **kwargs)
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or fn.__name__
        if key in _REGISTRY or key in _ALIASES:
            raise ArgumentError(f"Model name {key!r} is registered twice.")
        _REGISTRY[key] = ModelInfo(
            name=key,
            builder=fn,
            family=family,
            paper=paper,
            year=int(year),
            input_shape=tuple(int(d) for d in input_shape),
            num_classes=int(num_classes),
            reference=reference,
            min_input_size=int(min_input_size),
            recipe=recipe,
        )
        return fn

    return decorate


def check_keywords(model: str, signature: inspect.Signature, kwargs: dict[str, Any]) -> None:
    """Raise ArgumentError when ``kwargs`` holds a keyword that ``signature`` does not take."""
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(k for k in kwargs if k not in params)
    if unknown:
        raise ArgumentError(
            f"Model {model!r} does not accept {', '.join(unknown)}. Accepted keywords: "
            f"{', '.join(params)}. Received: {kwargs!r}"
        )


def register_alias(alias: str, target: str) -> None:
    """Make ``alias`` resolve to the registered model ``target`` (e.g. ``vgg`` -> ``vgg11``)."""
    if alias in _REGISTRY or alias in _ALIASES:
        raise ArgumentError(f"Model name {alias!r} is registered twice.")
    _ALIASES[alias] = target


WILDCARDS = "*?["
"""The characters that make a pattern a shell pattern; a pattern without them is a prefix."""


def natural_key(name: str) -> list:
    """Sort key that orders the digits in a name as numbers: resnet18 < resnet34 < resnet101
    (timm's ``_natural_key``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower())]


def matches_pattern(name: str, pattern: str | Sequence[str] | None) -> bool:
    """Whether ``name`` matches ``pattern``: the one rule of :func:`list_models` and
    ``kerascnn models PATTERN``.

    A pattern with a wildcard (``*``, ``?``, ``[...]``) is a shell pattern matched against the
    whole name, as timm's ``list_models("vgg*")`` (:func:`fnmatch.fnmatchcase`); a bare word,
    without one, means ``word*``: the names that start with it (``"vgg"`` finds every VGG,
    ``"resnet"`` the ResNets and not ``seresnet18``). Case-insensitive (the names are lower
    case). A list of patterns matches when any of them does (timm's habit); None or ``""``
    matches every name.
    """
    if not pattern:
        return True
    if not isinstance(pattern, str):
        return any(matches_pattern(name, p) for p in pattern)
    pat = pattern.lower()
    if not any(c in pat for c in WILDCARDS):
        pat += "*"
    return fnmatch.fnmatchcase(name.lower(), pat)


def _natural_sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda n: (natural_key(n), n))


def list_models(pattern: str | Sequence[str] | None = None, *, aliases: bool = False) -> list[str]:
    """Names of the registered models in natural order (``resnet18`` before ``resnet101``),
    optionally filtered by ``pattern``.

    ``pattern``: a shell pattern (``"resnet*"``, ``"vgg*_bn"``, ``"vgg1?"``) matched against
    the whole name, as timm's ``list_models``; a bare word without ``*?[`` means ``word*``
    (``list_models("vgg")`` is ``list_models("vgg*")``); a list of patterns matches any of
    them. Case-insensitive. ``kerascnn models PATTERN`` applies the same rule
    (:func:`matches_pattern`) to names and aliases. ``aliases=True`` adds the aliases
    (``vgg`` -> ``vgg11``) that match.

    >>> list_models("resnet")
    ['resnet18', 'resnet34', 'resnet50', 'resnet101']
    """
    names = list(_REGISTRY)
    if aliases:
        names += list(_ALIASES)
    return _natural_sorted(n for n in names if matches_pattern(n, pattern))


def _resolve(name: str) -> ModelInfo:
    key = _ALIASES.get(name, name)
    if key in _REGISTRY:
        return _REGISTRY[key]
    known = _natural_sorted(set(_REGISTRY) | set(_ALIASES))
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ArgumentError(
        f"Unknown model {name!r}.{hint} Known models: {', '.join(known)}. Received: name={name!r}"
    )


def model_info(name: str) -> ModelInfo:
    """Metadata for a registered model (aliases resolve to their target)."""
    return _resolve(parse_spec(name)[0])


# --------------------------------------------------------------------------- spec strings


def _literal(node: ast.AST, spec: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise ArgumentError(
            f"Model spec arguments must be literals (numbers, strings, booleans, None, "
            f"tuples, lists, dicts), not {ast.unparse(node)!r}. Received: {spec!r}"
        ) from None


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Parse ``"name"`` or ``"name(key=literal, ...)"`` into ``(name, kwargs)``.

    >>> parse_spec("vgg11(width=0.25)")
    ('vgg11', {'width': 0.25})

    Only keyword arguments with literal values are accepted; anything else (positional
    arguments, names, calls, attribute access, expressions) raises ``ValueError``.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ArgumentError(f"A model spec must be a non-empty string. Received: {spec!r}")
    text = spec.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ArgumentError(
            f"Cannot parse model spec {text!r}: expected 'name' or 'name(key=value, ...)'. "
            f"Received: {spec!r}"
        ) from None
    node = tree.body
    if isinstance(node, ast.Name):
        return node.id, {}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.args:
            raise ArgumentError(
                f"Model spec arguments must be keywords (e.g. vgg11(width=0.25)). "
                f"Received: {spec!r}"
            )
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise ArgumentError(f"'**' is not allowed in a model spec. Received: {spec!r}")
            kwargs[kw.arg] = _literal(kw.value, spec)
        return node.func.id, kwargs
    raise ArgumentError(
        f"Cannot parse model spec {text!r}: expected 'name' or 'name(key=value, ...)'. "
        f"Received: {spec!r}"
    )


def create_model(name_or_spec: str, **kwargs: Any):
    """Build a registered model as a ``keras.Model``.

    Args:
        name_or_spec: a registered name (``"resnet18"``) or a spec string with literal
            keyword arguments (``"vgg11(width=0.25)"``).
        **kwargs: builder keywords; they override those in the spec. Every builder takes
            ``input_shape``, ``num_classes``, ``include_top``, ``pooling``,
            ``classifier_activation`` and ``name``, plus family knobs.

    Returns:
        A functional ``keras.Model``. Without ``input_shape`` the model's canonical input
        is used (``model_info(name).input_shape``).
    """
    name, spec_kwargs = parse_spec(name_or_spec)
    info = _resolve(name)
    merged = {**spec_kwargs, **kwargs}
    check_keywords(info.name, inspect.signature(info.builder), merged)
    return info.builder(**merged)
