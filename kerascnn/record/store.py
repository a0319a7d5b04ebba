"""A run folder's results: one JSON file per run (:mod:`kerascnn.record.layout`), written by
the one atomic writer (:mod:`kerascnn.record.files`), read back as typed records.

A reader never sees a half-written result: a file appears under its final name only once
complete, so a run killed at any moment leaves either the whole file or none (a stray
``.tmp`` at most, which readers ignore and the next write replaces). What a result holds is
the typed :class:`kerascnn.record.run.RunRecord`, schema-checked on read.

Before a suite trains, :func:`prepare_run_dir` proves the folder writable (else a ConfigError
naming the folder and why) and ``RUN_DIR/bench.lock`` (:mod:`kerascnn.bench.lock`) keeps a
second suite out. A result that cannot be written (a full disk) is a ConfigError naming the
file; no partial file stays. A file in ``results/`` that is not a complete result is not a
finished run: ``--resume`` names it (:func:`unreadable_results`) and runs that run again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from kerascnn.errors import ConfigError
from kerascnn.record.files import read_json, write_json_atomic
from kerascnn.record.flat import write_results_csv
from kerascnn.record.layout import (
    DEFAULT_ROOT,
    LOGS,
    MODELS,
    RESULTS,
    TENSORBOARD,
    default_run_dir,
    latest_run_dir,
    log_path,
    result_path,
    results_csv_path,
    results_dir,
    suite_path,
    tensorboard_dir,
)
from kerascnn.record.run import (
    SCHEMA_VERSION,
    RunRecord,
    check_schema,
    read_record,
    read_record_reason,
)


def utc_now() -> str:
    """The current time as stored in records (ISO 8601, UTC, seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    for sub in (RESULTS, LOGS, TENSORBOARD, MODELS):
        with contextlib.suppress(OSError):
            (run_dir / sub).rmdir()
    with contextlib.suppress(OSError):
        run_dir.rmdir()


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
    path = results_csv_path(run_dir)
    try:
        return write_results_csv(run_dir, load_results(run_dir))
    except OSError as exc:
        raise ConfigError(
            f"Cannot write {path}: {exc.strerror or exc}. The results stored so far stay in "
            f"{results_dir(run_dir)}; free space (or fix the folder), then continue with "
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
    folder = results_dir(run_dir)
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
    folder = results_dir(run_dir)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [(p.name, read_record_reason(p)[1] or "?") for p in paths if read_result(p) is None]


def load_results(run_dir: str | os.PathLike) -> list[RunRecord]:
    """Every complete result in ``run_dir``, sorted by file name."""
    folder = results_dir(run_dir)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [r for r in map(read_result, paths) if r is not None]


def resolve_run_dir(
    out: str | os.PathLike | None, resume: bool, root: str | os.PathLike = DEFAULT_ROOT
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


def read_results(run_dir: str | os.PathLike) -> tuple[list[RunRecord], list[tuple[str, str]]]:
    """(every readable result, (file name, reason) of every other ``results/*.json``), in file
    name order; never raises on a file (another schema version is a reason here: the report
    names it, while resuming, :func:`unreadable_results`, refuses to overwrite it)."""
    folder = results_dir(run_dir)
    records, unreadable = [], []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record, reason = read_record_reason(path)
        if record is None:
            unreadable.append((path.name, reason or "?"))
        else:
            records.append(record)
    return records, unreadable


def read_suite(run_dir: str | os.PathLike) -> dict:
    """``RUN_DIR/suite.json`` as a dict; {} when absent or junk (like a result, junk has no
    ``schema`` key). SchemaVersionError for a suite.json of another version."""
    path = suite_path(run_dir)
    data = read_json(path)
    if data is None or "schema" not in data:
        return {}
    check_schema(data, str(path))
    return data


def write_suite(run_dir: str | os.PathLike, suite: dict, *, command: str, resume: bool) -> Path:
    """Write ``RUN_DIR/suite.json``: ``suite`` (name, config, runs, environment) with this
    session appended to the list of earlier ones; stray temp files of a killed write go."""
    for stray in results_dir(run_dir).glob(".*.tmp"):  # a killed write's; never a result
        stray.unlink(missing_ok=True)
    path = suite_path(run_dir)
    previous = read_json(path) if path.is_file() else None
    sessions = (previous or {}).get("sessions", [])
    sessions.append({"started": utc_now(), "command": command, "resume": resume})
    return write_json_atomic(path, {"schema": SCHEMA_VERSION, **suite, "sessions": sessions})


def describe_unreadable(unreadable: list[tuple[str, str]]) -> str:
    """``"a.json (truncated: ...); b.json (schema 2, ...)"``: each file with its reason."""
    return "; ".join(f"{name} ({reason})" for name, reason in unreadable)
