"""``kerascnn bench``: train and measure, store results (``kerascnn report`` rebuilds one).

Every option is one entry of :data:`BENCH_OPTIONS`: click's declaration and, for the options
that set the run's configuration, the :class:`~kerascnn.bench.config.BenchConfig` field it sets.
"""

from __future__ import annotations

import sys

import click

from kerascnn.bench.config import (
    AUGMENTATIONS,
    DEFAULT_LR,
    NORMALIZATIONS,
    PRECISE_BN_BATCHES,
    SCHEDULES,
    BenchConfig,
)
from kerascnn.bench.presets import QUICK, main_job
from kerascnn.cli._base import EXIT_INTERRUPTED, uses_keras
from kerascnn.cli._cluster import CLUSTER_OPTIONS, cluster_from, leave, run_joined
from kerascnn.cli._options import (
    BACKEND,
    BATCH_SIZE,
    DATA_DIR,
    IMAGE_SIZE,
    JIT,
    MODELS,
    OPTIMIZER,
    OPTIMIZER_HELP,
    OUT,
    PRECISION,
    PRECISION_HELP,
    TEST_LIMIT,
    TRAIN_LIMIT,
    fields,
    flag_names,
    listed,
    option,
    options,
)
from kerascnn.data.resize import ASPECT_MODES
from kerascnn.errors import install_hint
from kerascnn.recipe import DEFAULT_RECIPE

_MAIN_JOB_MODELS = ",".join(QUICK["models"])
_MAIN = BenchConfig.from_dict(QUICK)
_LR_DEFAULTS = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
_RECIPES = (
    f"{DEFAULT_RECIPE.optimizer} {DEFAULT_RECIPE.learning_rate:g} unless the model registers "
    "its own (kerascnn.models.Recipe)"
)

BENCH_OPTIONS = (
    MODELS.but(
        field="models",
        default=None,
        help="Comma-separated model specs, e.g. 'lenet,vgg11(width=0.25)'. "
        f"[default: {_MAIN_JOB_MODELS}, or the suite's]",
    ),
    option(
        "--dataset",
        "--datasets",
        "datasets",
        field="datasets",
        default=None,
        help="Comma-separated datasets (kerascnn datasets): a name, npz:PATH, folder:PATH (one "
        "subfolder per class, optional train/ and test/) or tfds:NAME. "
        "[default: fashion_mnist_mini]",
    ),
    option(
        "--suite",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML suite file (benchmarks/main-job.toml); flags given here override its values.",
    ),
    option(
        "--budget",
        field="budget",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Equal-budget protocol: seconds of training per model; the steps are calibrated on "
        "this machine and stored. [default: the main job trains the steps "
        f"{_MAIN.budget:g} s give each model on the reference machine; a suite's budget]",
    ),
    option(
        "--steps",
        field="steps",
        type=click.IntRange(min=1),
        default=None,
        help="Train exactly N optimizer steps per model (repeat a --budget run on another "
        "machine).",
    ),
    option(
        "--epochs",
        field="epochs",
        type=click.IntRange(min=1),
        default=None,
        help="Epoch protocol: training epochs per model (instead of --budget/--steps). "
        f"[default: the main job uses --budget; a suite without budget/steps: {BenchConfig.epochs}]",
    ),
    BATCH_SIZE.but(
        field="batch_size",
        help=f"Training batch size. [default: {_MAIN.batch_size} (main job), or the suite's]",
    ),
    OPTIMIZER.but(
        field="optimizer",
        help=f"For every model: {OPTIMIZER_HELP} [default: the suite's, else each "
        f"model's recipe: {_RECIPES}]",
    ),
    option(
        "--lr",
        "learning_rate",
        field="learning_rate",
        type=float,
        default=None,
        help="Peak learning rate. [default: the model's recipe's; with --optimizer that "
        f"optimizer's own: {_LR_DEFAULTS}]",
    ),
    option(
        "--schedule",
        field="schedule",
        type=click.Choice(SCHEDULES),
        default=None,
        help=f"Learning-rate schedule. [default: {_MAIN.schedule}]",
    ),
    option(
        "--warmup-epochs",
        field="warmup_epochs",
        type=float,
        default=None,
        help="Linear learning-rate warm-up, in epochs. [default: "
        f"{_MAIN.warmup_epochs:g}; at most a fifth of a budget or steps run]",
    ),
    option(
        "--weight-decay",
        field="weight_decay",
        type=float,
        default=None,
        help=f"Weight decay (decoupled). [default: {_MAIN.weight_decay:g}]",
    ),
    option(
        "--label-smoothing",
        field="label_smoothing",
        type=float,
        default=None,
        help=f"Label smoothing in [0, 1). [default: {_MAIN.label_smoothing:g}]",
    ),
    option(
        "--augment",
        field="augment",
        default=None,
        help=f"Comma-separated, from: {', '.join(AUGMENTATIONS)}.",
    ),
    PRECISION.but(
        field="precision",
        help=f"{PRECISION_HELP} mixed_float16 trains with dynamic loss scaling. [default: float32]",
    ),
    JIT.but(
        field="jit",
        help="XLA compilation for training and inference. [default: Keras' auto]",
    ),
    option(
        "--precise-bn/--no-precise-bn",
        field="precise_bn",
        default=None,
        help="Before every test evaluation, recompute the BatchNorm statistics of the current "
        "weights as the average over --precise-bn-batches un-augmented training batches (timed "
        "as evaluation, outside the budget); the saved model keeps them. [default: on]",
    ),
    option(
        "--precise-bn-batches",
        field="precise_bn_batches",
        type=click.IntRange(min=1),
        default=None,
        help=f"Training batches for those statistics. [default: {PRECISE_BN_BATCHES}]",
    ),
    BACKEND.but(
        type=click.Choice(["tensorflow", "jax", "torch"]),
        help="Keras backend for this run (sets KERAS_BACKEND). "
        "[default: $KERAS_BACKEND or tensorflow]",
    ),
    option(
        "--distribute",
        field="distribute",
        is_flag=True,
        default=None,
        help="Data parallel over all local devices (JAX DataParallel / TF MirroredStrategy).",
    ),
    option(
        "--steps-per-execution",
        field="steps_per_execution",
        type=int,
        default=None,
        help="Training steps per compiled call (fewer host round trips on a GPU). [default: 1]",
    ),
    option(
        "--seed",
        "seeds",
        field="seeds",
        type=int,
        multiple=True,
        callback=listed,
        help="Seed(s); repeat the flag for several. [default: 0]",
    ),
    option(
        "--repeats",
        field="repeats",
        type=int,
        default=None,
        help="Run N seeds, from the first --seed (default 0) on (mean ± std in the report).",
    ),
    option(
        "--time-budget",
        field="time_budget",
        type=float,
        default=None,
        help="Seconds of training allowed per run.",
    ),
    TRAIN_LIMIT.but(field="train_limit", help="Train on a seeded subset of this many images."),
    TEST_LIMIT.but(field="test_limit", help="Evaluate on a seeded subset of this many images."),
    DATA_DIR.but(
        field="data_dir",
        help="Folder holding the dataset files (IDX .gz for Fashion-MNIST; the TFDS data dir for "
        "tfds:NAME, else $TFDS_DATA_DIR).",
    ),
    IMAGE_SIZE.but(
        field="image_size",
        help="Size the models see: 96 (96x96) or H,W. Folders/TFDS are resized at load; arrays "
        "(Fashion-MNIST, npz) by a Resizing layer at the model input. Needed for folders of "
        "mixed sizes.",
    ),
    option(
        "--aspect",
        field="aspect",
        type=click.Choice(ASPECT_MODES),
        default=None,
        help="How --image-size treats a different aspect ratio: squash, centre crop, or pad "
        "with black. [default: squash]",
    ),
    option(
        "--normalize",
        field="normalize",
        type=click.Choice(NORMALIZATIONS),
        default=None,
        help="per_channel: subtract the training images' per-channel mean and divide by their "
        "std, in a Normalization layer at the model input (recorded in the result). "
        "[default: none]",
    ),
    option(
        "--test-fraction",
        field="test_fraction",
        type=float,
        default=None,
        help="Share held out for testing (seeded, stratified) when a folder or TFDS set has no "
        "test split. [default: 0.2]",
    ),
    option(
        "--skip-bad-images",
        field="skip_bad_images",
        is_flag=True,
        default=None,
        help="Skip (and count in the results) files of a folder that are not readable images.",
    ),
    option(
        "--splits",
        field="splits",
        default=None,
        help="TFDS training and test splits, e.g. 'train[:90%],train[90%:]'. [default: train,test]",
    ),
    OUT.but(help="Run folder. [default: reports/runs/<UTC time>]"),
    option(
        "--resume",
        is_flag=True,
        help="Continue the run folder (--out, or the latest), skipping finished runs.",
    ),
    option("--retry-failed", is_flag=True, help="With --resume: run failed runs again."),
    *CLUSTER_OPTIONS,
    option(
        "--save-models",
        field="save_models",
        is_flag=True,
        default=None,
        help="Keep each trained model as RUN_DIR/models/<run>.keras, with the statistics it was "
        "evaluated with and no training state: keras.saving.load_model(path) loads it.",
    ),
    option(
        "--tensorboard",
        field="tensorboard",
        is_flag=True,
        default=None,
        help="Write Keras TensorBoard logs to RUN_DIR/tensorboard/<run> "
        f"({install_hint('tensorboard')}; then: tensorboard --logdir RUN_DIR/tensorboard).",
    ),
    option(
        "--report/--no-report",
        default=True,
        show_default=True,
        help="Write README.md and plots at the end.",
    ),
)
"""Every option of ``kerascnn bench``, in --help's order; ``field``: the BenchConfig field set."""


@click.command("bench")
@options(*BENCH_OPTIONS)
@uses_keras
def bench_cmd(suite, out, resume, retry_failed, report, **given) -> None:
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

    cluster = cluster_from(given)
    flags = fields(BENCH_OPTIONS, given)
    with flag_names(BENCH_OPTIONS):  # a bad value given as a flag: the error names the flag
        cfg = BenchConfig.from_toml(suite).updated(**flags) if suite else main_job(flags)
        cfg.validate_values()
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
    _print_outcome(outcome, cluster, report=report)


def _print_outcome(outcome, cluster, *, report: bool) -> None:
    """Print how the runs went (and build the report); exit 1 when any failed, 130 on Ctrl-C."""
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
