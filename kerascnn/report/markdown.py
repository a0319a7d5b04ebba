"""The README.md of a run folder: a list of sections, each a function of the :class:`Page`
that returns its lines, and one write at the end.

:func:`build_report` reads the stored records (:mod:`kerascnn.record`), draws the plots, writes
the folder's other files (results.csv, and DEPLOY.md where ``kerascnn deploy`` measured the
run), then joins the lines of :data:`SECTIONS` in order and writes README.md once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn.errors import ReportError
from kerascnn.record.deploy import DeployRecords, deploy_dir
from kerascnn.record.files import write_text_atomic
from kerascnn.record.flat import write_results_csv
from kerascnn.record.layout import DEPLOY_MD, RESULTS_CSV, readme_path
from kerascnn.record.tabular import markdown_table
from kerascnn.report.deploy import deploy_section, load_deploy, write_deploy_report
from kerascnn.report.environment import environment_section
from kerascnn.report.load import Entry, RunData, entries, load_run
from kerascnn.report.tables import (
    PARAMS_LABEL,
    chance_notes,
    dataset_table,
    failures_table,
    not_comparable,
    protocol_section,
)

__all__ = ["SECTIONS", "Page", "build_report", "compare_section", "dataset_table"]


@dataclass(frozen=True)
class Page:
    """What the sections of one README read: the run, its folder, and what was drawn beside."""

    data: RunData
    out_dir: Path
    other: RunData | None = None
    """The ``--compare`` run, or None."""
    deployed: DeployRecords | None = None
    """The run's deployment records, or None when ``kerascnn deploy`` has not measured it."""
    figures: list[tuple[str, Path]] = field(default_factory=list)
    """(title, PNG) of each plot drawn, in the order the Plots section shows them."""


def _header(page: Page) -> list[str]:
    """Title, the suite's description, the count of runs, and the folder's NOTES.md."""
    data, out_dir = page.data, page.out_dir
    name = data.suite.get("name") or out_dir.name
    lines = [f"# Benchmark report: {name}", ""]
    desc = (data.suite.get("config") or {}).get("description")
    if desc:
        lines += [desc.strip(), ""]
    lines += [
        f"{len(data.ok)} successful and {len(data.failed)} failed run(s) in `{out_dir}`. "
        "Every number below comes from the JSON files in `results/`; regenerate this page with "
        f"`kerascnn report {out_dir}`.",
        "",
    ]
    notes = out_dir / "NOTES.md"
    if notes.is_file():
        lines += [notes.read_text(encoding="utf-8").strip(), ""]
    return lines


def _environment(page: Page) -> list[str]:
    return [*environment_section(page.data), ""]


def _target_row(data: RunData, model: str, target: float) -> list[str]:
    es = [e for e in entries(data) if e.model == model]
    failed = [r for r in data.failed if r.model == model]
    if es:
        best = max(es, key=lambda e: e.top1)
        verdict = "met" if best.top1 >= target else "**missed**"
        return [model, best.dataset, f"{target:.2f}", f"{best.top1:.4f}", verdict]
    if failed:
        return [model, failed[0].dataset, f"{target:.2f}", "failed", "**missed** (run failed)"]
    return [model, "", f"{target:.2f}", "not run", "**missed** (no result)"]


def _targets(page: Page) -> list[str]:
    """The suite's top-1 targets, each met or missed by the best run of its model."""
    targets: dict[str, Any] = (page.data.suite.get("config") or {}).get("targets") or {}
    if not targets:
        return []
    rows = [_target_row(page.data, model, target) for model, target in targets.items()]
    header = ["model", "dataset", "target top-1", "measured top-1", "verdict"]
    return ["## Targets", "", markdown_table(header, rows), ""]


_RESULTS_INTRO = (
    "Sorted by top-1 test accuracy. MACs: multiply-accumulates of one forward pass "
    "(conv/dense; FLOPs = 2 x MACs). Latency: host numpy input to numpy output through the "
    "compiled inference function, warm-up excluded, p50 / p95 of many calls. Train img/s: "
    "steady-state training steps (the first steps, with tracing and compilation, excluded). "
    "Infer img/s: device-resident input, batch N. Accuracies are mean ± std over seeds when "
    "there are several. Steps: optimizer steps; epochs: passes over the training data "
    "(fractional under a budget); train time: the training steps, without the compilation "
    "of the first (in the warm-up line below; what a budget spends); "
    "eval time: the test evaluations along and after training, with their BatchNorm "
    "recomputation. ⚠ chance: a top-1 within 2 points of guessing."
)


def _first_step(e: Entry) -> float:
    """The first training step (tracing, compilation, one step): the calibration's in a budget
    run, where the training reuses the step compiled for it."""
    calibrated = e.mean("protocol", "calibration", "first_step_seconds")
    return calibrated if calibrated is not None else e.mean("train", "first_step_seconds")


def _warmup_lines(data: RunData, dataset: str) -> list[str]:
    """The warm-up line under a dataset's table (first train step, first inference call)."""
    warm = [e for e in entries(data, dataset) if e.mean("train", "warmup_seconds") is not None]
    if not warm:
        return []
    return [
        "Warm-up (tracing + compilation, excluded from the throughputs above): "
        + "; ".join(
            f"{e.label}: first train step {_first_step(e):.1f} s, first inference call "
            f"{e.mean('inference', 'first_call_seconds', 'eval_batch'):.2f} s"
            for e in warm
            if e.mean("inference", "first_call_seconds", "eval_batch") is not None
        ),
        "",
    ]


def _results(page: Page) -> list[str]:
    """What the columns mean, the protocol, then per dataset its table and notes."""
    data = page.data
    lines = ["## Results", "", _RESULTS_INTRO, "", *protocol_section(data)]
    for dataset in data.datasets:
        lines += [f"### {dataset}", "", dataset_table(data, dataset), ""]
        lines += chance_notes(data, dataset)
        lines += _warmup_lines(data, dataset)
    return lines


def _failures(page: Page) -> list[str]:
    if not page.data.failed:
        return []
    return [
        "## Failed runs",
        "",
        "These runs did not finish; they are listed, never dropped.",
        "",
        failures_table(page.data),
        "",
    ]


def _unreadable(page: Page) -> list[str]:
    if not page.data.unreadable:
        return []
    return [
        "## Unreadable result files",
        "",
        "These files in `results/` could not be read, so their runs are in no table above "
        "(`kerascnn bench --resume` on this folder runs them again):",
        "",
        *(f"- `{name}`: {' '.join(reason.split())}" for name, reason in page.data.unreadable),
        "",
    ]


_COMPARE_HEADER = ["model", "dataset", "top-1 other", "top-1 here", "Δ top-1", "latency b1 p50",
                   "train img/s", "infer img/s", f"Δ {PARAMS_LABEL}"]  # fmt: skip


def _ratio(a: Entry, b: Entry, *path: str) -> str:
    x, y = a.mean(*path), b.mean(*path)
    return "n/a" if x is None or y is None or y == 0 else f"{x / y:.2f}x"


def _compare_row(dataset: str, model: str, a: Entry, b: Entry) -> list[str]:
    """One (dataset, model): ``a`` here, ``b`` in the other run."""
    return [
        model,
        dataset,
        f"{b.top1:.4f}",
        f"{a.top1:.4f}",
        f"{a.top1 - b.top1:+.4f}",
        _ratio(a, b, "inference", "latency_b1", "p50_ms"),
        _ratio(a, b, "train", "images_per_s"),
        _ratio(a, b, "inference", "device_throughput", "images_per_s"),
        "same" if a.params == b.params else f"{(a.params or 0) - (b.params or 0):+,}",
    ]


def not_comparable_note(data: RunData, other: RunData) -> str | None:
    """The "⚠ Not comparable" sentence naming each difference (:func:`not_comparable`), or None."""
    diffs = not_comparable(data, other)
    if not diffs:
        return None
    return (
        "⚠ **Not comparable**: the runs differ in what a comparison must hold equal ("
        + "; ".join(diffs)
        + "). The deltas below mix those differences with the models' own; rerun one with the "
        "other's settings for a fair comparison."
    )


def compare_section(data: RunData, other: RunData) -> str:
    """Markdown: per (dataset, model) the deltas of ``data`` relative to ``other``, under a
    "⚠ Not comparable" note when the runs differ in protocol, steps, data, image size,
    precise BN or seeds (a warning, not a refusal: the table stays)."""
    mine = {(e.dataset, e.model): e for e in entries(data)}
    theirs = {(e.dataset, e.model): e for e in entries(other)}
    rows = [_compare_row(*key, mine[key], theirs[key]) for key in sorted(set(mine) & set(theirs))]
    note = not_comparable_note(data, other)
    lines = [
        f"## Comparison with `{other.run_dir}`",
        "",
        *([note, ""] if note else []),
        "Ratios are this run / the other run (latency below 1x = faster here; throughput above 1x = faster here).",
        "",
        markdown_table(_COMPARE_HEADER, rows)
        if rows
        else "_No (dataset, model) pair has a successful run in both folders._",
    ]
    only_here = sorted(set(mine) - set(theirs))
    only_there = sorted(set(theirs) - set(mine))
    if only_here:
        lines += ["", "Only here: " + ", ".join(f"{m} ({d})" for d, m in only_here)]
    if only_there:
        lines += ["", "Only in the other run: " + ", ".join(f"{m} ({d})" for d, m in only_there)]
    return "\n".join(lines)


def _comparison(page: Page) -> list[str]:
    return [] if page.other is None else [compare_section(page.data, page.other), ""]


def _deployment(page: Page) -> list[str]:
    """The deployment table (DEPLOY.md's body) and a link to DEPLOY.md."""
    if not page.deployed:
        return []
    return [
        "## Deployment",
        "",
        *deploy_section(page.deployed),
        "",
        f"Details: [{DEPLOY_MD}]({DEPLOY_MD}).",
        "",
    ]


def _plots(page: Page) -> list[str]:
    if not page.figures:
        return []
    lines = ["## Plots", ""]
    for title, path in page.figures:
        lines += [f"### {title}", "", f"![{title}]({path.name})", ""]
    return lines


def _machine_readable(page: Page) -> list[str]:
    return [
        f"Machine-readable: [`{RESULTS_CSV}`]({RESULTS_CSV}) (one row per run; "
        f"`kerascnn report {page.out_dir} --format csv|json` prints it).",
        "",
    ]


SECTIONS = (
    _header,
    _environment,
    _targets,
    _results,
    _failures,
    _unreadable,
    _comparison,
    _deployment,
    _plots,
    _machine_readable,
)
"""The README's sections in order; each takes the :class:`Page` and returns its lines."""


def draw_figures(data: RunData, out_dir: Path) -> list[tuple[str, Path]]:
    """Draw the run's PNG plots into ``out_dir``; (title, path) of each one drawn."""
    from kerascnn.report import plots as P

    figures = [
        (
            "Accuracy vs MACs (the Pareto front in red: no other model is both cheaper and "
            "more accurate)",
            P.accuracy_vs_macs(data, out_dir / "accuracy_vs_macs.png"),
        ),
        (
            "Accuracy vs batch-1 latency",
            P.accuracy_vs_latency(data, out_dir / "accuracy_vs_latency.png"),
        ),
        (
            "Test accuracy vs training time (all models on one time axis; ↑ still rising)",
            P.accuracy_vs_time(data, out_dir / "accuracy_vs_time.png"),
        ),
        (
            "Training curves (train solid: mean over each segment; test dashed: each "
            "evaluation, the last one the final)",
            P.training_curves(data, out_dir / "training_curves.png"),
        ),
        ("Parameters and MACs", P.params_macs_bars(data, out_dir / "params_macs.png")),
    ]
    for dataset in data.datasets:
        name = dataset.replace(":", "_").replace("/", "_")
        cm = P.confusion_matrices(data, dataset, out_dir / f"confusion_{name}.png")
        figures.append((f"Confusion matrices: {dataset}", cm))
    return [(title, path) for title, path in figures if path]


def _deployed(run_dir: Path) -> DeployRecords | None:
    """The run's deployment rows and environment, or None when it has none yet."""
    if not deploy_dir(run_dir).is_dir():
        return None
    try:
        return load_deploy(run_dir)
    except ReportError:  # deploy/ without a finished (model, target): nothing to show yet
        return None


def write_records(page: Page, *, plots: bool = True) -> None:
    """The folder's files beside the README: results.csv, and DEPLOY.md when deployed."""
    write_results_csv(page.out_dir, page.data.results)
    if page.deployed:
        write_deploy_report(page.out_dir, plots=plots)


def build_report(
    run_dir: str | Path, compare: str | Path | None = None, *, plots: bool = True
) -> Path:
    """Write ``RUN_DIR/README.md`` (and the PNG plots) from the stored results; return its path."""
    data = load_run(run_dir)
    out_dir = Path(run_dir)
    page = Page(
        data,
        out_dir,
        other=load_run(compare) if compare is not None else None,
        deployed=_deployed(out_dir),
        figures=draw_figures(data, out_dir) if plots else [],
    )
    write_records(page, plots=plots)
    lines = [line for section in SECTIONS for line in section(page)]
    return write_text_atomic(readme_path(out_dir), "\n".join(lines).rstrip() + "\n")
