"""Timing: the one device-throughput protocol, host latency, and a call's first run.

Two views, as in the design:

* **latency** on host input (:func:`measure_latency`, :func:`time_calls`): a numpy batch goes
  in, a numpy result comes out (conversion and transfer included), one call at a time, each
  call timed; warm-up calls excluded; median and 95th percentile over many calls.
* **device throughput** (:func:`time_steps`, the one protocol for it): the batch is on the
  device, the step compiled once and its first call timed apart, warm-up steps excluded, then
  synchronized windows; the figure is the median window's time per step. ``kerascnn
  throughput`` (training and inference steps), the bench's inference row and the experiments
  all time device throughput through it.

What is timed is a compiled call (:mod:`kerascnn.accel.inference` for the forward pass,
:mod:`kerascnn.accel.throughput` for a training step); this module never builds one.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kerascnn.record.run import DeviceThroughput, Latency


def latency_stats(times_s: list[float]) -> dict[str, float]:
    """Milliseconds: p50, p95, mean, std, min, and n (the number of timed calls)."""
    arr = np.asarray(times_s, dtype=np.float64) * 1e3
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "mean_ms": float(arr.mean()),
        "std_ms": float(arr.std()),
        "min_ms": float(arr.min()),
        "n": int(arr.size),
    }


def time_calls(
    fn: Callable[[], Any],
    *,
    seconds: float = 1.0,
    warmup: int = 3,
    min_calls: int = 10,
    max_calls: int = 100_000,
) -> list[float]:
    """Time ``fn()`` one call at a time after ``warmup`` untimed calls.

    Calls continue until ``seconds`` of timed calls have passed and at least ``min_calls``
    were made (at most ``max_calls``). Returns the per-call durations in seconds.
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_calls and (
        len(times) < min_calls or time.perf_counter() - start < seconds
    ):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def measure_latency(inf, x: np.ndarray, *, seconds: float = 1.0, warmup: int = 3) -> Latency:
    """Host-input latency of one batch ``x`` (numpy in, numpy out), summarized in ms."""
    x = np.ascontiguousarray(x)
    stats = latency_stats(time_calls(lambda: inf.host(x), seconds=seconds, warmup=warmup))
    return Latency(**stats, batch=int(len(x)))


@dataclass
class StepTiming:
    """What :func:`time_steps` measured: seconds per step of each synchronized window, the
    first call apart (tracing and compilation), and the steps per window."""

    per_step_s: list[float]
    compile_s: float
    steps_per_window: int

    @property
    def median_s(self) -> float:
        return statistics.median(self.per_step_s)

    def images_per_s(self, batch: int) -> float:
        return batch / self.median_s


MAX_AUTO_STEPS = 200
"""The most steps a window gets when their count is chosen from the warm-up's speed."""


def time_steps(
    run: Callable[[int], None],
    *,
    steps: int | None = None,
    windows: int = 5,
    warmup: int = 2,
    window_s: float = 1.0,
) -> StepTiming:
    """The one device-throughput protocol: ``run(n)`` runs ``n`` steps and synchronizes.

    The first call (one step: tracing, compilation) is timed apart; ``warmup`` untimed steps
    follow (autotuning, allocator, caches); then ``windows`` synchronized windows of ``steps``
    steps each (``None``: as many as fill ``window_s`` seconds at the warm-up's speed, at least
    1, at most :data:`MAX_AUTO_STEPS`). The figure is the median window's time per step.
    """
    t0 = time.perf_counter()
    run(1)
    compile_s = time.perf_counter() - t0
    n_warm = max(warmup, 1 if steps is None else 0)
    t0 = time.perf_counter()
    if n_warm:
        run(n_warm)
    warm_step = (time.perf_counter() - t0) / max(n_warm, 1)
    if steps is None:
        steps = int(min(MAX_AUTO_STEPS, max(1, round(window_s / max(warm_step, 1e-9)))))
    per_step = []
    for _ in range(windows):
        t0 = time.perf_counter()
        run(steps)
        per_step.append((time.perf_counter() - t0) / steps)
    return StepTiming(per_step, compile_s, steps)


def inference_steps(inf, x: np.ndarray) -> Callable[[int], None]:
    """``run(n)`` for :func:`time_steps`: ``n`` forward passes of ``inf`` (a compiled inference,
    :func:`kerascnn.accel.inference.compile_inference`) on the batch ``x`` moved to the device
    once, then one synchronization."""
    xd = inf.to_device(np.ascontiguousarray(x))

    def run(n: int) -> None:
        out = None
        for _ in range(n):
            out = inf.call(xd)
        inf.sync(out)

    return run


def device_throughput(
    inf, x: np.ndarray, *, seconds: float = 1.0, windows: int = 5, warmup: int = 3
) -> DeviceThroughput:
    """Images/s with the batch ``x`` resident on the device (:func:`time_steps` over about
    ``seconds`` of timed windows)."""
    timing = time_steps(
        inference_steps(inf, x), windows=windows, warmup=warmup, window_s=seconds / windows
    )
    return DeviceThroughput(
        images_per_s=float(timing.images_per_s(len(x))),
        batch=int(len(x)),
        calls=windows * timing.steps_per_window,
        seconds=float(sum(timing.per_step_s) * timing.steps_per_window),
    )


def first_call_seconds(inf, x: np.ndarray) -> float:
    """Wall time of the first call at this shape: tracing + compilation + one run."""
    t0 = time.perf_counter()
    inf.host(np.ascontiguousarray(x))
    return time.perf_counter() - t0
