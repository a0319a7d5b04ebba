"""``kerascnn experiment NAME``: the small real experiments of :mod:`kerascnn.experiments`."""

from __future__ import annotations

import click

from kerascnn.cli._base import uses_keras
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
    ]
)


@click.command("experiment", help=_HELP)
@click.argument("name", metavar="NAME", type=click.Choice(list(EXPERIMENTS)))
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Report folder. [default: a fresh reports/runs/experiments/NAME-<UTC time>; the "
    "published report is rewritten only when asked: --out reports/experiments/NAME]",
)
@click.option(
    "--fast", is_flag=True, help="Few images and epochs: seconds instead of a minute or two."
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--dataset", default="fashion_mnist_mini", show_default=True)
@uses_keras
def experiment_cmd(name, out, fast, seed, dataset) -> None:
    from kerascnn.experiments import run_experiment

    result = run_experiment(name, out, fast=fast, seed=seed, dataset=dataset)
    for finding in result.findings:
        click.echo(f"- {finding}")
    click.echo(f"wrote {result.out_dir}/README.md")
