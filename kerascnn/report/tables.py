"""The tables of a run folder's README: results per dataset, the training protocol, failures,
and what makes two runs not comparable (for ``--compare``).

The parameter column is **params (total)**: every weight the run's model holds, trainable plus
non-trainable (BatchNorm's moving statistics), Keras' ``count_params()`` at the run's input
size; torchvision and timm count the trainable ones only (the README's zoo table has both)."""

from __future__ import annotations

from kerascnn.record.flat import (
    CHANCE_MARGIN,
    COLUMNS,
    RISING_MARGIN,
    at_chance,
    flat_rows,
    still_rising,
    total_steps,
    train_seconds,
)
from kerascnn.record.tabular import markdown_table, render
from kerascnn.report.load import Entry, RunData, entries

PARAMS_LABEL = "params (total)"
"""The label of the run's parameter count (module docstring), as in ``kerascnn models``."""


def number(v: float | None, fmt: str = "{:,.0f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def _acc(mean: float | None, std: float | None, n: int) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.4f} ± {std:.4f} (n={n})" if std is not None else f"{mean:.4f}"


def _si(v: float | None) -> str:
    if v is None:
        return "n/a"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.2f}{unit}"
    return f"{v:.0f}"


def _lat(e: Entry, which: str) -> str:
    p50, p95 = e.mean("inference", which, "p50_ms"), e.mean("inference", which, "p95_ms")
    if p50 is None:
        return "n/a"
    return f"{p50:.2f} / {p95:.2f}"


def rising(e: Entry) -> bool:
    """Whether the test accuracy of any of the entry's runs was still rising at the end."""
    return any(still_rising(r) for r in e.runs)


def chance(e: Entry) -> bool:
    """Whether any of the entry's runs ended within 2 points of guessing."""
    return any(at_chance(r) for r in e.runs)


def _steps(e: Entry) -> str:
    steps = [s for r in e.runs if (s := total_steps(r)) is not None]
    return "n/a" if not steps else f"{sum(steps) / len(steps):,.0f}"


def _epochs(e: Entry) -> str:
    if e.runs[0].protocol is not None and e.runs[0].protocol.kind != "epochs":
        return number(e.mean("train", "epochs_equivalent"), "{:.2f}")
    return number(e.epochs, "{}")


def dataset_table(data: RunData, dataset: str) -> str:
    es = entries(data, dataset)
    if not es:
        return "_No successful run on this dataset._"
    nb = es[0].config.get("latency_batch", "N")
    header = [
        "model",
        PARAMS_LABEL,
        "MACs",
        "top-1",
        "top-5",
        "latency b1 p50 / p95 (ms)",
        f"latency b{nb} p50 / p95 (ms)",
        "train img/s",
        "infer img/s",
        "steps",
        "epochs",
        "train time (s)",
        "eval time (s)",
    ]
    rows = []
    for e in es:
        marks = (" ↑" if rising(e) else "") + (" ⚠ chance" if chance(e) else "")
        top1 = _acc(e.top1, e.top1_std, len(e.runs)) + marks
        rows.append(
            [
                e.label,
                number(e.params),
                _si(e.macs),
                top1,
                _acc(e.top5, e.top5_std, len(e.runs)),
                _lat(e, "latency_b1"),
                _lat(e, "latency_bN"),
                number(e.mean("train", "images_per_s")),
                number(e.mean("inference", "device_throughput", "images_per_s")),
                _steps(e),
                _epochs(e),
                number(_mean([train_seconds(r) for r in e.runs]), "{:,.1f}"),
                number(e.mean("eval_seconds"), "{:,.1f}"),
            ]
        )
    return markdown_table(header, rows)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def chance_notes(data: RunData, dataset: str) -> list[str]:
    """A sentence for each model at chance on ``dataset``: what it means, and what training's
    own BatchNorm statistics gave where the report's come from recomputed ones."""
    notes = []
    for e in (e for e in entries(data, dataset) if chance(e)):
        info = e.runs[0].dataset_info
        guess = 1 / info.num_classes if info else None
        text = (
            f"⚠ **{e.label} is at chance**: its top-1 {e.top1:.3f} is within "
            f"{CHANCE_MARGIN * 100:.0f} points of guessing"
            + (f" (1/{info.num_classes} = {guess:.3f})" if info else "")
            + ": it predicts (nearly) one class for every image, so this run says nothing about "
            "the architecture; train it longer (more steps or a larger --budget) or check its "
            "recipe (--optimizer, --lr)."
        )
        notes += [text, ""]
    return notes


def _recomputed_bn(data: RunData) -> str | None:
    """The protocol's sentence on the recomputed BatchNorm statistics, or None."""
    done = [e for e in entries(data) if e.runs[0].precise_bn is not None]
    if not done:
        return None
    first = done[0].runs[0].precise_bn
    effects = [
        f"{e.label} {e.runs[0].precise_bn.top1_stale:.3f} → {e.top1:.3f} "
        f"({e.runs[0].precise_bn.layers} layers, {e.runs[0].precise_bn.seconds:.1f} s)"
        for e in done
        if e.runs[0].precise_bn.layers and e.runs[0].precise_bn.top1_stale is not None
    ]
    return (
        "**BatchNorm statistics recomputed before every test evaluation** (curve points and "
        f"final; `--no-precise-bn` turns it off): the moving mean and variance of every "
        f"BatchNorm layer set to the exact average over {first.batches} un-augmented training "
        f"batches of {first.batch_size} for the weights being evaluated (precise BN, as pycls "
        "and torch's `update_bn`); the saved model keeps them. A model trained for a few dozen "
        "steps still holds mostly its initial statistics and would be measured at chance. "
        "Top-1 with training's own statistics → with the recomputed ones: "
        + ("; ".join(effects) if effects else "no model here has BatchNorm layers")
        + ". Their time is in the evaluation time, outside the training budget."
    )


def _recipes(data: RunData) -> str | None:
    """Which models trained with their own registry recipe, or None when none did."""
    own = {}
    for e in entries(data):
        recipe = (e.config or {}).get("recipe")
        if recipe and recipe.get("name") != "default":
            own[e.label] = recipe
    if not own:
        return None
    return (
        "**Per-model recipes**: where the suite names no optimizer each model trains with its "
        "registry recipe, Adam at 1e-3 unless the model has its own: "
        + "; ".join(
            f"{label}: {r['optimizer']} lr {r['learning_rate']:g}"
            + (f" ({r['why']})" if r.get("why") else "")
            for label, r in own.items()
        )
        + "."
    )


def _budget_sentence(budget: list[Entry]) -> str:
    """The equal-budget protocol: how the steps were calibrated, and each model's steps."""
    seconds = sorted({e.runs[0].protocol.budget_seconds for e in budget})
    return (
        "**Protocol: equal training budget** of "
        + " / ".join(f"{s:g} s" for s in seconds)
        + " per model on this machine. A short timed calibration of each model's compiled "
        "training step (compilation included, outside the budget; the model's and optimizer's "
        "state put back after it) measured its step time: windows of at least 20 steps and "
        "3 s until two in a row agree within 5%, the fastest window's median (this machine's "
        "speed when nothing slows it: a run that meets a slow period trains longer than the "
        "budget, and its train time says so); the model then trained "
        "floor(budget / step time) steps with its learning-rate schedule sized to them. "
        "Models are compared at equal training time, not at equal epochs. "
        "Calibrated steps (repeat a run elsewhere with `--steps N`): "
        + "; ".join(
            f"{e.label} {e.runs[0].protocol.steps:,} steps "
            f"({e.runs[0].protocol.calibration.step_seconds * 1e3:.1f} ms per step, "
            f"{e.runs[0].protocol.calibration.statistic or 'mean'}, "
            f"{e.runs[0].protocol.calibration.steps_timed} steps timed)"
            for e in budget
            if e.runs[0].protocol.calibration
        )
        + "."
    )


def _rising_sentence(data: RunData) -> str:
    """Which models were still rising at the end, and the rule that says so."""
    up = [e.label for e in entries(data) if rising(e)]
    rule = (
        f"its final evaluation beat every earlier point of its test curve by at least "
        f"{RISING_MARGIN * 100:.1f} points"
    )
    if up:
        return (
            f"↑ **Still rising** at the end ({rule}): {', '.join(up)}. These had not converged: "
            "with more training their accuracy, and the ranking, would likely change."
        )
    return f"No model was still rising at the end (↑ would mark one whose {rule.removeprefix('its ')})."


def protocol_section(data: RunData) -> list[str]:
    """What the runs' lengths mean: the protocol, the calibrated steps, how to repeat them."""
    kinds: dict[str, list[Entry]] = {}
    for e in entries(data):
        kind = e.runs[0].protocol.kind if e.runs[0].protocol else "epochs"
        kinds.setdefault(kind, []).append(e)
    lines = [_budget_sentence(kinds["budget"])] if kinds.get("budget") else []
    if kinds.get("steps"):
        lines.append(
            "**Protocol: fixed steps**: "
            + "; ".join(f"{e.label} {e.runs[0].protocol.steps:,} steps" for e in kinds["steps"])
            + " (the schedule sized to them)."
        )
    if kinds.get("epochs"):
        lines.append(
            "**Protocol: epochs**: "
            + "; ".join(f"{e.label} {number(e.epochs, '{}')}" for e in kinds["epochs"])
            + ". Models given different epochs are not compared at equal training cost."
        )
    lines += [text for text in (_recomputed_bn(data), _recipes(data)) if text]
    lines.append(_rising_sentence(data))
    return [line for text in lines for line in (text, "")]


def _protocol_text(e: Entry) -> str:
    p = e.runs[0].protocol
    if p is None or p.kind == "epochs":
        return "epochs"
    return f"budget {p.budget_seconds:g} s" if p.kind == "budget" and p.budget_seconds else p.kind


def _steps_text(e: Entry) -> str:
    p = e.runs[0].protocol
    return f"{p.steps:,} steps" if p is not None else f"{number(e.epochs, '{}')} epochs"


def _aspects(e: Entry) -> dict[str, str]:
    """What a comparison between two runs of a model must hold equal, as text."""
    r = e.runs[0]
    info = r.dataset_info
    bn = r.precise_bn
    size = (info.image_size or info.input_shape[:2]) if info else None
    return {
        "protocol": _protocol_text(e),
        "steps": _steps_text(e),
        "dataset": f"{info.name} from {info.source}" if info else "n/a",
        "train images": number(info.train_images) if info else "n/a",
        "test images": number(info.test_images) if info else "n/a",
        "image size": "x".join(map(str, size)) if size else "n/a",
        "precise BN": "off" if bn is None else f"{bn.batches} batches of {bn.batch_size}",
        "seeds": ",".join(map(str, e.seeds)),
    }


def not_comparable(data: RunData, other: RunData) -> list[str]:
    """One phrase per way the (dataset, model) pairs of ``data`` and ``other`` differ in what
    a comparison must hold equal (protocol and budget, steps, dataset, train and test images,
    image size, precise BN, seeds); empty when none does. ``--compare`` warns, it does not
    refuse: the deltas are still shown, under a note naming these."""
    mine = {(e.dataset, e.model): e for e in entries(data)}
    theirs = {(e.dataset, e.model): e for e in entries(other)}
    found: dict[str, list[tuple[str, str, str]]] = {}
    pairs = sorted(set(mine) & set(theirs))
    for key in pairs:
        here, there = _aspects(mine[key]), _aspects(theirs[key])
        for aspect, value in here.items():
            if value != there[aspect]:
                found.setdefault(aspect, []).append((mine[key].label, value, there[aspect]))
    phrases = []
    for aspect, diffs in found.items():
        if len(diffs) == len(pairs) and len({(h, t) for _, h, t in diffs}) == 1:  # all alike
            phrases.append(f"{aspect}: {diffs[0][1]} here vs {diffs[0][2]} there")
        else:
            items = ", ".join(f"{m} {h} here vs {t} there" for m, h, t in diffs)
            phrases.append(f"{aspect}: {items}")
    return phrases


def failures_table(data: RunData) -> str:
    rows = []
    for r in data.failed:
        msg = " ".join(r.error.message.split()) if r.error else ""
        rows.append(
            [
                r.model,
                r.dataset,
                r.seed,
                r.error.type if r.error else "?",
                msg[:300] + ("…" if len(msg) > 300 else ""),
            ]
        )
    return markdown_table(["model", "dataset", "seed", "error", "message"], rows)


def results_text(data: RunData, fmt: str) -> str:
    """The results of a run folder as text: ``md`` the README's tables (with the protocol),
    ``csv``/``json`` one flat row per run (:data:`kerascnn.record.flat.COLUMNS`)."""
    if fmt == "md":
        parts = protocol_section(data)
        for dataset in data.datasets:
            parts += [f"### {dataset}", "", dataset_table(data, dataset), ""]
        return "\n".join(parts).rstrip() + "\n"
    return render(flat_rows(data.results), fmt, COLUMNS)
