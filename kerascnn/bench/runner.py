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
from kerascnn.bench import store
from kerascnn.bench.config import BenchConfig, RunSpec
from kerascnn.bench.suite_data import check_models_build, dataset_meta, load_datasets
from kerascnn.errors import ConfigError, is_out_of_memory
from kerascnn.results import (
    SCHEMA_VERSION,
    Environment,
    Measurements,
    RunError,
    RunRecord,
)


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

    @property
    def any_failed(self) -> bool:
        return bool(self.failed or self.skipped_failed)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
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
    """How long the suite's runs train, in words."""
    if cfg.protocol == "budget":
        return f"an equal budget of {cfg.budget:g} s of training per model"
    if cfg.protocol == "steps":
        return f"{cfg.steps} steps per model"
    return f"{cfg.epochs} epoch(s)"


def resolve_run_dir(
    out: str | os.PathLike | None, resume: bool, root: str | os.PathLike = "reports/runs"
) -> Path:
    if out is not None:
        run_dir = Path(out)
        if (
            not resume
            and (run_dir / store.RESULTS).is_dir()
            and any((run_dir / store.RESULTS).glob("*.json"))
        ):
            raise ConfigError(
                f"The output folder {run_dir} already holds results. Pass --resume to continue that "
                f"suite, or choose another --out. Received: --out {str(out)!r}"
            )
        return run_dir
    if resume:
        latest = store.latest_run_dir(root)
        if latest is None:
            raise ConfigError(
                f"--resume without --out continues the latest run under {root}, but there "
                f"is none. Pass --out RUN_DIR. Received: --resume"
            )
        return latest
    return store.default_run_dir(root)


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
    run: RunSpec, ds, run_dir: Path, label: str, echo, verbose
) -> tuple[str, RunError | None, Measurements]:
    """Execute one run: ("ok", None, measurements) or ("failed", error, what was measured).

    Any exception but KeyboardInterrupt is caught here: a failing run never stops the suite.
    """
    import keras

    from kerascnn.bench.training import RunFailure, execute_run

    try:
        measured = execute_run(
            run,
            ds,
            label=label,
            echo=echo,
            models_dir=run_dir / "models",
            log_path=store.log_path(run_dir, run.key),
            tensorboard_dir=store.tensorboard_dir(run_dir, run.key),
            verbose=verbose,
        )
        return "ok", None, measured
    except RunFailure as exc:
        return "failed", RunError(type=exc.kind, message=str(exc)), exc.partial
    # any other error (MemoryError included): recorded, the suite continues
    except Exception as exc:
        return "failed", describe_error(exc), Measurements()
    finally:
        keras.backend.clear_session()


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
) -> SuiteOutcome:
    """Validate, then run every (dataset, model, seed) of ``cfg``; see the module docstring.

    Before any data loads, the run folder is resolved, proven writable
    (:func:`store.prepare_run_dir`) and locked (:class:`kerascnn.bench.lock.RunLock`, held
    until the suite ends, by an error or Ctrl-C too): a second suite on it is a ConfigError.
    """
    import shlex
    import sys

    from kerascnn.bench.lock import RunLock

    cfg.validate()
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
            )
    finally:
        if created:
            store.remove_if_empty(run_dir)  # nothing ran (a bad dataset): no empty folder


def _run_locked(
    cfg: BenchConfig,
    *,
    run_dir: Path,
    resume: bool = False,
    retry_failed: bool = False,
    echo: Callable[[str], None] = print,
    argv: list[str] | None = None,
    verbose: int | None = None,
) -> SuiteOutcome:
    """The body of :func:`run_suite`, once ``run_dir`` is resolved, writable and locked."""
    from kerascnn.bench.environment import environment

    t_suite = time.perf_counter()
    datasets = load_datasets(cfg)  # cfg is validated and run_dir prepared by run_suite
    check_models_build(cfg, datasets)
    results_dir = run_dir / store.RESULTS
    for stray in results_dir.glob(".*.tmp"):  # left by a killed write; never a result
        stray.unlink(missing_ok=True)

    env = environment(argv)
    suite_path = run_dir / "suite.json"
    previous = store.read_json(suite_path) if suite_path.is_file() else None
    sessions = (previous or {}).get("sessions", [])
    sessions.append({"started": store.utc_now(), "command": env.command, "resume": resume})
    runs = cfg.runs()
    store.write_json_atomic(
        suite_path,
        {
            "schema": SCHEMA_VERSION,
            "name": cfg.name,
            "config": cfg.to_dict(),
            "runs": [r.key for r in runs],
            "environment": dataclasses.asdict(env),
            "sessions": sessions,
        },
    )

    outcome = SuiteOutcome(run_dir=run_dir)
    done = store.finished_keys(run_dir)
    done_ok = store.finished_keys(run_dir, include_failed=False)
    echo(
        f"kerascnn bench: {len(runs)} run(s) [{', '.join(cfg.models)}] on [{', '.join(cfg.datasets)}], "
        f"{protocol_text(cfg)}, backend {env.backend}, {env.device}; results in {run_dir}"
    )
    durations: dict[tuple[str, str], list[float]] = {}
    todo = [r for r in runs if not (r.key in done_ok or (r.key in done and not retry_failed))]
    k_todo = 0
    for k, run in enumerate(runs, start=1):
        label = f"[{k}/{len(runs)}] {run.model} on {run.dataset} (seed {run.seed})"
        if run.key in done_ok or (run.key in done and not retry_failed):
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
        store.discard_partial(run_dir, run.key)  # left by an unfinished attempt
        t0 = time.perf_counter()
        try:
            status, error, measured = _attempt(
                run, datasets[run.dataset], run_dir, label, echo, verbose
            )
        except KeyboardInterrupt:
            outcome.interrupted = True
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
