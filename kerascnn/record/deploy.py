"""The row of one (model, target) deployment measurement: ``deploy.csv``'s columns.

Plain Python, no Keras: the deploy runner writes these rows (:func:`write_row`,
:func:`write_table`), the report reads them back (:func:`read_deploy`), and a record that
cannot be read is named with its reason, as a run's result is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn.record.files import read_json, write_json_atomic
from kerascnn.record.layout import DEPLOY_CSV, DEPLOY_DIR, DEPLOY_ENVIRONMENT
from kerascnn.record.tabular import write_csv

COLUMNS = (
    "model",
    "target",
    "status",
    "top1",
    "top1_drop",
    "agreement",
    "max_rel_diff",
    "size_bytes",
    "latency_b1_p50_ms",
    "latency_b1_p95_ms",
    "images_per_s",
    "batch",
    "threads",
    "format",
    "quantize",
    "runtime",
    "runtime_version",
    "calibration_images",
    "test_images",
    "key",
    "artifact",
    "error",
)
"""``top1`` on the test images through the runtime; ``top1_drop`` = the Keras model's top-1
minus it (a fraction: 0.004 is 0.4 points); ``agreement``: share of test images whose top-1
class equals the Keras model's; ``max_rel_diff``: max |runtime - Keras| / max |Keras| over the
outputs of the test images; ``images_per_s`` at batch ``batch``; ``threads``: the runtime's
thread setting (None: the runtime's own choice)."""

STATUSES = ("ok", "failed", "skipped")
_TEXT_COLUMNS = {"model", "target", "status", "format", "quantize", "runtime"}
_TEXT_COLUMNS |= {"runtime_version", "key", "artifact", "error"}
_NUMBERS = {c: (int, float) for c in COLUMNS if c not in _TEXT_COLUMNS}


@dataclass
class DeployRecords:
    """A run folder's stored deployment: the readable rows, the environment they were measured
    in, and (file name, reason) of each record that cannot be read."""

    rows: list[dict[str, Any]]
    environment: dict[str, Any]
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def deploy_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / DEPLOY_DIR


def row_path(folder: str | os.PathLike, key: str, target: str) -> Path:
    """The record of (run ``key``, ``target``) in the ``deploy/`` folder ``folder``."""
    return Path(folder) / f"{key}__{target}.json"


def write_row(folder: str | os.PathLike, row: dict[str, Any]) -> Path:
    return write_json_atomic(row_path(folder, row["key"], row["target"]), row)


def write_table(out: str | os.PathLike, rows: list[dict[str, Any]]) -> Path:
    """``OUT/deploy.csv``: every row so far."""
    return write_csv(Path(out) / DEPLOY_CSV, rows, COLUMNS)


def write_environment(folder: str | os.PathLike, environment: dict[str, Any]) -> Path:
    return write_json_atomic(Path(folder) / DEPLOY_ENVIRONMENT, environment)


def row_reason(row: Any) -> str | None:
    """What keeps ``row`` from being a deployment record (None: it is one)."""
    if not isinstance(row, dict):
        return "not a JSON object"
    missing = [c for c in ("model", "target", "status", "key") if c not in row]
    if missing:
        return f"no {', '.join(missing)}"
    if row["status"] not in STATUSES:
        return f"status {row['status']!r} (one of {', '.join(STATUSES)})"
    wrong = [
        c
        for c, kinds in _NUMBERS.items()
        if row.get(c) is not None and (isinstance(row[c], bool) or not isinstance(row[c], kinds))
    ]
    return f"not a number: {', '.join(wrong)}" if wrong else None


def read_deploy(run_dir: str | os.PathLike) -> DeployRecords:
    """Every (model, target) record under ``RUN_DIR/deploy/`` (columns of :data:`COLUMNS`), the
    environment, and each file that cannot be read with its reason (never raises on a file)."""
    folder = deploy_dir(run_dir)
    records = DeployRecords([], {})
    for path in sorted(folder.glob("*__*.json")) if folder.is_dir() else []:
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
            reason = row_reason(row)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reason = f"not JSON: {exc}"
        if reason:
            records.unreadable.append((path.name, reason))
        else:
            records.rows.append({c: row.get(c) for c in COLUMNS})
    env = read_json(folder / DEPLOY_ENVIRONMENT)
    records.environment = env or {}
    return records
