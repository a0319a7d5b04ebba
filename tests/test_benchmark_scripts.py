"""The arithmetic of the CPU-speed scripts: the median of alternating repeats and its table
(benchmarks/torch_cpu_throughput.py) and the per-op summary (benchmarks/profile_cpu.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import profile_cpu  # noqa: E402
import torch_cpu_throughput as side  # noqa: E402


def _rec(framework, model, mode, ips, repeat, weights=100):
    return {"framework": framework, "model": model, "mode": mode, "images_per_s": ips,
            "batch_size": 32, "repeat": repeat, "weights": weights}  # fmt: skip


def test_each_cell_is_the_median_of_the_repeats_and_the_ratio_uses_the_best_torch_median():
    records = [
        *(_rec("keras", "resnet18", "train", v, k) for k, v in enumerate((30.0, 10.0, 37.0))),
        *(_rec("torch-cl", "resnet18", "train", v, k) for k, v in enumerate((20.0, 25.0, 40.0))),
        *(_rec("torch-compile", "resnet18", "train", v, k) for k, v in enumerate((24.0, 24, 24))),
    ]
    medians = {(r["framework"]): r for r in side._median_of_repeats(records)}
    assert medians["keras"]["images_per_s"] == 30.0
    assert medians["keras"]["repeats"] == [10.0, 30.0, 37.0]
    header, cells = side._cells(side._median_of_repeats(records), ["keras"])
    row = dict(zip(header, cells[0]))
    assert row["best torch"] == "torch-cl"  # median 25 beats torch-compile's 24
    assert row["keras / best torch"] == "1.20x"
    assert row["keras img/s"] == "30.0 (10.0, 30.0, 37.0)"


def test_a_failed_point_has_no_median():
    records = [_rec("keras", "m", "infer", None, 0), _rec("torch-cl", "m", "infer", 5.0, 0)]
    assert [r["framework"] for r in side._median_of_repeats(records)] == ["torch-cl"]


def test_profile_summary_per_step_shares_and_phases():
    ops = [("Conv2D", "forward", 0.3), ("Conv2D", "forward", 0.3), ("Grad", "backward", 0.4)]
    s = profile_cpu._summarize(ops, steps=2, step_s=0.5)
    assert s["step_ms"] == pytest.approx(500.0)
    assert s["op_ms_per_step"] == pytest.approx(500.0)
    top = s["ops"][0]
    assert (top["op"], top["ms_per_step"], top["calls_per_step"]) == ("Conv2D", 300.0, 1.0)
    assert top["share"] == pytest.approx(0.6)
    assert s["phases"] == pytest.approx({"backward": 0.4, "forward": 0.6})


@pytest.mark.parametrize(
    "name, phase",
    [
        ("model/conv/Conv2D", "forward"),
        ("gradient_tape/model/conv/Conv2DBackpropFilter", "backward"),
        ("aten::convolution_backward", "backward"),
        ("SGD/update/ResourceApplyKerasMomentum", "optimizer"),
        ("Optimizer.step#SGD.step", "optimizer"),
    ],
)
def test_ops_are_put_in_their_phase(name, phase):
    assert profile_cpu._phase(name) == phase
