"""Small, real experiments that write a report (README.md table + PNG plot + results.json).

    >>> from kerascnn.experiments import run_experiment
    >>> result = run_experiment("optimizers", fast=True)  # reports/runs/experiments/optimizers-<time>

CLI: ``kerascnn experiment NAME [--out DIR] [--fast] [--seed N]``. Every claim in a report is
formatted from the numbers of that run. ``fast=True`` uses fewer images and epochs (seconds).

A run writes a fresh folder by default (:func:`default_out_dir`:
``reports/runs/experiments/NAME-<UTC time>``, ignored by git), so the published reports in
:data:`PUBLISHED` (``reports/experiments/NAME``) change only when asked:
``kerascnn experiment NAME --out reports/experiments/NAME``.
"""

from __future__ import annotations

import importlib
import inspect
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from kerascnn import checks
from kerascnn.errors import ArgumentError
from kerascnn.experiments._common import ExperimentResult


class Experiment(NamedTuple):
    """One experiment: the module (in this package) that runs it, and what it compares."""

    module: str
    summary: str


EXPERIMENTS = {
    "optimizers": Experiment(
        "optimizers", "SGD, Momentum, AdaGrad, Adam from the same initial weights: loss curves"
    ),
    "init": Experiment(
        "initialization", "std 0.01 vs Glorot vs He init, with and without BatchNorm"
    ),
    "overfitting": Experiment(
        "overfitting", "300 training images: baseline vs weight decay vs dropout, train/test gap"
    ),
    "hparam": Experiment("hparam", "KerasTuner random search over learning rate and weight decay"),
    "transfer": Experiment(
        "transfer",
        "pretrain on 5 classes; frozen, partly frozen, fine-tuned, layer-wise rates, scratch",
    ),
    "tta": Experiment("tta", "test-time augmentation (flips, shifts) vs a single view"),
    "fgsm": Experiment("fgsm", "FGSM adversarial examples: accuracy vs epsilon + a picture"),
    "depth": Experiment(
        "depth", "plain vs residual nets of 8-32 layers: deeper plain nets train worse (He et al.)"
    ),
}
"""name -> :class:`Experiment`; ``kerascnn experiment`` takes these names and shows these texts."""

__all__ = [
    "EXPERIMENTS",
    "PUBLISHED",
    "RUNS_ROOT",
    "Experiment",
    "ExperimentResult",
    "default_out_dir",
    "list_experiments",
    "run_experiment",
]

PUBLISHED = Path("reports") / "experiments"
"""Where the published reports live (one folder per experiment); written only with ``out=``."""

RUNS_ROOT = Path("reports") / "runs" / "experiments"
"""Where a run without ``out`` writes (under ``reports/runs/``, which git ignores)."""


def list_experiments() -> list[str]:
    return list(EXPERIMENTS)


def default_out_dir(name: str, root=RUNS_ROOT, now: datetime | None = None) -> Path:
    """A fresh folder for a run of ``name``: ``ROOT/NAME-<UTC time>`` (``-2``, ``-3``, ... when
    that folder exists already, so that two runs in the same second never share one)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = Path(root) / f"{name}-{stamp}"
    k = 2
    while path.exists():
        path = Path(root) / f"{name}-{stamp}-{k}"
        k += 1
    return path


def run_experiment(
    name: str,
    out=None,
    *,
    fast: bool = False,
    seed: int = 0,
    dataset: str = "fashion_mnist_mini",
    **options,
) -> ExperimentResult:
    """Run experiment ``name`` and write its report into ``out``.

    Without ``out`` the report goes to a fresh :func:`default_out_dir`; the published report
    (``reports/experiments/NAME``) is rewritten only when ``out`` names it. ``options`` are an
    experiment's own keywords (hparam: ``trials``, ``tuner_dir``).
    """
    if name not in EXPERIMENTS:
        raise ArgumentError(
            f"Unknown experiment. Known: {', '.join(EXPERIMENTS)}. Received: name={name!r}"
        )
    seed = checks.non_negative_int("run_experiment", "seed", seed)
    module = importlib.import_module(f"kerascnn.experiments.{EXPERIMENTS[name].module}")
    own = set(inspect.signature(module.run).parameters) - {"out", "fast", "seed", "dataset"}
    unknown = sorted(set(options) - own)
    if unknown:
        raise ArgumentError(
            f"The {name} experiment takes {', '.join(sorted(own)) or 'no options of its own'}. "
            f"Received: {', '.join(unknown)}"
        )
    out = Path(out) if out is not None else default_out_dir(name)
    return module.run(out, fast=fast, seed=seed, dataset=dataset, **options)
