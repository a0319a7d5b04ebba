"""Results store: one JSON file per run, written atomically (temp file + ``os.replace``).

Layout of a run folder::

    RUN_DIR/suite.json            the resolved config, command and environment of the suite
    RUN_DIR/results/<key>.json    one per (dataset, model, config hash, seed) run
    RUN_DIR/logs/<key>.csv        per-epoch training log (keras CSVLogger)

A reader never sees a half-written result: a file appears under its final name only once
complete, so a run killed at any moment leaves either the whole file or none (a stray
``.tmp`` at most, which readers ignore and the next write replaces). What a result holds is
the typed :class:`kerascnn.results.RunRecord`, schema-checked on read.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kerascnn.results import RunRecord, read_record
from kerascnn.tabular import write_text_atomic

RESULTS = "results"


def _clean(obj: Any) -> Any:
    """JSON-safe: numpy scalars/arrays to Python, NaN/inf to None (JSON has no NaN)."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` so that the file is either absent or complete."""
    return write_text_atomic(path, json.dumps(_clean(data), indent=1, sort_keys=False))


def default_run_dir(root: str | os.PathLike = "reports/runs") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / stamp


def latest_run_dir(root: str | os.PathLike = "reports/runs") -> Path | None:
    root = Path(root)
    if not root.is_dir():
        return None
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and (d / "suite.json").is_file())
    return dirs[-1] if dirs else None


def result_path(run_dir: str | os.PathLike, key: str) -> Path:
    return Path(run_dir) / RESULTS / f"{key}.json"


def read_json(path: str | os.PathLike) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_result(run_dir: str | os.PathLike, record: RunRecord) -> Path:
    """Store ``record`` atomically as ``RUN_DIR/results/<key>.json``."""
    return write_json_atomic(result_path(run_dir, record.key), record.to_dict())


def read_result(path: str | os.PathLike) -> RunRecord | None:
    """A stored result, or None when the file is not a complete result (never raises on junk).

    A result of another schema version raises :class:`kerascnn.errors.SchemaVersionError`.
    """
    return read_record(path)


def finished_keys(run_dir: str | os.PathLike, *, include_failed: bool = True) -> set[str]:
    """Keys of complete results in ``run_dir`` (failed ones too unless ``include_failed=False``)."""
    folder = Path(run_dir) / RESULTS
    keys = set()
    if folder.is_dir():
        for p in folder.glob("*.json"):
            record = read_result(p)
            if record and (include_failed or record.ok):
                keys.add(p.stem)
    return keys


def load_results(run_dir: str | os.PathLike) -> list[RunRecord]:
    """Every complete result in ``run_dir``, sorted by file name."""
    folder = Path(run_dir) / RESULTS
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [r for r in map(read_result, paths) if r is not None]


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
