"""The loop over a suite's runs, in named steps (:func:`kerascnn.bench.runner.run_suite` prepares it).

What the steps share is decided once, before the first run, in a :class:`SuiteContext`: the
config, the run folder (None on a process other than 0 of a cluster: nothing is written),
the runs in order, the loaded datasets, the environment and, for a multi-process suite, its
cluster, watchdog and failure recorder. Then:

* :func:`finished_runs`: the skip set (``--resume``): runs already finished in the folder
  (with ``--retry-failed`` only the ok ones), process 0's shared with every process;
* :func:`run_all`: each run in turn; a skipped one is counted and named, any other goes
  through :func:`run_one` (its "starting" line with the suite ETA, train and measure, Ctrl-C)
  and :func:`store_run` (its result JSON and ``results.csv``), then its line is printed.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kerascnn._utils import fmt_duration
from kerascnn.bench.config import BenchConfig, RunSpec
from kerascnn.bench.suite_data import dataset_meta
from kerascnn.distributed.cluster import Cluster
from kerascnn.distributed.watchdog import EXIT_CLUSTER, Watchdog
from kerascnn.errors import is_out_of_memory
from kerascnn.record import layout, store
from kerascnn.record.run import Environment, Measurements, RunError, RunRecord

if TYPE_CHECKING:
    from kerascnn.bench.multiprocess import FailureRecorder


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


@dataclass(frozen=True)
class SuiteContext:
    """A prepared suite, as every step of the loop sees it (decided once, never re-derived)."""

    cfg: BenchConfig
    run_dir: Path | None
    """The locked run folder; None on a process other than 0 of a cluster (writes nothing)."""
    runs: list[RunSpec]
    datasets: dict[str, Any]
    env: Environment
    echo: Callable[[str], None]
    retry_failed: bool = False
    verbose: int | None = None
    cluster: Cluster | None = None
    watchdog: Watchdog | None = None
    recorder: FailureRecorder | None = None
    """Stores the run in progress as failed when the watchdog fires (a cluster only)."""


@dataclass(frozen=True)
class Finished:
    """The skip set of a session: finished runs it leaves alone, and which of them ended ok."""

    skip: set[str]
    ok: set[str]


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


# --------------------------------------------------------------------------- the skip set


def finished_runs(ctx: SuiteContext) -> Finished:
    """Runs finished in the folder that this session leaves alone (``--resume``; with
    ``retry_failed`` the failed ones run again). On a cluster process 0's set goes to every
    process; the others cannot tell ok from failed, so process 0's folder says."""
    run_dir = ctx.run_dir
    done = store.finished_keys(run_dir) if run_dir else set()
    done_ok = store.finished_keys(run_dir, include_failed=False) if run_dir else set()
    skip = done_ok if ctx.retry_failed else done
    if ctx.cluster is not None:  # process 0's, on every process
        from kerascnn.bench.multiprocess import share_skipped

        skip = share_skipped(ctx.runs, skip, ctx.watchdog)
        if run_dir is None:
            done_ok = skip
    return Finished(skip=skip, ok=done_ok)


# --------------------------------------------------------------------------- one run


def _identity(run: RunSpec, ctx: SuiteContext) -> dict[str, Any]:
    """The fields of a run's record that say what ran, where and when it started."""
    cfg = ctx.cfg
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
        dataset_info=dataset_meta(ctx.datasets[run.dataset], cfg),
        environment=ctx.env,
        started=store.utc_now(),
    )


def _attempt(
    run: RunSpec, ctx: SuiteContext, label: str
) -> tuple[str, RunError | None, Measurements]:
    """Execute one run: ("ok", None, measurements) or ("failed", error, what was measured).

    Any exception but KeyboardInterrupt is caught here: a failing run never stops the suite,
    except in a multi-process suite, where an exception of one process leaves the others out
    of step: it comes back as a ClusterFailure, which stops the suite. Without a run folder
    (processes other than 0) nothing is written.
    """
    import keras

    from kerascnn.bench.training import RunFailure, execute_run

    run_dir = ctx.run_dir
    try:
        measured = execute_run(
            run,
            ctx.datasets[run.dataset],
            label=label,
            echo=ctx.echo,
            model_path=layout.model_path(run_dir, run.key) if run_dir else None,
            log_path=layout.log_path(run_dir, run.key) if run_dir else None,
            tensorboard_dir=layout.tensorboard_dir(run_dir, run.key) if run_dir else None,
            verbose=ctx.verbose,
        )
        return "ok", None, measured
    except RunFailure as exc:
        return "failed", RunError(type=exc.kind, message=str(exc)), exc.partial
    # any other error (MemoryError included): recorded, the suite continues
    except Exception as exc:
        if ctx.cluster is not None:
            from kerascnn.bench.multiprocess import cluster_failure

            return "failed", cluster_failure(describe_error(exc), ctx.cluster), Measurements()
        return "failed", describe_error(exc), Measurements()
    finally:
        keras.backend.clear_session()


def run_one(ctx: SuiteContext, run: RunSpec, label: str, eta: float | None) -> RunRecord | None:
    """Print the run's "starting" line (with the suite ETA once known), train and measure it
    (under the watchdog on a cluster): its record, or None on Ctrl-C, its partial logs gone."""
    from contextlib import nullcontext

    ctx.echo(
        f"{label}: starting" + (f"; suite ETA ~{fmt_duration(eta)}" if eta is not None else "")
    )
    identity = _identity(run, ctx)
    if ctx.run_dir is not None:
        store.discard_partial(ctx.run_dir, run.key)  # left by an unfinished attempt
    t0 = time.perf_counter()
    if ctx.recorder is not None:
        ctx.recorder.current = identity
    try:
        with ctx.watchdog.phase(f"running {label}") if ctx.watchdog else nullcontext():
            status, error, measured = _attempt(run, ctx, label)
    except KeyboardInterrupt:
        if ctx.run_dir is not None:
            store.discard_partial(ctx.run_dir, run.key)  # its partial logs go too
        return None
    record = RunRecord(
        **identity,
        status=status,
        error=error,
        finished=store.utc_now(),
        wall_seconds=time.perf_counter() - t0,
        **measured.fields_dict(),
    )
    if ctx.recorder is not None:
        ctx.recorder.current = None
    return record


def store_run(ctx: SuiteContext, record: RunRecord) -> None:
    """Store a run's record (``results/<key>.json``) and rewrite ``results.csv``, the flat view
    kept current; on a process other than 0 nothing."""
    if ctx.run_dir is not None:
        store.write_result(ctx.run_dir, record)
        store.write_results_table(ctx.run_dir)


# --------------------------------------------------------------------------- the loop


def _tally(ctx: SuiteContext, record: RunRecord, label: str, outcome: SuiteOutcome) -> bool:
    """Count and print a stored run; False when it ends the suite (a cluster failure)."""
    if record.ok:
        outcome.ok.append(record.key)
        ctx.echo(
            f"{label}: top-1 {record.test.top1:.4f}, top-5 {record.test.top5:.4f}, "
            f"{record.params:,} params, {fmt_duration(record.wall_seconds)}"
        )
        return True
    outcome.failed.append(record.key)
    ctx.echo(f"{label}: FAILED ({record.error.type}): {record.error.message[:300]}")
    if not record.finished_run:
        outcome.cluster_failure = record.error.message
        return False
    return True


def _interrupted(ctx: SuiteContext, run: RunSpec, outcome: SuiteOutcome) -> None:
    outcome.interrupted = True
    kept = len(outcome.ok) + len(outcome.failed) + len(outcome.skipped)
    kept += len(outcome.skipped_failed)
    ctx.echo(
        f"\nInterrupted during {run.model} on {run.dataset}: that run is not stored. "
        f"{kept} finished run(s) are kept in {ctx.run_dir}. Continue with: "
        f"kerascnn bench --resume --out {ctx.run_dir} ..."
    )


def run_all(ctx: SuiteContext, finished: Finished, outcome: SuiteOutcome) -> None:
    """Every run of the suite in order, counted in ``outcome``: skipped when finished, else run,
    stored and printed. Ctrl-C or a cluster failure ends the loop."""
    durations: dict[tuple[str, str], list[float]] = {}
    todo = [r for r in ctx.runs if r.key not in finished.skip]
    k_todo = 0
    for k, run in enumerate(ctx.runs, start=1):
        label = f"[{k}/{len(ctx.runs)}] {run.model} on {run.dataset} (seed {run.seed})"
        if run.key in finished.skip:
            status = "ok" if run.key in finished.ok else "failed"
            (outcome.skipped if status == "ok" else outcome.skipped_failed).append(run.key)
            ctx.echo(f"{label}: already finished ({status}), skipped (--resume)")
            continue
        k_todo += 1
        record = run_one(ctx, run, label, suite_eta(durations, todo[k_todo - 1 :]))
        if record is None:
            _interrupted(ctx, run, outcome)
            break
        durations.setdefault((run.model, run.dataset), []).append(record.wall_seconds)
        store_run(ctx, record)
        if not _tally(ctx, record, label, outcome):
            break
