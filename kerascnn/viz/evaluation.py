"""How a model did: confusion matrix and training curves.

Each ``plot_*`` returns a Figure (see :mod:`kerascnn.viz.canvas`) and, given ``path``, saves
it as PNG; its panels are ``fig.axes``, counted in each docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.viz.canvas import finish, new_figure

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_training_curves"]


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` = number of samples of true class i predicted as class j.

    ``y_pred`` may be labels (N,) or scores (N, classes) (argmax is taken).
    """
    y_true = np.asarray(y_true).astype("int64").reshape(-1)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=-1)
    y_pred = y_pred.astype("int64").reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ArgumentError(
            f"y_true and y_pred must hold the same number of samples. "
            f"Received: y_true={y_true.shape[0]} samples, y_pred={y_pred.shape[0]} samples"
        )
    both = np.concatenate([y_true, y_pred])
    lowest, highest = (int(both.min()), int(both.max())) if both.size else (0, 0)
    k = int(num_classes) if num_classes else highest + 1
    if lowest < 0 or highest >= k:
        raise ArgumentError(f"Labels must lie in [0, {k}). Received: range [{lowest}, {highest}]")
    cm = np.zeros((k, k), dtype="int64")
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def plot_confusion_matrix(
    y_true,
    y_pred,
    class_names: Sequence[str] | None = None,
    *,
    normalize: bool = False,
    path=None,
    title: str | None = None,
):
    """Confusion matrix as a heat map with counts (or row fractions with ``normalize``).

    Panels: 1 (plus matplotlib's colorbar axis, so ``len(fig.axes) == 2``).
    """
    k = len(class_names) if class_names else None
    cm = confusion_matrix(y_true, y_pred, k)
    k = cm.shape[0]
    names = list(class_names) if class_names else [str(i) for i in range(k)]
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig = new_figure((0.55 * k + 2.6, 0.5 * k + 2.0))
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = shown.max() if shown.size else 1
    for i in range(k):
        for j in range(k):
            v = shown[i, j]
            text = f"{v:.2f}" if normalize else str(int(v))
            color = "white" if v > 0.6 * top else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {acc:.3f}, n={cm.sum()})")
    return finish(fig, path)


def _history_dict(history) -> dict[str, list[float]]:
    history = getattr(history, "history", history)
    if not isinstance(history, Mapping):
        raise ArgumentError(
            f"Expected a keras History or a dict of lists. Received: {type(history).__name__}"
        )
    return {k: [float(v) for v in vals] for k, vals in history.items()}


def plot_training_curves(history, *, path=None, title: str | None = None):
    """Training curves from a ``keras.callbacks.History`` or a dict of lists.

    One panel per metric (``loss``, ``accuracy``, ...), its ``val_`` counterpart drawn in the
    same panel. A dict of histories (``{"adam": history, "sgd": {...}}``) overlays runs.
    Panels: the number of distinct metric names without the ``val_`` prefix.
    """
    if (
        isinstance(history, Mapping)
        and history
        and all(hasattr(v, "history") or isinstance(v, Mapping) for v in history.values())
    ):
        runs = {name: _history_dict(h) for name, h in history.items()}
    else:
        runs = {"": _history_dict(history)}
    metrics: list[str] = []
    for h in runs.values():
        for key in h:
            base = key[4:] if key.startswith("val_") else key
            if base not in metrics and base not in ("learning_rate", "lr"):
                metrics.append(base)
    if not metrics:
        keys = [list(h) for h in runs.values()]
        raise ArgumentError(f"The history has no metrics to plot. Received: keys={keys}")
    fig = new_figure((4.2 * len(metrics), 3.3))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        for i, (run, h) in enumerate(runs.items()):
            for key, style, suffix in ((metric, "-", "train"), (f"val_{metric}", "--", "val")):
                if key in h:
                    ys = h[key]
                    label = f"{run} {suffix}".strip()
                    ax.plot(
                        range(1, len(ys) + 1),
                        ys,
                        style,
                        color=f"C{i % 10}",
                        label=label,
                        marker=".",
                    )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return finish(fig, path)
