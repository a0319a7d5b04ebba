"""DEPLOY.md and deploy.png of a run folder, from its stored deployment records only
(``deploy/*.json`` and ``deploy/environment.json``, written by ``kerascnn deploy``).

    >>> from kerascnn.report.deploy import write_deploy_report
    >>> write_deploy_report("reports/deploy-cpu")

The table puts every (model, target) beside the same model's Keras row: top-1 and its drop,
the artifact's size and its ratio to the float32 LiteRT file (or the .keras file), batch-1
latency and batch-N throughput with their ratio to Keras. Failed and skipped pairs are listed
with their reasons, never hidden. Never measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kerascnn.deploy.targets import TARGETS
from kerascnn.errors import ReportError
from kerascnn.record.deploy import DeployRecords, deploy_dir, read_deploy
from kerascnn.record.files import write_text_atomic
from kerascnn.record.layout import DEPLOY_MD
from kerascnn.record.store import describe_unreadable
from kerascnn.record.tabular import markdown_table
from kerascnn.report.tables import number

MARKERS = {"keras": "o", "litert": "s", "litert-dynamic": "D", "litert-int8": "v"}
MARKERS.update({"litert-float16": "P", "onnx": "^", "openvino": "X"})


def load_deploy(run_dir: str | Path) -> DeployRecords:
    """The stored (model, target) rows of ``run_dir`` in the targets' order, the environment
    they were measured in, and the records that cannot be read (named by the report)."""
    records = read_deploy(run_dir)
    if not records.rows:
        named = f" ({describe_unreadable(records.unreadable)})" if records.unreadable else ""
        raise ReportError(
            f"No deployment records in {deploy_dir(run_dir)}{named}: run `kerascnn deploy "
            f"{run_dir}` first. Received: {str(run_dir)!r}"
        )
    order = list(TARGETS)  # each model's rows in the targets' own order; unknown ones last
    records.rows.sort(key=lambda r: (r["key"] or "", _index(order, r["target"])))
    return records


def _index(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _ratio(value, reference) -> str:
    return f"{value / reference:.2f}x" if value and reference else ""


def deploy_table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the ok rows, each beside its model's Keras and float LiteRT rows."""
    by = {(r["key"], r["target"]): r for r in rows}
    header = "model,target,top-1,drop (points),agreement,size (bytes),size vs float".split(",")
    header += ["b1 p50 / p95 (ms)", "b1 speed-up", "img/s", "throughput vs keras"]
    cells = []
    for r in rows:
        if r["status"] != "ok":
            continue
        keras = by.get((r["key"], "keras"), {})
        float_file = by.get((r["key"], "litert")) if r["format"] == "litert" else keras
        cells.append(
            [
                r["model"],
                r["target"],
                number(r["top1"], "{:.4f}"),
                number(None if r["top1_drop"] is None else r["top1_drop"] * 100, "{:+.2f}"),
                number(r["agreement"], "{:.4f}"),
                number(r["size_bytes"], "{:,}"),
                _ratio((float_file or {}).get("size_bytes"), r["size_bytes"]),
                " / ".join(
                    number(r[k], "{:.3f}") for k in ("latency_b1_p50_ms", "latency_b1_p95_ms")
                ),
                _ratio(keras.get("latency_b1_p50_ms"), r["latency_b1_p50_ms"]),
                number(r["images_per_s"], "{:,.0f}"),
                _ratio(r["images_per_s"], keras.get("images_per_s")),
            ]
        )
    return markdown_table(header, cells) if cells else "(no target ran)"


def _problems(rows: list[dict[str, Any]]) -> list[str]:
    return [
        f"- {r['model']} -> {r['target']}: **{r['status']}**: {r['error']}"
        for r in rows
        if r["status"] != "ok"
    ]


def _plot(rows: list[dict[str, Any]], path: Path) -> Path | None:
    from kerascnn.viz import new_figure, save_figure

    ok = [r for r in rows if r["status"] == "ok" and r["latency_b1_p50_ms"]]
    if not ok:
        return None
    fig = new_figure((7, 4.5))
    ax = fig.add_subplot()
    for i, key in enumerate(dict.fromkeys(r["key"] for r in ok)):
        mine = sorted((r for r in ok if r["key"] == key), key=lambda r: r["latency_b1_p50_ms"])
        xs = [r["latency_b1_p50_ms"] for r in mine]
        ax.plot(
            xs, [r["top1"] for r in mine], "-", color=f"C{i}", alpha=0.5, label=mine[0]["model"]
        )
        for r in mine:
            marker = MARKERS.get(r["target"], "o")
            ax.plot(r["latency_b1_p50_ms"], r["top1"], marker, color=f"C{i}", ms=7)
    for target, marker in MARKERS.items():  # the marker legend, in grey
        if any(r["target"] == target for r in ok):
            ax.plot([], [], marker, color="0.4", label=target)
    ax.set_xscale("log")
    ax.set(xlabel="batch-1 latency p50 (ms, log scale)", ylabel="top-1 on the test images")
    ax.set_title("Accuracy vs latency after export: one colour per model, one marker per target")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    return save_figure(fig, path)


def deploy_section(records: DeployRecords) -> list[str]:
    """The lines of the deployment section (DEPLOY.md's body; the bench README embeds it)."""
    rows, env, unreadable = records.rows, records.environment, records.unreadable
    settings = env.get("settings", {})
    threads = settings.get("threads") or (
        "each runtime's default (LiteRT's Interpreter: 1 thread; the others: every core)"
    )
    lines = [
        f"Measured on {env.get('device', 'an unrecorded machine')} ({env.get('cpu', '')}, "
        f"{env.get('usable_cpus', '?')} usable CPUs), threads: {threads}; batch-N = "
        f"{settings.get('batch', '?')}, {settings.get('seconds', '?')} s per timing; int8 "
        f"calibrated on {settings.get('calibration_images', '?')} training images "
        f"(inputs and outputs {'int8' if settings.get('int8_io') else 'float32'}).",
        f"Versions: {', '.join(f'{k} {v}' for k, v in sorted(env.get('versions', {}).items()))}.",
        f"Command: `{env.get('command', '?')}`.",
        "",
        "Top-1 through each runtime on the run's test images; drop = the Keras model's top-1 "
        "minus it (negative: a gain); agreement = share of images whose top-1 class is the "
        "Keras model's. Size vs float: the float32 file (the .keras file for keras/onnx/openvino, "
        "the float LiteRT file for the LiteRT targets) over this one. Latency: numpy in, numpy "
        "out, one image, warm-up calls excluded; speed-up and throughput ratios against the "
        "Keras row.",
        "",
        deploy_table(rows),
    ]
    problems = _problems(rows)
    if problems:
        lines += ["", "Not measured:", *problems]
    if unreadable:
        lines += [
            "",
            f"Records that cannot be read (not shown): {describe_unreadable(unreadable)}.",
        ]
    return lines


def write_deploy_report(run_dir: str | Path, plots: bool = True) -> Path:
    records = load_deploy(run_dir)
    rows, run_dir = records.rows, Path(run_dir)
    lines = ["# Deployment: each model through each runtime", "", *deploy_section(records)]
    if plots and _plot(rows, run_dir / "deploy.png"):
        lines += ["", "![accuracy vs batch-1 latency per target](deploy.png)"]
    return write_text_atomic(run_dir / DEPLOY_MD, "\n".join(lines) + "\n")
