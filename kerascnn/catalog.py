"""The model catalog: one row per registered model, with its parameter counts.

    >>> from kerascnn.catalog import model_catalog, catalog_table
    >>> rows = model_catalog("resnet*")  # natural order: resnet18 ... resnet101
    >>> rows[0].model, rows[0].input_shape, rows[0].trainable_canonical, rows[0].params_canonical
    ('resnet18', (224, 224, 3), 11689512, 11699112)
    >>> model_catalog("vgg")[0].aliases  # a bare word is a prefix; aliases match too
    ('vgg',)

Two counts, labelled alike everywhere (this table, ``kerascnn summary``, the README's zoo table,
the bench reports): **params (trainable)**, what the optimizer updates, what torchvision, timm and
the papers count (BatchNorm's moving statistics are buffers there), and **params (total)**, plus
the non-trainable BatchNorm statistics: Keras' ``count_params()``, keras.applications' "Total
params", the bench reports' count. ResNet-18: 11,689,512 trainable, 11,699,112 total.
``kerascnn models`` prints :func:`catalog_table` of the rows; a program reads their fields
(``pandas.DataFrame(rows)`` works too) or ``kerascnn models --format json``.

Parameter counts come from :data:`COUNTS_FILE` (``kerascnn/models/param_counts.json``), so the
catalog answers at once; ``params="count"`` (``kerascnn models --params``) builds every model
and counts for real. After a change to a builder, regenerate the file with::

    python -m kerascnn.catalog

(tests/test_catalog.py holds the stored counts equal to real builds of every registered model,
so a stale file fails the tests). A model spec with keywords (``"vgg11(width=0.25)"``) or a
model the file does not know is always counted. Built on the registry's public API only
(:func:`~kerascnn.models.list_models`, :func:`~kerascnn.models.model_info`,
:func:`~kerascnn.models.create_model`, :func:`~kerascnn.models.parse_spec`).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from kerascnn.errors import ArgumentError
from kerascnn.models import create_model, list_models, model_info, parse_spec
from kerascnn.record.files import write_text_atomic

__all__ = [
    "COUNTS_FILE",
    "SMALL_INPUT",
    "PARAMS_LABELS",
    "CatalogRow",
    "catalog_markdown",
    "catalog_records",
    "catalog_table",
    "count_params",
    "count_weights",
    "match_models",
    "model_catalog",
    "stored_counts",
    "write_param_counts",
]

SMALL_INPUT = ((32, 32, 3), 10)
"""The second input every model is counted at: (input_shape, num_classes), CIFAR-sized."""

COUNTS_FILE = Path(__file__).parent / "models" / "param_counts.json"
"""The stored parameter counts of every registered model (see :func:`write_param_counts`)."""

SCHEMA = 2
PARAMS_LABELS = {"trainable": "params (trainable)", "total": "params (total)"}
"""The column labels of the two counts (the module docstring says what each counts)."""
COUNT_FIELDS = ("params_canonical", "params_small", "trainable_canonical", "trainable_small")
"""The counts of a :class:`CatalogRow` (and of an entry of :data:`COUNTS_FILE`)."""
PARAMS_MODES = ("stored", "count", "none")
"""How :func:`model_catalog` fills the counts: from :data:`COUNTS_FILE`, by building, or not."""


@dataclass(frozen=True)
class CatalogRow:
    """One registered model (or model spec): its metadata and (when counted) its parameters."""

    model: str
    family: str
    year: int
    paper: str
    input_shape: tuple[int, ...]
    """The canonical input (height, width, channels)."""
    num_classes: int
    """The canonical number of classes."""
    min_input_size: int
    aliases: tuple[str, ...] = ()
    """Other names that resolve to this model (``vgg`` -> ``vgg11``)."""
    params_canonical: int | None = None
    """params (total) at the canonical input and classes; None when not counted."""
    params_small: int | None = None
    """params (total) at :data:`SMALL_INPUT`; None when not counted."""
    trainable_canonical: int | None = None
    """params (trainable) at the canonical input and classes; None when not counted."""
    trainable_small: int | None = None
    """params (trainable) at :data:`SMALL_INPUT`; None when not counted."""


# ------------------------------------------------------------------------------- counting


class Counts(NamedTuple):
    """The two counts of one build (module docstring)."""

    trainable: int
    total: int


def count_weights(spec: str, **kwargs: Any) -> Counts:
    """params (trainable) and params (total) of ``create_model(spec, **kwargs)``, counted on a
    real build of its graph.

    The variables are created lazily (inside ``keras.StatelessScope``, so no random weights
    are drawn: VGG-16's 138 M parameters count in under a second) and the session is cleared
    afterwards, so that the zoo built one by one does not pile up in memory.
    """
    import keras

    try:
        with keras.StatelessScope():
            model = create_model(spec, **kwargs)
            trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
            return Counts(trainable=int(trainable), total=int(model.count_params()))
    finally:
        keras.backend.clear_session()


def count_params(spec: str, **kwargs: Any) -> int:
    """params (total) of ``create_model(spec, **kwargs)``: Keras' ``count_params()``."""
    return count_weights(spec, **kwargs).total


def _count_both(spec: str) -> dict[str, int]:
    """The :data:`COUNT_FIELDS` of ``spec``: canonical and :data:`SMALL_INPUT` builds."""
    shape, classes = SMALL_INPUT
    big, small = count_weights(spec), count_weights(spec, input_shape=shape, num_classes=classes)
    return dict(zip(COUNT_FIELDS, (big.total, small.total, big.trainable, small.trainable)))


def write_param_counts(
    path: str | Path = COUNTS_FILE, progress: Callable[[int, int, str], None] | None = None
) -> Path:
    """Build every registered model twice and write the counts to ``path`` (JSON).

    ``python -m kerascnn.catalog`` calls this with the package's :data:`COUNTS_FILE`.
    """
    names = list_models()
    models = {}
    for k, name in enumerate(names, start=1):
        if progress is not None:
            progress(k, len(names), name)
        info = model_info(name)
        models[name] = {
            "input_shape": list(info.input_shape),
            "num_classes": info.num_classes,
            **_count_both(name),
        }
    shape, classes = SMALL_INPUT
    data = {
        "schema": SCHEMA,
        "about": "Parameter counts of every registered model at its canonical input and at the "
        "small input: params_* count every weight (Keras' count_params(), BatchNorm statistics "
        "included), trainable_* the trainable ones (torchvision's and timm's count); "
        "regenerate with `python -m kerascnn.catalog`.",
        "small_input": {"input_shape": list(shape), "num_classes": classes},
        "models": models,
    }
    head = json.dumps({k: v for k, v in data.items() if k != "models"}, indent=1)[:-2]
    body = ",\n".join(f"  {json.dumps(n)}: {json.dumps(e)}" for n, e in models.items())
    path = Path(path)
    write_text_atomic(path, f'{head},\n "models": {{\n{body}\n }}\n}}\n')
    assert json.loads(path.read_text(encoding="utf-8")) == data
    stored_counts.cache_clear()
    return path


@functools.cache
def stored_counts() -> dict[str, dict[str, Any]]:
    """name -> {input_shape, num_classes, and the :data:`COUNT_FIELDS`} from the file."""
    try:
        data = json.loads(COUNTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    shape, classes = SMALL_INPUT
    small = {"input_shape": list(shape), "num_classes": classes}
    if data.get("schema") != SCHEMA or data.get("small_input") != small:
        return {}  # another layout: count for real rather than trust it
    return data.get("models", {})


def _stored(name: str) -> dict[str, int] | None:
    entry = stored_counts().get(name)
    info = model_info(name)
    if (
        entry is None
        or tuple(entry.get("input_shape", ())) != info.input_shape
        or entry.get("num_classes") != info.num_classes
        or any(k not in entry for k in COUNT_FIELDS)
    ):
        return None
    return {k: int(entry[k]) for k in COUNT_FIELDS}


# ------------------------------------------------------------------------------- matching


def _aliases() -> dict[str, list[str]]:
    """target name -> its aliases."""
    names = set(list_models())
    out: dict[str, list[str]] = {}
    for alias in list_models(aliases=True):
        if alias not in names:
            out.setdefault(model_info(alias).name, []).append(alias)
    return out


def match_models(pattern: str | None = None) -> list[str]:
    """Registered names whose name or alias matches ``pattern`` (all when None), by the rule
    and in the natural order of :func:`~kerascnn.models.list_models` (a bare word is a prefix:
    ``vgg`` finds the alias ``vgg`` -> ``vgg11`` and every VGG; ``'*_bn'``, ``'VGG1?'``)."""
    names = list_models()
    if not pattern:
        return names
    hits = set(list_models(pattern, aliases=True))
    aliases = _aliases()
    return [n for n in names if n in hits or any(a in hits for a in aliases.get(n, ()))]


# ------------------------------------------------------------------------------- the rows


def _params_mode(params: bool | str) -> str:
    if params is True:
        return "count"
    if params is False:
        return "none"
    if params not in PARAMS_MODES:
        raise ArgumentError(
            f"params must be one of {', '.join(PARAMS_MODES)} (or True/False). "
            f"Received: params={params!r}"
        )
    return params


def model_catalog(
    pattern: str | None = None,
    *,
    params: bool | str = "stored",
    progress: Callable[[int, int, str], None] | None = None,
) -> list[CatalogRow]:
    """Rows for the registered models matching ``pattern`` (see :func:`match_models`).

    ``params``: ``"stored"`` (default) reads the counts from :data:`COUNTS_FILE` (a model it
    does not know is counted); ``"count"`` (or True) builds every model twice (canonical
    input, then :data:`SMALL_INPUT`) to count its parameters, about 45 s for the zoo;
    ``"none"`` (or False) leaves them None. ``progress(k, n, name)`` is called before model
    ``k`` of ``n`` is built. A ``pattern`` with keywords (``"vgg11(width=0.25)"``) is one model
    spec, counted unless ``params="none"``. No match gives an empty list.
    """
    mode = _params_mode(params)
    aliases = _aliases()
    if pattern and "(" in pattern:
        name, kwargs = parse_spec(pattern)
        info = model_info(name)
        counts = _count_both(pattern) if mode != "none" else {}
        row = _row(info, pattern.strip(), tuple(aliases.get(info.name, ())), counts)
        shape = tuple(kwargs.get("input_shape", info.input_shape))
        return [
            replace(row, input_shape=shape, num_classes=kwargs.get("num_classes", row.num_classes))
        ]
    names = match_models(pattern)
    todo = [n for n in names if mode == "count" or (mode == "stored" and _stored(n) is None)]
    rows = []
    for name in names:
        counts: dict[str, int] = {}
        if mode == "stored" and name not in todo:
            counts = _stored(name) or {}
        elif name in todo:
            if progress is not None:
                progress(todo.index(name) + 1, len(todo), name)
            counts = _count_both(name)
        rows.append(_row(model_info(name), name, tuple(aliases.get(name, ())), counts))
    return rows


def _row(info, model: str, aliases: tuple[str, ...], counts: dict[str, int]) -> CatalogRow:
    return CatalogRow(
        model=model,
        family=info.family,
        year=info.year,
        paper=info.paper,
        input_shape=tuple(info.input_shape),
        num_classes=info.num_classes,
        min_input_size=info.min_input_size,
        aliases=aliases,
        **counts,
    )


# ------------------------------------------------------------------------------- output


def _shape_text(shape, classes) -> str:
    return "x".join(map(str, shape)) + f"/{classes}"


def catalog_records(rows: Sequence[CatalogRow]) -> list[dict[str, Any]]:
    """The rows as plain dicts with machine names (what ``--format csv|json`` writes):
    ``params_*`` are params (total), ``trainable_*`` params (trainable) (module docstring)."""
    return [
        {
            "model": r.model,
            "aliases": list(r.aliases),
            "family": r.family,
            "year": r.year,
            "paper": r.paper,
            "input_shape": list(r.input_shape),
            "num_classes": r.num_classes,
            "min_input_size": r.min_input_size,
            **{k: getattr(r, k) for k in COUNT_FIELDS},
        }
        for r in rows
    ]


def catalog_table(rows: Sequence[CatalogRow], fmt: str = "table") -> str:
    """``rows`` in ``fmt`` (:data:`kerascnn.record.tabular.FORMATS`), through :func:`kerascnn.record.tabular.render`.

    ``table`` (terminal, under 100 columns): model, aliases, family, year, canonical input,
    params (total) there and at :data:`SMALL_INPUT`; ``md`` adds the minimum input size, the
    params (trainable) beside each count (the README's zoo table) and the paper; ``csv`` and
    ``json`` hold every field with raw numbers (:func:`catalog_records`). The count columns
    appear when the rows have counts.
    """
    from kerascnn.record.tabular import render

    counted = any(r.params_canonical is not None for r in rows)
    if fmt in ("csv", "json"):
        records = catalog_records(rows)
        if fmt == "csv":
            for rec in records:
                rec["aliases"] = " ".join(rec["aliases"])
        cols = list(records[0]) if records else None
        if cols and not counted:
            cols = [c for c in cols if c not in COUNT_FIELDS]
        return render(records, fmt, cols)
    trainable, total = PARAMS_LABELS["trainable"], PARAMS_LABELS["total"]
    small = _shape_text(*SMALL_INPUT)
    small_trainable, small_total = f"trainable at {small}", f"total at {small}"
    table = [
        {
            "model": r.model,
            "aliases": ", ".join(r.aliases),
            "family": r.family,
            "year": str(r.year),  # not 2,014
            "input": _shape_text(r.input_shape, r.num_classes),
            "min px": r.min_input_size,
            trainable: r.trainable_canonical,
            total: r.params_canonical,
            small_trainable: r.trainable_small,
            small_total: r.params_small,
            "paper": r.paper,
        }
        for r in rows
    ]
    cols = ["model", "aliases", "family", "year", "input"]
    if fmt == "md":
        cols.append("min px")
    if counted:
        cols += (
            [trainable, total, small_trainable, small_total]
            if fmt == "md"
            else [total, small_total]
        )
    if fmt == "md":
        cols.append("paper")
    return render(table, fmt, cols)


def catalog_markdown(rows: Sequence[CatalogRow]) -> str:
    """A markdown table of ``rows`` (``catalog_table(rows, "md")``)."""
    return catalog_table(rows, "md")


if __name__ == "__main__":  # python -m kerascnn.catalog: regenerate COUNTS_FILE
    import sys

    from kerascnn._quiet import quiet_backend_import

    quiet_backend_import()

    def _say(k: int, n: int, name: str) -> None:
        print(f"[{k}/{n}] {name}", file=sys.stderr, flush=True)

    print(f"wrote {write_param_counts(progress=_say)}")
