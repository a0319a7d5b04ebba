"""``kerascnn bench`` (train and measure, store results) and ``kerascnn report`` (rebuild one)."""

from __future__ import annotations

import sys

import click

from kerascnn.bench.config import AUGMENTATIONS, SCHEDULES
from kerascnn.bench.presets import QUICK
from kerascnn.cli._base import EXIT_INTERRUPTED, uses_keras

_MAIN_JOB_MODELS = ",".join(QUICK["models"])


@click.command("bench")
@click.option(
    "--models",
    "-m",
    default=None,
    help="Comma-separated model specs, e.g. 'lenet,vgg11(width=0.25)'. "
    f"[default: {_MAIN_JOB_MODELS}, or the suite's]",
)
@click.option(
    "--dataset",
    "--datasets",
    "datasets",
    default=None,
    help="Comma-separated dataset names (kerascnn datasets). [default: fashion_mnist_mini]",
)
@click.option(
    "--suite",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML suite file (benchmarks/quick.toml); flags given here override its values.",
)
@click.option("--epochs", type=int, default=None, help="Training epochs per run.")
@click.option("--batch-size", type=int, default=None, help="Training batch size.")
@click.option("--optimizer", default=None, help="sgd, momentum (Nesterov), adam or adamw.")
@click.option("--lr", "learning_rate", type=float, default=None, help="Peak learning rate.")
@click.option("--schedule", default=None, help=f"One of: {', '.join(SCHEDULES)}.")
@click.option(
    "--warmup-epochs", type=float, default=None, help="Linear learning-rate warm-up, in epochs."
)
@click.option("--weight-decay", type=float, default=None, help="Weight decay (decoupled).")
@click.option("--label-smoothing", type=float, default=None, help="Label smoothing in [0, 1).")
@click.option(
    "--augment",
    default=None,
    help=f"Comma-separated, from: {', '.join(AUGMENTATIONS)}.",
)
@click.option(
    "--precision",
    default=None,
    help="float32, mixed_float16 (with dynamic loss scaling) or mixed_bfloat16; mixed "
    "policies keep the softmax in float32. [default: float32]",
)
@click.option(
    "--jit/--no-jit",
    default=None,
    help="XLA compilation for training and inference. [default: Keras' auto]",
)
@click.option(
    "--backend",
    type=click.Choice(["tensorflow", "jax", "torch"]),
    default=None,
    help="Keras backend for this run (sets KERAS_BACKEND). [default: $KERAS_BACKEND or tensorflow]",
)
@click.option(
    "--distribute",
    is_flag=True,
    default=None,
    help="Data parallel over all local devices (JAX DataParallel / TF MirroredStrategy).",
)
@click.option(
    "--steps-per-execution",
    type=int,
    default=None,
    help="Training steps per compiled call (fewer host round trips on a GPU). [default: 1]",
)
@click.option(
    "--seed",
    "seeds",
    type=int,
    multiple=True,
    help="Seed(s); repeat the flag for several. [default: 0]",
)
@click.option(
    "--repeats",
    type=int,
    default=None,
    help="Run N seeds, from the first --seed (default 0) on (mean ± std in the report).",
)
@click.option(
    "--time-budget", type=float, default=None, help="Seconds of training allowed per run."
)
@click.option(
    "--train-limit", type=int, default=None, help="Train on a seeded subset of this many images."
)
@click.option(
    "--test-limit", type=int, default=None, help="Evaluate on a seeded subset of this many images."
)
@click.option(
    "--data-dir", default=None, help="Folder holding the dataset files (IDX .gz for Fashion-MNIST)."
)
@click.option("--out", default=None, help="Run folder. [default: reports/runs/<UTC time>]")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run folder (--out, or the latest), skipping finished runs.",
)
@click.option("--retry-failed", is_flag=True, help="With --resume: run failed runs again.")
@click.option(
    "--report/--no-report",
    default=True,
    show_default=True,
    help="Write README.md and plots at the end.",
)
@uses_keras
def bench_cmd(
    models,
    datasets,
    suite,
    epochs,
    batch_size,
    optimizer,
    learning_rate,
    schedule,
    warmup_epochs,
    weight_decay,
    label_smoothing,
    augment,
    precision,
    jit,
    backend,
    distribute,
    steps_per_execution,
    seeds,
    repeats,
    time_budget,
    train_limit,
    test_limit,
    data_dir,
    out,
    resume,
    retry_failed,
    report,
) -> None:
    """Train and measure models; store one JSON per run and a README with tables and plots.

    \b
    The main job (embedded Fashion-MNIST subset, a few minutes on 2 CPU cores):
      kerascnn bench --models lenet,vgg,mobilenetv2
    A suite file, full Fashion-MNIST, resumable:
      kerascnn bench --suite benchmarks/fashion-cpu.toml --out reports/fashion-cpu --resume
    Flags override the suite's values for every model, per-model [overrides] included
    (the main job trains LeNet 10 epochs and VGG 3; --epochs 1 makes it 1 for all).
    Exit code: 0 when every run succeeded, 1 when any failed (listed in the report), 130 on Ctrl-C.
    """
    from kerascnn.bench import BenchConfig, run_suite

    cfg = BenchConfig.from_toml(suite) if suite else BenchConfig.from_dict(QUICK)
    cfg = cfg.updated(
        models=models,
        datasets=datasets,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        learning_rate=learning_rate,
        schedule=schedule,
        warmup_epochs=warmup_epochs,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        augment=augment,
        precision=precision,
        jit=jit,
        distribute=distribute,
        steps_per_execution=steps_per_execution,
        seeds=list(seeds) or None,
        time_budget=time_budget,
        train_limit=train_limit,
        test_limit=test_limit,
        data_dir=data_dir,
        repeats=repeats,
    )
    outcome = run_suite(
        cfg,
        out=out,
        resume=resume,
        retry_failed=retry_failed,
        echo=click.echo,
        argv=["kerascnn", *sys.argv[1:]],
    )
    skipped = len(outcome.skipped) + len(outcome.skipped_failed)
    if report and (outcome.ok or outcome.failed or skipped):
        from kerascnn.report import build_report

        click.echo(f"Report: {build_report(outcome.run_dir)}")
    click.echo(
        f"{len(outcome.ok)} ok, {len(outcome.failed)} failed, {skipped} skipped (already "
        f"finished) in {outcome.wall_seconds:.0f} s; results in {outcome.run_dir}"
    )
    if outcome.exit_code:
        if outcome.interrupted:
            sys.exit(EXIT_INTERRUPTED)
        failed = outcome.failed + outcome.skipped_failed
        raise click.ClickException(
            f"{len(failed)} run(s) failed: {', '.join(failed)}. Their "
            f"errors are in the JSON files and the report's 'Failed runs' "
            f"section."
        )


@click.command("report")
@click.argument("run_dir", type=click.Path())
@click.option(
    "--compare", default=None, type=click.Path(), help="Another run folder: add a table of deltas."
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Draw the PNG figures.")
@uses_keras
def report_cmd(run_dir, compare, plots) -> None:
    """Rebuild RUN_DIR/README.md and its plots from the stored JSON results alone.

    \b
    Example:
      kerascnn report reports/runs/20260101T120000Z --compare reports/runs/20251201T090000Z
    """
    from kerascnn.report import build_report

    click.echo(f"Report: {build_report(run_dir, compare=compare, plots=plots)}")
