"""``kerascnn export`` and ``kerascnn deploy``: trained models to LiteRT (float, dynamic-range,
int8, float16), ONNX Runtime and OpenVINO, checked and measured in those runtimes."""

from __future__ import annotations

import sys

import click

from kerascnn.cli._base import uses_keras
from kerascnn.cli._options import (
    BATCH_SIZE,
    DATASET,
    FORMAT,
    OUT,
    TEST_LIMIT,
    deprecated,
    option,
    options,
)
from kerascnn.deploy.targets import DEFAULT_TARGETS, FORMATS, QUANTIZATIONS, TARGETS

_SOURCES = click.argument("sources", nargs=-1, required=True, type=click.Path())
_COMMON = options(
    DATASET.but(
        default=None,
        show_default=None,
        help="Test and calibration images for .keras files given directly "
        "[default: the run's own dataset; fashion_mnist_mini for loose files].",
    ),
    option(
        "--calibration-images",
        type=click.IntRange(1),
        default=300,
        show_default=True,
        help="Training images that calibrate full-integer (int8) quantization.",
    ),
    option(
        "--int8-io",
        is_flag=True,
        help="int8 inputs and outputs too (default: float32 in and out around an int8 model).",
    ),
    option(
        "--threads",
        type=click.IntRange(1),
        default=None,
        help="Threads of every runtime [default: each runtime's own choice: LiteRT's is 1 "
        "thread, the others use every core; give it for an equal comparison].",
    ),
)
"""The options export and deploy share."""

_CHECK_LIMIT = TEST_LIMIT.but(
    default=256,
    show_default=True,
    help="Test images the exported outputs are compared on with the Keras model's.",
)
"""export's test subset (``--check-images`` before)."""
_BATCH_SIZE = BATCH_SIZE.but(default=32, show_default=True, help="N of batch-N throughput.")
"""deploy's batch size (``--batch`` before)."""


@click.command("export")
@_SOURCES
@FORMAT.but(type=click.Choice(FORMATS), required=True, help="The artifact to write.")
@click.option(
    "--quantize",
    type=click.Choice(QUANTIZATIONS),
    default="none",
    show_default=True,
    help="LiteRT only: dynamic = int8 weights, int8 = full integer, float16 = half weights.",
)
@OUT.but(type=click.Path(), help="Folder [default: beside the model].")
@_CHECK_LIMIT
@deprecated("--check-images", _CHECK_LIMIT)
@_COMMON
@uses_keras
def export_cmd(
    sources, fmt, quantize, out, test_limit, dataset, calibration_images, int8_io, threads
):
    """Export SOURCES (a `kerascnn bench --save-models` run folder, or .keras files) and check
    every artifact in its runtime against the Keras model.

    Float formats must agree within 1e-4 relative; quantized ones report how often their top-1
    class is the Keras model's. Exit code 1 when a float artifact disagrees.

    \b
    Examples:
      kerascnn export reports/runs/<time> --format litert --quantize int8
      kerascnn export lenet.keras --format onnx --out exported/
    """
    from kerascnn.deploy.runner import DeploySettings, export_models, models_of
    from kerascnn.deploy.targets import target_for
    from kerascnn.errors import KerasCNNError

    target = target_for(fmt, quantize)
    settings = DeploySettings(
        threads=threads, calibration_images=calibration_images, int8_io=int8_io
    )
    done = export_models(
        models_of(list(sources), dataset),
        target,
        out,
        settings,
        check_images=test_limit,
        echo=click.echo,
    )
    bad = [str(path) for path, check in done if not check.ok]
    if bad:
        raise KerasCNNError(
            f"{len(bad)} artifact(s) disagree with the Keras model: {', '.join(bad)}"
        )


@click.command("deploy")
@_SOURCES
@click.option(
    "--targets",
    default=None,
    help=f"Comma-separated, from: {', '.join(TARGETS)}. [default: {','.join(DEFAULT_TARGETS)}; "
    "a target whose runtime is not installed is skipped with one line]",
)
@OUT.but(
    type=click.Path(),
    help="Where deploy.csv, DEPLOY.md and deploy/ go [default: the run folder].",
)
@_BATCH_SIZE
@deprecated("--batch", _BATCH_SIZE)
@click.option(
    "--seconds",
    type=click.FloatRange(0.05),
    default=1.0,
    show_default=True,
    help="Timing per latency/throughput figure (after warm-up calls).",
)
@TEST_LIMIT.but(
    help="Evaluate on N test images (the bench's seeded subset) [default: the run's own].",
)
@_COMMON
@uses_keras
def deploy_cmd(
    sources, targets, out, batch_size, seconds, test_limit, dataset, calibration_images, int8_io,
    threads,
):  # fmt: skip
    """Export every trained model of SOURCES to every target and measure it in that runtime:
    top-1 and its drop against Keras, file size, batch-1 latency p50/p95, batch-N images/s.

    SOURCES: a `kerascnn bench --save-models` run folder, or .keras files. Writes deploy.csv,
    deploy/<run>__<target>.json, DEPLOY.md and deploy.png; a failing conversion is recorded
    for its (model, target) and the rest goes on; a missing runtime is skipped with one line.

    \b
    Examples:
      kerascnn bench --models lenet --epochs 1 --save-models --out runs/a && kerascnn deploy runs/a
      kerascnn deploy runs/a --targets keras,litert-int8,onnx --threads 1
    """
    from kerascnn.deploy.runner import DeploySettings, default_out, models_of, run_deploy
    from kerascnn.deploy.targets import parse_targets
    from kerascnn.report.deploy import write_deploy_report

    chosen = parse_targets(targets)
    models = models_of(list(sources), dataset)
    out = out or default_out(list(sources))
    settings = DeploySettings(
        threads=threads,
        batch=batch_size,
        seconds=seconds,
        calibration_images=calibration_images,
        int8_io=int8_io,
        test_limit=test_limit,
    )
    rows = run_deploy(
        models, chosen, out, settings, echo=click.echo, argv=["kerascnn", *sys.argv[1:]]
    )
    click.echo(f"Report: {write_deploy_report(out)}")
    failed = [f"{r['model']}->{r['target']}" for r in rows if r["status"] == "failed"]
    ok = sum(r["status"] == "ok" for r in rows)
    click.echo(
        f"{ok} ok, {len(failed)} failed, {len(rows) - ok - len(failed)} skipped; {out}/deploy.csv"
    )
    if failed:
        sys.exit(1)
