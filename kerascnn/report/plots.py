"""Matplotlib figures of a run folder (Agg backend; PNG files beside the README)."""

from __future__ import annotations

import math
from pathlib import Path

from kerascnn.report.load import Entry, RunData, entries


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def si(value: float, digits: int = 3) -> str:
    """A count with an SI suffix: ``1e6 -> '1M'``, ``29_360_000 -> '29.4M'``, ``865_000 ->
    '865k'``, ``61_706 -> '61.7k'``, ``2.5e9 -> '2.5G'``; below 1000 the number itself."""
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    units = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))
    for k, (div, unit) in enumerate(units):
        if abs(v) >= div or div == 1.0:
            text = f"{v / div:.{digits}g}"
            if k > 0 and abs(float(text)) >= 1000:  # 999,999 -> '1M', not '1e+03k'
                div, unit = units[k - 1]
                text = f"{v / div:.{digits}g}"
            return text + unit
    return f"{v:.{digits}g}"  # pragma: no cover


def si_axis(ax, which: str = "x") -> None:
    """Tick labels of ``ax``'s ``which`` axis ('x' or 'y') in SI (1M, 10M, not 1e7).

    On a log axis spanning under two decades the minor ticks at 2x and 5x are labelled too, so
    that the axis never shows a single label; otherwise minor ticks stay unlabelled.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    fmt = FuncFormatter(lambda v, pos=None: si(v))
    axis.set_major_formatter(fmt)
    if axis.get_scale() == "log":
        lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
        if lo > 0 and hi / lo < 100:
            axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
            axis.set_minor_formatter(fmt)
        else:
            axis.set_minor_formatter(NullFormatter())


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not dominated by another with lower-or-equal cost and higher-or-equal accuracy.

    ``points`` are (cost, accuracy); the front is returned sorted by cost.
    """
    front: list[tuple[float, float]] = []
    best = -math.inf
    for cost, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if acc > best:
            front.append((cost, acc))
            best = acc
    return front


def _tradeoff(
    data: RunData, out: Path, xkey, xlabel: str, title: str, si_ticks: bool = False
) -> Path | None:
    plt = _plt()
    datasets = data.datasets
    panels = [
        (d, [e for e in entries(data, d) if xkey(e) is not None and e.top1 is not None])
        for d in datasets
    ]
    panels = [(d, es) for d, es in panels if es]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.6), squeeze=False)
    for ax, (dataset, es) in zip(axes[0], panels):
        for e in es:
            ax.errorbar(xkey(e), e.top1, yerr=e.top1_std or 0, fmt="o", ms=7, capsize=3)
            ax.annotate(
                e.label, (xkey(e), e.top1), textcoords="offset points", xytext=(6, 4), fontsize=8
            )
        front = pareto_front([(xkey(e), e.top1) for e in es])
        ax.step(  # with one point on the front (it dominates the rest), just its red ring
            [p[0] for p in front],
            [p[1] for p in front],
            where="post",
            color="tab:red",
            lw=1.2,
            alpha=0.7,
            marker="o",
            ms=13,
            mfc="none",
            mew=1.5,
            label=f"Pareto front ({len(front)} of {len(es)})",
        )
        ax.legend(loc="lower right", fontsize=8)
        if max(xkey(e) for e in es) / max(min(xkey(e) for e in es), 1e-12) > 20:
            ax.set_xscale("log")
        if si_ticks:
            si_axis(ax, "x")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("top-1 test accuracy")
        ax.set_title(f"{title}: {dataset}")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def accuracy_vs_macs(data: RunData, out: Path) -> Path | None:
    return _tradeoff(
        data,
        out,
        lambda e: e.macs,
        "MACs per image (multiply-accumulates)",
        "Accuracy vs MACs",
        si_ticks=True,
    )


def accuracy_vs_latency(data: RunData, out: Path) -> Path | None:
    return _tradeoff(
        data,
        out,
        lambda e: e.mean("inference", "latency_b1", "p50_ms"),
        "batch-1 latency, p50 (ms, host input)",
        "Accuracy vs latency",
    )


def segment_epochs(record) -> list[float]:
    """Epochs' worth of data seen at the end of each entry of the record's per-segment logs
    (each epoch of the epoch protocol, each segment of a budget or steps run)."""
    from kerascnn.record.flat import curve_of

    n = len((record.history or {}).get("loss") or [])
    curve = curve_of(record)
    if len(curve) == n:  # one test evaluation closing each segment, the last the final one
        return [p.epoch for p in curve]
    seen = (record.train and record.train.epochs_equivalent) or record.epochs_completed or n
    return [seen * (k + 1) / n for k in range(n)]


def training_curves(data: RunData, out: Path) -> Path | None:
    """Loss and accuracy against the epochs of training data seen: training (mean over each
    segment or epoch) solid, test dashed, ending at the final evaluation (the table's top-1)."""
    from kerascnn.record.flat import curve_of

    plt = _plt()
    rows = [(d, entries(data, d)) for d in data.datasets]
    rows = [(d, es) for d, es in rows if any(e.runs[0].history for e in es)]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 2, figsize=(12, 4.2 * len(rows)), squeeze=False)
    for (dataset, es), (ax_loss, ax_acc) in zip(rows, axes):
        spans = []
        for i, e in enumerate(es):
            record, color = e.runs[0], f"C{i % 10}"
            history = record.history or {}
            xs = segment_epochs(record)
            test = curve_of(record)
            series = (
                (ax_loss, "-", "train", xs, history.get("loss")),
                (ax_acc, "-", "train", xs, history.get("acc")),
                (ax_loss, "--", "test", [p.epoch for p in test], [p.loss for p in test]),
                (ax_acc, "--", "test", [p.epoch for p in test], [p.top1 for p in test]),
            )
            for ax, style, kind, x, y in series:
                points = [(a, b) for a, b in zip(x, y or []) if b is not None]
                if points:
                    ax.plot(
                        *zip(*points),
                        style,
                        color=color,
                        marker="o",
                        ms=3,
                        label=f"{e.label} ({kind})",
                    )
                    spans += [a for a, _ in points if a > 0]
        for ax, what in ((ax_loss, "Loss"), (ax_acc, "Accuracy")):
            if spans and max(spans) / min(spans) > 20:
                ax.set_xscale("log")
            ax.set_xlabel(
                "epochs of training data seen"
                + (" (log scale)" if ax.get_xscale() == "log" else "")
            )
            ax.set_title(f"{what} vs training: {dataset} (seed {es[0].seeds[0]})")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        ax_loss.set_ylabel("cross-entropy")
        ax_acc.set_ylabel("accuracy")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def confusion_matrices(data: RunData, dataset: str, out: Path) -> Path | None:
    plt = _plt()
    es = [e for e in entries(data, dataset) if e.confusion()]
    if not es:
        return None
    info = es[0].runs[0].dataset_info
    names = info.class_names if info else None
    cols = min(3, len(es))
    nrows = math.ceil(len(es) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 4.8 * nrows), squeeze=False)
    for ax in axes.flat[len(es) :]:
        ax.axis("off")
    for ax, e in zip(axes.flat, es):
        m = e.confusion()
        rows = [[v / max(sum(row), 1) for v in row] for row in m]
        im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
        n = len(m)
        for i in range(n):
            for j in range(n):
                if rows[i][j] >= 0.05:
                    ax.text(
                        j,
                        i,
                        f"{rows[i][j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if rows[i][j] > 0.5 else "black",
                    )
        labels = names if names and len(names) == n else [str(i) for i in range(n)]
        ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(n), labels, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{e.label}: top-1 {e.top1:.3f}", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(f"Confusion matrices (rows normalized), {dataset}")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def params_macs_bars(data: RunData, out: Path) -> Path | None:
    plt = _plt()
    seen: dict[str, Entry] = {}
    for e in entries(data):
        seen.setdefault(e.label, e)
    es = sorted(seen.values(), key=lambda e: e.params or 0)
    if not es:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.5 * len(es) + 1.8))
    labels = [e.label for e in es]
    for ax, values, title in (
        (axes[0], [e.params or 0 for e in es], "parameters"),
        (axes[1], [e.macs or 0 for e in es], "MACs per image"),
    ):
        ax.barh(labels, values, color="tab:blue")
        for y, v in enumerate(values):
            ax.text(v, y, f" {si(v)}" if v else " n/a", va="center", fontsize=8)
        if (
            max(values) > 0
            and max(values) / max(min(v for v in values if v > 0) if any(values) else 1, 1) > 50
        ):
            ax.set_xscale("log")
        si_axis(ax, "x")
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def accuracy_vs_time(data: RunData, out: Path) -> Path | None:
    """Test accuracy along training against training seconds, every model on one time axis;
    a model whose accuracy was still rising at the end ends in a triangle and is marked."""
    from kerascnn.record.flat import compile_seconds, curve_of
    from kerascnn.report.tables import rising

    plt = _plt()
    panels = []
    for dataset in data.datasets:
        es = [e for e in entries(data, dataset) if curve_of(e.runs[0])]
        if es:
            panels.append((dataset, es))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.6), squeeze=False)
    for ax, (dataset, es) in zip(axes[0], panels):
        for i, e in enumerate(es):
            points = [p for p in curve_of(e.runs[0]) if p.top1 is not None]
            shift = compile_seconds(e.runs[0])  # the table's train time: no compilation
            xs = [max(p.train_seconds - shift, 0.0) for p in points]
            ys = [p.top1 for p in points]
            up = rising(e)
            color = f"C{i % 10}"
            ax.plot(
                xs, ys, "-o", color=color, ms=4, label=e.label + (" ↑ still rising" if up else "")
            )
            if up:
                ax.plot(xs[-1], ys[-1], "^", color=color, ms=11)
        ax.set_xlabel("training time (s; compilation and test evaluations excluded)")
        ax.set_ylabel("top-1 test accuracy")
        ax.set_title(f"Accuracy vs training time: {dataset} (seed {es[0].seeds[0]})")
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")  # clear of the curves, wherever they lie
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
