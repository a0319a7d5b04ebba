"""``kerascnn throughput``: synthetic-data throughput sweeps (models x modes x batch sizes)."""

from __future__ import annotations

import sys

import click

from kerascnn.cli._base import EXIT_USER_ERROR, uses_keras
from kerascnn.cli._options import (
    BACKEND,
    COMPARE,
    IMAGE_SIZE,
    JIT,
    MODELS,
    OPTIMIZER,
    OPTIMIZER_HELP,
    OUT,
    PRECISION,
    PRECISION_HELP,
    deprecated,
    option,
)

_JIT = JIT.but(
    help="XLA compilation on or off (TensorFlow). [default: auto: TensorFlow on a CPU without "
    "XLA, on a GPU with XLA; JAX always jax.jit]",
)


FOLD_BN = option(
    "--fold-bn/--no-fold-bn",
    "fold_bn",
    default=True,
    show_default=True,
    help="Time inference with each BatchNorm folded into the convolution before it (exact up to "
    "float32 rounding; the rows' bn_folded says how many); --no-fold-bn times the model as built.",
)
"""BatchNorm folding of the timed inference (kerascnn.accel.fold_bn); this command's alone."""

FUSED_TRAIN = option(
    "--fused-train/--no-fused-train",
    "fused_train",
    default=True,
    show_default=True,
    help="Time training through TensorFlow's fused kernels (BatchNorm, the optimizer's update, "
    "3x3 convolutions on 1x1 maps as one product; same arithmetic as Keras up to float32 "
    "rounding; the rows' fused_train says which); --no-fused-train runs Keras's own ops.",
)
"""The fused training kernels of the timed training (kerascnn.accel.fused_train)."""


def _command_line(ctx: click.Context) -> list[str]:
    """The command as typed; when called in-process (tests, CliRunner), rebuilt from its options."""
    if "throughput" in sys.argv[1:]:
        return ["kerascnn", *sys.argv[1:]]
    out = ["kerascnn", "throughput"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or param.hidden:
            continue
        if isinstance(value, bool):
            out.append(param.opts[0] if value else param.secondary_opts[0])
        elif isinstance(value, tuple):  # --image-size H,W
            out += [param.opts[0], ",".join(map(str, value))]
        else:
            out += [param.opts[0], str(value)]
    return out


@click.command("throughput")
@MODELS.but(
    default="resnet18,mobilenetv2",
    show_default=True,
    help="Comma-separated model specs, e.g. 'resnet18,vgg11(width=0.25)'.",
)
@IMAGE_SIZE.but(
    default="224",
    show_default=True,
    help="Input height and width: 224 (224x224) or H,W.",
)
@click.option(
    "--batch-sizes",
    default="1,8,32",
    show_default=True,
    help="Comma-separated batch sizes; one that runs out of memory is stored as 'oom'.",
)
@click.option(
    "--mode",
    "modes",
    default="train,infer",
    show_default=True,
    help="Comma-separated, from: train, infer.",
)
@PRECISION.but(default="float32", show_default=True, help=PRECISION_HELP)
@_JIT
@deprecated("--xla/--no-xla", _JIT)
@BACKEND.but(
    type=click.Choice(["tensorflow", "jax"]),
    help="Keras backend (sets KERAS_BACKEND). [default: $KERAS_BACKEND or tensorflow]",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Steps per timed window. [default: enough to last --window-s]",
)
@click.option("--windows", type=click.IntRange(min=1), default=5, show_default=True,
              help="Timed windows per point (median and min/max reported).")  # fmt: skip
@click.option("--warmup", type=click.IntRange(min=0), default=2, show_default=True,
              help="Untimed steps after the compile call.")  # fmt: skip
@click.option("--window-s", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Target seconds per window when --steps is not given.")  # fmt: skip
@OPTIMIZER.but(
    default="momentum",
    show_default=True,
    help=f"Training optimizer: {OPTIMIZER_HELP} Learning rate 0.01 (sgd, momentum) or 1e-3.",
)
@FOLD_BN
@FUSED_TRAIN
@OUT.but(help="Output folder. [default: reports/throughput/<UTC time>]")
@COMPARE.but(
    type=click.Path(file_okay=False),
    help="Another throughput folder (e.g. the same sweep with --jit): its points go beside "
    "these in the README and plot.",
)
@uses_keras
def throughput_cmd(
    models, image_size, batch_sizes, modes, precision, jit, backend, steps, windows, warmup,
    window_s, optimizer, fold_bn, fused_train, out, compare,
) -> None:  # fmt: skip
    """Images/s per model, mode and batch size on synthetic device-resident data (like timm's
    benchmark.py); writes results.json, results.csv, README.md and throughput.png.

    \b
    Example:
      kerascnn throughput --models resnet18,mobilenetv2 --image-size 224 \\
          --batch-sizes 1,8,32,128 --mode train,infer --out reports/throughput-cpu
    The same points forced through XLA, then a README comparing both:
      kerascnn throughput ... --jit --out reports/throughput-cpu/xla
      kerascnn throughput ... --out reports/throughput-cpu --compare reports/throughput-cpu/xla
    Exit code: 0 when every point is ok or out of memory ('oom'), 1 when any point errored.
    """
    from kerascnn._utils import split_list
    from kerascnn.accel.sweep import run_sweep
    from kerascnn.record.throughput import read_throughput
    from kerascnn.report.throughput import write_throughput_report

    if compare:
        read_throughput(compare)  # a bad --compare fails before the sweep, not after
    outcome = run_sweep(
        split_list(models),
        image_size=image_size,
        batch_sizes=batch_sizes,
        modes=modes,
        precision=precision,
        xla=jit,
        steps=steps,
        windows=windows,
        warmup=warmup,
        window_s=window_s,
        optimizer=optimizer,
        fold_bn=fold_bn,
        fused_train=fused_train,
        out=out,
        echo=lambda s: click.echo(s, err=True),
        argv=_command_line(click.get_current_context()),
    )
    click.echo(f"Report: {write_throughput_report(outcome.out, compare=compare)}")
    click.echo(
        f"{outcome.count('ok')} ok, {outcome.count('oom')} out of memory, "
        f"{outcome.count('error')} failed in {outcome.wall_seconds:.0f} s; results in {outcome.out}"
    )
    if outcome.exit_code:
        click.echo(
            "Failed points are listed in the README and results.csv (column error).", err=True
        )
        sys.exit(EXIT_USER_ERROR)
