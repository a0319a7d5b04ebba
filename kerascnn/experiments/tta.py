"""Test-time augmentation: average the softmax over flipped and shifted copies vs a single view."""

from __future__ import annotations

import numpy as np

from kerascnn.experiments._common import (
    compile_fit,
    load_data,
    predict,
    settings,
    tiny_convnet,
    write_report,
)

TITLE = "Test-time augmentation: flips and shifts averaged vs none"


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift a batch (N, H, W, C) by (dy, dx) pixels, filling with zeros (the background)."""
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, yd, xd] = x[:, ys, xs]
    return out


VIEWS = {
    "identity": lambda x: x,
    "flip": lambda x: x[:, :, ::-1],
    "shift right 2": lambda x: shift(x, 0, 2),
    "shift left 2": lambda x: shift(x, 0, -2),
    "shift down 2": lambda x: shift(x, 2, 0),
    "shift up 2": lambda x: shift(x, -2, 0),
}


def tta_predict(
    model, x, views=VIEWS, batch_size: int = 500
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean softmax over ``views`` and the per-view probabilities."""
    per = {name: predict(model, fn(x), batch_size) for name, fn in views.items()}
    return np.mean(list(per.values()), axis=0), per


def train_augmented(data, seed: int, epochs: int):
    """The tiny conv net behind flip and shift augmentation layers, trained on ``data``.

    The augmentation layers (``RandomFlip("horizontal")``, ``RandomTranslation(0.1, 0.1)``)
    act only in training: at inference the model is the bare net, and TTA's views are the
    transformations it saw in training.
    """
    import keras

    keras.utils.set_random_seed(seed)
    net = tiny_convnet(
        data.input_shape, data.num_classes, filters=(32, 64), dense=128, dropout=0.3, name="tta_net"
    )
    inputs = keras.Input(data.input_shape)
    x = keras.layers.RandomFlip("horizontal", seed=seed)(inputs)
    x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed)(x)
    model = keras.Model(inputs, net(x), name="tta_model")
    compile_fit(model, keras.optimizers.Adam(1e-3), data, epochs=epochs, validation=False)
    return model


def _figure(rows, n_views, none_acc):
    from kerascnn.viz import new_figure

    fig = new_figure((7, 4))
    ax = fig.add_subplot()
    labels = [r["prediction"].replace("single view: ", "") for r in rows]
    accs = [r["test accuracy"] for r in rows]
    ax.barh(labels, accs, color=["C0"] * n_views + ["C1", "C2"])
    ax.set_xlim(max(0.0, min(accs) - 0.05), min(1.0, max(accs) + 0.02))
    ax.axvline(none_acc, color="k", lw=0.8, ls="--")
    ax.set(xlabel="test accuracy", title="single views (blue) vs averaged softmax")
    return fig


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"):
    train, test, epochs = (400, 300, 1) if fast else (6000, None, 5)
    data = load_data(dataset, train=train, test=test, seed=seed)
    model = train_augmented(data, seed, epochs)
    mean, per = tta_predict(model, data.x_test)
    y = data.y_test
    rows = [
        {"prediction": f"single view: {name}", "test accuracy": float((p.argmax(-1) == y).mean())}
        for name, p in per.items()
    ]
    none_acc = rows[0]["test accuracy"]
    flip_mean = (per["identity"] + per["flip"]) / 2
    flip_acc = float((flip_mean.argmax(-1) == y).mean())
    tta_acc = float((mean.argmax(-1) == y).mean())
    rows.append({"prediction": "TTA: identity + flip", "test accuracy": flip_acc})
    rows.append({"prediction": f"TTA: all {len(per)} views", "test accuracy": tta_acc})
    changed = int((mean.argmax(-1) != per["identity"].argmax(-1)).sum())
    findings = [
        f"No TTA: {none_acc:.3f}; identity+flip: {flip_acc:.3f} ({flip_acc - none_acc:+.3f}); "
        f"all {len(per)} views: {tta_acc:.3f} ({tta_acc - none_acc:+.3f}) on {len(y)} test images.",
        f"TTA changed {changed} of {len(y)} predictions; it costs {len(per)}x the inference compute.",
    ]
    fig = _figure(rows, len(per), none_acc)
    st = settings(
        dataset=dataset,
        train_samples=train,
        test_samples=len(y),
        epochs=epochs,
        train_augmentation="RandomFlip(horizontal) + RandomTranslation(0.1)",
        fast=fast,
        seed=seed,
    )
    return write_report(
        out,
        name="tta",
        title=TITLE,
        intro="A small conv net trained with flip and shift augmentation is evaluated on single views of "
        "each test image and on the mean softmax over several views (test-time augmentation).",
        rows=rows,
        findings=findings,
        figures={"tta.png": fig},
        settings_=st,
        extra={"images_changed": changed},
    )
