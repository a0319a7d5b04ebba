"""The README's Environment section: the machine, the commands, the data, the training settings
and the CPU load around the runs, all from the stored records."""

from __future__ import annotations

from typing import Any

from kerascnn.record.run import Environment
from kerascnn.report.load import RunData


def _na(value: Any) -> Any:
    return "n/a" if value is None else value


def _machine_lines(env: Environment) -> list[str]:
    """Hardware, backend and versions, and the commit (when recorded)."""
    cpu = "" if env.device.startswith("CPU") else f"; CPU {_na(env.cpu)}"
    lines = [
        f"- **Hardware**: {env.device}{cpu}, {_na(env.usable_cpus)} usable of "
        f"{_na(env.logical_cpus)} logical CPUs; {env.platform or ''}",
        f"- **Backend**: Keras {env.versions.get('keras', '?')} on {env.backend}; versions: "
        + ", ".join(f"{k} {v}" for k, v in env.versions.items() if k not in ("keras",)),
    ]
    if env.git and env.git.commit:
        lines.append(
            f"- **Commit**: `{env.git.commit[:12]}`"
            + (" (with uncommitted changes)" if env.git.dirty else "")
        )
    return lines


def _commands(data: RunData) -> list[str]:
    """The commands of the suite's sessions, else those the results recorded; each once."""
    sessions = data.suite.get("sessions") or []
    commands = list(dict.fromkeys(s.get("command") for s in sessions if s.get("command")))
    return commands or list(
        dict.fromkeys(
            r.environment.command for r in data.results if r.environment and r.environment.command
        )
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


def _dataset_lines(data: RunData) -> list[str]:
    lines = []
    for dataset in data.datasets:
        info = next(
            (r.dataset_info for r in data.results if r.dataset == dataset and r.dataset_info), None
        )
        if info:
            lines.append(_dataset_line(dataset, info))
    return lines


def _training_text(cfg: dict[str, Any]) -> str:
    """One run's training settings, as a sentence (runs sharing it share a bullet)."""
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
    return (
        f"{length}, batch {cfg.get('batch_size')}, {cfg.get('optimizer')} lr "
        f"{cfg.get('learning_rate')}{source} ({cfg.get('schedule')}, warm-up {cfg.get('warmup_epochs')} epochs), "
        f"weight decay {cfg.get('weight_decay')}, label smoothing {cfg.get('label_smoothing')}, "
        f"augmentation {aug}, precision {cfg.get('precision')}, jit {cfg.get('jit')}, time budget {budget}"
    )


def _training_lines(data: RunData) -> list[str]:
    """One bullet per distinct training setting, naming the runs (model [config hash]) it had."""
    settings: dict[str, list[str]] = {}
    for r in data.results:
        if not r.config:
            continue
        label = f"{r.model} [{r.config_hash[:6]}]"
        models = settings.setdefault(_training_text(r.config), [])
        if label not in models:
            models.append(label)
    return [f"- **Training** of {', '.join(models)}: {text}" for text, models in settings.items()]


def _load_lines(data: RunData, env: Environment) -> list[str]:
    """The 1-min load average around the runs, and a warning when it passed the CPU count."""
    loads = [
        load[0]
        for r in data.results
        for load in (r.load_average_before, r.load_average_after)
        if load
    ]
    cpus = env.usable_cpus or env.logical_cpus
    if not (loads and cpus):
        return []
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
    return [note]


def environment_section(data: RunData) -> list[str]:
    """The lines of the README's Environment section."""
    env = data.environment() or Environment(backend="?", versions={}, device="n/a")
    return [
        "## Environment",
        "",
        *_machine_lines(env),
        *(f"- **Command**: `{c}`" for c in _commands(data)),
        *_dataset_lines(data),
        *_training_lines(data),
        *_load_lines(data, env),
    ]
