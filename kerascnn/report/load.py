"""Read a run folder's stored JSON (never trains, never imports kerascnn.bench).

A run folder holds ``suite.json`` (optional: config, environment, sessions) and
``results/*.json`` (one :class:`kerascnn.record.run.RunRecord` per run, ``status`` "ok" or
"failed", schema-checked). A result file that cannot be read (truncated, not JSON, not a
valid record, another schema version) is kept in :attr:`RunData.unreadable` with its reason
and named by the report; a folder whose results are all unreadable is a ReportError naming
each file and why. Results of the same
(dataset, model, config hash) over several seeds are aggregated into one :class:`Entry`
(mean +- standard deviation of the accuracies; the mean of the other figures).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn.errors import CorruptDataError, ReportError
from kerascnn.record.layout import results_dir, suite_path
from kerascnn.record.run import Environment, RunRecord, parse
from kerascnn.record.store import describe_unreadable, read_results, read_suite


@dataclass
class RunData:
    run_dir: Path
    suite: dict[str, Any]
    results: list[RunRecord]
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(file name, reason) of each ``results/*.json`` that is not a result this kerascnn reads."""

    @property
    def ok(self) -> list[RunRecord]:
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.results if not r.ok]

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r.dataset for r in self.results))

    def environment(self) -> Environment | None:
        """The suite's environment (suite.json), else the first result's."""
        env = self.suite.get("environment")
        if env:
            try:
                return parse(Environment, env, f"{suite_path(self.run_dir)}: environment")
            except CorruptDataError:
                pass
        return next((r.environment for r in self.results if r.environment), None)


def load_run(run_dir: str | Path) -> RunData:
    """The results of a run folder; unreadable result files are listed, with their reasons.

    ReportError when the folder is missing or holds no readable result (the message names
    each unreadable file and why); SchemaVersionError for a suite.json of another version.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(
            f"Run folder {run_dir} does not exist. Pass a folder written by "
            f"'kerascnn bench' (reports/runs/<time>). Received: {str(run_dir)!r}"
        )
    results, unreadable = read_results(run_dir)
    if not results and unreadable:
        raise ReportError(
            f"Run folder {run_dir} holds no readable result: {len(unreadable)} file(s) in "
            f"{results_dir(run_dir)} cannot be read: {describe_unreadable(unreadable)}. Remove "
            f"or replace them, or run the same suite again with --resume --out {run_dir} "
            f"(it reruns them). Received: {str(run_dir)!r}"
        )
    if not results:
        raise ReportError(
            f"Run folder {run_dir} holds no results (expected results/*.json written by "
            f"'kerascnn bench'). Received: {str(run_dir)!r}"
        )
    suite = read_suite(run_dir)
    return RunData(run_dir, suite, results, unreadable)


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _std(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def _get(record: RunRecord, *path: str) -> Any:
    """``record.<path[0]>.<path[1]>...``; None where a part is missing (a dict key or attribute)."""
    value: Any = record
    for name in path:
        if value is None:
            return None
        value = value.get(name) if isinstance(value, dict) else getattr(value, name)
    return value


@dataclass
class Entry:
    """One (dataset, model, config hash) row, aggregated over its successful seeds."""

    dataset: str
    model: str
    config_hash: str
    runs: list[RunRecord]
    label: str = ""

    def _vals(self, *path: str) -> list[float | None]:
        return [_get(r, *path) for r in self.runs]

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

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
        """Mean over the seeds of the record field at ``path`` (``"train", "images_per_s"``)."""
        return _mean(self._vals(*path))

    @property
    def params(self) -> int | None:
        return self.runs[0].params

    @property
    def macs(self) -> int | None:
        return self.runs[0].macs

    @property
    def epochs(self) -> int | None:
        return self.runs[0].epochs_completed

    @property
    def config(self) -> dict[str, Any]:
        return self.runs[0].config

    def confusion(self) -> list[list[int]] | None:
        mats = [r.test.confusion for r in self.runs if r.test and r.test.confusion]
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
    groups: dict[tuple[str, str, str], list[RunRecord]] = {}
    for r in data.ok:
        if dataset is not None and r.dataset != dataset:
            continue
        groups.setdefault((r.dataset, r.model, r.config_hash), []).append(r)
    out = [Entry(d, m, h, sorted(runs, key=lambda r: r.seed)) for (d, m, h), runs in groups.items()]
    counts: dict[tuple[str, str], int] = {}
    for e in out:
        counts[(e.dataset, e.model)] = counts.get((e.dataset, e.model), 0) + 1
    for e in out:  # the same model under two configs in one folder: tell them apart
        e.label = (
            e.model if counts[(e.dataset, e.model)] == 1 else f"{e.model} [{e.config_hash[:6]}]"
        )
    out.sort(key=lambda e: (e.dataset, -(e.top1 if e.top1 is not None else -1.0), e.label))
    return out
