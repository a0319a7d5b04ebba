"""Results store: one JSON file per run, written atomically (temp file + ``os.replace``).

Layout of a run folder::

    RUN_DIR/suite.json            the resolved config, command and environment of the suite
    RUN_DIR/results/<key>.json    one per (dataset, model, config hash, seed) run
    RUN_DIR/logs/<key>.csv        per-epoch training log (keras CSVLogger)

A reader never sees a half-written result: a file appears under its final name only once
complete, so a run killed at any moment leaves either the whole file or none (a stray
``.tmp`` at most, which readers ignore and the next write replaces). What a result holds is
the typed :class:`kerascnn.results.RunRecord`, schema-checked on read.

Before a suite trains, :func:`prepare_run_dir` proves the folder writable (else a ConfigError
naming the folder and why) and ``RUN_DIR/bench.lock`` (:mod:`kerascnn.bench.lock`) keeps a
second suite out. A result that cannot be written (a full disk) is a ConfigError naming the
file; no partial file stays. A file in ``results/`` that is not a complete result is not a
finished run: ``--resume`` names it (:func:`unreadable_results`) and runs that run again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kerascnn.errors import ConfigError
from kerascnn.result_rows import RESULTS_CSV, write_results_csv
from kerascnn.results import RunRecord, read_record, read_record_reason
from kerascnn.tabular import write_text_atomic

RESULTS = "results"
LOGS = "logs"
TENSORBOARD = "tensorboard"


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


def log_path(run_dir: str | os.PathLike, key: str) -> Path:
    """The per-epoch training log of run ``key`` (keras CSVLogger)."""
    return Path(run_dir) / LOGS / f"{key}.csv"


def tensorboard_dir(run_dir: str | os.PathLike, key: str) -> Path:
    """The TensorBoard logs of run ``key`` (``--tensorboard``)."""
    return Path(run_dir) / TENSORBOARD / key


def discard_partial(run_dir: str | os.PathLike, key: str) -> None:
    """Remove what an unfinished attempt of run ``key`` wrote: its log and TensorBoard logs."""
    log_path(run_dir, key).unlink(missing_ok=True)
    shutil.rmtree(tensorboard_dir(run_dir, key), ignore_errors=True)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def prepare_run_dir(run_dir: str | os.PathLike) -> bool:
    """Create ``RUN_DIR/results`` and prove it writable (a probe file, removed at once).

    Returns True when this call created ``RUN_DIR``. Raises ConfigError naming the folder
    that refused and why (a parent that is a file, no write permission, a read-only disk).
    """
    run_dir = Path(run_dir)
    tail = f"Choose another --out. Received: --out {str(run_dir)!r}"
    existing = _nearest_existing(run_dir)
    if existing.exists() and not existing.is_dir():
        where = "it is" if existing == run_dir else f"{existing} is"
        raise ConfigError(f"Cannot write the run folder {run_dir}: {where} a file. {tail}")
    created = not run_dir.exists()
    try:
        (run_dir / RESULTS).mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=run_dir / RESULTS)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        blocker = _nearest_existing(Path(exc.filename) if exc.filename else run_dir)
        if blocker == run_dir:
            where = "it is"
        elif blocker in run_dir.parents:
            where = f"parent {blocker} is"
        else:
            where = f"{blocker} is"
        why = exc.strerror or str(exc)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = f"{where} not writable ({why})"
        else:
            reason = f"writing in {blocker} failed ({why})"
        raise ConfigError(f"Cannot write the run folder {run_dir}: {reason}. {tail}") from None
    return created


def remove_if_empty(run_dir: str | os.PathLike) -> None:
    """Remove ``RUN_DIR`` (and its empty results/logs/models folders) if nothing is in it."""
    run_dir = Path(run_dir)
    for sub in (RESULTS, LOGS, TENSORBOARD, "models"):
        with contextlib.suppress(OSError):
            (run_dir / sub).rmdir()
    with contextlib.suppress(OSError):
        run_dir.rmdir()


def read_json(path: str | os.PathLike) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_result(run_dir: str | os.PathLike, record: RunRecord) -> Path:
    """Store ``record`` atomically as ``RUN_DIR/results/<key>.json``.

    A failed write (a full disk, a folder made read-only) leaves no partial file and raises
    ConfigError naming the file and why; the results stored before stay.
    """
    path = result_path(run_dir, record.key)
    try:
        return write_json_atomic(path, record.to_dict())
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ConfigError(
            f"Cannot store the result of {record.model} on {record.dataset} (seed "
            f"{record.seed}): writing {path} failed: {why}. Nothing partial was left; the "
            f"results stored before stay in {path.parent}. Free space (or fix the folder), then "
            f"continue with --resume. Received: --out {str(run_dir)!r}"
        ) from None


def write_results_table(run_dir: str | os.PathLike) -> Path:
    """Rewrite ``RUN_DIR/results.csv`` from the stored results (ConfigError when it cannot)."""
    path = Path(run_dir) / RESULTS_CSV
    try:
        return write_results_csv(run_dir, load_results(run_dir))
    except OSError as exc:
        raise ConfigError(
            f"Cannot write {path}: {exc.strerror or exc}. The results stored so far stay in "
            f"{Path(run_dir) / RESULTS}; free space (or fix the folder), then continue with "
            f"--resume. Received: --out {str(run_dir)!r}"
        ) from None


def read_result(path: str | os.PathLike) -> RunRecord | None:
    """A stored result, or None when the file is not a complete result (never raises on junk).

    A result of another schema version raises :class:`kerascnn.errors.SchemaVersionError`.
    """
    return read_record(path)


def finished_keys(run_dir: str | os.PathLike, *, include_failed: bool = True) -> set[str]:
    """Keys of complete results in ``run_dir`` (failed ones too unless ``include_failed=False``;
    never a cluster failure, which resuming runs again)."""
    folder = Path(run_dir) / RESULTS
    keys = set()
    if folder.is_dir():
        for p in folder.glob("*.json"):
            record = read_result(p)
            if record and record.finished_run and (include_failed or record.ok):
                keys.add(p.stem)
    return keys


def unreadable_results(run_dir: str | os.PathLike) -> list[tuple[str, str]]:
    """(file name, reason) of each ``results/*.json`` that is not a complete result.

    Such a run is not finished (resume runs it again). A result of another schema version
    raises SchemaVersionError: it is somebody's finished run, never to be overwritten.
    """
    folder = Path(run_dir) / RESULTS
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [(p.name, read_record_reason(p)[1] or "?") for p in paths if read_result(p) is None]


def load_results(run_dir: str | os.PathLike) -> list[RunRecord]:
    """Every complete result in ``run_dir``, sorted by file name."""
    folder = Path(run_dir) / RESULTS
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [r for r in map(read_result, paths) if r is not None]


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_run_dir(
    out: str | os.PathLike | None, resume: bool, root: str | os.PathLike = "reports/runs"
) -> Path:
    if out is not None:
        run_dir = Path(out)
        if not resume and (run_dir / RESULTS).is_dir() and any((run_dir / RESULTS).glob("*.json")):
            raise ConfigError(
                f"The output folder {run_dir} already holds results. Pass --resume to continue that "
                f"suite, or choose another --out. Received: --out {str(out)!r}"
            )
        return run_dir
    if resume:
        latest = latest_run_dir(root)
        if latest is None:
            raise ConfigError(
                f"--resume without --out continues the latest run under {root}, but there "
                f"is none. Pass --out RUN_DIR. Received: --resume"
            )
        return latest
    return default_run_dir(root)
