"""``kerascnn bench``: train and measure, store results (``kerascnn report`` rebuilds one)."""

from __future__ import annotations

import sys

import click

from kerascnn.bench.config import (
    AUGMENTATIONS,
    DEFAULT_LR,
    NORMALIZATIONS,
    OPTIMIZERS,
    PRECISE_BN_BATCHES,
    PRECISIONS,
    SCHEDULES,
    BenchConfig,
)
from kerascnn.bench.presets import QUICK, main_job
from kerascnn.cli._base import EXIT_INTERRUPTED, uses_keras
from kerascnn.cli._cluster import cluster_options, leave, run_joined
from kerascnn.data.resize import ASPECT_MODES
from kerascnn.models import DEFAULT_RECIPE

_MAIN_JOB_MODELS = ",".join(QUICK["models"])
_MAIN = BenchConfig.from_dict(QUICK)
_LR_DEFAULTS = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
_RECIPES = (
    f"{DEFAULT_RECIPE.optimizer} {DEFAULT_RECIPE.learning_rate:g} unless the model registers "
    "its own (kerascnn.models.Recipe)"
)


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
    help="Comma-separated datasets (kerascnn datasets): a name, npz:PATH, folder:PATH (one "
    "subfolder per class, optional train/ and test/) or tfds:NAME. [default: fashion_mnist_mini]",
)
@click.option(
    "--suite",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML suite file (benchmarks/main-job.toml); flags given here override its values.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Equal-budget protocol: seconds of training per model; the steps are calibrated on "
    "this machine and stored. [default: the main job trains the steps "
    f"{_MAIN.budget:g} s give each model on the reference machine; a suite's budget]",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Train exactly N optimizer steps per model (repeat a --budget run on another machine).",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Epoch protocol: training epochs per model (instead of --budget/--steps). "
    f"[default: the main job uses --budget; a suite without budget/steps: {BenchConfig.epochs}]",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help=f"Training batch size. [default: {_MAIN.batch_size} (main job), or the suite's]",
)
@click.option(
    "--optimizer",
    type=click.Choice(OPTIMIZERS),
    default=None,
    help="For every model (momentum is Nesterov SGD). [default: the suite's, else each model's "
    f"recipe: {_RECIPES}]",
)
@click.option(
    "--lr",
    "learning_rate",
    type=float,
    default=None,
    help="Peak learning rate. [default: the model's recipe's; with --optimizer that "
    f"optimizer's own: {_LR_DEFAULTS}]",
)
@click.option(
    "--schedule",
    type=click.Choice(SCHEDULES),
    default=None,
    help=f"Learning-rate schedule. [default: {_MAIN.schedule}]",
)
@click.option(
    "--warmup-epochs",
    type=float,
    default=None,
    help=f"Linear learning-rate warm-up, in epochs. [default: {_MAIN.warmup_epochs:g}; at most a "
    "fifth of a budget or steps run]",
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
    type=click.Choice(PRECISIONS),
    default=None,
    help="mixed_float16 trains with dynamic loss scaling; mixed policies keep the softmax in "
    "float32. [default: float32]",
)
@click.option(
    "--jit/--no-jit",
    default=None,
    help="XLA compilation for training and inference. [default: Keras' auto]",
)
@click.option(
    "--precise-bn/--no-precise-bn",
    default=None,
    help="Before every test evaluation, recompute the BatchNorm statistics of the current "
    "weights as the average over --precise-bn-batches un-augmented training batches (timed as "
    "evaluation, outside the budget); the saved model keeps them. [default: on]",
)
@click.option(
    "--precise-bn-batches",
    type=click.IntRange(min=1),
    default=None,
    help=f"Training batches for those statistics. [default: {PRECISE_BN_BATCHES}]",
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
    "--data-dir",
    default=None,
    help="Folder holding the dataset files (IDX .gz for Fashion-MNIST; the TFDS data dir for "
    "tfds:NAME, else $TFDS_DATA_DIR).",
)
@click.option(
    "--image-size",
    default=None,
    help="Size the models see: 96 or H,W. Folders/TFDS are resized at load; arrays (Fashion-MNIST, "
    "npz) by a Resizing layer at the model input. Needed for folders of mixed sizes.",
)
@click.option(
    "--aspect",
    type=click.Choice(ASPECT_MODES),
    default=None,
    help="How --image-size treats a different aspect ratio: squash, centre crop, or pad "
    "with black. [default: squash]",
)
@click.option(
    "--normalize",
    type=click.Choice(NORMALIZATIONS),
    default=None,
    help="per_channel: subtract the training images' per-channel mean and divide by their std, "
    "in a Normalization layer at the model input (recorded in the result). [default: none]",
)
@click.option(
    "--test-fraction",
    type=float,
    default=None,
    help="Share held out for testing (seeded, stratified) when a folder or TFDS set has no "
    "test split. [default: 0.2]",
)
@click.option(
    "--skip-bad-images",
    is_flag=True,
    default=None,
    help="Skip (and count in the results) files of a folder that are not readable images.",
)
@click.option(
    "--splits",
    default=None,
    help="TFDS training and test splits, e.g. 'train[:90%],train[90%:]'. [default: train,test]",
)
@click.option("--out", default=None, help="Run folder. [default: reports/runs/<UTC time>]")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run folder (--out, or the latest), skipping finished runs.",
)
@click.option("--retry-failed", is_flag=True, help="With --resume: run failed runs again.")
@cluster_options
@click.option(
    "--save-models",
    is_flag=True,
    default=None,
    help="Keep each trained model as RUN_DIR/models/<run>.keras, with the statistics it was "
    "evaluated with and no training state: keras.saving.load_model(path) loads it.",
)
@click.option(
    "--tensorboard",
    is_flag=True,
    default=None,
    help="Write Keras TensorBoard logs to RUN_DIR/tensorboard/<run> "
    "(pip install 'kerascnn[tensorboard]'; then: tensorboard --logdir RUN_DIR/tensorboard).",
)
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
    budget,
    steps,
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
    precise_bn,
    precise_bn_batches,
    backend,
    distribute,
    steps_per_execution,
    seeds,
    repeats,
    time_budget,
    train_limit,
    test_limit,
    data_dir,
    image_size,
    aspect,
    normalize,
    test_fraction,
    skip_bad_images,
    splits,
    out,
    resume,
    retry_failed,
    coordinator,
    num_processes,
    process_id,
    cluster_timeout,
    save_models,
    tensorboard,
    report,
) -> None:
    """Train and measure models; store one JSON per run and a README with tables and plots.

    \b
    The main job (embedded Fashion-MNIST subset, a few minutes on 2 CPU cores; every model
    trains the steps a 30-second budget gives it on the reference machine):
      kerascnn bench --models lenet,vgg,mobilenetv2
    Repeat one of its runs elsewhere with the steps its report names:
      kerascnn bench --models vgg --steps 120
    Your own images (one subfolder per class), resized to 64 px:
      kerascnn bench --models lenet,resnet18 --dataset folder:~/photos --image-size 64
    A suite file, full Fashion-MNIST, resumable:
      kerascnn bench --suite benchmarks/fashion-cpu.toml --out reports/fashion-cpu --resume
    Two processes training together, here on one machine; on N hosts give process 0's
    HOST:PORT (all N on TensorFlow) and --process-id 0..N-1 on each:
      kerascnn bench --backend jax --models lenet --steps 200 --coordinator 127.0.0.1:8476 \\
        --num-processes 2 --process-id 0 --out reports/runs/two   # and --process-id 1
    Flags override the suite's values for every model, per-model [overrides] included;
    one of --budget, --steps and --epochs picks how long every model trains.
    Exit code: 0 when every run succeeded, 1 when any failed (listed in the report), 130 on
    Ctrl-C, 75 when the processes of a multi-process run could not finish together.
    """
    from kerascnn.bench import run_suite
    from kerascnn.distributed.cluster import resolve_cluster

    cluster = resolve_cluster(coordinator, num_processes, process_id, timeout=cluster_timeout)

    flags = dict(
        models=models,
        datasets=datasets,
        budget=budget,
        steps=steps,
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
        precise_bn=precise_bn,
        precise_bn_batches=precise_bn_batches,
        distribute=distribute,
        steps_per_execution=steps_per_execution,
        seeds=list(seeds) or None,
        time_budget=time_budget,
        train_limit=train_limit,
        test_limit=test_limit,
        data_dir=data_dir,
        image_size=image_size,
        aspect=aspect,
        normalize=normalize,
        test_fraction=test_fraction,
        skip_bad_images=skip_bad_images,
        splits=splits,
        repeats=repeats,
        save_models=save_models,
        tensorboard=tensorboard,
    )
    cfg = BenchConfig.from_toml(suite).updated(**flags) if suite else main_job(flags)
    outcome = run_joined(
        cluster,
        lambda: run_suite(
            cfg,
            out=out,
            resume=resume,
            retry_failed=retry_failed,
            echo=click.echo,
            argv=["kerascnn", *sys.argv[1:]],
            cluster=cluster,
        ),
    )
    if outcome.cluster_failure:
        leave(outcome.exit_code, f"Error: {outcome.cluster_failure}")
    skipped = len(outcome.skipped) + len(outcome.skipped_failed)
    if cluster is not None and not cluster.is_chief:
        click.echo(
            f"[{cluster.label}] {len(outcome.ok)} ok, {len(outcome.failed)} failed; "
            "process 0 wrote the results"
        )
        return
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
