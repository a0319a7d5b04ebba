"""``kerascnn models``, ``kerascnn datasets`` and ``kerascnn summary``: what the package holds."""

from __future__ import annotations

import click

from kerascnn.cli._base import uses_keras
from kerascnn.cli._options import FORMAT, IMAGE_SIZE
from kerascnn.record.tabular import FORMATS

_TABLE_FORMAT = FORMAT.but(type=click.Choice(FORMATS), default="table", show_default=True)
"""``--format`` of models and summary."""


def _building(k: int, n: int, name: str) -> None:
    click.echo(f"\r[{k}/{n}] building {name:<20}", nl=False, err=True)


@click.command("models")
@click.argument("pattern", required=False)
@click.option(
    "--params",
    "--count",
    "counts",
    flag_value="count",
    help="Build every model and count its parameters for real (under a minute for the whole "
    "zoo). Default: the counts stored in the package (kerascnn/models/param_counts.json).",
)
@click.option("--no-params", "counts", flag_value="none", help="Leave the parameter columns out.")
@_TABLE_FORMAT.but(
    help="table: aligned text for terminals; md: markdown (adds min input size and paper); "
    "csv, json: every field, raw numbers.",
)
@uses_keras
def models_cmd(pattern: str | None, counts: str | None, fmt: str) -> None:
    """List registered models and their parameters at the canonical input and at 32x32x3/10.

    PATTERN filters by name or alias with the rule of list_models(): a shell pattern matched
    against the whole name ('resnet*', 'vgg*_bn'; timm's fnmatch, case-insensitive), or a bare
    word without *?[ that means word* ('vgg' = 'vgg*': the alias vgg -> vgg11 and every VGG;
    'resnet' leaves seresnet18 out). A model spec with keywords ('vgg11(width=0.25)') is built
    and counted.

    \b
    Example:
      kerascnn models vgg
      kerascnn models 'resnet*' --format md
      kerascnn models --params --format csv > models.csv
    """
    from kerascnn.catalog import catalog_table, model_catalog

    rows = model_catalog(pattern, params=counts or "stored", progress=_building)
    if counts == "count" and rows:
        click.echo("\r" + " " * 40 + "\r", nl=False, err=True)
    if not rows:
        raise click.ClickException(
            f"No model or alias matches {pattern!r}. Run 'kerascnn models' for the full list. "
            f"Received: {pattern!r}"
        )
    click.echo(catalog_table(rows, fmt), nl=False)


@click.command("datasets")
def datasets_cmd() -> None:
    """List the dataset names that --dataset accepts and where each comes from."""
    from kerascnn.data import DATASET_DESCRIPTIONS

    for name, text in DATASET_DESCRIPTIONS.items():
        click.echo(f"{name:20s} {text}")


@click.command("summary")
@click.argument("model")
@IMAGE_SIZE.but(
    help="Input height and width: 224 (224x224) or H,W; the channels stay the model's. "
    "[default: the model's canonical input]",
)
@click.option(
    "--input-shape",
    default=None,
    metavar="H,W,C",
    help="The whole input shape, channels too, e.g. 224,224,3 (instead of --image-size).",
)
@click.option("--classes", type=int, default=None, help="Number of classes (default: the model's).")
@_TABLE_FORMAT.but(
    help="table: aligned text for terminals; md: markdown; csv: raw numbers, one row per "
    "layer; json: the per-layer rows and the totals.",
)
@uses_keras
def summary_cmd(model, image_size, input_shape, classes, fmt) -> None:
    """Per-layer output shapes, parameters, MACs, receptive field and memory of MODEL.

    MODEL is a registered name or spec ('resnet50', 'vgg11(width=0.25)') or keras:NAME for
    keras.applications (keras:MobileNetV2). MACs are multiply-accumulates of conv/dense layers
    per sample (torchvision/timm "GFLOPs"); FLOPs = 2 x MACs; BN/activation/pool/add work is
    counted apart as "other ops".

    \b
    Example:
      kerascnn summary resnet50 --image-size 160 --format md
      kerascnn summary lenet --input-shape 32,32,3
    """
    from kerascnn.analysis.summary import parse_input_shape, summarize

    if image_size is not None and input_shape is not None:
        raise click.UsageError(
            "Give --image-size (height and width) or --input-shape (channels too), not both. "
            f"Received: --image-size {','.join(map(str, image_size))} --input-shape {input_shape}"
        )
    if input_shape is not None and len(parse_input_shape(input_shape)) != 3:
        raise click.UsageError(
            "--input-shape takes height,width,channels (224,224,3); for height and width alone "
            f"use --image-size H,W. Received: --input-shape {input_shape}"
        )
    shape = image_size or input_shape
    click.echo(summarize(model, input_shape=shape, classes=classes, fmt=fmt), nl=False)
