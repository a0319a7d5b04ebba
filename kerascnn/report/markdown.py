"""The README.md of a run folder: environment, one table per dataset, plots, failures, targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kerascnn.errors import ReportError
from kerascnn.record.deploy import DEPLOY_MD, deploy_dir
from kerascnn.record.files import write_text_atomic
from kerascnn.record.flat import write_results_csv
from kerascnn.record.layout import RESULTS_CSV, readme_path
from kerascnn.record.run import Environment
from kerascnn.record.tabular import markdown_table
from kerascnn.report.deploy import deploy_section, load_deploy, write_deploy_report
from kerascnn.report.load import Entry, RunData, entries, load_run
from kerascnn.report.tables import (
    chance_notes,
    dataset_table,
    failures_table,
    protocol_section,
)


def _dataset_line(dataset: str, info) -> str:
    """One bullet: sizes, input (and the size the models saw), classes by name, source, split."""
    size = ""
    if info.image_size and list(info.image_size) != list(info.input_shape[:2]):
        size = (
            f" resized to {'x'.join(map(str, info.image_size))} ({info.aspect}) at the model input"
        )
    elif info.image_size:
        size = f" (resized at load, {info.aspect})"
    names = ", ".join(info.class_names[:20]) + (", ..." if len(info.class_names) > 20 else "")
    text = (
        f"- **Dataset** `{dataset}`: {info.train_images:,} train / {info.test_images:,} test "
        f"images, input {'x'.join(map(str, info.input_shape))}{size}, {info.num_classes} classes "
        f"({names}); source: {info.source}"
    )
    if info.split:
        text += f"; split: {info.split}"
    if info.normalization:
        mean = ", ".join(f"{m:.3f}" for m in info.normalization["mean"])
        std = ", ".join(f"{s:.3f}" for s in info.normalization["std"])
        text += f"; inputs normalized per channel (mean {mean}; std {std})"
    if info.skipped_files:
        text += (
            f"; {len(info.skipped_files)} unreadable file(s) skipped ({info.skipped_files[0]}, ...)"
        )
    return text


def _first_step(e: Entry) -> float:
    """The first training step (tracing, compilation, one step): the calibration's in a budget
    run, where the training reuses the step compiled for it."""
    calibrated = e.mean("protocol", "calibration", "first_step_seconds")
    return calibrated if calibrated is not None else e.mean("train", "first_step_seconds")


def _environment_section(data: RunData) -> list[str]:
    env = data.environment() or Environment(backend="?", versions={}, device="n/a")
    na = lambda v: "n/a" if v is None else v  # noqa: E731
    lines = ["## Environment", ""]
    cpu = "" if env.device.startswith("CPU") else f"; CPU {na(env.cpu)}"
    lines.append(
        f"- **Hardware**: {env.device}{cpu}, {na(env.usable_cpus)} usable of "
        f"{na(env.logical_cpus)} logical CPUs; {env.platform or ''}"
    )
    lines.append(
        f"- **Backend**: Keras {env.versions.get('keras', '?')} on {env.backend}; versions: "
        + ", ".join(f"{k} {v}" for k, v in env.versions.items() if k not in ("keras",))
    )
    if env.git and env.git.commit:
        lines.append(
            f"- **Commit**: `{env.git.commit[:12]}`"
            + (" (with uncommitted changes)" if env.git.dirty else "")
        )
    sessions = data.suite.get("sessions") or []
    commands = list(dict.fromkeys(s.get("command") for s in sessions if s.get("command"))) or list(
        dict.fromkeys(
            r.environment.command for r in data.results if r.environment and r.environment.command
        )
    )
    for c in commands:
        lines.append(f"- **Command**: `{c}`")
    for dataset in data.datasets:
        info = next(
            (r.dataset_info for r in data.results if r.dataset == dataset and r.dataset_info), None
        )
        if info:
            lines.append(_dataset_line(dataset, info))
    settings: dict[str, list[str]] = {}
    for r in data.results:
        cfg = r.config
        if not cfg:
            continue
        aug = ", ".join(cfg.get("augment") or []) or "none"
        budget = f"{cfg['time_budget']:g} s" if cfg.get("time_budget") else "none"
        if cfg.get("budget") is not None:
            length = f"equal budget {cfg['budget']:g} s"
        elif cfg.get("steps") is not None:
            length = f"{cfg['steps']} steps"
        else:
            length = f"{cfg.get('epochs')} epoch(s)"
        recipe = cfg.get("recipe") or {}
        source = {None: "", "default": " (default recipe)"}.get(
            recipe.get("name"), f" ({recipe.get('name')}'s recipe)"
        )
        text = (
            f"{length}, batch {cfg.get('batch_size')}, {cfg.get('optimizer')} lr "
            f"{cfg.get('learning_rate')}{source} ({cfg.get('schedule')}, warm-up {cfg.get('warmup_epochs')} epochs), "
            f"weight decay {cfg.get('weight_decay')}, label smoothing {cfg.get('label_smoothing')}, "
            f"augmentation {aug}, precision {cfg.get('precision')}, jit {cfg.get('jit')}, time budget {budget}"
        )
        label = f"{r.model} [{r.config_hash[:6]}]"
        if label not in settings.setdefault(text, []):
            settings[text].append(label)
    for text, models in settings.items():
        lines.append(f"- **Training** of {', '.join(models)}: {text}")
    loads = [
        load[0]
        for r in data.results
        for load in (r.load_average_before, r.load_average_after)
        if load
    ]
    cpus = env.usable_cpus or env.logical_cpus
    if loads and cpus:
        note = (
            f"- **CPU load** (1-min load average around the runs): {min(loads):.1f} to {max(loads):.1f} on "
            f"{cpus} usable CPUs."
        )
        if max(loads) > cpus:
            note += (
                " Above the CPU count (the benchmark's own threads count too), processes may have "
                "competed for the cores: timings and throughputs may be noisy and pessimistic; "
                "accuracies are unaffected."
            )
        lines.append(note)
    return lines


def _targets_section(data: RunData) -> list[str]:
    targets: dict[str, Any] = (data.suite.get("config") or {}).get("targets") or {}
    if not targets:
        return []
    rows = []
    for model, target in targets.items():
        es = [e for e in entries(data) if e.model == model]
        failed = [r for r in data.failed if r.model == model]
        if es:
            best = max(es, key=lambda e: e.top1)
            verdict = "met" if best.top1 >= target else "**missed**"
            rows.append([model, best.dataset, f"{target:.2f}", f"{best.top1:.4f}", verdict])
        elif failed:
            rows.append(
                [model, failed[0].dataset, f"{target:.2f}", "failed", "**missed** (run failed)"]
            )
        else:
            rows.append([model, "", f"{target:.2f}", "not run", "**missed** (no result)"])
    return [
        "## Targets",
        "",
        markdown_table(["model", "dataset", "target top-1", "measured top-1", "verdict"], rows),
        "",
    ]


def compare_section(data: RunData, other: RunData) -> str:
    """Markdown: per (dataset, model) the deltas of ``data`` relative to ``other``."""
    mine = {(e.dataset, e.model): e for e in entries(data)}
    theirs = {(e.dataset, e.model): e for e in entries(other)}
    rows = []
    for key in sorted(set(mine) & set(theirs)):
        a, b = mine[key], theirs[key]

        def ratio(path: tuple[str, ...], a: Entry = a, b: Entry = b) -> str:
            x, y = a.mean(*path), b.mean(*path)
            return "n/a" if x is None or y is None or y == 0 else f"{x / y:.2f}x"

        d1 = a.top1 - b.top1
        rows.append(
            [
                key[1],
                key[0],
                f"{b.top1:.4f}",
                f"{a.top1:.4f}",
                f"{d1:+.4f}",
                ratio(("inference", "latency_b1", "p50_ms")),
                ratio(("train", "images_per_s")),
                ratio(("inference", "device_throughput", "images_per_s")),
                "same" if a.params == b.params else f"{(a.params or 0) - (b.params or 0):+,}",
            ]
        )
    lines = [
        f"## Comparison with `{other.run_dir}`",
        "",
        "Ratios are this run / the other run (latency below 1x = faster here; throughput above 1x = faster here).",
        "",
    ]
    if rows:
        lines.append(
            markdown_table(
                [
                    "model",
                    "dataset",
                    "top-1 other",
                    "top-1 here",
                    "Δ top-1",
                    "latency b1 p50",
                    "train img/s",
                    "infer img/s",
                    "Δ params",
                ],
                rows,
            )
        )
    else:
        lines.append("_No (dataset, model) pair has a successful run in both folders._")
    only_here = sorted(set(mine) - set(theirs))
    only_there = sorted(set(theirs) - set(mine))
    if only_here:
        lines += ["", "Only here: " + ", ".join(f"{m} ({d})" for d, m in only_here)]
    if only_there:
        lines += ["", "Only in the other run: " + ", ".join(f"{m} ({d})" for d, m in only_there)]
    return "\n".join(lines)


def _deployed(run_dir: Path):
    """The run's deployment rows and environment, or None when it has none yet."""
    if not deploy_dir(run_dir).is_dir():
        return None
    try:
        return load_deploy(run_dir)
    except ReportError:  # deploy/ without a finished (model, target): nothing to show yet
        return None


def build_report(
    run_dir: str | Path, compare: str | Path | None = None, *, plots: bool = True
) -> Path:
    """Write ``RUN_DIR/README.md`` (and the PNG plots) from the stored results; return its path."""
    from kerascnn.report import plots as P

    data = load_run(run_dir)
    other = load_run(compare) if compare is not None else None
    out_dir = Path(run_dir)
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
    lines += _environment_section(data) + [""]
    lines += _targets_section(data)
    figures: list[tuple[str, Path | None]] = []
    if plots:
        figures.append(
            (
                "Accuracy vs MACs (the Pareto front in red: no other model is both cheaper and "
                "more accurate)",
                P.accuracy_vs_macs(data, out_dir / "accuracy_vs_macs.png"),
            )
        )
        figures.append(
            (
                "Accuracy vs batch-1 latency",
                P.accuracy_vs_latency(data, out_dir / "accuracy_vs_latency.png"),
            )
        )
        figures.append(
            (
                "Test accuracy vs training time (all models on one time axis; ↑ still rising)",
                P.accuracy_vs_time(data, out_dir / "accuracy_vs_time.png"),
            )
        )
        figures.append(
            (
                "Training curves (train solid: mean over each segment; test dashed: each "
                "evaluation, the last one the final)",
                P.training_curves(data, out_dir / "training_curves.png"),
            )
        )
        figures.append(
            ("Parameters and MACs", P.params_macs_bars(data, out_dir / "params_macs.png"))
        )
    lines += [
        "## Results",
        "",
        "Sorted by top-1 test accuracy. MACs: multiply-accumulates of one forward pass "
        "(conv/dense; FLOPs = 2 x MACs). Latency: host numpy input to numpy output through the "
        "compiled inference function, warm-up excluded, p50 / p95 of many calls. Train img/s: "
        "steady-state training steps (the first steps, with tracing and compilation, excluded). "
        "Infer img/s: device-resident input, batch N. Accuracies are mean ± std over seeds when "
        "there are several. Steps: optimizer steps; epochs: passes over the training data "
        "(fractional under a budget); train time: the training steps, without the compilation "
        "of the first (in the warm-up line below; what a budget spends); "
        "eval time: the test evaluations along and after training, with their BatchNorm "
        "recomputation. ⚠ chance: a top-1 within 2 points of guessing.",
        "",
        *protocol_section(data),
    ]
    for dataset in data.datasets:
        lines += [f"### {dataset}", "", dataset_table(data, dataset), ""]
        lines += chance_notes(data, dataset)
        if plots:
            cm = P.confusion_matrices(
                data,
                dataset,
                out_dir / f"confusion_{dataset.replace(':', '_').replace('/', '_')}.png",
            )
            if cm:
                figures.append((f"Confusion matrices: {dataset}", cm))
        es = entries(data, dataset)
        warm = [e for e in es if e.mean("train", "warmup_seconds") is not None]
        if warm:
            lines += [
                "Warm-up (tracing + compilation, excluded from the throughputs above): "
                + "; ".join(
                    f"{e.label}: first train step {_first_step(e):.1f} s, first inference call "
                    f"{e.mean('inference', 'first_call_seconds', 'eval_batch'):.2f} s"
                    for e in warm
                    if e.mean("inference", "first_call_seconds", "eval_batch") is not None
                ),
                "",
            ]
    if data.failed:
        lines += [
            "## Failed runs",
            "",
            "These runs did not finish; they are listed, never dropped.",
            "",
            failures_table(data),
            "",
        ]
    if data.unreadable:
        lines += [
            "## Unreadable result files",
            "",
            "These files in `results/` could not be read, so their runs are in no table above "
            "(`kerascnn bench --resume` on this folder runs them again):",
            "",
            *(f"- `{name}`: {' '.join(reason.split())}" for name, reason in data.unreadable),
            "",
        ]
    if other is not None:
        lines += [compare_section(data, other), ""]
    deployed = _deployed(out_dir)
    if deployed:  # `kerascnn deploy` measured this run's models
        write_deploy_report(out_dir, plots=plots)
        lines += [
            "## Deployment",
            "",
            *deploy_section(deployed),
            "",
            f"Details: [{DEPLOY_MD}]({DEPLOY_MD}).",
            "",
        ]
    shown = [(t, p) for t, p in figures if p is not None]
    if shown:
        lines += ["## Plots", ""]
        for title, path in shown:
            lines += [f"### {title}", "", f"![{title}]({path.name})", ""]
    write_results_csv(out_dir, data.results)
    lines += [
        f"Machine-readable: [`{RESULTS_CSV}`]({RESULTS_CSV}) (one row per run; "
        f"`kerascnn report {out_dir} --format csv|json` prints it).",
        "",
    ]
    return write_text_atomic(readme_path(out_dir), "\n".join(lines).rstrip() + "\n")
