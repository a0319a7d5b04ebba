"""A benchmark run as one flat row: the ``results.csv`` of a run folder, ``report --format``.

One row per stored run (:class:`~kerascnn.record.run.RunRecord`), with the columns of
:data:`COLUMNS` first, in that order; a program reads the CSV (``pandas.read_csv``), a person
the README beside it. Everything else a record holds is in its JSON file
(``pandas.json_normalize`` of the records flattens the rest).

Neutral ground like :mod:`kerascnn.record.run`: bench writes the file after every run, report
rewrites it with the README, both through :func:`write_results_csv`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kerascnn.record.layout import results_csv_path
from kerascnn.record.run import CurvePoint, RunRecord
from kerascnn.record.tabular import write_csv

COLUMNS = (
    *("model", "dataset", "image_size", "seed", "status", "params", "macs", "top1", "top5"),
    *("latency_b1_p50_ms", "latency_bN_p50_ms", "latency_batch", "bn_folded"),
    *("train_images_per_s", "infer_images_per_s"),
    *("protocol", "budget_seconds", "steps", "epochs", "train_seconds", "eval_seconds"),
    *("still_rising", "at_chance", "precise_bn_batches", "top1_stale"),
    *("batch_size", "optimizer", "learning_rate", "recipe", "precision", "jit_compile"),
    "fused_train",
    *("num_processes", "replicas"),
    *("backend", "device", "keras", "config_hash", "key", "error_type", "finished", "commit"),
)
"""The columns of ``results.csv``, in order."""

RISING_MARGIN = 0.005
"""A run is "still rising" when its final test accuracy beats every earlier point of its curve
by at least this much (half a percentage point; 1,000 test images resolve about 1.4 points)."""


CHANCE_MARGIN = 0.02
"""A top-1 within this much (2 points) of guessing, 1 / classes, is "at chance"."""


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def curve_of(record: RunRecord) -> list[CurvePoint]:
    """The run's test-accuracy curve; for a record written before curves were stored, the one
    its per-epoch logs give (``val_acc`` at the cumulative epoch times, which there include
    the evaluations)."""
    if record.curve:
        return record.curve
    accs = (record.history or {}).get("val_acc") or []
    train = record.train
    if not accs or train is None or len(train.epoch_seconds) < len(accs):
        return []
    points, seconds = [], 0.0
    for epoch, (acc, dt) in enumerate(zip(accs, train.epoch_seconds), start=1):
        seconds += dt
        points.append(
            CurvePoint(
                step=epoch * train.steps_per_epoch,
                epoch=float(epoch),
                train_seconds=seconds,
                top1=acc,
            )
        )
    return points


def total_steps(record: RunRecord) -> int | None:
    """Optimizer steps of the run (from the epochs for records that did not store them)."""
    train = record.train
    if train is None:
        return None
    if train.steps is not None:
        return train.steps
    return record.epochs_completed * train.steps_per_epoch if record.epochs_completed else None


def still_rising(record: RunRecord) -> bool | None:
    """Whether the test accuracy was still rising at the end (None without a curve of 2+ points)."""
    points = [p.top1 for p in curve_of(record) if p.top1 is not None]
    if len(points) < 2:
        return None
    return points[-1] >= max(points[:-1]) + RISING_MARGIN


def at_chance(record: RunRecord) -> bool | None:
    """Whether the run's top-1 is within :data:`CHANCE_MARGIN` of guessing (or below it)."""
    if record.test is None or record.dataset_info is None:
        return None
    return record.test.top1 <= 1 / record.dataset_info.num_classes + CHANCE_MARGIN


def compile_seconds(record: RunRecord) -> float:
    """The tracing and compilation inside the run's first training step (0 for a budget run,
    whose calibration compiled the step before the training)."""
    warmup = record.train.warmup_seconds if record.train else None
    return max(warmup or 0.0, 0.0)


def train_seconds(record: RunRecord) -> float | None:
    """The run's training time: its steps, without the test evaluations between them and the
    compilation of the first (what a budget run spends of its budget)."""
    train = record.train
    if train is None:
        return None
    total = train.step_seconds_total if train.step_seconds_total is not None else train.seconds
    return total - compile_seconds(record)


def _image_size(record: RunRecord) -> str | None:
    """``HxW`` the model saw: ``--image-size``, else the images' own size."""
    info = record.dataset_info
    if info is None:
        return None
    size = info.image_size or info.input_shape[:2]
    return "x".join(str(d) for d in size)


def flat_row(record: RunRecord) -> dict[str, Any]:
    """The CSV row of one run (:data:`COLUMNS`)."""
    r, env = record, record.environment
    protocol = r.protocol.kind if r.protocol else (r.config or {}).get("protocol", "epochs")
    epochs = r.epochs_completed if protocol == "epochs" else _get(r, "train", "epochs_equivalent")
    return {
        "model": r.model,
        "dataset": r.dataset,
        "image_size": _image_size(r),
        "seed": r.seed,
        "status": r.status,
        "params": r.params,
        "macs": r.macs,
        "top1": _get(r, "test", "top1"),
        "top5": _get(r, "test", "top5"),
        "latency_b1_p50_ms": _get(r, "inference", "latency_b1", "p50_ms"),
        "latency_bN_p50_ms": _get(r, "inference", "latency_bN", "p50_ms"),
        "latency_batch": _get(r, "inference", "latency_bN", "batch"),
        "bn_folded": _get(r, "inference", "bn_folded"),
        "train_images_per_s": _get(r, "train", "images_per_s"),
        "infer_images_per_s": _get(r, "inference", "device_throughput", "images_per_s"),
        "protocol": protocol,
        "budget_seconds": _get(r, "protocol", "budget_seconds"),
        "steps": total_steps(r),
        "epochs": epochs,
        "train_seconds": train_seconds(r),
        "eval_seconds": r.eval_seconds,
        "still_rising": still_rising(r),
        "at_chance": at_chance(r),
        "precise_bn_batches": _get(r, "precise_bn", "batches"),
        "top1_stale": _get(r, "precise_bn", "top1_stale"),
        "batch_size": (r.config or {}).get("batch_size"),
        "optimizer": (r.config or {}).get("optimizer"),
        "learning_rate": (r.config or {}).get("learning_rate"),
        "recipe": _get(r, "config", "recipe", "name"),
        "precision": (r.config or {}).get("precision"),
        "jit_compile": r.jit_compile,
        "fused_train": r.fused_train,
        "num_processes": _get(r, "data_parallel", "num_processes")
        or (1 if r.data_parallel else None),
        "replicas": _get(r, "data_parallel", "replicas"),
        "backend": env.backend if env else None,
        "device": env.device if env else None,
        "keras": env.versions.get("keras") if env else None,
        "config_hash": r.config_hash,
        "key": r.key,
        "error_type": r.error.type if r.error else None,
        "finished": r.finished,
        "commit": _get(env, "git", "commit"),
    }


def flat_rows(records: Iterable[RunRecord]) -> list[dict[str, Any]]:
    return [flat_row(r) for r in records]


def write_results_csv(run_dir: str | os.PathLike, records: Iterable[RunRecord]) -> Path:
    """``RUN_DIR/results.csv``: one row per record, written atomically."""
    return write_csv(results_csv_path(run_dir), flat_rows(records), COLUMNS)


__all__ = [
    "CHANCE_MARGIN",
    "COLUMNS",
    "RISING_MARGIN",
    "at_chance",
    "compile_seconds",
    "flat_row",
    "flat_rows",
    "curve_of",
    "still_rising",
    "total_steps",
    "train_seconds",
    "write_results_csv",
]
