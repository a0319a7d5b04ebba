"""Small, real experiments that write a report (README.md table + PNG plot + results.json).

    >>> from kerascnn.experiments import run_experiment
    >>> result = run_experiment("optimizers", out="reports/experiments/optimizers", fast=True)

CLI: ``kerascnn experiment NAME [--out DIR] [--fast] [--seed N]``. Every claim in a report is
formatted from the numbers of that run. ``fast=True`` uses fewer images and epochs (seconds).
"""

from __future__ import annotations

import importlib
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
        "pretrain on 5 classes; frozen features vs fine-tuning vs scratch on the other 5",
    ),
    "tta": Experiment("tta", "test-time augmentation (flips, shifts) vs a single view"),
    "fgsm": Experiment("fgsm", "FGSM adversarial examples: accuracy vs epsilon + a picture"),
}
"""name -> :class:`Experiment`; ``kerascnn experiment`` takes these names and shows these texts."""

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentResult", "list_experiments", "run_experiment"]


def list_experiments() -> list[str]:
    return list(EXPERIMENTS)


def run_experiment(
    name: str, out=None, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"
) -> ExperimentResult:
    """Run experiment ``name`` and write its report into ``out`` (default
    ``reports/experiments/NAME``)."""
    if name not in EXPERIMENTS:
        raise ArgumentError(
            f"Unknown experiment. Known: {', '.join(EXPERIMENTS)}. Received: name={name!r}"
        )
    seed = checks.non_negative_int("run_experiment", "seed", seed)
    module = importlib.import_module(f"kerascnn.experiments.{EXPERIMENTS[name].module}")
    out = Path(out) if out is not None else Path("reports") / "experiments" / name
    return module.run(out, fast=fast, seed=seed, dataset=dataset)
