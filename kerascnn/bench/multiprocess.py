"""A suite run by several processes (``kerascnn bench --num-processes N``), around the runner.

Every process runs the same suite, in the same order, and trains each run together with the
others (:mod:`kerascnn.distributed.cluster`, :mod:`kerascnn.distributed.replicas`). Process 0 owns the run
folder: it alone locks it, writes the results, logs, models and report. The others write
nothing there and prefix what they print with their process.

At start-up, before any data loads: the launch is checked (:func:`check_suite`), every process
joins, the processes compare their suite's config hash and process 0 shares which runs are finished
(:func:`share_skipped`). A :class:`~kerascnn.distributed.watchdog.Watchdog` bounds every wait; when it
fires on process 0, :class:`FailureRecorder` stores the run in progress as failed
(``ClusterFailure``: ``--resume`` runs it again) before the process ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from kerascnn.bench.config import BenchConfig, RunSpec
from kerascnn.distributed.cluster import (
    Cluster,
    ClusterError,
    allgather,
    check_launch,
    device_count,
    differing,
    digest_words,
    join,
)
from kerascnn.distributed.watchdog import Watchdog
from kerascnn.errors import ConfigError
from kerascnn.record import store
from kerascnn.record.run import CLUSTER_FAILURE, RunError, RunRecord


def check_suite(cfg: BenchConfig, cluster: Cluster, backend: str) -> BenchConfig:
    """The suite as several processes run it (data parallel), or a ConfigError saying why not."""
    check_launch(cluster, backend)
    for run in cfg.runs():
        c = run.config
        if c.protocol == "budget":
            raise ConfigError(
                "A --budget run calibrates its steps on each process, and processes must take "
                "the same steps: give --steps N or --epochs N with several processes (a budget "
                f"run's report names its steps). Received: budget={c.budget:g} for {run.model}"
            )
        if c.time_budget is not None:
            raise ConfigError(
                "--time-budget stops each process on its own clock, and processes must stop "
                f"at the same step: leave it out with several processes. Received: "
                f"time_budget={c.time_budget:g}"
            )
    return cfg.updated(distribute=True)


def config_words(cfg: BenchConfig) -> list[int]:
    """Hash words of everything that must agree across processes: the config and the runs."""
    text = json.dumps([cfg.to_dict(), [r.key for r in cfg.runs()]], sort_keys=True, default=str)
    return digest_words(text.encode())


def start(cluster: Cluster, cfg: BenchConfig, watchdog: Watchdog, echo: Callable) -> None:
    """Join the others, then check that they run the same suite and its batches split."""
    from kerascnn.distributed.data_parallel import check_global_batch

    echo(
        f"{cluster.label}: joining {cluster.num_processes} processes at {cluster.coordinator} "
        f"(from the {cluster.source}; waiting up to {cluster.timeout:g} s)"
    )
    waiting = (
        f"waiting for {cluster.num_processes} processes to join at {cluster.coordinator} (no run "
        "had started; is every process started, and process 0's address reachable from here?)"
    )
    with watchdog.phase(waiting):
        join(cluster, watchdog, waiting)
    with watchdog.phase("comparing the suites of the processes"):
        rows = allgather(config_words(cfg))
    if differing(rows):
        raise ClusterError(
            f"Process(es) {', '.join(map(str, differing(rows)))} run another suite than process "
            "0 (their config hash differs): start every process with the same flags and suite "
            f"file. Received: {cluster.num_processes} processes, hash {int(rows[0][0]) & 0xFFFFFFFF:08x} "
            "on process 0"
        )
    devices = device_count()
    for run in cfg.runs():
        check_global_batch(run.config.batch_size, devices)
    echo(f"{cluster.label}: joined; {devices} devices in all")


def share_skipped(runs: Sequence[RunSpec], skip: set[str], watchdog: Watchdog) -> set[str]:
    """Process 0's runs to skip (finished), on every process (the others cannot read its
    folder)."""
    with watchdog.phase("sharing the list of finished runs"):
        rows = allgather([int(r.key in skip) for r in runs] or [0])
    return {r.key for r, skipped in zip(runs, rows[0]) if skipped}


class FailureRecorder:
    """Process 0's record of the run in progress, written as a ClusterFailure when the watchdog
    ends the process (from the watchdog's thread; the main thread is stuck in a collective)."""

    def __init__(self, run_dir: Path | None):
        self.run_dir = run_dir
        self.current: dict | None = None

    def __call__(self, message: str) -> None:
        if self.run_dir is None or self.current is None:
            return
        record = RunRecord(
            **self.current,
            status="failed",
            error=RunError(type=CLUSTER_FAILURE, message=message),
            finished=store.utc_now(),
        )
        store.write_result(self.run_dir, record)
        store.write_results_table(self.run_dir)


def cluster_failure(error: RunError, cluster: Cluster) -> RunError:
    """An error that ends a multi-process suite: the processes may no longer be in step."""
    text = (
        error.message
        if len(error.message) < 600
        else f"{error.message[:300]} ... {error.message[-250:]}"
    )
    return RunError(
        type=CLUSTER_FAILURE,
        message=f"{error.type}: {text} (on {cluster.describe()}; the suite stops here, "
        "--resume runs this run again)",
        traceback=error.traceback,
    )
