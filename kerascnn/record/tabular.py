"""Rows of results as a terminal table, markdown, CSV or JSON: one writer for every command.

Every command that prints or stores a table (``kerascnn models``, ``summary``, ``report``,
``throughput``, a bench run folder's ``results.csv``) goes through :func:`render` and
:func:`write_csv`, so ``--format csv`` means the same thing everywhere: a header line with the
column names, one row per record, numbers unformatted (``pandas.read_csv`` reads them back),
empty cells for missing values.

    >>> rows = [{"model": "lenet", "params": 61706}, {"model": "vgg", "params": None}]
    >>> print(render(rows, "csv"), end="")
    model,params
    lenet,61706
    vgg,

Plain Python (no numpy, no Keras): the neutral ground under bench/, report/ and the CLI. Files
are written by :mod:`kerascnn.record.files`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kerascnn.errors import ArgumentError
from kerascnn.record.files import write_text_atomic

FORMATS = ("table", "md", "csv", "json")
"""What ``--format`` accepts: aligned text, markdown, CSV, JSON (a list of objects)."""


def columns_of(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> list[str]:
    """``columns`` if given, else every key of ``rows`` in first-seen order."""
    if columns is not None:
        return list(columns)
    return list(dict.fromkeys(k for row in rows for k in row))


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, (list, tuple)):
        return "x".join(map(str, value)) if all(isinstance(v, int) for v in value) else str(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _text_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(_csv_cell(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    cols = columns_of(rows, columns)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in cols])
    return buf.getvalue()


def to_json(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    cols = columns_of(rows, columns)
    data = [{c: _json_value(row.get(c)) for c in cols} for row in rows]
    return json.dumps(data, indent=1) + "\n"


def markdown_table(header: Sequence[str], cells: Sequence[Sequence[Any]]) -> str:
    """A markdown table of already-formatted cells (``|`` escaped, newlines made spaces)."""

    def esc(s: Any) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(map(esc, header)) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in cells]
    return "\n".join(lines)


def to_markdown(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    cols = columns_of(rows, columns)
    return markdown_table(cols, [[_text_cell(row.get(c)) for c in cols] for row in rows]) + "\n"


def to_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Aligned columns for a terminal: text left, numbers right."""
    cols = columns_of(rows, columns)
    cells = [[_text_cell(row.get(c)) for c in cols] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    numeric = [
        all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows)
        for c in cols
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(out) + "\n"


_RENDERERS = {"table": to_text, "md": to_markdown, "csv": to_csv, "json": to_json}


def render(
    rows: Sequence[Mapping[str, Any]], fmt: str, columns: Sequence[str] | None = None
) -> str:
    """``rows`` (dicts) in ``fmt`` (one of :data:`FORMATS`); ``columns`` picks and orders them."""
    if fmt not in _RENDERERS:
        raise ArgumentError(f"format must be one of {', '.join(FORMATS)}. Received: {fmt!r}")
    return _RENDERERS[fmt](rows, columns)


def write_csv(
    path: str | os.PathLike,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
) -> Path:
    """``rows`` as a CSV file at ``path``, written atomically (temp file + rename)."""
    return write_text_atomic(path, to_csv(rows, columns))


__all__ = [
    "FORMATS",
    "columns_of",
    "markdown_table",
    "render",
    "to_csv",
    "to_json",
    "to_markdown",
    "to_text",
    "write_csv",
]
