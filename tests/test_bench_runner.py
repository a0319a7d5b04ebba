"""The runner: failure isolation, resume after a killed process, Ctrl-C, stored measurements.

Tiny data (a few hundred images, one epoch, LeNet) keeps each run to a few seconds.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from kerascnn.bench import BenchConfig, run_suite
from kerascnn.models import list_models, register_model
from kerascnn.record import store

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    datasets=["fashion_mnist_mini"],
    epochs=1,
    batch_size=64,
    train_limit=256,
    test_limit=128,
    latency_seconds=0.05,
    latency_batch=16,
    warmup_epochs=0.0,
)


def _register_throwaway_models(monkeypatch):
    """Two broken models, registered for one test only (the registry is restored after it, so
    tests that list the whole zoo never see them)."""
    import keras

    from kerascnn.models import _registry as registry

    list_models()  # the zoo registered first: the copy restored after the test must hold it
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    if "_kc_test_boom" not in list_models():

        @register_model(
            family="test", paper="none", year=2000, reference="test", name="_kc_test_boom"
        )
        def _boom(**kwargs):
            raise RuntimeError("boom: this builder always fails")

        @register_model(
            family="test", paper="none", year=2000, reference="test", name="_kc_test_nan"
        )
        def _nan(input_shape=None, num_classes=10, **kwargs):
            inputs = keras.Input(shape=input_shape)
            x = keras.layers.Flatten()(inputs)
            x = keras.layers.Dense(num_classes)(x)
            x = keras.layers.Lambda(lambda t: t * float("nan"))(x)
            return keras.Model(inputs, keras.layers.Softmax()(x))


def _quiet(_msg):
    pass


def test_failing_models_do_not_stop_the_suite(tmp_path, monkeypatch):
    _register_throwaway_models(monkeypatch)
    cfg = BenchConfig(
        models=["_kc_test_boom", "_kc_test_nan", "lenet(activation='tanh')", "lenet"],
        overrides={"lenet(activation='tanh')": {"time_budget": 1e-3}},
        **TINY,
    )
    outcome = run_suite(cfg, out=tmp_path / "run", echo=_quiet, verbose=0)
    assert outcome.exit_code == 1
    assert len(outcome.failed) == 3 and len(outcome.ok) == 1
    results = {r.model: r for r in store.load_results(tmp_path / "run")}
    assert set(results) == {"_kc_test_boom", "_kc_test_nan", "lenet(activation='tanh')", "lenet"}
    boom = results["_kc_test_boom"]
    assert (
        boom.status == "failed"
        and boom.error.type == "RuntimeError"
        and "boom" in boom.error.message
    )
    assert boom.params is None  # the builder failed: nothing was measured
    nan = results["_kc_test_nan"]
    assert nan.error.type == "NaNLoss"
    assert (
        nan.params is not None and nan.train.images == 256
    )  # what was measured before the NaN is kept
    budget = results["lenet(activation='tanh')"]
    assert (
        budget.error.type == "TimeBudgetExceeded" and budget.params == 61706 and budget.test is None
    )

    ok = results["lenet"]
    assert ok.status == "ok" and ok.params == 61706 and ok.error is None
    assert ok.test.n == 128 and 0.0 <= ok.test.top1 <= ok.test.top5 <= 1.0
    assert sum(map(sum, ok.test.confusion)) == 128
    assert len(ok.history["loss"]) == 1 and "val_acc" in ok.history
    assert ok.train.images == 256 and ok.train.seconds > 0 and ok.epochs_completed == 1
    for lat in (ok.inference.latency_b1, ok.inference.latency_bN):
        assert 0 < lat.p50_ms <= lat.p95_ms and lat.n >= 10
    assert ok.inference.latency_b1.batch == 1 and ok.inference.latency_bN.batch == 16
    assert set(ok.inference.first_call_seconds) == {"eval_batch", "batch_1", "batch_16"}
    assert ok.inference.device_throughput.images_per_s > 0
    assert ok.size.keras_file_bytes > 61706 * 4
    assert ok.peak_rss_mib > 0
    env = ok.environment
    assert env.backend and env.versions["keras"] and env.usable_cpus >= 1 and env.device
    assert ok.config["epochs"] == 1 and ok.seed == 0
    # MACs come from the analysis profile (this fails loudly, never fakes, if it is missing)
    from kerascnn import create_model
    from kerascnn.analysis import profile

    assert ok.macs == profile(create_model("lenet", input_shape=(28, 28, 1))).total_macs > 0


def test_out_folder_with_results_needs_resume(tmp_path):
    from kerascnn.errors import ConfigError

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds results.*--resume"):
        run_suite(BenchConfig(models=["lenet"], **TINY), out=tmp_path, echo=_quiet)


def test_ctrl_c_keeps_finished_runs(tmp_path, monkeypatch):
    import kerascnn.bench.training as training
    from kerascnn.record.run import EvalMetrics, Measurements

    calls = []

    def interrupt_second(run, *args, **kwargs):
        # The runner's control flow is under test here, not training: the first run returns a
        # stand-in measurement, the second is interrupted as Ctrl-C would.
        calls.append(run.model)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return Measurements(
            params=1, test=EvalMetrics(top1=0.5, top5=0.9, loss=1.0, confusion=[[1]], n=1)
        )

    monkeypatch.setattr(training, "execute_run", interrupt_second)
    cfg = BenchConfig(
        models=["lenet", "lenet(activation='tanh')", "lenet(activation='sigmoid')"], **TINY
    )
    outcome = run_suite(cfg, out=tmp_path / "run", echo=_quiet, verbose=0)
    assert outcome.interrupted and outcome.exit_code == 130
    assert calls == ["lenet", "lenet(activation='tanh')"]  # stopped at the interrupt
    assert [r.model for r in store.load_results(tmp_path / "run")] == ["lenet"]


SCRIPT = textwrap.dedent("""
    import sys
    from kerascnn.bench import BenchConfig, run_suite
    cfg = BenchConfig(models=["lenet", "lenet(activation='tanh')", "lenet(activation='sigmoid')"],
                      datasets=["fashion_mnist_mini"], epochs=1, batch_size=64, train_limit=256,
                      test_limit=128, latency_seconds=0.1, latency_batch=16, warmup_epochs=0.0,
                      eval_every_epoch=False)
    out = run_suite(cfg, out=sys.argv[1], resume=len(sys.argv) > 2, echo=lambda m: print(m, flush=True), verbose=0)
    sys.exit(out.exit_code)
""")


def test_resume_after_killed_process(tmp_path):
    run_dir = tmp_path / "run"
    script = tmp_path / "suite.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERASCNN_NO_DOWNLOAD": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(run_dir)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    results = run_dir / "results"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if results.is_dir() and any(results.glob("*.json")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, (
        "the suite finished before it could be killed: " + proc.stdout.read().decode()[-2000:]
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = sorted(p.name for p in results.glob("*.json"))
    assert 1 <= len(first) < 3
    for p in results.glob("*.json"):
        assert json.loads(p.read_text())["status"] == "ok"  # never a half-written file
    assert (run_dir / "bench.lock").is_file()  # kill -9 leaves the lock: a stale one

    resumed = subprocess.run(
        [sys.executable, str(script), str(run_dir), "--resume"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert resumed.stdout.count("already finished (ok), skipped") == len(first)
    assert resumed.stdout.count(f"process {proc.pid} is no longer running") == 1  # taken over
    files = sorted(results.iterdir())
    assert [p.suffix for p in files] == [".json"] * 3  # no duplicate, no leftover temp file
    assert not list(run_dir.rglob("*.tmp")) and not (run_dir / "bench.lock").exists()
    logs = sorted((run_dir / "logs").iterdir())  # one whole log per result, none partial
    assert [p.stem for p in logs] == [p.stem for p in files]
    assert all(len(p.read_text().splitlines()) == 2 for p in logs)  # header + 1 epoch
    models = sorted(json.loads(p.read_text())["model"] for p in files)
    assert models == sorted(["lenet", "lenet(activation='tanh')", "lenet(activation='sigmoid')"])
    assert set(first) <= {p.name for p in files}
    suite = json.loads((run_dir / "suite.json").read_text())
    assert [s["resume"] for s in suite["sessions"]] == [False, True]


@pytest.mark.parametrize(
    "augment, optimizer, schedule",
    [
        (["flip", "translate", "crop", "erasing"], "momentum", "one-cycle"),
        (["cutmix"], "adamw", "constant"),
    ],
)
def test_augmentation_optimizers_schedules_train(tmp_path, augment, optimizer, schedule):
    cfg = BenchConfig(
        models=["lenet"],
        **{**TINY, "train_limit": 128, "test_limit": 64, "warmup_epochs": 0.5},
        augment=augment,
        optimizer=optimizer,
        schedule=schedule,
        weight_decay=1e-4,
        label_smoothing=0.1,
    )
    outcome = run_suite(cfg, out=tmp_path / "r", echo=_quiet, verbose=0)
    assert outcome.exit_code == 0, [r.error for r in store.load_results(tmp_path / "r")]
    (r,) = store.load_results(tmp_path / "r")
    assert r.config["augment"] == augment and r.config["optimizer"] == optimizer
    assert r.params == 61706  # the evaluated model is the plain one, without augmentation layers
    assert all(np.isfinite(r.history["loss"]))


@pytest.mark.parametrize("schedule", ["constant", "cosine", "one-cycle"])
def test_learning_rate_schedules(schedule):
    from kerascnn.bench.optim import make_schedule, schedule_length

    cfg = BenchConfig(
        models=["lenet"],
        epochs=4,
        learning_rate=0.1,
        schedule=schedule,
        warmup_epochs=1.0,
        optimizer="sgd",
    )
    assert schedule_length(cfg, 10) == (40, 10)
    sched = make_schedule(cfg, *schedule_length(cfg, 10))
    values = [float(sched(s)) if callable(sched) else float(sched) for s in (0, 5, 10, 25, 39)]
    assert values[0] < values[2] and values[2] == pytest.approx(
        0.1, rel=1e-3
    )  # warm-up to the peak
    if schedule == "constant":
        assert values[3] == pytest.approx(0.1, rel=1e-3) and values[4] == pytest.approx(
            0.1, rel=1e-3
        )
    else:
        assert values[2] > values[3] > values[4] and values[4] < 0.01  # decays after the warm-up


def test_suite_eta_uses_only_timings_of_the_same_model_and_dataset():
    from kerascnn.bench.config import RunSpec
    from kerascnn.bench.suite_loop import suite_eta

    cfg = BenchConfig(models=["lenet", "vgg"], seeds=[0, 1], **TINY)
    lenet1, vgg0, vgg1 = (
        RunSpec("lenet", "fashion_mnist_mini", 1, cfg),
        RunSpec("vgg", "fashion_mnist_mini", 0, cfg),
        RunSpec("vgg", "fashion_mnist_mini", 1, cfg),
    )
    timed = {("lenet", "fashion_mnist_mini"): [10.0, 14.0]}
    assert suite_eta(timed, [lenet1]) == 12.0
    assert suite_eta(timed, [lenet1, vgg0]) is None  # vgg has never run: no guess from LeNet's time
    timed[("vgg", "fashion_mnist_mini")] = [100.0]
    assert suite_eta(timed, [lenet1, vgg1]) == 112.0
    assert suite_eta(timed, []) == 0.0


def test_run_eta_and_durations():
    from kerascnn._utils import fmt_duration
    from kerascnn.bench.callbacks import run_eta

    assert run_eta(12.0, 0, 3) is None  # nothing timed yet
    assert (
        run_eta(30.0, 1, 3) == 60.0 and run_eta(40.0, 2, 3) == 20.0 and run_eta(60.0, 3, 3) == 0.0
    )
    assert [fmt_duration(s) for s in (9.6, 75.4, 3725)] == ["10s", "1m15s", "1h02m05s"]


def test_progress_lines_name_the_run_epoch_and_eta(tmp_path):
    lines: list[str] = []
    cfg = BenchConfig(
        models=["lenet"],
        seeds=[0, 1],
        **{**TINY, "epochs": 2, "train_limit": 128, "test_limit": 64},
    )
    assert run_suite(cfg, out=tmp_path / "r", echo=lines.append, verbose=0).exit_code == 0
    text = "\n".join(lines)
    assert (
        "[1/2] lenet on fashion_mnist_mini (seed 0)  epoch 1/2\n" in text + "\n"
    )  # no ETA before an epoch ends
    assert re.search(
        r"\[1/2\] lenet on fashion_mnist_mini \(seed 0\)  epoch 2/2  \(training ETA ~\d+s\)", text
    )
    # the second seed of a model already timed gets a suite ETA
    assert re.search(
        r"\[2/2\] lenet on fashion_mnist_mini \(seed 1\): starting; suite ETA ~\d+s", text
    )


@pytest.mark.parametrize(
    "precision, scaled", [("float32", False), ("mixed_float16", True), ("mixed_bfloat16", False)]
)
def test_mixed_precision_runs_and_float16_uses_loss_scaling(tmp_path, precision, scaled):
    cfg = BenchConfig(
        models=["lenet"], precision=precision, **{**TINY, "train_limit": 128, "test_limit": 64}
    )
    outcome = run_suite(cfg, out=tmp_path / "r", echo=_quiet, verbose=0)
    (r,) = store.load_results(tmp_path / "r")
    assert outcome.exit_code == 0, r.error
    assert r.config["precision"] == precision and r.loss_scaling is scaled
    assert r.fused_train is True  # TensorFlow's fused update kernel, one process
    assert r.params == 61706  # the float32 softmax added under mixed precision has no weights
    assert all(np.isfinite(r.history["loss"]))
