"""Overfitting on 300 samples: baseline vs weight decay vs dropout (train/test gap)."""

from __future__ import annotations

from kerascnn.experiments._common import (
    compile_fit,
    load_data,
    settings,
    tiny_convnet,
    write_report,
)

TITLE = "Overfitting on 300 images: baseline vs weight decay vs dropout"


CONFIGS = {
    "baseline": dict(),
    "weight decay (L2 1e-3)": dict(l2=1e-3),
    "dropout 0.5": dict(dropout=0.5),
}
"""label -> the regularisation keywords of :func:`tiny_convnet`."""


def _train_one(data, label, kw, seed, epochs):
    """One configuration: ``(history, table row)``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = tiny_convnet(
        data.input_shape,
        data.num_classes,
        filters=(32, 64),
        dense=256,
        name="overfit_net",
        **kw,
    )
    h = compile_fit(model, keras.optimizers.Adam(1e-3), data, epochs=epochs, batch_size=32)
    row = {
        "model": label,
        "train accuracy": h["accuracy"][-1],
        "test accuracy": h["val_accuracy"][-1],
        "gap (train - test)": h["accuracy"][-1] - h["val_accuracy"][-1],
        "best test accuracy": max(h["val_accuracy"]),
    }
    return h, row


def _findings(rows) -> list[str]:
    base = rows[0]
    findings = [
        f"Baseline: train accuracy {base['train accuracy']:.3f}, test {base['test accuracy']:.3f}, "
        f"gap {base['gap (train - test)']:.3f}."
    ]
    for r in rows[1:]:
        findings.append(
            f"{r['model']}: gap {r['gap (train - test)']:.3f} ({r['gap (train - test)'] - base['gap (train - test)']:+.3f} vs "
            f"baseline), test accuracy {r['test accuracy']:.3f} ({r['test accuracy'] - base['test accuracy']:+.3f})."
        )
    return findings


def _figure(hist):
    from kerascnn.viz import new_figure

    fig = new_figure((11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for i, (label, h) in enumerate(hist.items()):
        xs = range(1, len(h["accuracy"]) + 1)
        ax1.plot(xs, h["accuracy"], "-", color=f"C{i}", label=f"{label} train")
        ax1.plot(xs, h["val_accuracy"], "--", color=f"C{i}", label=f"{label} test")
        ax2.plot(
            xs,
            [a - b for a, b in zip(h["accuracy"], h["val_accuracy"])],
            color=f"C{i}",
            label=label,
        )
    ax1.set(xlabel="epoch", ylabel="accuracy", title="train (solid) vs test (dashed)")
    ax2.set(xlabel="epoch", ylabel="train - test accuracy", title="generalisation gap")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"):
    epochs, test = (3, 300) if fast else (60, None)
    data = load_data(dataset, train=300, test=test, seed=seed)
    rows, hist = [], {}
    for label, kw in CONFIGS.items():
        hist[label], row = _train_one(data, label, kw, seed, epochs)
        rows.append(row)
    findings = _findings(rows)
    fig = _figure(hist)
    st = settings(
        dataset=dataset,
        train_samples=300,
        test_samples=len(data.x_test),
        epochs=epochs,
        batch_size=32,
        optimizer="Adam(1e-3)",
        model="tiny_convnet(32,64) fc256",
        fast=fast,
        seed=seed,
    )
    return write_report(
        out,
        name="overfitting",
        title=TITLE,
        intro="A conv net with a 256-unit hidden layer trained on only 300 images, once plain, once with "
        "an L2 penalty on every kernel, once with dropout after the flatten and the hidden layer.",
        rows=rows,
        findings=findings,
        figures={"overfitting.png": fig},
        settings_=st,
        extra={"history": hist},
    )
