"""Several ``kerascnn bench`` processes on 127.0.0.1 (CPU, one device each), on JAX and
TensorFlow: they end training with identical weights (on JAX, those of one process on two
devices), a dead, hung or missing process stops the other within a bounded time, and mismatched
launches stop before training. Every process is ended by the test."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kerascnn.distributed.cluster import free_port

pytest.importorskip("jax")

SMALL = ["--models", "lenet", "--batch-size", "32", "--train-limit", "512", "--test-limit", "256"]
BACKENDS = pytest.mark.parametrize("backend", ["jax", "tensorflow"])


def env(**extra):
    # PYTHONFAULTHANDLER: a process still running at a test's deadline is sent SIGABRT first,
    # so its log shows where every thread was (see finish)
    out = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    # one thread per TensorFlow op: under pytest-xdist four of these processes can share 2 cores
    # (CI's make test timed one out at 150 s); threads per core per process only fight there
    out["TF_NUM_INTRAOP_THREADS"] = "1"
    out.pop("XLA_FLAGS", None)
    out.update(extra)
    return out


def start(tmp_path: Path, args, process_id=None, port=None, n=2, **environ):
    """One bench process, its output in tmp_path/p<id>.log."""
    cluster = []
    if process_id is not None:
        cluster = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(n)]
        cluster += ["--process-id", str(process_id)]
    path = tmp_path / f"p{process_id}.log"
    command = [sys.executable, "-m", "kerascnn.cli", "bench", "--no-report", *args, *cluster]
    with open(path, "w") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env(**environ), cwd=tmp_path
        )
    proc.log_path = path
    return proc


def finish(procs, timeout):
    """Return codes of ``procs``. Any still running at ``timeout`` seconds is stopped: first
    SIGABRT (Python's fault handler writes every thread's stack to its log), then SIGKILL; the
    test then fails with the end of every log (where each process was)."""
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(1, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGABRT)
        time.sleep(5)
        logs = "\n".join(f"--- {p.log_path.name} (exit {p.poll()}) ---\n{tail(p)}" for p in procs)
        raise AssertionError(f"still running after {timeout} s:\n{logs}") from None
    finally:
        stop_all(procs)


def stop_all(procs):
    """End every process of ``procs`` still running (a test's cleanup)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def tail(proc, chars=6000):
    return proc.log_path.read_text(errors="replace")[-chars:]


def text(tmp_path, process_id):
    return (tmp_path / f"p{process_id}.log").read_text()


def start_training(tmp_path, run, port, **environ):
    """Two processes of ``run``, returned once process 1 is training (or both killed)."""
    procs = [start(tmp_path, run, i, port, **environ) for i in (0, 1)]
    deadline = time.monotonic() + 90
    while "segment 1/" not in text(tmp_path, 1) and time.monotonic() < deadline:
        time.sleep(0.2)
    if "segment 1/" not in text(tmp_path, 1):
        stop_all(procs)
        pytest.fail("process 1 did not start training: " + text(tmp_path, 1)[-2000:])
    return procs


def weights(path):
    import keras

    return keras.saving.load_model(path, compile=False).get_weights()


@BACKENDS
def test_two_processes_train_like_one_process_on_two_devices(tmp_path, backend):
    port, run = free_port(), ["--steps", "6", "--save-models", *SMALL]
    two = [start(tmp_path, [*run, "--out", "two"], i, port, KERAS_BACKEND=backend) for i in (0, 1)]
    assert finish(two, 240) == [0, 0], text(tmp_path, 0)[-3000:] + text(tmp_path, 1)[-3000:]

    assert "[process 1/2] 1 ok, 0 failed; process 0 wrote the results" in text(tmp_path, 1)
    results = list((tmp_path / "two" / "results").glob("*.json"))
    assert len(results) == 1 and len(list((tmp_path / "two" / "logs").iterdir())) == 1
    record = json.loads(results[0].read_text())
    dp = record["data_parallel"]
    batches = (dp["num_processes"], dp["replicas"], dp["global_batch"], dp["per_device_batch"])
    assert batches == (2, 2, 32, 16) and dp["coordinator"] == f"127.0.0.1:{port}"
    assert dp["weights_in_sync"] is True  # both processes hold the same weights (hashes)
    assert record["environment"]["backend"] == backend
    assert ",num_processes,replicas," in (tmp_path / "two" / "results.csv").read_text()
    if backend != "jax":  # XLA on a CPU is deterministic; TensorFlow's kernels need not be
        return
    # same global batches, same seed: the same weights as one process over two devices
    one = start(
        tmp_path,
        [*run, "--distribute", "--out", "one"],
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    assert finish([one], 240) == [0], text(tmp_path, None)[-3000:]
    (a,), (b,) = ((tmp_path / d / "models").glob("*.keras") for d in ("two", "one"))
    for wa, wb in zip(weights(a), weights(b), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


@BACKENDS
def test_two_processes_recompute_the_same_batchnorm_statistics(tmp_path, backend):
    """A model with BatchNorm: the statistics are recomputed before every evaluation on every
    process, from the same batches, so the processes still agree (on TensorFlow each worker's
    moving statistics saw only its shard; they differed, and the run failed as
    ReplicasDiverged, before the recomputation)."""
    port = free_port()
    run = ["--steps", "6", *SMALL, "--models", "simple_cnn", "--out", "bn"]
    run += ["--precise-bn-batches", "4"]  # every recomputation is 4 collective predicts
    procs = [start(tmp_path, run, i, port, KERAS_BACKEND=backend) for i in (0, 1)]
    assert finish(procs, 240) == [0, 0], text(tmp_path, 0)[-3000:] + text(tmp_path, 1)[-3000:]
    (result,) = (tmp_path / "bn" / "results").glob("*.json")
    record = json.loads(result.read_text())
    assert record["status"] == "ok" and record["data_parallel"]["weights_in_sync"] is True
    bn = record["precise_bn"]
    assert bn["layers"] == 3 and bn["calls"] == 3 and bn["top1_stale"] is not None


@BACKENDS
def test_a_dead_process_stops_the_other_and_resume_runs_it_again(tmp_path, backend):
    port, run = free_port(), ["--steps", "400", "--out", "run", "--cluster-timeout", "60", *SMALL]
    procs = start_training(tmp_path, run, port, KERAS_BACKEND=backend)
    try:
        procs[1].send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        assert finish(procs[:1], 90) == [75]
        assert time.monotonic() - t0 < 80
    finally:
        stop_all(procs)
    log = text(tmp_path, 0)
    assert "FAILED (ClusterFailure)" in log and "--resume runs this run again" in log
    (result,) = (tmp_path / "run" / "results").glob("*.json")
    error = json.loads(result.read_text())["error"]
    assert error["type"] == "ClusterFailure" and "on process 0/2" in error["message"]

    port = free_port()
    again = [start(tmp_path, [*run, "--resume"], i, port, KERAS_BACKEND=backend) for i in (0, 1)]
    assert finish(again, 240) == [0, 0], text(tmp_path, 0)[-3000:]
    assert json.loads(result.read_text())["status"] == "ok"


def test_a_hung_process_makes_the_other_record_the_run_and_stop(tmp_path):
    port, run = free_port(), ["--steps", "400", "--out", "run", "--cluster-timeout", "10", *SMALL]
    procs = start_training(tmp_path, run, port)
    try:
        procs[1].send_signal(signal.SIGSTOP)  # alive but silent: only the watchdog can tell
        t0 = time.monotonic()
        assert finish(procs[:1], 90) == [75]
        assert time.monotonic() - t0 < 60
    finally:
        procs[1].send_signal(signal.SIGCONT)
        stop_all(procs)
    (result,) = (tmp_path / "run" / "results").glob("*.json")
    error = json.loads(result.read_text())["error"]
    assert error["type"] == "ClusterFailure"
    assert error["message"].startswith("No progress for 10 s while running [1/1] lenet")
    assert "process 0/2, coordinator 127.0.0.1:" in error["message"]


@BACKENDS
def test_a_process_that_never_joins_stops_the_other_in_bounded_time(tmp_path, backend):
    t0 = time.monotonic()
    run = ["--steps", "6", "--out", "run", "--cluster-timeout", "8", *SMALL]
    alone = start(tmp_path, run, 0, free_port(), KERAS_BACKEND=backend)
    # TensorFlow waits for its workers holding the GIL: a watcher process ends it (SIGKILL)
    assert finish([alone], 120) == [75 if backend == "jax" else -9]
    assert time.monotonic() - t0 < 60
    log = text(tmp_path, 0)
    assert "No progress for 8 s while waiting for 2 processes to join at 127.0.0.1:" in log
    assert f"exit status {75 if backend == 'jax' else 137}" in log
    assert "no run had started" in log and "reachable from here" in log
    assert not list((tmp_path / "run").glob("results/*.json"))  # no run had started


@pytest.mark.parametrize(
    "second, expected",
    [
        (["--steps", "7"], "Process(es) 1 run another suite than process 0"),
        (["--steps", "6", "--batch-size", "33"], None),
    ],
)
def test_mismatched_launches_stop_before_training(tmp_path, second, expected):
    port = free_port()
    first = ["--steps", "6", *SMALL, "--out", "run"]
    if expected is None:  # both take the odd batch: the same suite, a batch that does not split
        first = [*first, "--batch-size", "33"]
        expected = "it must be a multiple of 2. Received: batch_size=33"
    procs = [
        start(tmp_path, first, 0, port),
        start(tmp_path, [*SMALL, "--out", "run", *second], 1, port),
    ]
    assert finish(procs, 120) == [1, 1]
    for i in (0, 1):
        assert expected in " ".join(text(tmp_path, i).split())
        assert "starting" not in text(tmp_path, i)
