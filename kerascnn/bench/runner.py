"""Run a suite: validate everything, then train and measure each run, storing one JSON each.

Order of work (nothing trains until every check has passed):

1. ``BenchConfig.validate()`` (values, model names via the registry);
2. every dataset is loaded (``load_dataset``: unknown names, missing or corrupt files);
3. every model is built once at each dataset's input shape (bad keywords, inputs too small);
4. the runs, one after another. Each is isolated: an exception, a NaN loss, an out-of-memory
   error or a spent time budget is recorded in that run's JSON with ``status: "failed"`` and
   the suite goes on. Ctrl-C stops the suite; every finished run stays on disk (the
   interrupted run leaves neither a result nor a log) and ``--resume`` continues where it
   stopped.

Before step 2 the run folder is resolved, proven writable and locked (``RUN_DIR/bench.lock``,
see :mod:`kerascnn.bench.lock`): one suite per folder at a time.

In steps: :func:`run_suite` (the folder and its lock), :func:`_prepare` (data, models,
environment, ``suite.json``: a :class:`~kerascnn.bench.suite_loop.SuiteContext` decided once),
then :mod:`kerascnn.bench.suite_loop`: the skip set (resume), each run, its storing.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kerascnn.bench.config import BenchConfig, RunSpec
from kerascnn.bench.suite_data import check_models_build, load_datasets
from kerascnn.bench.suite_loop import (
    SuiteContext,
    SuiteOutcome,
    finished_runs,
    run_all,
)
from kerascnn.distributed.cluster import Cluster
from kerascnn.record import store
from kerascnn.record.store import resolve_run_dir


def protocol_text(cfg: BenchConfig) -> str:
    """How long the suite's runs train, in words (per model where they differ)."""

    def length(c: BenchConfig) -> str:
        if c.protocol == "budget":
            return f"an equal budget of {c.budget:g} s of training"
        if c.protocol == "steps":
            return f"{c.steps:,} steps"
        return f"{c.epochs} epoch(s)"

    by_model = {spec: length(cfg.for_model(spec)) for spec in cfg.models}
    if len(set(by_model.values())) == 1:
        return f"{next(iter(by_model.values()))} per model"
    return "; ".join(f"{spec}: {text}" for spec, text in by_model.items())


@dataclass(frozen=True)
class SuiteOptions:
    """How :func:`run_suite` was asked to run: taken once, passed down to every step."""

    resume: bool = False
    retry_failed: bool = False
    echo: Callable[[str], None] = print
    argv: list[str] | None = None
    verbose: int | None = None
    cluster: Cluster | None = None


def run_suite(
    cfg: BenchConfig,
    *,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    echo: Callable[[str], None] = print,
    argv: list[str] | None = None,
    verbose: int | None = None,
    runs_root: str | os.PathLike = "reports/runs",
    cluster: Cluster | None = None,
) -> SuiteOutcome:
    """Validate, then run every (dataset, model, seed) of ``cfg``; see the module docstring.

    Before any data loads, the run folder is resolved, proven writable
    (:func:`store.prepare_run_dir`) and locked (:class:`kerascnn.bench.lock.RunLock`, held
    until the suite ends, by an error or Ctrl-C too): a second suite on it is a ConfigError.
    With a ``cluster`` (:mod:`kerascnn.bench.multiprocess`) only process 0 does that; every
    process joins, then trains each run with the others.
    """
    import shlex
    import sys

    from kerascnn.bench.lock import RunLock

    opts = SuiteOptions(resume, retry_failed, echo, argv, verbose, cluster)
    cfg.validate()
    if cluster is not None:
        import keras

        from kerascnn.bench.multiprocess import check_suite

        cfg = check_suite(cfg, cluster, keras.backend.backend())
        if not cluster.is_chief:  # writes nothing: no folder, no lock
            prefixed = dataclasses.replace(
                opts, resume=False, echo=lambda text: echo(f"[{cluster.label}] {text}")
            )
            return _run_locked(cfg, None, prefixed)
    run_dir = resolve_run_dir(out, resume, runs_root)
    created = store.prepare_run_dir(run_dir)
    try:
        with RunLock(run_dir, command=shlex.join(argv or sys.argv), echo=echo):
            _name_unreadable(cfg, run_dir, echo)
            return _run_locked(cfg, run_dir, opts)
    finally:
        if created:
            store.remove_if_empty(run_dir)  # nothing ran (a bad dataset): no empty folder


def _name_unreadable(cfg: BenchConfig, run_dir: Path, echo: Callable[[str], None]) -> None:
    """Name each file in ``results/`` that is not a complete result (not a finished run)."""
    keys = {r.key for r in cfg.runs()}
    for name, reason in store.unreadable_results(run_dir):
        again = "it runs again" if name[: -len(".json")] in keys else "not in this suite"
        echo(f"results/{name} cannot be read: {reason}. Not a finished run; {again}.")


def _run_locked(cfg: BenchConfig, run_dir: Path | None, opts: SuiteOptions) -> SuiteOutcome:
    """The body of :func:`run_suite`, once ``run_dir`` is resolved, writable and locked (or,
    on a process other than 0 of a ``cluster``, without a folder: it writes nothing): the
    cluster joined, the suite prepared, the skip set, then every run."""
    watchdog, recorder = _join_cluster(cfg, run_dir, opts)
    t_suite = time.perf_counter()
    ctx = _prepare(cfg, run_dir, opts, watchdog, recorder)
    outcome = SuiteOutcome(run_dir=run_dir or Path("."))
    finished = finished_runs(ctx)
    ctx.echo(_header(ctx))
    run_all(ctx, finished, outcome)
    outcome.wall_seconds = time.perf_counter() - t_suite
    return outcome


def _join_cluster(cfg: BenchConfig, run_dir: Path | None, opts: SuiteOptions):
    """On a cluster: (the watchdog that bounds every wait, process 0's failure recorder), once
    every process has joined and runs the same suite; (None, None) without one."""
    cluster = opts.cluster
    if cluster is None:
        return None, None
    from kerascnn.bench.multiprocess import FailureRecorder, start
    from kerascnn.distributed.watchdog import Watchdog

    recorder = FailureRecorder(run_dir)
    watchdog = Watchdog(cluster.timeout, recorder, context=cluster.describe()).activate()
    start(cluster, cfg, watchdog, opts.echo)
    return watchdog, recorder


def _prepare(
    cfg: BenchConfig, run_dir: Path | None, opts: SuiteOptions, watchdog, recorder
) -> SuiteContext:
    """Load every dataset, build every model once, take the environment and write
    ``suite.json``: the suite as each of its runs sees it."""
    from kerascnn.measure.environment import environment

    datasets = load_datasets(cfg)  # cfg is validated and run_dir prepared by run_suite
    check_models_build(cfg, datasets)
    env = environment(opts.argv)
    runs = cfg.runs()
    if run_dir is not None:
        _write_suite(run_dir, cfg, runs, env, opts.resume)
    return SuiteContext(
        cfg=cfg,
        run_dir=run_dir,
        runs=runs,
        datasets=datasets,
        env=env,
        echo=opts.echo,
        retry_failed=opts.retry_failed,
        verbose=opts.verbose,
        cluster=opts.cluster,
        watchdog=watchdog,
        recorder=recorder,
    )


def _write_suite(run_dir: Path, cfg: BenchConfig, runs, env, resume: bool) -> None:
    """``RUN_DIR/suite.json``: the resolved suite, this session appended to its list."""
    suite = {
        "name": cfg.name,
        "config": cfg.to_dict(),
        "runs": [r.key for r in runs],
        "environment": dataclasses.asdict(env),
    }
    store.write_suite(run_dir, suite, command=env.command, resume=resume)


def _header(ctx: SuiteContext) -> str:
    """The suite's first line: its runs, models, datasets, protocol, backend and folder."""
    cfg, env = ctx.cfg, ctx.env
    return (
        f"kerascnn bench: {len(ctx.runs)} run(s) [{', '.join(cfg.models)}] on "
        f"[{', '.join(cfg.datasets)}], {protocol_text(cfg)}, backend {env.backend}, "
        f"{env.device}; results in " + (str(ctx.run_dir) if ctx.run_dir else "process 0's folder")
    )


__all__ = [
    "SuiteOutcome",
    "run_suite",
    "load_datasets",
    "check_models_build",
    "resolve_run_dir",
    "RunSpec",
]
