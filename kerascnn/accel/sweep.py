"""``kerascnn throughput``: synthetic-data throughput sweeps over models x modes x batch sizes.

Like timm's benchmark.py: for each (model, mode, batch size) one point measured by
:func:`kerascnn.accel.throughput.measure_point` (compile time apart, warm-up excluded, the
median and spread of synchronized windows), images/s, achieved GFLOP/s from our MAC count
(inference = 2 x MACs per image, training = 3 x that) and peak memory where the backend tells.
Inference points time the model with its BatchNorms folded into the convolutions before them
(``fold_bn=True``, the default; ``kerascnn throughput --no-fold-bn`` times the model as built);
each row's ``bn_folded`` says how many were folded (0 for training points). Training points on
TensorFlow run through the fused kernels of :mod:`kerascnn.accel.fused_train` (``fused_train``,
the default; ``--no-fused-train`` runs Keras's own ops); each row's ``fused_train`` says which.
A point that runs out of memory is stored with status ``"oom"``, any other failure with
``"error"`` and its message; the sweep goes on either way.

The runner measures and stores, nothing else: ``results.json`` (schema
:data:`kerascnn.record.throughput.SCHEMA_VERSION`, the environment, the config, one row per point) and ``results.csv``
(the same rows, flat), rewritten after every point so an interrupted sweep keeps its points.
The README and plot come from :mod:`kerascnn.report.throughput`, which reads the JSON only.

    >>> from kerascnn.accel.sweep import run_sweep
    >>> outcome = run_sweep(["resnet18"], image_size=224, batch_sizes=[1, 8], modes=["infer"])
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import gc
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kerascnn._utils import split_list
from kerascnn.accel import throughput
from kerascnn.data.resize import check_image_size
from kerascnn.errors import ArgumentError, is_out_of_memory
from kerascnn.record.layout import default_run_dir
from kerascnn.record.throughput import new_document, write_throughput

TRAIN_FLOPS_FACTOR = 3
"""Training FLOPs = 3 x inference FLOPs (forward + two backward matmuls per layer)."""


def flops_per_image(macs: int, mode: str) -> int:
    """FLOPs of one image: inference 2 x MACs, training 3 x that."""
    return 2 * macs * (TRAIN_FLOPS_FACTOR if mode == "train" else 1)


def parse_batch_sizes(text: str | Sequence[int]) -> list[int]:
    """``"1,8,32"`` -> ``[1, 8, 32]`` (sorted, unique, each a positive integer)."""
    items = split_list(text) if isinstance(text, str) else list(text)
    try:
        sizes = [int(str(i).strip()) for i in items if str(i).strip()]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise ArgumentError(
            "batch sizes must be a comma-separated list of positive integers, e.g. 1,8,32. "
            f"Received: {text!r}"
        )
    return sorted(set(sizes))


def parse_modes(text: str | Sequence[str]) -> list[str]:
    """``"train,infer"`` -> ``["train", "infer"]``; each one of :data:`throughput.MODES`."""
    items = split_list(text) if isinstance(text, str) else list(text)
    modes = list(dict.fromkeys(m.strip() for m in items if m.strip()))
    bad = [m for m in modes if m not in throughput.MODES]
    if bad or not modes:
        raise ArgumentError(
            f"mode must be a comma-separated list of {', '.join(throughput.MODES)}. "
            f"Received: {text!r}"
        )
    return modes


def default_out() -> Path:
    return default_run_dir("reports/throughput")


@dataclass
class SweepOutcome:
    out: Path
    rows: list[dict] = field(default_factory=list)
    wall_seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def exit_code(self) -> int:
        """0 when every point is ok or oom; 1 when any point errored."""
        return 1 if self.count("error") else 0


def parse_image_size(value) -> tuple[int, int]:
    """``224``, ``"224"``, ``"224,160"`` or ``(224, 160)`` -> ``(height, width)``."""
    try:
        size = check_image_size(value)
    except ArgumentError:
        size = None
    if size is None:
        raise ArgumentError(
            "image_size must be a positive size H or H,W in pixels (224 means 224x224). "
            f"Received: image_size={value!r}"
        )
    return size


def size_label(size: tuple[int, int]) -> int | str:
    """How a record stores an image size: ``224`` for 224x224, ``"224x160"`` otherwise."""
    return size[0] if size[0] == size[1] else f"{size[0]}x{size[1]}"


def build_model(spec: str, image_size, precision: str = "float32"):
    """``spec`` at ``image_size`` (``224`` or ``(height, width)``, its own channel count), 1000
    classes, logits out."""
    from kerascnn.models import create_model, model_info

    channels = model_info(spec).input_shape[-1]
    height, width = parse_image_size(image_size)
    with throughput.dtype_policy(precision):
        return create_model(
            spec,
            input_shape=(height, width, channels),
            num_classes=1000,
            classifier_activation=None,
        )


def _short(exc: BaseException, limit: int = 500) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_sweep(
    models: Sequence[str],
    *,
    image_size: int | tuple[int, int] | str = 224,
    batch_sizes: Sequence[int] | str = (1, 8, 32),
    modes: Sequence[str] | str = ("train", "infer"),
    precision: str = "float32",
    xla: bool | None = None,
    steps: int | None = None,
    windows: int = 5,
    warmup: int = 2,
    window_s: float = 1.0,
    optimizer: str = throughput.DEFAULT_OPTIMIZER,
    fold_bn: bool = True,
    fused_train: bool = True,
    out: str | Path | None = None,
    echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
    argv: list[str] | None = None,
) -> SweepOutcome:
    """Measure every (model, mode, batch size) point; store results.json and results.csv.
    ``image_size``: ``224`` (224x224) or ``(height, width)``; ``fold_bn``: inference points
    time the model with its BatchNorms folded (:mod:`kerascnn.accel.fold_bn`); ``fused_train``:
    training points run through TensorFlow's fused kernels (:mod:`kerascnn.accel.fused_train`)."""
    from kerascnn.measure.environment import environment

    backend = throughput.check_backend()
    throughput.check_precision(precision)
    sizes, modes = parse_batch_sizes(batch_sizes), parse_modes(modes)
    image_size = size_label(parse_image_size(image_size))
    models = _check_models(models, optimizer)
    path, use_xla = throughput.choose_path(xla, backend)
    out = Path(out) if out else default_out()
    out.mkdir(parents=True, exist_ok=True)
    env = environment(argv)
    config = {
        "models": models, "image_size": image_size, "batch_sizes": sizes, "modes": modes,
        "precision": precision, "xla": xla, "path": path, "steps": steps, "windows": windows,
        "warmup": warmup, "window_s": window_s, "optimizer": optimizer, "seed": 0,
        "fold_bn": fold_bn, "fused_train": fused_train,
    }  # fmt: skip
    doc = _document(config, env)
    outcome = SweepOutcome(out, doc["rows"])
    t_start = time.perf_counter()
    total = len(models) * len(modes) * len(sizes)
    echo(f"Throughput sweep: {total} points, {backend} via {path}, {precision}; results in {out}")
    measure = dict(xla=use_xla, steps=steps, windows=windows, warmup=warmup,
                   window_s=window_s, optimizer=optimizer, fold_bn=fold_bn,
                   fused_train=fused_train)  # fmt: skip
    for spec in models:
        base = {"model": spec, "image_size": image_size, "precision": precision}
        base.update(backend=backend, device=env.device, path=path, xla=use_xla)
        for row in _model_points(spec, base, image_size, precision, modes, sizes, measure):
            outcome.rows.append(row)
            doc["wall_s"] = time.perf_counter() - t_start
            write_throughput(out, doc)
            echo(_progress(len(outcome.rows), total, row))
        gc.collect()
    outcome.wall_seconds = time.perf_counter() - t_start
    return outcome


def _document(config: dict, env) -> dict:
    """A new results document (no rows yet), created now."""
    return new_document(
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        config=config,
        environment=dataclasses.asdict(env),
    )


def _check_models(models, optimizer) -> list[str]:
    """The model names, stripped, once the arguments a sweep measures with are checked."""
    models = [m.strip() for m in models if m.strip()]
    if not models:
        raise ArgumentError(f"Give at least one model. Received: models={list(models)!r}")
    if optimizer not in throughput.OPTIMIZERS:
        raise ArgumentError(
            f"optimizer must be one of {', '.join(throughput.OPTIMIZERS)}. "
            f"Received: optimizer={optimizer!r}"
        )
    from kerascnn.models import model_info

    for m in models:  # unknown names fail before any measurement (the registry's message)
        model_info(m)
    return models


def _model_points(spec, base, image_size, precision, modes, sizes, measure):
    """Yield the row of every (mode, batch size) point of one model; ``base`` gains the model's
    MACs and parameters. A model that cannot be built gives an error row for every point."""
    try:
        model = build_model(spec, image_size, precision)
        from kerascnn.analysis import profile

        macs = int(profile(model).total_macs)
        base.update(macs=macs, params=int(model.count_params()))
        initial = model.get_weights()
    except Exception as exc:  # a model that cannot be built: every point of it errors
        model, macs, initial = None, None, None
        build_error = exc
    for mode in modes:
        for batch in sizes:
            row = {**base, "mode": mode, "batch_size": batch}
            if model is None:
                row.update(status="error", error=f"build failed: {_short(build_error)}")
            else:
                model.set_weights(initial)  # every point starts from the same weights
                row.update(_point(model, mode, batch, macs, **measure))
            yield row


def _point(model, mode, batch, macs, **measure):
    try:
        r = throughput.measure_point(model, mode, batch, **measure)
    except Exception as exc:
        gc.collect()
        return {"status": "oom" if is_out_of_memory(exc) else "error", "error": _short(exc)}
    r.pop("mode"), r.pop("batch_size")
    r["status"] = "ok"
    r["gflops_per_s"] = r["images_per_s"] * flops_per_image(macs, mode) / 1e9
    return r


def _progress(i: int, total: int, row: dict) -> str:
    head = f"[{i}/{total}] {row['model']} {row['mode']} batch {row['batch_size']}:"
    if row["status"] != "ok":
        return f"{head} {row['status'].upper()} {row.get('error', '')[:200]}"
    return (
        f"{head} {row['images_per_s']:,.1f} img/s, {row['step_ms_median']:,.1f} ms/step "
        f"(x{row['steps_per_window']} x{row['windows']}), {row['gflops_per_s']:,.1f} GFLOP/s, "
        f"compile {row['compile_s']:.1f} s"
    )
