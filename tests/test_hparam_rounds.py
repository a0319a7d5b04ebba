"""Coarse-to-fine random search (kerascnn.experiments.hparam): log-uniform sampling, narrowing
the ranges to the best few, rounds. NumPy only: no training, no KerasTuner."""

import numpy as np
import pytest

from kerascnn.errors import ArgumentError
from kerascnn.experiments.hparam import (
    SPACE,
    coarse_to_fine,
    narrow_ranges,
    sample_log_uniform,
)


def test_samples_are_log_uniform_inside_the_ranges():
    rng = np.random.default_rng(0)
    points = sample_log_uniform({"lr": (1e-4, 1.0), "wd": (1e-6, 1e-6)}, 4000, rng)
    lr = np.array([p["lr"] for p in points])
    assert lr.min() >= 1e-4 and lr.max() <= 1.0
    assert all(p["wd"] == pytest.approx(1e-6) for p in points)  # a one-point range
    # each of the four decades holds a quarter of the samples (uniform would put 99% in the last)
    per_decade = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1, 0])[0] / len(lr)
    assert np.allclose(per_decade, 0.25, atol=0.03)


def test_sampling_is_reproducible_from_the_generator():
    a = sample_log_uniform(SPACE, 5, np.random.default_rng(3))
    b = sample_log_uniform(SPACE, 5, np.random.default_rng(3))
    assert a == b and set(a[0]) == set(SPACE)


def test_narrow_ranges_is_the_span_of_the_top_k():
    points = [{"lr": 1e-3, "wd": 1e-5}, {"lr": 1e-1, "wd": 1e-2}, {"lr": 1e-2, "wd": 1e-4}]
    scores = [0.5, 0.9, 0.8]
    assert narrow_ranges(points, scores, top_k=2) == {"lr": (1e-2, 1e-1), "wd": (1e-4, 1e-2)}
    assert narrow_ranges(points, scores, top_k=1) == {"lr": (1e-1, 1e-1), "wd": (1e-2, 1e-2)}
    assert narrow_ranges(points, scores, top_k=3) == {"lr": (1e-3, 1e-1), "wd": (1e-5, 1e-2)}


def test_a_diverged_trial_counts_as_the_worst():
    points = [{"lr": 10.0}, {"lr": 1e-2}, {"lr": 1e-3}]
    assert narrow_ranges(points, [float("nan"), 0.7, 0.6], top_k=2) == {"lr": (1e-3, 1e-2)}


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: sample_log_uniform({"lr": (0.0, 1.0)}, 3, np.random.default_rng()), "0 < low"),
        (lambda: sample_log_uniform({"lr": (1.0, 0.1)}, 3, np.random.default_rng()), "low <= high"),
        (lambda: sample_log_uniform({}, 3, np.random.default_rng()), "at least one"),
        (lambda: sample_log_uniform(SPACE, 0, np.random.default_rng()), "n=0"),
        (lambda: narrow_ranges([{"lr": 1.0}], [1.0, 2.0]), "1 points, 2 scores"),
        (lambda: narrow_ranges([{"lr": 1.0}], [1.0], top_k=2), "top_k=2"),
        (lambda: coarse_to_fine(lambda **p: 0.0, SPACE, rounds=0), "rounds=0"),
    ],
)
def test_bad_arguments_say_what_was_received(call, words):
    with pytest.raises(ArgumentError, match="Received") as info:
        call()
    assert words in str(info.value)


def _bowl(lr, wd):
    """A smooth score with its peak at lr = 1e-2, wd = 1e-4 (in log space)."""
    return -((np.log10(lr) + 2) ** 2) - 0.1 * (np.log10(wd) + 4) ** 2


def test_rounds_shrink_nested_ranges_around_the_peak():
    history = coarse_to_fine(
        _bowl, {"lr": (1e-5, 1.0), "wd": (1e-8, 1e-1)}, rounds=4, trials=20, top_k=4, seed=0
    )
    assert [h["round"] for h in history] == [1, 2, 3, 4]
    for before, after in zip(history, history[1:]):
        for k, (lo, hi) in after["ranges"].items():
            b_lo, b_hi = before["ranges"][k]
            assert b_lo <= lo <= hi <= b_hi  # nested
        width = np.log10(after["ranges"]["lr"][1] / after["ranges"]["lr"][0])
        assert width < np.log10(before["ranges"]["lr"][1] / before["ranges"]["lr"][0])
    lo, hi = history[-1]["ranges"]["lr"]
    assert lo < 1e-2 < hi and np.log10(hi / lo) < 1.0  # under a decade around the peak
    best = [h["best"][1] for h in history]
    assert best[-1] >= best[0] and best[-1] > -0.05
    for h in history:
        assert len(h["points"]) == len(h["scores"]) == 20
        assert h["best"][1] == max(h["scores"])


def test_rounds_are_reproducible():
    a = coarse_to_fine(_bowl, {"lr": (1e-5, 1.0), "wd": (1e-8, 1e-1)}, trials=5, seed=7)
    b = coarse_to_fine(_bowl, {"lr": (1e-5, 1.0), "wd": (1e-8, 1e-1)}, trials=5, seed=7)
    assert a == b
