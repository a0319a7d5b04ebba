"""The stored record of a ``kerascnn throughput`` sweep: ``results.json`` (kind, schema, the
config, the environment, one row per point) and ``results.csv`` (the same rows, flat).

The sweep (:mod:`kerascnn.accel.sweep`) writes it through :func:`write_throughput`, after every
point; the report (:mod:`kerascnn.report.throughput`) reads it through :func:`read_throughput`,
which names what is wrong with a file it cannot read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kerascnn.errors import CorruptDataError, ReportError, SchemaVersionError
from kerascnn.record.files import write_json_atomic
from kerascnn.record.layout import RESULTS_CSV, THROUGHPUT_JSON
from kerascnn.record.tabular import write_csv

SCHEMA_VERSION = 1
"""Layout of results.json; a reader refuses any other version."""
KIND = "kerascnn.throughput"
# A row's "bn_folded" (BatchNorms folded for an inference point; 0 for training) came after
# schema 1's first records: a row without it reads as None (not known), never as 0. So did
# "fused_train" (training through kerascnn.accel.fused_train's kernels; False for inference).
STATUSES = ("ok", "oom", "error")
CSV_COLUMNS = (
    "model", "mode", "batch_size", "image_size", "precision", "backend", "device", "path",
    "xla", "bn_folded", "fused_train", "status", "images_per_s", "step_ms_median", "step_ms_min", "step_ms_max", "windows",
    "steps_per_window", "compile_s", "gflops_per_s", "macs", "params", "peak_memory_mib",
    "peak_memory_kind", "loss_first", "loss_last", "error",
)  # fmt: skip


def new_document(*, created: str, config: dict, environment: dict) -> dict[str, Any]:
    """An empty sweep record (rows are appended as points are measured)."""
    return {
        "schema": SCHEMA_VERSION,
        "kind": KIND,
        "created": created,
        "config": config,
        "environment": environment,
        "wall_s": None,
        "rows": [],
    }


def write_throughput(out: str | os.PathLike, doc: dict[str, Any]) -> None:
    """Store ``doc`` as ``OUT/results.json`` and its rows as ``OUT/results.csv``."""
    write_json_atomic(Path(out) / THROUGHPUT_JSON, doc)
    write_csv(Path(out) / RESULTS_CSV, doc["rows"], CSV_COLUMNS)


def _reason(doc: Any) -> str | None:
    """What is wrong with a parsed results.json (None: nothing the reader cannot use)."""
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        return "not a 'kerascnn throughput' result"
    rows = doc.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return "its 'rows' is not a list of points"
    for i, row in enumerate(rows):
        missing = [k for k in ("model", "mode", "batch_size", "status") if k not in row]
        if missing:
            return f"point {i} has no {', '.join(missing)}"
        if row["status"] not in STATUSES:
            return f"point {i} has status {row['status']!r} (one of {', '.join(STATUSES)})"
    return None


def read_throughput(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The stored sweep of ``run_dir`` (its results.json), schema-checked.

    ReportError when the file is missing or not a sweep (naming what is wrong),
    CorruptDataError when it is not JSON, SchemaVersionError for another schema version.
    """
    path = Path(run_dir) / THROUGHPUT_JSON
    if not path.is_file():
        raise ReportError(
            f"{path} does not exist: pass a folder written by 'kerascnn throughput'. "
            f"Received: {str(run_dir)!r}"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CorruptDataError(f"{path} is not valid JSON ({exc}). Received: {path}") from None
    if isinstance(doc, dict) and doc.get("kind") == KIND:
        found = doc.get("schema")
        if found != SCHEMA_VERSION or isinstance(found, bool):
            raise SchemaVersionError(str(path), found, SCHEMA_VERSION)
    reason = _reason(doc)
    if reason:
        raise ReportError(f"{path} cannot be read: {reason}. Received: {path}")
    return doc
