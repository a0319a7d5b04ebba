"""How long a run trains: the plan of its steps, and the timed calibration of a budget run.

Three protocols (``BenchConfig.protocol``):

* ``epochs``: ``epochs`` passes over the training data, a test evaluation after each;
* ``budget``: every model gets the same seconds of training. The run's training step is
  compiled once; a short timed calibration runs it on the real model (its first call is the
  compilation, outside the budget; the step time is a fast quantile of the timed steps), then every
  variable of the model and the optimizer is put back as it was, so the calibration leaves no trace in the training. The run then trains
  ``floor(budget / step time)`` steps, its learning-rate schedule sized to them (the schedule's
  length lives in two optimizer variables, so nothing is traced again). The number is stored
  (``protocol.steps``): ``--steps N`` repeats the run on another machine with the same steps, since
  the data order (:class:`~kerascnn.bench.augment.BatchStream`) and the schedule depend only on
  the seed and the steps, not on the clock;
* ``steps``: exactly ``steps`` optimizer steps.

Budget and steps runs are cut into ``eval_points`` segments (Keras epochs of ``segment_steps``
steps), with a test evaluation after each but the last (the final evaluation closes the curve).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras
import numpy as np

from kerascnn.bench.augment import BatchStream, mixing_kind
from kerascnn.bench.callbacks import StepTimer
from kerascnn.bench.optim import schedule_length
from kerascnn.record.run import Calibration, CurvePoint, Measurements, ProtocolInfo

CALIBRATION_WARMUP_STEPS = 2
"""Calibration steps left out of the step time (the compilation, first allocations)."""
CALIBRATION_MIN_STEPS = 20
CALIBRATION_MIN_SECONDS = 3.0
"""A calibration window times at least this many steps and about this long (at the speed of
the last warm-up step). Every fit runs its stream to the end: a tf.data iterator left
mid-stream costs seconds to finalize later (at ``keras.backend.clear_session``)."""
CALIBRATION_AGREE = 0.05
CALIBRATION_MAX_WINDOWS = 3
"""Best of several windows: each window's step time is the median of its steps, and windows
are timed until two in a row agree within 5% (at most 3); the step time is the fastest
window's. These shared machines have slow periods of several seconds (MobileNetV2 at 28 px:
windows of 20 steps at 289-305 ms, the first two at 370-380 ms, in the same process:
reports/main-job/calibration), and the mean of one window of 5 steps moved the main job's
steps by up to 40%. A run that meets a slow period trains longer than its budget, and its
training time says so. (A low quantile instead of the median undercounts fast steps with a
long tail: LeNet's 10th percentile was 2.9 ms, its training steps 3.7 ms.)"""
CALIBRATION_MAX_STEPS = 400


@dataclass
class StepPlan:
    """The length of one run: ``segments`` Keras epochs of ``segment_steps`` steps."""

    kind: str
    steps: int
    warmup_steps: int
    segments: int
    segment_steps: int
    budget_seconds: float | None = None
    calibration: Calibration | None = None

    @property
    def stepped(self) -> bool:
        """Budget and steps runs: a step count, segments, a stream of full batches."""
        return self.kind != "epochs"

    def info(self) -> ProtocolInfo:
        return ProtocolInfo(
            kind=self.kind,
            steps=self.steps,
            warmup_steps=self.warmup_steps,
            budget_seconds=self.budget_seconds,
            calibration=self.calibration,
            segments=self.segments,
        )


def plan_steps(cfg, n_train: int, steps: int | None = None, calibration=None) -> StepPlan:
    """The plan of a run of ``cfg`` on ``n_train`` images: by its epochs, or by ``steps``
    (``cfg.steps``, or what a budget's ``calibration`` allows)."""
    per_epoch = math.ceil(n_train / cfg.batch_size)
    if cfg.protocol == "epochs":
        total, warm = schedule_length(cfg, per_epoch)
        return StepPlan("epochs", total, warm, cfg.epochs, per_epoch)
    if steps is None:
        steps = int(cfg.steps) if cfg.protocol == "steps" else CALIBRATION_MAX_STEPS
    total, warm = schedule_length(cfg, per_epoch, steps)
    segment = math.ceil(total / min(cfg.eval_points, total))
    budget = float(cfg.budget) if cfg.protocol == "budget" else None
    return StepPlan(
        cfg.protocol, total, warm, math.ceil(total / segment), segment, budget, calibration
    )


def _state(net) -> list:
    return [*net.variables, *net.optimizer.variables]


def calibrate(net, data, run) -> Calibration:
    """Time training steps of the compiled ``net`` on ``data``; put its state back after.

    ``net`` is compiled and its optimizer built (``compile_for_training``), so its variables
    exist before the snapshot (the moments, the iteration count, the loss scale, the schedule's
    length).
    """
    cfg = run.config
    t0 = time.perf_counter()
    saved = [np.array(keras.ops.convert_to_numpy(v)) for v in _state(net)]

    def fit(steps: int) -> StepTimer:  # a stream of exactly ``steps`` batches, run to its end
        timer = StepTimer(None)
        stream = BatchStream(
            data.x_train,
            data.y_train_onehot,
            cfg.batch_size,
            run.seed,
            steps=steps,
            mix=mixing_kind(cfg.augment),
        )
        net.fit(stream, epochs=1, callbacks=[timer], verbose=0)
        return timer

    warm = fit(CALIBRATION_WARMUP_STEPS)  # the compilation and first allocations
    last = warm.steps[-1][2] - warm.steps[-2][2]
    wanted = math.ceil(CALIBRATION_MIN_SECONDS / max(last, 1e-4))
    per_window = min(max(wanted, CALIBRATION_MIN_STEPS), CALIBRATION_MAX_STEPS)
    windows: list[float] = []
    while len(windows) < CALIBRATION_MAX_WINDOWS and not _agree(windows):
        # each step from the end of the one before: the stream's first step is left out
        durations = np.diff([end for _, _, end in fit(1 + per_window).steps])
        windows.append(float(np.median(durations)))
    for variable, value in zip(_state(net), saved):
        variable.assign(value)
    return Calibration(
        step_seconds=min(windows),
        steps_timed=per_window * len(windows),
        seconds=time.perf_counter() - t0,
        first_step_seconds=warm.steps[0][2] - warm.t_begin,
        statistic=f"fastest of {len(windows)} windows' median",
        windows=windows,
    )


def _agree(windows: list[float]) -> bool:
    """Whether the last two windows' step times agree within :data:`CALIBRATION_AGREE`."""
    return len(windows) >= 2 and abs(windows[-1] / windows[-2] - 1) <= CALIBRATION_AGREE


def budget_plan(cfg, n_train: int, calibration: Calibration) -> StepPlan:
    """The steps a budget affords at the calibrated step time (at least one)."""
    steps = max(1, math.floor(float(cfg.budget) / calibration.step_seconds))
    return plan_steps(cfg, n_train, steps, calibration)


def test_curve(timer, curves, validated: list[int], batch_size: int, n_train: int):
    """Curve points at the end of each validated epoch/segment (Keras' ``val_*`` logs)."""
    accs, losses = curves.get("val_acc") or [], curves.get("val_loss") or []
    seconds = timer.train_seconds()
    points = []
    for i, epoch in enumerate(e for e in validated if e <= len(timer.epoch_end)):
        if i >= len(accs):
            break
        step = sum(1 for ep, _, _ in timer.steps if ep < epoch)
        points.append(
            CurvePoint(
                step=step,
                epoch=step * batch_size / n_train,
                train_seconds=seconds[epoch - 1],
                top1=accs[i],
                loss=losses[i] if i < len(losses) else None,
            )
        )
    return points


def closed_curve(measured: Measurements) -> list[CurvePoint] | None:
    """The run's curve ending with its final test evaluation (which replaces a point at the
    same step: in the epoch protocol the last epoch's validation is that same evaluation)."""
    train, test = measured.train, measured.test
    if train is None or test is None or train.steps is None:
        return measured.curve
    points = [p for p in (measured.curve or []) if p.step < train.steps]
    last = CurvePoint(
        step=train.steps,
        epoch=train.epochs_equivalent or 0.0,
        train_seconds=train.step_seconds_total or train.seconds,
        top1=test.top1,
        loss=test.loss,
    )
    return [*points, last]
