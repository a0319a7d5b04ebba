"""Optimizers and learning-rate schedules of a benchmark run (imports Keras: run-time only)."""

from __future__ import annotations

import math
from typing import Any

import keras


@keras.saving.register_keras_serializable(package="kerascnn")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from peak/25 to peak over ``warmup_steps``, then cosine down to peak/1e4."""

    def __init__(self, peak, total_steps, warmup_steps):
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        start, end = self.peak / 25.0, self.peak / 1e4
        warm = max(self.warmup_steps, 1)
        up = start + (self.peak - start) * ops.minimum(step / warm, 1.0)
        decay_steps = max(self.total_steps - self.warmup_steps, 1)
        frac = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        down = end + (self.peak - end) * 0.5 * (1.0 + ops.cos(math.pi * frac))
        return ops.where(step < self.warmup_steps, up, down)

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
        }


def make_schedule(cfg, steps_per_epoch: int) -> Any:
    """The learning rate of ``cfg`` (a BenchConfig): a float or a Keras schedule."""
    lr = cfg.resolved_learning_rate()
    total = max(1, steps_per_epoch * cfg.epochs)
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    cosine = keras.optimizers.schedules.CosineDecay
    if cfg.schedule == "constant":
        if warm == 0:
            return lr
        # warm-up, then flat: alpha=1.0 keeps the rate at the warm-up target
        return cosine(lr / 10, decay_steps=1, alpha=1.0, warmup_target=lr, warmup_steps=warm)
    if cfg.schedule == "cosine":
        if warm == 0:
            return cosine(lr, decay_steps=total, alpha=0.0)
        return cosine(
            lr / 10,
            decay_steps=max(1, total - warm),
            alpha=0.0,
            warmup_target=lr,
            warmup_steps=warm,
        )
    return OneCycle(lr, total, warm if warm else max(1, int(0.3 * total)))


def make_optimizer(cfg, steps_per_epoch: int):
    """The optimizer of ``cfg`` (a BenchConfig) with its learning-rate schedule."""
    schedule = make_schedule(cfg, steps_per_epoch)
    wd = float(cfg.weight_decay) or None
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, weight_decay=wd)
    if cfg.optimizer == "momentum":
        return keras.optimizers.SGD(schedule, momentum=cfg.momentum, nesterov=True, weight_decay=wd)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(schedule, weight_decay=wd)
    return keras.optimizers.AdamW(schedule, weight_decay=float(cfg.weight_decay))
