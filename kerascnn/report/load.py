"""Read a run folder's stored JSON (never trains, never imports kerascnn.bench).

A run folder holds ``suite.json`` (optional: config, environment, sessions) and
``results/*.json`` (one per run, ``status`` "ok" or "failed"). Results of the same
(dataset, model, config hash) over several seeds are aggregated into one :class:`Entry`
(mean +- standard deviation of the accuracies; the mean of the other figures).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn.errors import KerasCNNError


class ReportError(KerasCNNError):
    """A run folder cannot be reported on (missing, or holds no results)."""


@dataclass
class RunData:
    run_dir: Path
    suite: dict[str, Any]
    results: list[dict[str, Any]]
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("status") == "ok"]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("status") != "ok"]

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r["dataset"] for r in self.results))

    def environment(self) -> dict[str, Any]:
        if self.suite.get("environment"):
            return self.suite["environment"]
        return next((r["environment"] for r in self.results if r.get("environment")), {})


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_run(run_dir: str | Path) -> RunData:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"Run folder {run_dir} does not exist. Pass a folder written by "
                          f"'kerascnn bench' (reports/runs/<time>). Received: {str(run_dir)!r}")
    results, unreadable = [], []
    for path in sorted((run_dir / "results").glob("*.json")):
        data = _read(path)
        if data is None or data.get("status") not in ("ok", "failed") or "model" not in data:
            unreadable.append(path.name)
            continue
        data.setdefault("key", path.stem)
        results.append(data)
    if not results:
        raise ReportError(f"Run folder {run_dir} holds no results (expected results/*.json written by "
                          f"'kerascnn bench'). Received: {str(run_dir)!r}")
    suite = _read(run_dir / "suite.json") or {}
    return RunData(run_dir, suite, results, unreadable)


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _std(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def _get(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


@dataclass
class Entry:
    """One (dataset, model, config hash) row, aggregated over its successful seeds."""

    dataset: str
    model: str
    config_hash: str
    runs: list[dict[str, Any]]
    label: str = ""

    def _vals(self, *path: str) -> list[float | None]:
        return [_get(r, *path) for r in self.runs]

    @property
    def seeds(self) -> list[int]:
        return [r.get("seed") for r in self.runs]

    @property
    def top1(self) -> float:
        return _mean(self._vals("test", "top1"))  # type: ignore[return-value]

    @property
    def top1_std(self) -> float | None:
        return _std([v for v in self._vals("test", "top1") if v is not None])

    @property
    def top5(self) -> float | None:
        return _mean(self._vals("test", "top5"))

    @property
    def top5_std(self) -> float | None:
        return _std([v for v in self._vals("test", "top5") if v is not None])

    def mean(self, *path: str) -> float | None:
        return _mean(self._vals(*path))

    @property
    def params(self) -> int | None:
        return self.runs[0].get("params")

    @property
    def macs(self) -> int | None:
        return self.runs[0].get("macs")

    @property
    def epochs(self) -> int | None:
        return self.runs[0].get("epochs_completed")

    @property
    def config(self) -> dict[str, Any]:
        return self.runs[0].get("config", {})

    def confusion(self) -> list[list[int]] | None:
        mats = [r["test"]["confusion"] for r in self.runs if _get(r, "test", "confusion")]
        if not mats:
            return None
        out = [[0] * len(mats[0][0]) for _ in mats[0]]
        for m in mats:
            for i, row in enumerate(m):
                for j, v in enumerate(row):
                    out[i][j] += v
        return out


def entries(data: RunData, dataset: str | None = None) -> list[Entry]:
    """Successful results grouped by (dataset, model, config hash), sorted by top-1 (best first)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in data.ok:
        if dataset is not None and r["dataset"] != dataset:
            continue
        groups.setdefault((r["dataset"], r["model"], r.get("config_hash", "")), []).append(r)
    out = [Entry(d, m, h, sorted(runs, key=lambda r: r.get("seed", 0))) for (d, m, h), runs in groups.items()]
    counts: dict[tuple[str, str], int] = {}
    for e in out:
        counts[(e.dataset, e.model)] = counts.get((e.dataset, e.model), 0) + 1
    for e in out:  # the same model under two configs in one folder: tell them apart
        e.label = e.model if counts[(e.dataset, e.model)] == 1 else f"{e.model} [{e.config_hash[:6]}]"
    out.sort(key=lambda e: (e.dataset, -(e.top1 if e.top1 is not None else -1.0), e.label))
    return out
