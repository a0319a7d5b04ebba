"""Optimizers, the learning-rate schedule and compilation of a benchmark run (Keras: run-time only).

One schedule class, :class:`RunSchedule`, for every ``BenchConfig.schedule``: a linear warm-up
to the peak rate, then constant, cosine to zero, or one-cycle (cosine to peak/1e4). Its length
(total and warm-up steps) is either fixed numbers or two optimizer variables
(:meth:`RunSchedule.adjustable`): a budget run compiles its training step once, times a few
steps of it, then sets the length it can afford without tracing the step again.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from kerascnn._compile import compile_model
from kerascnn.accel.fused_train import optimizer_class

SCHEDULE_KINDS = ("constant", "cosine", "one-cycle")


@keras.saving.register_keras_serializable(package="kerascnn")
class RunSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``peak / 10`` (one-cycle: ``peak / 25``) to ``peak`` over
    ``warmup_steps``, then ``kind``: ``"constant"`` at the peak, ``"cosine"`` down to 0 or
    ``"one-cycle"`` down to ``peak / 1e4`` at ``total_steps``.

    ``total_steps`` and ``warmup_steps`` are numbers or Keras variables (read at every step).
    """

    def __init__(self, kind: str, peak: float, total_steps, warmup_steps):
        if kind not in SCHEDULE_KINDS:
            raise ValueError(
                f"kind must be one of {', '.join(SCHEDULE_KINDS)}. Received: kind={kind!r}"
            )
        self.kind = kind
        self.peak = float(peak)
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps

    def adjustable(self, optimizer) -> tuple[Any, Any]:
        """Make the length two variables of ``optimizer`` (tracked with its state on every
        backend); returns (total, warm-up) for :meth:`set_length`-style assignment."""
        values = (self.total_steps, self.warmup_steps)
        total, warm = (
            optimizer.add_variable((), initializer=keras.initializers.Constant(float(v)), name=n)
            for v, n in zip(values, ("schedule_total_steps", "schedule_warmup_steps"))
        )
        self.total_steps, self.warmup_steps = total, warm
        return total, warm

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        total = ops.cast(self.total_steps, "float32")
        warm = ops.cast(self.warmup_steps, "float32")
        start = self.peak / (25.0 if self.kind == "one-cycle" else 10.0)
        up = start + (self.peak - start) * ops.minimum(step / ops.maximum(warm, 1.0), 1.0)
        if self.kind == "constant":
            return ops.where(step < warm, up, self.peak)
        end = self.peak / 1e4 if self.kind == "one-cycle" else 0.0
        frac = ops.clip((step - warm) / ops.maximum(total - warm, 1.0), 0.0, 1.0)
        down = end + (self.peak - end) * 0.5 * (1.0 + ops.cos(math.pi * frac))
        return ops.where(step < warm, up, down)

    def get_config(self):
        def number(v):
            return float(keras.ops.convert_to_numpy(v)) if isinstance(v, keras.Variable) else v

        return {
            "kind": self.kind,
            "peak": self.peak,
            "total_steps": number(self.total_steps),
            "warmup_steps": number(self.warmup_steps),
        }


def schedule_length(cfg, steps_per_epoch: int, steps: int | None = None) -> tuple[int, int]:
    """(total steps, warm-up steps) of ``cfg`` (a BenchConfig).

    Under the epoch protocol: ``epochs`` x ``steps_per_epoch`` and ``warmup_epochs`` worth of
    steps. Under the budget/steps protocols ``steps`` is the run's length; the warm-up stays
    ``warmup_epochs`` of data but at most a fifth of the run (a 30-second run of a slow model
    may not see a quarter of an epoch). One-cycle without a warm-up warms up for 30%.
    """
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    total = max(1, steps_per_epoch * cfg.epochs) if steps is None else max(1, steps)
    if steps is not None:
        warm = min(warm, total // 5)
    if cfg.schedule == "one-cycle" and warm == 0:
        warm = max(1, int(0.3 * total))
    return total, warm


def make_schedule(cfg, total: int, warm: int) -> RunSchedule:
    """The learning rate of ``cfg`` over ``total`` steps (``warm`` of them warming up)."""
    return RunSchedule(cfg.schedule, cfg.resolved_learning_rate(), total, warm)


def make_optimizer(cfg, schedule, fused: bool = False):
    """The optimizer of ``cfg`` (a BenchConfig) following ``schedule``; ``fused``: its class
    with TensorFlow's fused update kernel where there is one (same arithmetic,
    :func:`kerascnn.accel.fused_train.optimizer_class`)."""
    wd = float(cfg.weight_decay) or None
    sgd, adam = keras.optimizers.SGD, keras.optimizers.Adam
    if fused:
        sgd, adam = optimizer_class(sgd), optimizer_class(adam)
    if cfg.optimizer == "sgd":
        return sgd(schedule, weight_decay=wd)
    if cfg.optimizer == "momentum":
        return sgd(schedule, momentum=cfg.momentum, nesterov=True, weight_decay=wd)
    if cfg.optimizer == "adam":
        return adam(schedule, weight_decay=wd)
    return keras.optimizers.AdamW(schedule, weight_decay=float(cfg.weight_decay))


def compile_for_training(net, cfg, optimizer, num_classes: int) -> None:
    """``net.compile`` with ``optimizer``, the run's loss, metrics and jit setting; the
    optimizer is built (kerascnn._compile)."""
    compile_model(
        net,
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=float(cfg.label_smoothing)),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="acc"),
            keras.metrics.TopKCategoricalAccuracy(k=min(5, num_classes), name="top5"),
        ],
        jit_compile=cfg.jit,
        steps_per_execution=cfg.steps_per_execution,
    )
