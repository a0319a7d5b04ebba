"""The one way kerascnn writes a results file: atomically (temp file + ``os.replace``).

Every file a command stores (a run's results, ``results.csv``, ``suite.json``, the README, a
deploy or throughput record, an experiment's report) goes through :func:`write_text_atomic` or
:func:`write_json_atomic`, so a reader sees the old file or the whole new one, never half of
one; a process killed mid-write leaves at most a stray ``.<name>.*.tmp``, which readers ignore
and the next write replaces. :func:`read_json` is the forgiving reader (None for junk).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["read_json", "to_json_safe", "write_json_atomic", "write_text_atomic"]


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` so that the file is either the old one or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def to_json_safe(obj: Any) -> Any:
    """JSON-safe: numpy scalars/arrays to Python, NaN/inf to None (JSON has no NaN)."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): to_json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return to_json_safe(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` so that the file is either absent or complete."""
    return write_text_atomic(path, json.dumps(to_json_safe(data), indent=1, sort_keys=False))


def read_json(path: str | os.PathLike) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
