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


def friendly_errors(fn):
    """Turn kerascnn's user errors (ValueError family) into a clean click error (exit 1)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
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
@click.option("--params/--no-params", default=False, show_default=True,
              help="Build each model and count its parameters at the canonical input and at 32x32x3 (slower).")
@friendly_errors
def models_cmd(pattern: str | None, params: bool) -> None:
    """List registered models (optionally those matching a shell PATTERN, e.g. 'resnet*').

    \b
    Example:
      kerascnn models 'vgg*' --params
    """
    from kerascnn.registry import list_models, model_info

    rows = []
    for name in list_models(pattern):
        info = model_info(name)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
