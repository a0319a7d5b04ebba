"""Training callbacks of a benchmark run and what is computed from them (Keras: run-time only).

* :class:`StepTimer` times every step, stops at the first non-finite loss or when the run's time
  budget is spent, and says why in ``.failure``;
* :class:`TestCurve` evaluates the test set after chosen epochs (the curve's points);
* :class:`Progress` prefixes Keras' per-epoch line with the run's place in the suite and its ETA;
* :func:`train_throughput`: steady-state images/s from the step times (the first steps, which
  include tracing and compilation, excluded).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from kerascnn._utils import fmt_duration
from kerascnn.distributed.watchdog import beat
from kerascnn.record.run import TrainStats


class StepTimer(keras.callbacks.Callback):
    """Per-step wall times, a NaN guard and the time budget, in one callback.

    After training, ``failure`` is None or ``(kind, message)`` with kind ``"NaNLoss"`` or
    ``"TimeBudgetExceeded"``; ``steps`` holds ``(epoch, step, end time)`` per step. With
    ``stop_at`` training stops after that many steps (the budget/steps protocols).
    """

    def __init__(self, budget_s: float | None, stop_at: int | None = None):
        super().__init__()
        self.budget_s = budget_s
        self.stop_at = stop_at
        self.failure: tuple[str, str] | None = None
        self.steps: list[tuple[int, int, float]] = []
        self.epoch_start: list[float] = []
        self.epoch_end: list[float] = []
        self.epoch = 0
        self.t_begin = 0.0

    def on_train_begin(self, logs=None):
        self.t_begin = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_start.append(time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        beat()  # a multi-process run's watchdog: this process is making progress
        self.steps.append((self.epoch, batch, now))
        loss = (logs or {}).get("loss")
        where = f"epoch {self.epoch + 1}, step {batch + 1}"
        if loss is not None and not math.isfinite(float(loss)):
            self._stop("NaNLoss", f"The training loss became {float(loss)} at {where}")
        elif self.budget_s is not None and now - self.t_begin > self.budget_s:
            self._stop(
                "TimeBudgetExceeded",
                f"Training passed its time budget of {self.budget_s:g} s at {where}",
            )
        elif self.stop_at is not None and len(self.steps) >= self.stop_at:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_end.append(time.perf_counter())

    def _stop(self, kind: str, message: str) -> None:
        self.failure = (kind, f"{message}; training stopped.")
        self.model.stop_training = True

    def train_seconds(self) -> list[float]:
        """Cumulative training time at the end of each epoch: from each epoch's start to its
        last step (evaluations between epochs excluded, compilation included)."""
        out, total = [], 0.0
        for e, start in enumerate(self.epoch_start):
            ends = [t for epoch, _, t in self.steps if epoch == e]
            if ends:
                total += ends[-1] - start
            out.append(total)
        return out

    def stats(self, seconds: float, batch_size: int, n_train: int) -> TrainStats:
        """What the steps say about a training of ``n_train`` images that took ``seconds``."""
        tp = train_throughput(self.steps, self.epoch_start, batch_size, n_train)
        first = self.steps[0][2] - self.t_begin if self.steps else None
        p50 = tp["step_p50_ms"]
        return TrainStats(
            seconds=seconds,
            images=int(n_train),
            steps_per_epoch=math.ceil(n_train / batch_size),
            epoch_seconds=[e - s for s, e in zip(self.epoch_start, self.epoch_end)],
            first_step_seconds=first,
            warmup_seconds=(first - p50 / 1e3) if first and p50 else first,
            **tp,
            steps=len(self.steps),
            step_seconds_total=(self.train_seconds() or [None])[-1],
            epochs_equivalent=len(self.steps) * batch_size / n_train if n_train else None,
        )


class TestCurve(keras.callbacks.Callback):
    """The test evaluations along training: after each epoch in ``epochs`` (1-based; a
    segment under the budget/steps protocols) ``evaluate(model)`` gives the test logs, which
    join the epoch's logs as ``val_*`` (the names Keras' own validation writes; callbacks after
    this one and the history see them, as with Keras' LearningRateScheduler's ``learning_rate``).
    """

    def __init__(self, epochs: list[int], evaluate: Callable[[Any], dict[str, float]]):
        super().__init__()
        self.epochs = set(epochs)
        self.evaluate = evaluate

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.epochs and logs is not None:
            for name, value in self.evaluate(self.model).items():
                logs[f"val_{name}"] = float(value)


def run_eta(elapsed_s: float, epochs_done: int, epochs: int) -> float | None:
    """Seconds left in a run after ``epochs_done`` of ``epochs`` epochs took ``elapsed_s``.

    None before the first epoch has finished. The first epoch includes tracing and
    compilation, so the estimate is on the safe side early on.
    """
    if epochs_done <= 0:
        return None
    return elapsed_s / epochs_done * (epochs - epochs_done)


class Progress(keras.callbacks.Callback):
    """Prefix Keras' per-epoch line with the run's place in the suite and its training ETA.

    ``unit`` names what Keras calls an epoch: ``"epoch"``, or ``"segment"`` under the
    budget/steps protocols (a slice of the run's steps with a test evaluation after it). With
    ``metrics`` it also prints the epoch's logs at its end (for a fit with ``verbose=0``: the
    budget protocol trains without Keras' progress bar, whose per-step work the calibration
    would not see).
    """

    def __init__(
        self,
        label: str,
        epochs: int,
        echo: Callable[[str], None],
        unit: str = "epoch",
        metrics: bool = False,
    ):
        super().__init__()
        self.label, self.epochs, self.echo, self.unit = label, epochs, echo, unit
        self.metrics = metrics
        self.t_begin = 0.0

    def on_train_begin(self, logs=None):
        self.t_begin = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        eta = run_eta(time.perf_counter() - self.t_begin, epoch, self.epochs)
        suffix = f"  (training ETA ~{fmt_duration(eta)})" if eta is not None else ""
        self.echo(f"{self.label}  {self.unit} {epoch + 1}/{self.epochs}{suffix}")

    def on_epoch_end(self, epoch, logs=None):
        if self.metrics and logs:
            values = ", ".join(f"{k} {float(v):.4f}" for k, v in logs.items())
            self.echo(f"{self.label}  {self.unit} {epoch + 1}/{self.epochs} done: {values}")


def train_throughput(
    steps: list[tuple[int, int, float]],
    epoch_start: list[float],
    batch_size: int,
    n_train: int,
    warmup_steps: int = 3,
) -> dict[str, Any]:
    """Steady-state training images/s from step end times (first ``warmup_steps`` steps excluded).

    Step ``i``'s duration is the gap between the ends of steps ``i-1`` and ``i`` of the same
    epoch (the first step of a later epoch is timed from that epoch's start). Partial last
    batches count with their real size. Returns ``images_per_s``, ``steps_timed`` and
    ``step_p50_ms`` (None and 0 when no step could be timed).
    """
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    last_size = n_train - (steps_per_epoch - 1) * batch_size
    images, seconds, durations = 0, 0.0, []
    for i, (epoch, step, t_end) in enumerate(steps):
        if epoch == 0 and step < warmup_steps:
            continue
        if i > 0 and steps[i - 1][0] == epoch:
            prev = steps[i - 1][2]
        elif epoch < len(epoch_start):
            prev = epoch_start[epoch]
        else:
            continue
        images += last_size if step == steps_per_epoch - 1 else batch_size
        seconds += t_end - prev
        durations.append(t_end - prev)
    if not durations:
        return {"images_per_s": None, "steps_timed": 0, "step_p50_ms": None}
    return {
        "images_per_s": images / seconds if seconds > 0 else None,
        "steps_timed": len(durations),
        "step_p50_ms": float(np.median(durations) * 1e3),
    }
