"""The ``kerascnn`` command line. Thin: parse options, call the package, print.

Heavy imports (Keras, TensorFlow) happen inside each command so that ``kerascnn --help``
answers at once. User errors (unknown model, bad dataset, bad config) end in a one-paragraph
message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import functools
import os
import sys

import click

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter off the terminal


def select_backend(backend: str) -> None:
    """Set KERAS_BACKEND for a ``--backend`` flag; it must come before Keras is first imported."""
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != backend:
        raise click.ClickException(
            f"Keras is already loaded with the {keras.backend.backend()!r} backend; "
            f"set KERAS_BACKEND={backend} before starting. Received: --backend {backend}")
    os.environ["KERAS_BACKEND"] = backend


def friendly_errors(fn):
    """Select the ``--backend`` (if the command has one) and import it quietly, then run;
    kerascnn's user errors (ValueError family) become a clean one-paragraph click error (exit 1)
    instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from kerascnn._quiet import quiet_backend_import

        if kwargs.get("backend"):
            select_backend(kwargs["backend"])
        quiet_backend_import()
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except (ValueError, FileNotFoundError) as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="kerascnn")
def main() -> None:
    """kerascnn: learn CNNs by running them, and compare CNN architectures honestly.

    \b
    Quick start:
      kerascnn models                         list every architecture
      kerascnn bench --models lenet,vgg,mobilenetv2
                                              train, measure, write reports/runs/<time>/
      kerascnn report reports/runs/<time>     rebuild a report from stored results
      kerascnn summary resnet50               per-layer shapes, params, MACs, receptive field

    Data defaults to 'fashion_mnist_mini', a real Fashion-MNIST subset embedded in the package,
    so everything works offline.
    """


@main.command("models")
@click.argument("pattern", required=False)
@click.option("--params/--no-params", default=True, show_default=True,
              help="Build each model and count its parameters at the canonical input and at 32x32x3 "
                   "(about a minute for the whole zoo; --no-params lists at once).")
@friendly_errors
def models_cmd(pattern: str | None, params: bool) -> None:
    """List registered models (optionally those matching a shell PATTERN, e.g. 'resnet*').

    \b
    Example:
      kerascnn models 'vgg*'
      kerascnn models --no-params
    """
    from kerascnn.registry import list_models, model_info

    rows = []
    names = list_models(pattern)
    for k, name in enumerate(names, start=1):
        info = model_info(name)
        if params:
            click.echo(f"\r[{k}/{len(names)}] building {name:<20}", nl=False, err=True)
        row = {
            "model": name,
            "family": info.family,
            "year": info.year,
            "canonical input": "x".join(map(str, info.input_shape)) + f"/{info.num_classes}",
            "min px": info.min_input_size,
            "paper": info.paper,
        }
        if params:
            from kerascnn.registry import create_model
            import keras

            row["params (canonical)"] = f"{create_model(name).count_params():,}"
            keras.backend.clear_session()
            row["params (32x32x3/10)"] = f"{create_model(name, input_shape=(32, 32, 3), num_classes=10).count_params():,}"
            keras.backend.clear_session()
        rows.append(row)
    if params and names:
        click.echo("\r" + " " * 40 + "\r", nl=False, err=True)
    if not rows:
        raise click.ClickException(f"No model matches {pattern!r}. Run 'kerascnn models' for the full list.")
    import pandas as pd

    click.echo(pd.DataFrame(rows).to_markdown(index=False))


@main.command("datasets")
def datasets_cmd() -> None:
    """List the dataset names that --dataset accepts and where each comes from."""
    from kerascnn.data import DATASET_DESCRIPTIONS

    for name, text in DATASET_DESCRIPTIONS.items():
        click.echo(f"{name:20s} {text}")


# ---------------------------------------------------------------------------------------
# Commands of the other areas are added below, one block each (bench/report, summary, viz,
# experiment). Keep each block thin: options + a call into the package.
# ---------------------------------------------------------------------------------------

# == bench & report commands ==

_MAIN_JOB_MODELS = "lenet,vgg,mobilenetv2"


@main.command("bench")
@click.option("--models", "-m", default=None,
              help=f"Comma-separated model specs, e.g. 'lenet,vgg11(width=0.25)'. [default: {_MAIN_JOB_MODELS}, or the suite's]")
@click.option("--dataset", "--datasets", "datasets", default=None,
              help="Comma-separated dataset names (kerascnn datasets). [default: fashion_mnist_mini]")
@click.option("--suite", type=click.Path(dir_okay=False), default=None,
              help="TOML suite file (benchmarks/quick.toml); flags given here override its values.")
@click.option("--epochs", type=int, default=None, help="Training epochs per run.")
@click.option("--batch-size", type=int, default=None, help="Training batch size.")
@click.option("--optimizer", default=None, help="sgd, momentum (Nesterov), adam or adamw.")
@click.option("--lr", "learning_rate", type=float, default=None, help="Peak learning rate.")
@click.option("--schedule", default=None, help="constant, cosine or one-cycle.")
@click.option("--warmup-epochs", type=float, default=None, help="Linear learning-rate warm-up, in epochs.")
@click.option("--weight-decay", type=float, default=None, help="Weight decay (decoupled).")
@click.option("--label-smoothing", type=float, default=None, help="Label smoothing in [0, 1).")
@click.option("--augment", default=None, help="Comma-separated: flip, translate, crop, erasing, mixup, cutmix.")
@click.option("--precision", default=None, help="float32, mixed_float16 (with dynamic loss scaling) or mixed_bfloat16; mixed policies keep the softmax in float32. [default: float32]")
@click.option("--jit/--no-jit", default=None, help="XLA compilation for training and inference. [default: Keras' auto]")
@click.option("--backend", type=click.Choice(["tensorflow", "jax", "torch"]), default=None,
              help="Keras backend for this run (sets KERAS_BACKEND). [default: $KERAS_BACKEND or tensorflow]")
@click.option("--distribute", is_flag=True, default=None,
              help="Data parallel over all local devices (JAX DataParallel / TF MirroredStrategy).")
@click.option("--steps-per-execution", type=int, default=None,
              help="Training steps per compiled call (fewer host round trips on a GPU). [default: 1]")
@click.option("--seed", "seeds", type=int, multiple=True, help="Seed(s); repeat the flag for several. [default: 0]")
@click.option("--repeats", type=int, default=None, help="Run seeds 0..N-1 (mean ± std in the report).")
@click.option("--time-budget", type=float, default=None, help="Seconds of training allowed per run.")
@click.option("--train-limit", type=int, default=None, help="Train on a seeded subset of this many images.")
@click.option("--test-limit", type=int, default=None, help="Evaluate on a seeded subset of this many images.")
@click.option("--data-dir", default=None, help="Folder holding the dataset files (IDX .gz for Fashion-MNIST).")
@click.option("--out", default=None, help="Run folder. [default: reports/runs/<UTC time>]")
@click.option("--resume", is_flag=True, help="Continue the run folder (--out, or the latest), skipping finished runs.")
@click.option("--retry-failed", is_flag=True, help="With --resume: run failed runs again.")
@click.option("--report/--no-report", default=True, show_default=True, help="Write README.md and plots at the end.")
@friendly_errors
def bench_cmd(models, datasets, suite, epochs, batch_size, optimizer, learning_rate, schedule, warmup_epochs,
              weight_decay, label_smoothing, augment, precision, jit, backend, distribute, steps_per_execution,
              seeds, repeats, time_budget, train_limit, test_limit, data_dir, out, resume, retry_failed,
              report) -> None:
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

    from kerascnn.bench.presets import QUICK

    cfg = BenchConfig.from_toml(suite) if suite else BenchConfig.from_dict(QUICK)
    overrides = dict(models=models, datasets=datasets, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                     learning_rate=learning_rate, schedule=schedule, warmup_epochs=warmup_epochs,
                     weight_decay=weight_decay, label_smoothing=label_smoothing, augment=augment,
                     precision=precision, jit=jit, distribute=distribute, steps_per_execution=steps_per_execution,
                     seeds=list(seeds) or None, time_budget=time_budget,
                     train_limit=train_limit, test_limit=test_limit, data_dir=data_dir, repeats=repeats)
    cfg = cfg.updated(**overrides)
    outcome = run_suite(cfg, out=out, resume=resume, retry_failed=retry_failed,
                        echo=lambda m: click.echo(m, err=False), argv=["kerascnn", *sys.argv[1:]])
    if report and (outcome.ok or outcome.failed or outcome.skipped or outcome.skipped_failed):
        from kerascnn.report import build_report

        click.echo(f"Report: {build_report(outcome.run_dir)}")
    click.echo(f"{len(outcome.ok)} ok, {len(outcome.failed)} failed, "
               f"{len(outcome.skipped) + len(outcome.skipped_failed)} skipped (already finished) "
               f"in {outcome.wall_seconds:.0f} s; results in {outcome.run_dir}")
    if outcome.exit_code:
        if outcome.interrupted:
            sys.exit(130)
        failed = outcome.failed + outcome.skipped_failed
        raise click.ClickException(f"{len(failed)} run(s) failed: {', '.join(failed)}. Their errors are in the "
                                   f"JSON files and the report's 'Failed runs' section.")


@main.command("report")
@click.argument("run_dir", type=click.Path())
@click.option("--compare", default=None, type=click.Path(), help="Another run folder: add a table of deltas.")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Draw the PNG figures.")
@friendly_errors
def report_cmd(run_dir, compare, plots) -> None:
    """Rebuild RUN_DIR/README.md and its plots from the stored JSON results alone.

    \b
    Example:
      kerascnn report reports/runs/20260101T120000Z --compare reports/runs/20251201T090000Z
    """
    from kerascnn.report import build_report

    click.echo(f"Report: {build_report(run_dir, compare=compare, plots=plots)}")

# == summary command ==

@main.command("summary")
@click.argument("model")
@click.option("--input-shape", default=None, metavar="H,W,C",
              help="Input shape, e.g. 224,224,3 (default: the model's canonical input).")
@click.option("--classes", type=int, default=None, help="Number of classes (default: the model's).")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv"]), default="table",
              show_default=True, help="table: aligned text for terminals; md: markdown; csv: raw numbers.")
@friendly_errors
def summary_cmd(model: str, input_shape: str | None, classes: int | None, fmt: str) -> None:
    """Per-layer output shapes, parameters, MACs, receptive field and memory of MODEL.

    MODEL is a registered name or spec ('resnet50', 'vgg11(width=0.25)') or keras:NAME for
    keras.applications (keras:MobileNetV2). MACs are multiply-accumulates of conv/dense layers
    per sample (torchvision/timm "GFLOPs"); FLOPs = 2 x MACs; BN/activation/pool/add work is
    counted apart as "other ops".

    \b
    Example:
      kerascnn summary resnet50 --input-shape 224,224,3 --format md
    """
    from kerascnn.analysis.summary import summarize

    click.echo(summarize(model, input_shape=input_shape, classes=classes, fmt=fmt), nl=False)

# == viz & experiment commands ==


@main.group("viz")
def viz_group() -> None:
    """Pictures for learning: kernels, feature maps, confusion matrix, padding, dilation, augmentation.

    \b
    Examples:
      kerascnn viz kernels --model lenet --epochs 2 --out kernels.png
      kerascnn viz feature-maps --index 0 --out maps.png
      kerascnn viz confusion --normalize --out confusion.png
      kerascnn viz padding --pad 6 --out padding.png
      kerascnn viz dilation --rates 1,2,4 --out dilation.png
      kerascnn viz augment --n 4 --out augment.png
    """


def _trained_options(fn):
    """Options of the pictures that need a trained model (trained here in seconds, or loaded)."""
    for opt in reversed([
        click.option("--model", default="lenet", show_default=True, help="Registry spec of the model to train."),
        click.option("--dataset", default="fashion_mnist_mini", show_default=True),
        click.option("--data-dir", default=None, help="Folder with local dataset files."),
        click.option("--epochs", default=2, show_default=True, type=int, help="Epochs of Adam before drawing."),
        click.option("--samples", default=None, type=int, help="Train on the first N training images only."),
        click.option("--weights", default=None, type=click.Path(exists=True, dir_okay=False),
                     help="A saved .keras model to draw instead of training one."),
        click.option("--seed", default=0, show_default=True, type=int),
    ]):
        fn = opt(fn)
    return fn


def _saved(path) -> None:
    click.echo(f"wrote {path}")


@viz_group.command("kernels")
@_trained_options
@click.option("--out", default="kernels.png", show_default=True, type=click.Path(dir_okay=False))
@friendly_errors
def viz_kernels(model, dataset, data_dir, epochs, samples, weights, seed, out) -> None:
    """Learned kernels of the first conv layer, one panel per filter."""
    from kerascnn import viz

    net, _, _ = viz.train_quick(model, dataset, epochs=epochs, samples=samples, seed=seed, data_dir=data_dir,
                                weights=weights)
    viz.plot_kernels(net, path=out)
    _saved(out)


@viz_group.command("feature-maps")
@_trained_options
@click.option("--index", default=0, show_default=True, type=int, help="Index of the test image.")
@click.option("--max-channels", default=8, show_default=True, type=int)
@click.option("--out", default="feature_maps.png", show_default=True, type=click.Path(dir_okay=False))
@friendly_errors
def viz_feature_maps(model, dataset, data_dir, epochs, samples, weights, seed, index, max_channels, out) -> None:
    """Feature maps of every conv layer for one test image (one row per layer)."""
    from kerascnn import viz

    net, ds, _ = viz.train_quick(model, dataset, epochs=epochs, samples=samples, seed=seed, data_dir=data_dir,
                                 weights=weights)
    if not 0 <= index < len(ds.x_test):
        raise click.ClickException(f"--index must be in [0, {len(ds.x_test)}). Received: index={index}")
    viz.plot_feature_maps(net, ds.x_test[index], max_channels=max_channels, path=out)
    _saved(out)


@viz_group.command("confusion")
@_trained_options
@click.option("--normalize/--counts", default=False, show_default=True, help="Row fractions instead of counts.")
@click.option("--out", default="confusion.png", show_default=True, type=click.Path(dir_okay=False))
@friendly_errors
def viz_confusion(model, dataset, data_dir, epochs, samples, weights, seed, normalize, out) -> None:
    """Confusion matrix of the model on the test set."""
    from kerascnn import viz
    from kerascnn.experiments._common import predict

    net, ds, _ = viz.train_quick(model, dataset, epochs=epochs, samples=samples, seed=seed, data_dir=data_dir,
                                 weights=weights)
    viz.plot_confusion_matrix(ds.y_test, predict(net, viz.to_float(ds.x_test)), ds.class_names,
                              normalize=normalize, path=out)
    _saved(out)


@viz_group.command("padding")
@click.option("--dataset", default="fashion_mnist_mini", show_default=True)
@click.option("--data-dir", default=None)
@click.option("--index", default=0, show_default=True, type=int, help="Index of the test image.")
@click.option("--pad", default=6, show_default=True, type=int)
@click.option("--out", default="padding.png", show_default=True, type=click.Path(dir_okay=False))
@friendly_errors
def viz_padding(dataset, data_dir, index, pad, out) -> None:
    """One image padded with every mode (zero, constant, reflect, symmetric, replicate, wrap)."""
    from kerascnn import viz
    from kerascnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    viz.plot_padding_modes(ds.x_test[index], pad=pad, path=out)
    _saved(out)


@viz_group.command("dilation")
@click.option("--rates", default="1,2,4", show_default=True, help="Comma-separated dilation rates.")
@click.option("--kernel-size", default=3, show_default=True, type=int)
@click.option("--out", default="dilation.png", show_default=True, type=click.Path(dir_okay=False))
@friendly_errors
def viz_dilation(rates, kernel_size, out) -> None:
    """Receptive fields of dilated 3x3 convolutions, alone and stacked."""
    from kerascnn import viz

    try:
        parsed = [int(r) for r in rates.split(",")]
    except ValueError:
        raise click.ClickException(f"--rates takes comma-separated integers like 1,2,4. Received: rates={rates!r}")
    viz.plot_dilation(parsed, kernel_size=kernel_size, path=out)
    _saved(out)


@viz_group.command("augment")
@click.option("--dataset", default="fashion_mnist_mini", show_default=True)
@click.option("--data-dir", default=None)
@click.option("--n", "n", default=4, show_default=True, type=int, help="Number of test images (rows).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--out", default="augment.png", show_default=True, type=click.Path(dir_okay=False))
@friendly_errors
def viz_augment(dataset, data_dir, n, seed, out) -> None:
    """Test images next to flipped, shifted, rotated, zoomed, contrast-changed and erased copies."""
    from kerascnn import viz
    from kerascnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    viz.plot_augmentations(ds.x_test[:max(1, n)], seed=seed, path=out)
    _saved(out)


_EXPERIMENT_NAMES = ("optimizers", "init", "overfitting", "hparam", "transfer", "tta", "fgsm")


@main.command("experiment")
@click.argument("name", type=click.Choice(_EXPERIMENT_NAMES))
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Report folder (default: reports/experiments/NAME).")
@click.option("--fast", is_flag=True, help="Few images and epochs: seconds instead of a minute or two.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--dataset", default="fashion_mnist_mini", show_default=True)
@friendly_errors
def experiment_cmd(name, out, fast, seed, dataset) -> None:
    """Run a small real experiment and write README.md (table), PNG plots and results.json.

    \b
    optimizers   SGD, Momentum, AdaGrad, Adam from the same initial weights
    init         std 0.01 vs Glorot vs He, with and without BatchNorm
    overfitting  300 images: baseline vs weight decay vs dropout
    hparam       KerasTuner random search over learning rate and weight decay
    transfer     pretrain on 5 classes; frozen vs fine-tuned vs scratch on the other 5
    tta          test-time augmentation vs a single view
    fgsm         FGSM adversarial examples: accuracy vs epsilon
    """
    from kerascnn.experiments import run_experiment

    result = run_experiment(name, out, fast=fast, seed=seed, dataset=dataset)
    for finding in result.findings:
        click.echo(f"- {finding}")
    click.echo(f"wrote {result.out_dir}/README.md")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
