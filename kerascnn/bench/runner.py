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
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn._utils import fmt_duration
from kerascnn.bench.config import BenchConfig, RunSpec
from kerascnn.bench.suite_data import check_models_build, dataset_meta, load_datasets
from kerascnn.distributed.cluster import Cluster
from kerascnn.distributed.watchdog import EXIT_CLUSTER
from kerascnn.errors import is_out_of_memory
from kerascnn.record import layout, store
from kerascnn.record.run import (
    Environment,
    Measurements,
    RunError,
    RunRecord,
)
from kerascnn.record.store import resolve_run_dir


@dataclass
class SuiteOutcome:
    run_dir: Path
    ok: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Runs already finished in ``run_dir`` (resume)."""
    skipped_failed: list[str] = field(default_factory=list)
    interrupted: bool = False
    wall_seconds: float = 0.0
    cluster_failure: str | None = None
    """Why a multi-process suite stopped early (its run is stored as a ClusterFailure)."""

    @property
    def any_failed(self) -> bool:
        return bool(self.failed or self.skipped_failed)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.cluster_failure:
            return EXIT_CLUSTER
        return 1 if self.any_failed else 0


def suite_eta(
    durations: dict[tuple[str, str], list[float]], remaining: Sequence[RunSpec]
) -> float | None:
    """Seconds left for ``remaining`` runs, or None while any of them has no timed twin.

    A run's time is predicted only from finished runs of the same model on the same dataset
    (other seeds): models differ by orders of magnitude in cost (LeNet 0.4 M MACs per image,
    VGG-11 95 M) and in speed per MAC (depthwise convs run far below dense ones on a CPU), so
    an average over different models would mislead.
    """
    total = 0.0
    for run in remaining:
        timed = durations.get((run.model, run.dataset))
        if not timed:
            return None
        total += sum(timed) / len(timed)
    return total


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


def _identity(run: RunSpec, cfg: BenchConfig, ds, env: Environment) -> dict[str, Any]:
    """The fields of a run's record that say what ran, where and when it started."""
    return dict(
        key=run.key,
        model=run.model,
        dataset=run.dataset,
        seed=run.seed,
        config_hash=run.config_hash,
        suite=cfg.name,
        config={
            **run.config.training_dict(),
            "latency_batch": cfg.latency_batch,
            "latency_seconds": cfg.latency_seconds,
            **({"recipe": run.recipe} if run.recipe else {}),
        },
        dataset_info=dataset_meta(ds, cfg),
        environment=env,
        started=store.utc_now(),
    )


def describe_error(exc: BaseException) -> RunError:
    """An unexpected error of a run as stored: its type (OutOfMemory named so), message, traceback."""
    kind = type(exc).__name__
    if isinstance(exc, MemoryError):
        return RunError(type="OutOfMemory", message=f"MemoryError: {exc}")
    if is_out_of_memory(exc):
        kind = f"OutOfMemory ({kind})"
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    message = re.sub(r"\x1b\[[0-9;]*m", "", " ".join(str(exc).split()))  # no terminal colours
    return RunError(type=kind, message=message[:2000], traceback="".join(tb[-6:])[-4000:])


def _attempt(
    run: RunSpec, ds, run_dir: Path | None, label: str, echo, verbose, cluster=None
) -> tuple[str, RunError | None, Measurements]:
    """Execute one run: ("ok", None, measurements) or ("failed", error, what was measured).

    Any exception but KeyboardInterrupt is caught here: a failing run never stops the suite,
    except in a multi-process suite, where an exception of one process leaves the others out
    of step: it comes back as a ClusterFailure, which stops the suite. Without ``run_dir``
    (processes other than 0) nothing is written.
    """
    import keras

    from kerascnn.bench.training import RunFailure, execute_run

    try:
        measured = execute_run(
            run,
            ds,
            label=label,
            echo=echo,
            model_path=layout.model_path(run_dir, run.key) if run_dir else None,
            log_path=layout.log_path(run_dir, run.key) if run_dir else None,
            tensorboard_dir=layout.tensorboard_dir(run_dir, run.key) if run_dir else None,
            verbose=verbose,
        )
        return "ok", None, measured
    except RunFailure as exc:
        return "failed", RunError(type=exc.kind, message=str(exc)), exc.partial
    # any other error (MemoryError included): recorded, the suite continues
    except Exception as exc:
        if cluster is not None:
            from kerascnn.bench.multiprocess import cluster_failure

            return "failed", cluster_failure(describe_error(exc), cluster), Measurements()
        return "failed", describe_error(exc), Measurements()
    finally:
        keras.backend.clear_session()


def _write_suite(run_dir: Path, cfg: BenchConfig, runs, env, resume: bool) -> None:
    """``RUN_DIR/suite.json``: the resolved suite, this session appended to its list."""
    suite = {
        "name": cfg.name,
        "config": cfg.to_dict(),
        "runs": [r.key for r in runs],
        "environment": dataclasses.asdict(env),
    }
    store.write_suite(run_dir, suite, command=env.command, resume=resume)


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

    cfg.validate()
    if cluster is not None:
        import keras

        from kerascnn.bench.multiprocess import check_suite

        cfg = check_suite(cfg, cluster, keras.backend.backend())
        if not cluster.is_chief:  # writes nothing: no folder, no lock
            return _run_locked(
                cfg,
                run_dir=None,
                retry_failed=retry_failed,
                echo=lambda text: echo(f"[{cluster.label}] {text}"),
                argv=argv,
                verbose=verbose,
                cluster=cluster,
            )
    run_dir = resolve_run_dir(out, resume, runs_root)
    created = store.prepare_run_dir(run_dir)
    try:
        with RunLock(run_dir, command=shlex.join(argv or sys.argv), echo=echo):
            keys = {r.key for r in cfg.runs()}
            for name, reason in store.unreadable_results(run_dir):
                again = "it runs again" if name[: -len(".json")] in keys else "not in this suite"
                echo(f"results/{name} cannot be read: {reason}. Not a finished run; {again}.")
            return _run_locked(
                cfg,
                run_dir=run_dir,
                resume=resume,
                retry_failed=retry_failed,
                echo=echo,
                argv=argv,
                verbose=verbose,
                cluster=cluster,
            )
    finally:
        if created:
            store.remove_if_empty(run_dir)  # nothing ran (a bad dataset): no empty folder


def _run_locked(
    cfg: BenchConfig,
    *,
    run_dir: Path | None,
    resume: bool = False,
    retry_failed: bool = False,
    echo: Callable[[str], None] = print,
    argv: list[str] | None = None,
    verbose: int | None = None,
    cluster: Cluster | None = None,
) -> SuiteOutcome:
    """The body of :func:`run_suite`, once ``run_dir`` is resolved, writable and locked (or,
    on a process other than 0 of a ``cluster``, without a folder: it writes nothing)."""
    from contextlib import nullcontext

    from kerascnn.measure.environment import environment

    watchdog = recorder = None
    if cluster is not None:
        from kerascnn.bench.multiprocess import FailureRecorder, share_skipped, start
        from kerascnn.distributed.watchdog import Watchdog

        recorder = FailureRecorder(run_dir)
        watchdog = Watchdog(cluster.timeout, recorder, context=cluster.describe()).activate()
        start(cluster, cfg, watchdog, echo)
    t_suite = time.perf_counter()
    datasets = load_datasets(cfg)  # cfg is validated and run_dir prepared by run_suite
    check_models_build(cfg, datasets)
    env = environment(argv)
    runs = cfg.runs()
    if run_dir is not None:
        _write_suite(run_dir, cfg, runs, env, resume)
    outcome = SuiteOutcome(run_dir=run_dir or Path("."))
    done = store.finished_keys(run_dir) if run_dir else set()
    done_ok = store.finished_keys(run_dir, include_failed=False) if run_dir else set()
    skip = done_ok if retry_failed else done  # finished runs that this session leaves alone
    if cluster is not None:  # process 0's, on every process
        skip = share_skipped(runs, skip, watchdog)
        if run_dir is None:  # the others cannot tell ok from failed; process 0's folder says
            done_ok = skip
    echo(
        f"kerascnn bench: {len(runs)} run(s) [{', '.join(cfg.models)}] on [{', '.join(cfg.datasets)}], "
        f"{protocol_text(cfg)}, backend {env.backend}, {env.device}; results in "
        + (str(run_dir) if run_dir else "process 0's folder")
    )
    durations: dict[tuple[str, str], list[float]] = {}
    todo = [r for r in runs if r.key not in skip]
    k_todo = 0
    for k, run in enumerate(runs, start=1):
        label = f"[{k}/{len(runs)}] {run.model} on {run.dataset} (seed {run.seed})"
        if run.key in skip:
            status = "ok" if run.key in done_ok else "failed"
            (outcome.skipped if status == "ok" else outcome.skipped_failed).append(run.key)
            echo(f"{label}: already finished ({status}), skipped (--resume)")
            continue
        k_todo += 1
        eta = suite_eta(durations, todo[k_todo - 1 :])
        echo(
            f"{label}: starting" + (f"; suite ETA ~{fmt_duration(eta)}" if eta is not None else "")
        )
        identity = _identity(run, cfg, datasets[run.dataset], env)
        if run_dir is not None:
            store.discard_partial(run_dir, run.key)  # left by an unfinished attempt
        t0 = time.perf_counter()
        if recorder is not None:
            recorder.current = identity
        try:
            with watchdog.phase(f"running {label}") if watchdog else nullcontext():
                status, error, measured = _attempt(
                    run, datasets[run.dataset], run_dir, label, echo, verbose, cluster
                )
        except KeyboardInterrupt:
            outcome.interrupted = True
            if run_dir is not None:
                store.discard_partial(run_dir, run.key)  # its partial logs go too
            echo(
                f"\nInterrupted during {run.model} on {run.dataset}: that run is not stored. "
                f"{len(outcome.ok) + len(outcome.failed) + len(outcome.skipped) + len(outcome.skipped_failed)} "
                f"finished run(s) are kept in {run_dir}. Continue with: kerascnn bench --resume --out {run_dir} ..."
            )
            break
        wall = time.perf_counter() - t0
        durations.setdefault((run.model, run.dataset), []).append(wall)
        record = RunRecord(
            **identity,
            status=status,
            error=error,
            finished=store.utc_now(),
            wall_seconds=wall,
            **measured.fields_dict(),
        )
        if recorder is not None:
            recorder.current = None
        if run_dir is not None:
            store.write_result(run_dir, record)
            store.write_results_table(run_dir)  # results.csv: the flat view, kept current
        if record.ok:
            outcome.ok.append(run.key)
            echo(
                f"{label}: top-1 {record.test.top1:.4f}, top-5 {record.test.top5:.4f}, "
                f"{record.params:,} params, {fmt_duration(wall)}"
            )
        else:
            outcome.failed.append(run.key)
            echo(f"{label}: FAILED ({record.error.type}): {record.error.message[:300]}")
            if not record.finished_run:
                outcome.cluster_failure = record.error.message
                break
    outcome.wall_seconds = time.perf_counter() - t_suite
    return outcome


__all__ = [
    "SuiteOutcome",
    "run_suite",
    "suite_eta",
    "load_datasets",
    "check_models_build",
    "resolve_run_dir",
    "describe_error",
    "RunSpec",
]
