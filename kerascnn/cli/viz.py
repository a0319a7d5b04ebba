"""``kerascnn viz ...``: the pictures of :mod:`kerascnn.viz`, one subcommand each."""

from __future__ import annotations

import click

from kerascnn.cli._base import uses_keras
from kerascnn.cli._options import (
    DATA_DIR,
    DATASET,
    MODELS,
    OUT,
    SEED,
    TRAIN_LIMIT,
    deprecated,
    option,
    options,
)


@click.group("viz")
def viz_group() -> None:
    """Pictures for learning: kernels, feature maps, confusion matrix, padding, dilation, augmentation.

    \b
    Examples:
      kerascnn viz kernels --models lenet --epochs 2 --out kernels.png
      kerascnn viz feature-maps --index 0 --out maps.png
      kerascnn viz confusion --normalize --out confusion.png
      kerascnn viz padding --pad 6 --out padding.png
      kerascnn viz dilation --rates 1,2,4 --out dilation.png
      kerascnn viz augment --n 4 --out augment.png
    """


def _one_model(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--models`` of a picture: the one model spec it draws."""
    from kerascnn._utils import split_list

    specs = split_list(value or "")
    if len(specs) != 1:
        raise click.BadParameter(
            f"a picture shows one model: give one registry spec, e.g. lenet or "
            f"'vgg11(width=0.25)'. Received: {value!r}",
            ctx,
            param,
        )
    return specs[0]


_MODEL = MODELS.but(
    name="model",
    default="lenet",
    show_default=True,
    callback=_one_model,
    help="Registry spec of the one model to train (or of --weights' model).",
)
_DATA_DIR = DATA_DIR.but(
    help="Folder holding the dataset's files (a dataset that is not embedded)."
)
_TRAIN_LIMIT = TRAIN_LIMIT.but(name="samples", help="Train on the first N training images only.")

_TRAINED = options(
    _MODEL,
    deprecated("--model", _MODEL),
    DATASET,
    _DATA_DIR,
    option(
        "--epochs",
        default=2,
        show_default=True,
        type=click.IntRange(min=0),
        help="Epochs of Adam before drawing.",
    ),
    _TRAIN_LIMIT,
    deprecated("--samples", _TRAIN_LIMIT),
    option(
        "--weights",
        default=None,
        type=click.Path(exists=True, dir_okay=False),
        help="A saved .keras model to draw instead of training one.",
    ),
    SEED,
)
"""Options of the pictures that need a trained model (trained here in seconds, or loaded): the
keywords of :func:`kerascnn.viz.train_quick`."""


_INDEX = option("--index", default=0, show_default=True, type=int, help="Index of the test image.")
"""The test image of feature-maps and padding."""


def _png(default: str):
    """``--out`` of a picture: the PNG file, ``default`` unless given."""
    return OUT.but(
        default=default,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="PNG file to write.",
    )


def _test_image(ds, index: int):
    if not 0 <= index < len(ds.x_test):
        raise click.ClickException(
            f"--index must be in [0, {len(ds.x_test)}). Received: index={index}"
        )
    return ds.x_test[index]


@viz_group.command("kernels")
@_TRAINED
@_png("kernels.png")
@uses_keras
def viz_kernels(out, **trained) -> None:
    """Learned kernels of the first conv layer, one panel per filter."""
    from kerascnn import viz

    net, _, _ = viz.train_quick(**trained)
    viz.plot_kernels(net, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("feature-maps")
@_TRAINED
@_INDEX
@click.option(
    "--max-channels",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="Feature maps (channels) drawn per layer, the first ones.",
)
@_png("feature_maps.png")
@uses_keras
def viz_feature_maps(index, max_channels, out, **trained) -> None:
    """Feature maps of every conv layer for one test image (one row per layer)."""
    from kerascnn import viz

    net, ds, _ = viz.train_quick(**trained)
    viz.plot_feature_maps(net, _test_image(ds, index), max_channels=max_channels, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("confusion")
@_TRAINED
@click.option(
    "--normalize/--counts",
    default=False,
    show_default=True,
    help="Row fractions instead of counts.",
)
@_png("confusion.png")
@uses_keras
def viz_confusion(normalize, out, **trained) -> None:
    """Confusion matrix of the model on the test set."""
    from kerascnn import viz
    from kerascnn.experiments._common import predict

    net, ds, _ = viz.train_quick(**trained)
    scores = predict(net, viz.to_float(ds.x_test))
    viz.plot_confusion_matrix(ds.y_test, scores, ds.class_names, normalize=normalize, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("padding")
@DATASET
@_DATA_DIR
@_INDEX
@click.option(
    "--pad",
    default=6,
    show_default=True,
    type=click.IntRange(min=0),
    help="Pixels added on every side.",
)
@_png("padding.png")
@uses_keras
def viz_padding(dataset, data_dir, index, pad, out) -> None:
    """One image padded with every mode (zero, constant, reflect, symmetric, replicate, wrap)."""
    from kerascnn import viz
    from kerascnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    viz.plot_padding_modes(_test_image(ds, index), pad=pad, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("dilation")
@click.option("--rates", default="1,2,4", show_default=True, help="Comma-separated dilation rates.")
@click.option(
    "--kernel-size",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Kernel height = width of every convolution.",
)
@_png("dilation.png")
@uses_keras
def viz_dilation(rates, kernel_size, out) -> None:
    """Receptive fields of dilated 3x3 convolutions, alone and stacked."""
    from kerascnn import viz

    try:
        parsed = [int(r) for r in rates.split(",")]
    except ValueError:
        parsed = []
    if not parsed or min(parsed) < 1:
        raise click.ClickException(
            f"--rates takes comma-separated positive integers like 1,2,4. Received: --rates {rates}"
        )
    viz.plot_dilation(parsed, kernel_size=kernel_size, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("augment")
@DATASET
@_DATA_DIR
@click.option(
    "--n",
    "n",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of test images (rows).",
)
@SEED
@_png("augment.png")
@uses_keras
def viz_augment(dataset, data_dir, n, seed, out) -> None:
    """Test images next to flipped, shifted, rotated, zoomed, contrast-changed and erased copies."""
    from kerascnn import viz
    from kerascnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    viz.plot_augmentations(ds.x_test[: max(1, n)], seed=seed, path=out)
    click.echo(f"wrote {out}")
