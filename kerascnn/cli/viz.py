"""``kerascnn viz ...``: the pictures of :mod:`kerascnn.viz`, one subcommand each."""

from __future__ import annotations

import click

from kerascnn.cli._base import uses_keras


@click.group("viz")
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


_TRAINED_OPTIONS = [
    click.option(
        "--model", default="lenet", show_default=True, help="Registry spec of the model to train."
    ),
    click.option("--dataset", default="fashion_mnist_mini", show_default=True),
    click.option("--data-dir", default=None, help="Folder with local dataset files."),
    click.option(
        "--epochs", default=2, show_default=True, type=int, help="Epochs of Adam before drawing."
    ),
    click.option(
        "--samples", default=None, type=int, help="Train on the first N training images only."
    ),
    click.option(
        "--weights",
        default=None,
        type=click.Path(exists=True, dir_okay=False),
        help="A saved .keras model to draw instead of training one.",
    ),
    click.option("--seed", default=0, show_default=True, type=int),
]


def _trained_options(fn):
    """Options of the pictures that need a trained model (trained here in seconds, or loaded)."""
    for option in reversed(_TRAINED_OPTIONS):
        fn = option(fn)
    return fn


def _out_option(default: str):
    return click.option(
        "--out",
        default=default,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="PNG file to write.",
    )


def _trained(model, dataset, data_dir, epochs, samples, weights, seed):
    from kerascnn import viz

    return viz.train_quick(
        model,
        dataset,
        epochs=epochs,
        samples=samples,
        seed=seed,
        data_dir=data_dir,
        weights=weights,
    )


def _test_image(ds, index: int):
    if not 0 <= index < len(ds.x_test):
        raise click.ClickException(
            f"--index must be in [0, {len(ds.x_test)}). Received: index={index}"
        )
    return ds.x_test[index]


@viz_group.command("kernels")
@_trained_options
@_out_option("kernels.png")
@uses_keras
def viz_kernels(out, **trained) -> None:
    """Learned kernels of the first conv layer, one panel per filter."""
    from kerascnn import viz

    net, _, _ = _trained(**trained)
    viz.plot_kernels(net, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("feature-maps")
@_trained_options
@click.option("--index", default=0, show_default=True, type=int, help="Index of the test image.")
@click.option("--max-channels", default=8, show_default=True, type=int)
@_out_option("feature_maps.png")
@uses_keras
def viz_feature_maps(index, max_channels, out, **trained) -> None:
    """Feature maps of every conv layer for one test image (one row per layer)."""
    from kerascnn import viz

    net, ds, _ = _trained(**trained)
    viz.plot_feature_maps(net, _test_image(ds, index), max_channels=max_channels, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("confusion")
@_trained_options
@click.option(
    "--normalize/--counts",
    default=False,
    show_default=True,
    help="Row fractions instead of counts.",
)
@_out_option("confusion.png")
@uses_keras
def viz_confusion(normalize, out, **trained) -> None:
    """Confusion matrix of the model on the test set."""
    from kerascnn import viz
    from kerascnn.experiments._common import predict

    net, ds, _ = _trained(**trained)
    scores = predict(net, viz.to_float(ds.x_test))
    viz.plot_confusion_matrix(ds.y_test, scores, ds.class_names, normalize=normalize, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("padding")
@click.option("--dataset", default="fashion_mnist_mini", show_default=True)
@click.option("--data-dir", default=None)
@click.option("--index", default=0, show_default=True, type=int, help="Index of the test image.")
@click.option("--pad", default=6, show_default=True, type=int)
@_out_option("padding.png")
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
@click.option("--kernel-size", default=3, show_default=True, type=int)
@_out_option("dilation.png")
@uses_keras
def viz_dilation(rates, kernel_size, out) -> None:
    """Receptive fields of dilated 3x3 convolutions, alone and stacked."""
    from kerascnn import viz

    try:
        parsed = [int(r) for r in rates.split(",")]
    except ValueError:
        raise click.ClickException(
            f"--rates takes comma-separated integers like 1,2,4. Received: rates={rates!r}"
        ) from None
    viz.plot_dilation(parsed, kernel_size=kernel_size, path=out)
    click.echo(f"wrote {out}")


@viz_group.command("augment")
@click.option("--dataset", default="fashion_mnist_mini", show_default=True)
@click.option("--data-dir", default=None)
@click.option(
    "--n", "n", default=4, show_default=True, type=int, help="Number of test images (rows)."
)
@click.option("--seed", default=0, show_default=True, type=int)
@_out_option("augment.png")
@uses_keras
def viz_augment(dataset, data_dir, n, seed, out) -> None:
    """Test images next to flipped, shifted, rotated, zoomed, contrast-changed and erased copies."""
    from kerascnn import viz
    from kerascnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    viz.plot_augmentations(ds.x_test[: max(1, n)], seed=seed, path=out)
    click.echo(f"wrote {out}")
