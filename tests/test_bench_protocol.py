"""The training protocols (equal budget, fixed steps, epochs), results.csv and the CLI habits."""

import csv
import io
import json

import keras
import pytest
from click.testing import CliRunner

from kerascnn.bench import BenchConfig, run_suite
from kerascnn.bench.optim import schedule_length
from kerascnn.cli import main
from kerascnn.record import store
from kerascnn.record.flat import COLUMNS, RISING_MARGIN, still_rising
from kerascnn.record.run import CurvePoint, RunRecord

TINY = dict(
    models=["lenet"],
    batch_size=64,
    train_limit=256,
    test_limit=100,
    latency_seconds=0.05,
    latency_batch=16,
    optimizer="sgd",
)
REQUIRED_CSV = (
    "model dataset seed status params macs top1 top5 latency_b1_p50_ms train_images_per_s "
    "infer_images_per_s epochs train_seconds backend device config_hash"
).split()


def _quiet(_msg):
    pass


def test_a_budget_run_is_calibrated_recorded_and_repeated_by_its_steps(tmp_path):
    budget = BenchConfig(**TINY, budget=2.0, eval_points=3)
    run_suite(budget, out=tmp_path / "budget", echo=_quiet, verbose=0)
    (a,) = store.load_results(tmp_path / "budget")
    assert a.ok and a.protocol.kind == "budget" and a.protocol.budget_seconds == 2.0
    cal = a.protocol.calibration
    assert cal.steps_timed >= 40 and cal.step_seconds > 0 and cal.seconds > 0
    assert 2 <= len(cal.windows) <= 3 and cal.step_seconds == min(cal.windows)
    assert cal.statistic == f"fastest of {len(cal.windows)} windows' median"
    n = a.protocol.steps
    assert n >= 1 and a.train.steps == n
    assert a.train.epochs_equivalent == pytest.approx(n * 64 / 256)
    # the curve: one point per segment, the last one is the final evaluation
    assert 1 <= len(a.curve) <= 3 and a.curve[-1].step == n and a.curve[-1].top1 == a.test.top1
    assert [p.step for p in a.curve] == sorted(p.step for p in a.curve)
    times = [p.train_seconds for p in a.curve]
    assert times == sorted(times) and times[-1] <= a.train.seconds
    # results.csv beside the JSON, one flat row with the documented columns
    rows = list(csv.DictReader(open(tmp_path / "budget" / "results.csv")))
    assert len(rows) == 1 and list(rows[0]) == list(COLUMNS)
    assert set(REQUIRED_CSV) <= set(rows[0])
    assert rows[0]["protocol"] == "budget" and int(rows[0]["steps"]) == n
    assert float(rows[0]["learning_rate"]) == 0.05  # sgd's own default rate
    # the same run by its steps, as on another machine: the same training, step for step
    repeat = BenchConfig(**TINY, steps=n, eval_points=3)
    run_suite(repeat, out=tmp_path / "steps", echo=_quiet, verbose=0)
    (b,) = store.load_results(tmp_path / "steps")
    assert b.protocol.kind == "steps" and b.protocol.calibration is None and b.train.steps == n
    # same data order and schedule: equal up to the float nondeterminism of threaded CPU kernels
    assert b.history["loss"] == pytest.approx(a.history["loss"], rel=1e-2)
    assert abs(b.test.top1 - a.test.top1) <= 0.03
    assert [p.step for p in b.curve] == [p.step for p in a.curve]


def test_schedule_is_sized_to_the_steps_with_a_capped_warm_up():
    cfg = BenchConfig(models=["lenet"], warmup_epochs=0.5, budget=10.0)
    assert schedule_length(cfg, steps_per_epoch=100, steps=30) == (30, 6)  # 50 capped at 30 // 5
    assert schedule_length(cfg, steps_per_epoch=100, steps=1000) == (1000, 50)
    by_epochs = BenchConfig(models=["lenet"], epochs=3, warmup_epochs=0.5)
    assert schedule_length(by_epochs, steps_per_epoch=100) == (300, 50)


def _record(tops):
    curve = [CurvePoint(step=i, epoch=i, train_seconds=i, top1=t) for i, t in enumerate(tops)]
    return RunRecord(model="m", dataset="d", seed=0, config_hash="h", status="ok", curve=curve)


def test_still_rising_means_the_end_beats_every_earlier_point():
    assert still_rising(_record([0.5, 0.6, 0.7])) is True
    assert still_rising(_record([0.5, 0.7, 0.7 + RISING_MARGIN / 2])) is False  # within noise
    assert still_rising(_record([0.5, 0.8, 0.75])) is False
    assert still_rising(_record([0.5])) is None and still_rising(_record([])) is None


def test_cli_epochs_run_saves_models_logs_and_prints_its_results(tmp_path):
    out = tmp_path / "run"
    args = ["bench", "--models", "lenet", "--epochs", "2", "--optimizer", "sgd"]
    args += ["--train-limit", "256", "--test-limit", "100", "--out", str(out)]
    args += ["--save-models", "--tensorboard", "--batch-size", "64"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (record,) = store.load_results(out)
    assert record.config["learning_rate"] == 0.05 and record.protocol.kind == "epochs"
    assert [p.step for p in record.curve] == [4, 8]  # an evaluation per epoch, the last is final
    assert record.curve[-1].top1 == record.test.top1
    assert (out / "accuracy_vs_time.png").is_file() and (out / "results.csv").is_file()
    assert "Protocol: epochs" in (out / "README.md").read_text()
    # the trained model, loadable in another program once kerascnn is imported
    saved = out / "models" / f"{record.key}.keras"
    assert keras.saving.load_model(saved).count_params() == 61706
    assert any((out / "tensorboard" / record.key).rglob("events.out.tfevents.*"))
    # kerascnn report --format: the same rows as the file, machine-readable
    printed = CliRunner().invoke(main, ["report", str(out), "--format", "csv"])
    assert printed.exit_code == 0 and printed.output == (out / "results.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(printed.output)))
    assert rows[0]["model"] == "lenet" and rows[0]["epochs"] == "2"
    as_json = json.loads(CliRunner().invoke(main, ["report", str(out), "--format", "json"]).output)
    assert as_json[0]["top1"] == record.test.top1 and as_json[0]["status"] == "ok"
    md = CliRunner().invoke(main, ["report", str(out), "--format", "md"]).output
    assert "| lenet |" in md and "Protocol: epochs" in md


def test_bench_help_shows_real_defaults_and_choices():
    text = CliRunner().invoke(main, ["bench", "--help"], terminal_width=200).output
    flat = " ".join(text.split())
    assert (
        "[default: 64 (main job)" in flat
        and "the steps 30 s give each model on the reference" in flat
    )
    assert "--precise-bn / --no-precise-bn" in flat and "[default: 20]" in flat
    assert "[sgd|momentum|adam|adamw]" in flat and "[constant|cosine|one-cycle]" in flat
    assert "sgd 0.05" in flat and "--save-models" in flat and "--tensorboard" in flat
    bad = CliRunner().invoke(main, ["bench", "--optimizer", "lbfgs"])
    assert bad.exit_code == 2 and "'lbfgs' is not one of" in bad.output
    both = CliRunner().invoke(main, ["bench", "--budget", "5", "--steps", "10"])
    assert both.exit_code == 1 and "one of --epochs, --budget and --steps" in both.output


def test_records_from_before_curves_get_theirs_from_the_epoch_logs():
    from kerascnn.record.flat import curve_of, total_steps
    from kerascnn.record.run import TrainStats

    train = TrainStats(
        seconds=9.0, images=640, steps_per_epoch=10, epoch_seconds=[4.0, 2.0, 3.0],
        first_step_seconds=1.0, warmup_seconds=0.9, images_per_s=300.0, steps_timed=27,
        step_p50_ms=3.0,
    )  # fmt: skip
    record = _record([])
    record.curve, record.train, record.epochs_completed = None, train, 3
    record.history = {"val_acc": [0.5, 0.6, 0.7]}
    points = curve_of(record)
    assert [(p.step, p.train_seconds, p.top1) for p in points] == [
        (10, 4.0, 0.5),
        (20, 6.0, 0.6),
        (30, 9.0, 0.7),
    ]
    assert still_rising(record) is True and total_steps(record) == 30
