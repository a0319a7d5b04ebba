"""``kerascnn report``: rebuild a run folder's README, results.csv and plots, or print them."""

from __future__ import annotations

import click

from kerascnn.cli._base import uses_keras
from kerascnn.cli._options import COMPARE, FORMAT


@click.command("report")
@click.argument("run_dir", type=click.Path())
@COMPARE.but(
    type=click.Path(),
    help="Another run folder: add a table of deltas. Runs that differ in protocol (budget), "
    "steps, dataset, train/test images, image size, precise BN or seeds are still compared, "
    "with a warning: a printed line and a '⚠ Not comparable' note at the top of the "
    "comparison name each difference (the table stays; nothing is refused).",
)
@click.option("--plots/--no-plots", default=True, show_default=True, help="Draw the PNG figures.")
@FORMAT.but(
    type=click.Choice(["md", "csv", "json"]),
    default=None,
    help="Print the results instead of rebuilding the README: md = the README's result "
    "tables, csv/json = one flat row per run (the columns of RUN_DIR/results.csv).",
)
@uses_keras
def report_cmd(run_dir, compare, plots, fmt) -> None:
    """Rebuild RUN_DIR/README.md, results.csv and the plots from the stored JSON results alone.

    \b
    Examples:
      kerascnn report reports/runs/20260101T120000Z --compare reports/runs/20251201T090000Z
      kerascnn report reports/runs/20260101T120000Z --format csv > results.csv
    """
    from kerascnn.record.store import describe_unreadable
    from kerascnn.report import build_report, load_run

    _check_is_folder(run_dir)
    if fmt is not None:
        from kerascnn.report.tables import results_text

        click.echo(results_text(load_run(run_dir), fmt), nl=False)
    else:
        click.echo(f"Report: {build_report(run_dir, compare=compare, plots=plots)}")
        if compare is not None:
            from kerascnn.report.tables import not_comparable

            diffs = not_comparable(load_run(run_dir), load_run(compare))
            if diffs:
                click.echo(
                    f"Warning: {run_dir} and {compare} are not comparable: {'; '.join(diffs)}. "
                    "The comparison is in the report, under a note naming these.",
                    err=True,
                )
    unreadable = load_run(run_dir).unreadable
    if unreadable:
        click.echo(
            f"Warning: {len(unreadable)} result file(s) in {run_dir}/results cannot be read and "
            f"are left out of the tables (listed in the report): {describe_unreadable(unreadable)}",
            err=True,
        )


def _check_is_folder(run_dir: str) -> None:
    """A file given for RUN_DIR (its results.csv, README.md): say so, and name its folder."""
    from pathlib import Path

    from kerascnn.errors import ReportError

    path = Path(run_dir)
    if path.is_file():
        raise ReportError(
            f"{run_dir} is a file; kerascnn report takes a run folder (the one holding "
            f"results/): pass its folder, {path.parent}. Received: {run_dir}"
        )
