"""Optimizer comparison: SGD, Momentum, AdaGrad and Adam from the same initial weights."""

from __future__ import annotations

from kerascnn.experiments._common import (
    compile_fit,
    curves_figure,
    load_data,
    settings,
    tiny_convnet,
    write_report,
)

TITLE = "Optimizers: SGD vs Momentum vs AdaGrad vs Adam"


def optimizers():
    import keras

    opt = keras.optimizers
    return {
        "SGD": (lambda: opt.SGD(0.01), "lr=0.01"),
        "Momentum": (lambda: opt.SGD(0.01, momentum=0.9), "lr=0.01, momentum=0.9"),
        "AdaGrad": (lambda: opt.Adagrad(0.01), "lr=0.01"),
        "Adam": (lambda: opt.Adam(0.001), "lr=0.001"),
    }


def _train_all(data, seed, epochs):
    """Every optimizer from the same initial weights and batch order:
    ``(rows, train losses, test losses)``."""
    import keras

    keras.utils.set_random_seed(seed)
    base = tiny_convnet(data.input_shape, data.num_classes, name="opt_net")
    w0 = base.get_weights()
    rows, losses, test_losses = [], {}, {}
    for name, (make, hp) in optimizers().items():
        keras.utils.set_random_seed(seed)  # same batch order for every optimizer
        model = keras.models.clone_model(base)
        model.set_weights(w0)  # same starting point for every optimizer
        h = compile_fit(model, make(), data, epochs=epochs)
        losses[name], test_losses[name] = h["loss"], h["val_loss"]
        rows.append(
            {
                "optimizer": name,
                "hyper-parameters": hp,
                "first-epoch train loss": h["loss"][0],
                "final train loss": h["loss"][-1],
                "final test loss": h["val_loss"][-1],
                "test accuracy": h["val_accuracy"][-1],
            }
        )
    return rows, losses, test_losses


def _findings(rows) -> list[str]:
    best = min(rows, key=lambda r: r["final train loss"])
    worst = max(rows, key=lambda r: r["final train loss"])
    return [
        f"Lowest final training loss: {best['optimizer']} ({best['final train loss']:.3f}, test accuracy "
        f"{best['test accuracy']:.3f}); highest: {worst['optimizer']} ({worst['final train loss']:.3f}, "
        f"test accuracy {worst['test accuracy']:.3f}).",
        "Ranking by final training loss: "
        + " < ".join(
            f"{r['optimizer']} ({r['final train loss']:.3f})"
            for r in sorted(rows, key=lambda r: r["final train loss"])
        )
        + ".",
    ]


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"):
    train, test, epochs = (400, 300, 2) if fast else (3000, None, 6)
    data = load_data(dataset, train=train, test=test, seed=seed)
    rows, losses, test_losses = _train_all(data, seed, epochs)
    findings = _findings(rows)
    fig = curves_figure(
        losses,
        dashed=test_losses,
        ylabel="cross-entropy loss",
        logy=True,
        title=f"Loss per epoch, same initial weights ({train} images)",
    )
    st = settings(
        dataset=dataset,
        train_samples=train,
        test_samples=len(data.x_test),
        epochs=epochs,
        batch_size=64,
        model="tiny_convnet(16,32)",
        fast=fast,
        seed=seed,
    )
    return write_report(
        out,
        name="optimizers",
        title=TITLE,
        intro="Four optimizers train the same small conv net from identical initial weights "
        "and the same batch order; the plot shows training (solid) and test (dashed) loss.",
        rows=rows,
        findings=findings,
        figures={"loss_curves.png": fig},
        settings_=st,
        extra={"train_loss": losses, "test_loss": test_losses},
    )
