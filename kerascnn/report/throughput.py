"""README.md and throughput.png of a ``kerascnn throughput`` folder, from its results.json only.

    >>> from kerascnn.report.throughput import write_throughput_report
    >>> write_throughput_report("reports/throughput-cpu", compare="reports/throughput-cpu/xla")

``compare`` is a second sweep of the same points on another compiled path (e.g. the same
command with ``--xla``): the README then shows both side by side with their ratio, and the
plot draws the other path's lines dashed. Never measures; never imports kerascnn.bench or
kerascnn.accel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kerascnn.record.files import write_text_atomic
from kerascnn.record.layout import readme_path
from kerascnn.record.tabular import markdown_table
from kerascnn.record.throughput import read_throughput


def _n(v: Any, spec: str = ",.1f") -> str:
    return "" if v is None else format(v, spec)


def _key(r: dict) -> tuple:
    return (r["model"], r["mode"], r["batch_size"])


def _points_table(rows: list[dict]) -> str:
    """One line per point; a "BN folded" column (BatchNorms folded for the timed inference)
    when the sweep recorded it (older records did not)."""
    folds = any(r.get("bn_folded") is not None for r in rows)
    header = ["model", "mode", "batch", "img/s", "ms/step median (min-max)", "compile s",
              "GFLOP/s", "peak MiB", *(["BN folded"] if folds else []), "status"]  # fmt: skip
    cells = []
    for r in rows:
        ok = r["status"] == "ok"
        spread = (
            f"{_n(r.get('step_ms_median'))} ({_n(r.get('step_ms_min'))}-{_n(r.get('step_ms_max'))})"
        )
        cells.append(
            [
                r["model"],
                r["mode"],
                r["batch_size"],
                _n(r.get("images_per_s")) if ok else "",
                spread if ok else "",
                _n(r.get("compile_s"), ".1f") if ok else "",
                _n(r.get("gflops_per_s")) if ok else "",
                _n(r.get("peak_memory_mib"), ",.0f") if ok else "",
                *([_n(r.get("bn_folded"), "d") if ok else ""] if folds else []),
                r["status"],
            ]
        )
    return markdown_table(header, cells)


def _compare_table(doc: dict, other: dict) -> str:
    here, there = doc["config"]["path"], other["config"]["path"]
    theirs = {_key(r): r for r in other["rows"]}
    header = ["model", "mode", "batch", f"{here} img/s", f"{there} img/s", f"{here} / {there}",
              f"{here} compile s", f"{there} compile s"]  # fmt: skip
    cells = []
    for r in doc["rows"]:
        o = theirs.get(_key(r))
        if o is None:
            continue
        a = r.get("images_per_s") if r["status"] == "ok" else None
        b = o.get("images_per_s") if o["status"] == "ok" else None
        cells.append(
            [
                r["model"],
                r["mode"],
                r["batch_size"],
                _n(a) or r["status"],
                _n(b) or o["status"],
                _n(a / b, ".2f") + "x" if a and b else "",
                _n(r.get("compile_s")),
                _n(o.get("compile_s")),
            ]
        )
    return markdown_table(header, cells)


def _folding(cfg: dict) -> str:
    """How the sweep timed inference's BatchNorms ("" in records from before folding)."""
    if cfg.get("fold_bn") is None:
        return ""
    if cfg["fold_bn"]:
        text = ", inference with BatchNorm folded into the convolutions (column BN folded)"
    else:
        text = ", inference with BatchNorm as built (--no-fold-bn)"
    if cfg.get("fused_train") is not None:
        text += (
            ", training through TensorFlow's fused kernels (kerascnn.accel.fused_train)"
            if cfg["fused_train"] and cfg.get("path", "").startswith("tf.")
            else ", training with Keras's own ops"
        )
    return text


def _environment(doc: dict) -> list[str]:
    env, cfg = doc.get("environment") or {}, doc["config"]
    versions = env.get("versions") or {}
    git = env.get("git") or {}
    lines = [
        "## Environment",
        "",
        f"- **Hardware**: {env.get('device', '?')}"
        + ("" if str(env.get("device", "")).startswith("CPU") else f"; CPU {env.get('cpu', '?')}")
        + ", "
        f"{env.get('usable_cpus', '?')} usable of {env.get('logical_cpus', '?')} logical CPUs; "
        f"{env.get('platform', '')}; load average at start {env.get('load_average_at_start')}",
        f"- **Backend**: Keras {versions.get('keras', '?')} on {env.get('backend', '?')}, "
        f"compiled path `{cfg['path']}`{_folding(cfg)}; versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "keras"),
        f"- **Command**: `{env.get('command', '?')}`",
    ]
    if git.get("commit"):
        dirty = " (with uncommitted changes)" if git.get("dirty") else ""
        lines.append(f"- **Commit**: `{git['commit'][:12]}`{dirty}")
    lines.append(
        f"- **Date (UTC)**: {doc.get('created', '?')}; sweep took {_n(doc.get('wall_s'), ',.0f')} s"
    )
    return lines


def plot_throughput(docs: list[dict], path: Path) -> Path | None:
    """images/s vs batch size (log x, log y), one line per model and mode; one style per doc."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    models = list(dict.fromkeys(r["model"] for d in docs for r in d["rows"]))
    drawn = False
    for i, doc in enumerate(docs):
        for model in models:
            for mode in doc["config"]["modes"]:
                pts = sorted(
                    (r["batch_size"], r["images_per_s"])
                    for r in doc["rows"]
                    if r["model"] == model and r["mode"] == mode and r["status"] == "ok"
                )
                if not pts:
                    continue
                drawn = True
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    marker="o" if mode == "infer" else "s",
                    ls=("-" if mode == "infer" else "--") if i == 0 else ":",
                    color=colors[models.index(model) % len(colors)],
                    alpha=1.0 if i == 0 else 0.55,
                    label=f"{model} {mode}" + ("" if i == 0 else f" ({doc['config']['path']})"),
                )
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xscale("log", base=2)
    sizes = sorted({r["batch_size"] for d in docs for r in d["rows"]})
    ax.set_xticks(sizes, [str(b) for b in sizes])  # the batch sizes measured, as numbers
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("images / s")
    cfg = docs[0]["config"]
    ax.set_title(
        f"Throughput at {cfg['image_size']} px, {cfg['precision']}, "
        f"{docs[0]['environment'].get('backend', '?')} ({cfg['path']})",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _intro(doc: dict) -> list[str]:
    """The title, how each point was measured, and the table of points."""
    cfg = doc["config"]
    steps = (
        f"{cfg['steps']} steps"
        if cfg.get("steps")
        else f"about {cfg.get('window_s', 1.0):g} s (steps per window from the warm-up speed)"
    )
    return [
        f"# Throughput: {', '.join(cfg['models'])}",
        "",
        f"Synthetic data resident on the device, {cfg['image_size']}x{cfg['image_size']} px, "
        f"{cfg['precision']}, batch sizes {', '.join(map(str, cfg['batch_sizes']))}, "
        f"{cfg['optimizer']} for training. Per point: one compile call (timed apart, "
        f"'compile s'), {cfg['warmup']} warm-up steps, then {cfg['windows']} synchronized "
        f"windows of {steps}; img/s from the median window. GFLOP/s from kerascnn's MAC "
        f"count: inference 2 x MACs per image, training 3 x that. Peak memory: "
        f"{_memory_kind(doc)}.",
        "",
        _points_table(doc["rows"]),
        "",
    ]


def _comparison(doc: dict, other: dict | None) -> list[str]:
    """The same points on the other compiled path, side by side (none without ``compare``)."""
    if other is None:
        return []
    return [
        f"## Compiled path: `{doc['config']['path']}` vs `{other['config']['path']}`",
        "",
        f"The same points measured with `{other['environment'].get('command', '?')}`.",
        "",
        _compare_table(doc, other),
        "",
    ]


def _failed_points(doc: dict) -> list[str]:
    """The points that did not run (out of memory, an error), with their messages."""
    bad = [r for r in doc["rows"] if r["status"] != "ok"]
    if not bad:
        return []
    header = ["model", "mode", "batch", "status", "message"]
    cells = [
        [r["model"], r["mode"], r["batch_size"], r["status"], (r.get("error") or "")[:300]]
        for r in bad
    ]
    return ["## Points that did not run", "", markdown_table(header, cells), ""]


def _see_also(run_dir: Path) -> list[str]:
    """A link to each report in a folder below (the --compare sweep, a side-by-side run)."""
    return [
        f"See also: [{p.parent.name}]({p.parent.name}/README.md)"
        for p in sorted(run_dir.glob("*/README.md"))
    ]


def write_throughput_report(
    run_dir: str | Path, *, compare: str | Path | None = None, plots: bool = True
) -> Path:
    """Write ``run_dir``/README.md (and throughput.png) from the stored results; return the path."""
    run_dir = Path(run_dir)
    doc = read_throughput(run_dir)
    other = read_throughput(compare) if compare else None
    drawn = plots and plot_throughput(
        [doc, *([other] if other else [])], run_dir / "throughput.png"
    )
    lines = [
        *_intro(doc),
        *_comparison(doc, other),
        *(["![images/s vs batch size](throughput.png)", ""] if drawn else []),
        *_failed_points(doc),
        *_see_also(run_dir),
        "",
        *_environment(doc),
        "",
        "Raw data: results.json (typed), results.csv (flat).",
    ]
    return write_text_atomic(readme_path(run_dir), "\n".join(lines) + "\n")


def _memory_kind(doc: dict) -> str:
    kinds = {r.get("peak_memory_kind") for r in doc["rows"] if r["status"] == "ok"} - {None}
    if kinds == {"process_peak_rss"}:
        return "the process's peak resident memory so far (CPU; includes the framework and earlier points)"
    if kinds == {"device_peak"}:
        return "the device's peak bytes in use"
    return "not reported by this backend" if not kinds else ", ".join(sorted(kinds))
