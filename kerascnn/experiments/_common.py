"""What every experiment shares: data, a tiny conv net, fit helpers and the report writer.

A report is a folder with ``README.md`` (settings, a markdown table, findings computed from
the run's own numbers, the plots), one or more PNG plots and ``results.json`` (everything in
the table plus the settings, so the README can be checked against raw numbers).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerascnn._compile import compile_model
from kerascnn.record.files import write_text_atomic


@dataclass
class ExperimentResult:
    """What :func:`kerascnn.experiments.run_experiment` returns."""

    name: str
    out_dir: Path | None
    """None for a process that writes no report (a distributed search's worker)."""
    rows: list[dict[str, Any]]
    findings: list[str]
    files: list[Path] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Data:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def input_shape(self):
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def num_classes(self):
        return len(self.class_names)


def load_data(
    dataset: str = "fashion_mnist_mini",
    *,
    train: int | None = None,
    test: int | None = None,
    classes: Sequence[int] | None = None,
    seed: int = 0,
    data_dir=None,
) -> Data:
    """Float32 images in [0, 1] and int labels; optionally a subset of classes (relabelled
    0..k-1 in the given order) and the first ``train``/``test`` samples of a seeded shuffle."""
    from kerascnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    rng = np.random.default_rng(seed)
    names = ds.class_names
    parts = []
    for x, y, n in ((ds.x_train, ds.y_train, train), (ds.x_test, ds.y_test, test)):
        y = np.asarray(y).astype("int64")
        if classes is not None:
            keep = np.isin(y, list(classes))
            x, y = x[keep], y[keep]
            remap = {c: i for i, c in enumerate(classes)}
            y = np.array([remap[int(v)] for v in y], dtype="int64")
        order = rng.permutation(len(x))
        if n is not None:
            order = order[: int(n)]
        parts.append((np.asarray(x[order], dtype="float32") / 255.0, y[order]))
    if classes is not None:
        names = tuple(ds.class_names[c] for c in classes)
    (xtr, ytr), (xte, yte) = parts
    return Data(xtr, ytr, xte, yte, tuple(names), ds.source)


def tiny_convnet(
    input_shape,
    num_classes: int,
    *,
    filters: Sequence[int] = (16, 32),
    convs_per_stage: int = 1,
    dense: int = 0,
    init="glorot_uniform",
    batchnorm: bool = False,
    dropout: float = 0.0,
    l2: float = 0.0,
    name: str = "tiny_convnet",
):
    """A small conv net: per stage ``convs_per_stage`` x [conv3x3 (-> BN) -> ReLU], then 2x2
    max-pool; flatten; optional dense hidden layer; dense softmax classifier.

    BatchNorm uses momentum 0.9 (not Keras' 0.99): these runs take only a few hundred steps,
    too few for 0.99 moving statistics to reach the real ones, and inference then sits at chance.

    ``init`` is any Keras initializer (name or object) for every kernel; ``l2`` adds an L2
    kernel regularizer (weight decay in the loss); ``dropout`` is applied after the flatten
    and after the dense hidden layer.
    """
    import keras
    from keras import layers

    reg = keras.regularizers.L2(l2) if l2 else None

    def initializer():
        return (
            keras.initializers.get(init)
            if isinstance(init, str)
            else init.__class__.from_config(init.get_config())
        )

    inputs = keras.Input(input_shape, name=f"{name}_input")
    x = inputs
    for s, f in enumerate(filters, start=1):
        x = _conv_stage(x, s, f, convs_per_stage, batchnorm, initializer, reg, name)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout1")(x)
    if dense:
        x = _dense_hidden(x, dense, batchnorm, dropout, initializer, reg, name)
    outputs = layers.Dense(
        num_classes,
        activation="softmax",
        kernel_initializer=initializer(),
        kernel_regularizer=reg,
        name=f"{name}_predictions",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def _conv_stage(x, s, f, convs, batchnorm, initializer, reg, name):
    """Stage ``s`` of :func:`tiny_convnet`: ``convs`` x [conv3x3 (-> BN) -> ReLU], 2x2 max-pool."""
    from keras import layers

    for c in range(1, convs + 1):
        x = layers.Conv2D(
            f,
            3,
            padding="same",
            use_bias=not batchnorm,
            kernel_initializer=initializer(),
            kernel_regularizer=reg,
            name=f"{name}_s{s}_conv{c}",
        )(x)
        if batchnorm:
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_s{s}_bn{c}")(x)
        x = layers.ReLU(name=f"{name}_s{s}_relu{c}")(x)
    return layers.MaxPooling2D(2, name=f"{name}_s{s}_pool")(x)


def _dense_hidden(x, units, batchnorm, dropout, initializer, reg, name):
    """The optional hidden layer of :func:`tiny_convnet`: dense (-> BN) -> ReLU (-> dropout)."""
    from keras import layers

    x = layers.Dense(
        units, kernel_initializer=initializer(), kernel_regularizer=reg, name=f"{name}_fc"
    )(x)
    if batchnorm:
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_fc_bn")(x)
    x = layers.ReLU(name=f"{name}_fc_relu")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout2")(x)
    return x


def compile_fit(
    model,
    optimizer,
    data: Data,
    *,
    epochs: int,
    batch_size: int = 64,
    validation=True,
    callbacks=None,
    verbose: int = 0,
) -> dict[str, list[float]]:
    """Compile with sparse cross-entropy + accuracy and fit; returns the history dict."""
    # jit_compile=False: XLA compiles slower than these tiny nets train on a CPU
    compile_model(
        model,
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    h = model.fit(
        data.x_train,
        data.y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(data.x_test, data.y_test) if validation else None,
        callbacks=callbacks,
        verbose=verbose,
    )
    return {k: [float(v) for v in vals] for k, vals in h.history.items()}


def predict(model, x, batch_size: int = 500) -> np.ndarray:
    """Model outputs in inference mode, batch by batch (direct calls: no predict-function tracing)."""
    return np.concatenate(
        [
            np.asarray(model(x[i : i + batch_size], training=False))
            for i in range(0, len(x), batch_size)
        ]
    )


def accuracy(model, x, y, batch_size: int = 500) -> float:
    return float((predict(model, x, batch_size).argmax(-1) == y).mean())


def settings(**extra) -> dict[str, Any]:
    """Environment and run settings recorded with every report."""
    import keras

    return {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return v


def write_report(
    out_dir: str | os.PathLike,
    *,
    name: str,
    title: str,
    intro: str,
    rows: list[dict],
    findings: list[str],
    figures: dict[str, Any],
    settings_: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Write README.md + PNGs + results.json into ``out_dir`` and return the result."""
    from kerascnn.viz import save_figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for fname, fig in figures.items():
        files.append(save_figure(fig, out / fname))
    lines = _readme_lines(out, name, title, intro, rows, findings, files, settings_)
    readme = write_text_atomic(out / "README.md", "\n".join(lines))
    results = {
        "experiment": name,
        "title": title,
        "settings": settings_,
        "rows": rows,
        "findings": findings,
        "extra": extra or {},
    }
    js = write_text_atomic(out / "results.json", json.dumps(results, indent=2, default=_jsonable))
    return ExperimentResult(name, out, rows, findings, [readme, js, *files], extra or {})


def _readme_lines(out: Path, name, title, intro, rows, findings, files, settings_) -> list[str]:
    """The lines of a report's README.md (see the module docstring)."""
    import pandas as pd

    table = pd.DataFrame([{k: _fmt(v) for k, v in r.items()} for r in rows]).to_markdown(
        index=False
    )
    shown = {k: v for k, v in settings_.items()}
    return [
        f"# {title}",
        "",
        intro,
        "",
        "Settings: " + ", ".join(f"{k}={v}" for k, v in shown.items()),
        "",
        table,
        "",
        "## Findings (from this run's numbers)",
        "",
        *[f"- {f}" for f in findings],
        "",
        *[f"![{Path(f).stem}]({Path(f).name})" for f in files],
        "",
        f"Reproduce: `kerascnn experiment {name}{' --fast' if settings_.get('fast') else ''} "
        f"--seed {settings_.get('seed', 0)} --out {_shown_path(out)}`. Raw numbers: "
        "`results.json`.",
        "",
    ]


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (as typed), else as is."""
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def curves_figure(
    curves: dict[str, Sequence[float]],
    *,
    ylabel: str,
    title: str,
    xlabel: str = "epoch",
    dashed: dict[str, Sequence[float]] | None = None,
    logy: bool = False,
    ax_title=None,
):
    """One panel of named curves (solid), optionally a second set drawn dashed in the same colours."""
    from kerascnn.viz import new_figure

    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    for i, (label, ys) in enumerate(curves.items()):
        ax.plot(range(1, len(ys) + 1), ys, "-", marker=".", color=f"C{i}", label=label)
        if dashed and label in dashed:
            d = dashed[label]
            ax.plot(range(1, len(d) + 1), d, "--", color=f"C{i}", label=f"{label} (test)")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig
