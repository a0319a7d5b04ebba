"""``kerascnn experiment NAME``: the small real experiments of :mod:`kerascnn.experiments`."""

from __future__ import annotations

import click

from kerascnn.cli._base import uses_keras
from kerascnn.cli._options import DATASET, OUT, SEED
from kerascnn.experiments import EXPERIMENTS

_WIDTH = max(map(len, EXPERIMENTS)) + 2
_HELP = "\n".join(
    [
        "Run a small real experiment and write README.md (table), PNG plots and results.json.",
        "",
        "Each run writes a fresh folder, reports/runs/experiments/NAME-<UTC time>; the published",
        "reports change only with --out reports/experiments/NAME.",
        "",
        "\b",
        *(f"{name:<{_WIDTH}}{exp.summary}" for name, exp in EXPERIMENTS.items()),
        "",
        "A distributed search (KerasTuner's chief and workers), one command per process, the",
        "same --tuner-dir (a shared folder) for all; the chief writes the report:",
        "",
        "\b",
        "  KERASTUNER_TUNER_ID=chief  KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\",
        "    kerascnn experiment hparam --tuner-dir /shared/tuner --out reports/hparam",
        "  KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\",
        "    kerascnn experiment hparam --tuner-dir /shared/tuner      # tuner1, tuner2, ...",
    ]
)


@click.command("experiment", help=_HELP)
@click.argument("name", metavar="NAME", type=click.Choice(list(EXPERIMENTS)))
@OUT.but(
    type=click.Path(file_okay=False),
    help="Report folder. [default: a fresh reports/runs/experiments/NAME-<UTC time>; the "
    "published report is rewritten only when asked: --out reports/experiments/NAME]",
)
@click.option(
    "--fast", is_flag=True, help="Few images and epochs: seconds instead of a minute or two."
)
@SEED
@DATASET
@click.option(
    "--trials", type=int, default=None, help="hparam: trials to run. [default: 10, fast 2]"
)
@click.option(
    "--tuner-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="hparam: KerasTuner's folder, shared by the chief and the workers of a distributed "
    "search (KERASTUNER_TUNER_ID/_ORACLE_IP/_ORACLE_PORT set per process). [default: a temp dir]",
)
@uses_keras
def experiment_cmd(name, out, fast, seed, dataset, trials, tuner_dir) -> None:
    from kerascnn.experiments import run_experiment

    own = {k: v for k, v in dict(trials=trials, tuner_dir=tuner_dir).items() if v is not None}
    result = run_experiment(name, out, fast=fast, seed=seed, dataset=dataset, **own)
    for finding in result.findings:
        click.echo(f"- {finding}")
    if result.out_dir is not None:
        click.echo(f"wrote {result.out_dir}/README.md")
