"""Multi-process launches, in one process: the launch facts (flags and launcher variables), the
checks before anything starts, the shard each process feeds, the watchdog, resume after a
cluster failure. The processes themselves: tests/test_cluster_processes.py."""

import json
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kerascnn.bench.augment import BatchStream
from kerascnn.bench.config import BenchConfig
from kerascnn.bench.multiprocess import check_suite, config_words
from kerascnn.distributed.cluster import (
    Cluster,
    check_launch,
    differing,
    digest_words,
    parse_address,
    resolve_cluster,
)
from kerascnn.distributed.watchdog import EXIT_CLUSTER
from kerascnn.errors import ArgumentError, ConfigError
from kerascnn.record import store
from kerascnn.record.run import CLUSTER_FAILURE, RunError, RunRecord

TWO = dict(coordinator="127.0.0.1:8476", num_processes=2, process_id=1)


def test_flags_make_a_cluster_and_one_process_is_none():
    c = resolve_cluster(**TWO, environ={})
    assert (c.coordinator, c.num_processes, c.process_id, c.source) == (
        "127.0.0.1:8476",
        2,
        1,
        "flags",
    )
    assert not c.is_chief and c.label == "process 1/2" and c.timeout == 300
    assert resolve_cluster(environ={}) is None
    assert resolve_cluster("127.0.0.1:1", 1, 0, environ={}) is None


@pytest.mark.parametrize(
    "names",
    [
        (
            "KERAS_DISTRIBUTION_JOB_ADDRESSES",
            "KERAS_DISTRIBUTION_NUM_PROCESSES",
            "KERAS_DISTRIBUTION_PROCESS_ID",
        ),
        ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"),
    ],
)
def test_a_launchers_variables_stand_in_for_the_flags(names):
    env = dict(zip(names, ["10.0.0.1:1234,10.0.0.2:1234", "2", "0"]))
    c = resolve_cluster(environ=env, timeout=20)
    assert c.addresses == ("10.0.0.1:1234", "10.0.0.2:1234") and c.is_chief and c.timeout == 20
    assert c.source.startswith("environment (") and names[0].split("_")[0] in c.source
    flags = resolve_cluster(**TWO, environ=env)  # the flags win
    assert flags.source == "flags" and flags.process_id == 1


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(coordinator="h:1", num_processes=2), "Missing: --process-id"),
        (dict(TWO, process_id=2), "--process-id must be from 0 to 1"),
        (dict(TWO, process_id=-1), "Received: --process-id -1"),
        (dict(TWO, num_processes=0), "--num-processes must be 1 or more"),
        (dict(TWO, coordinator="localhost"), "HOST:PORT"),
        (dict(TWO, coordinator="h:70000"), "port from 1 to 65535"),
        (dict(TWO, coordinator="a:1,b:2,c:3"), "Received: 3 addresses"),
        (dict(TWO, timeout=0), "--cluster-timeout must be over 0"),
    ],
)
def test_bad_launches_say_what_was_received(kwargs, expected):
    with pytest.raises(ConfigError, match="Received") as info:
        resolve_cluster(**kwargs, environ={})
    assert expected in str(info.value)


def test_half_a_launch_in_the_environment_is_an_error():
    with pytest.raises(ConfigError, match="needs all of JAX_COORDINATOR_ADDRESS"):
        resolve_cluster(environ={"JAX_COORDINATOR_ADDRESS": "h:1", "JAX_NUM_PROCESSES": "2"})


def test_addresses_parse_with_ipv6_brackets():
    assert parse_address("[::1]:80") == ("::1", 80)
    assert parse_address(" node-3.cluster:8476 ") == ("node-3.cluster", 8476)


def test_tensorflow_workers_listen_at_their_own_addresses():
    one_host = Cluster(("127.0.0.1:9000",), 3, 2)
    assert [one_host.worker_address(i) for i in range(3)] == [
        "127.0.0.1:9000",
        "127.0.0.1:9001",
        "127.0.0.1:9002",
    ]
    assert json.loads(one_host.tf_config())["task"] == {"type": "worker", "index": 2}
    hosts = Cluster(("a:1", "b:2"), 2, 1)
    assert json.loads(hosts.tf_config())["cluster"] == {"worker": ["a:1", "b:2"]}
    from_env = resolve_cluster(environ={"TF_CONFIG": hosts.tf_config()})
    assert (from_env.addresses, from_env.process_id) == (("a:1", "b:2"), 1)
    assert from_env.source == "environment (TF_CONFIG)"
    with pytest.raises(ConfigError, match="TF_CONFIG must be"):
        resolve_cluster(environ={"TF_CONFIG": '{"cluster": {}}'})


def test_the_launch_is_checked_before_anything_starts():
    chief = Cluster(("127.0.0.1:1",), 2, 0)
    with pytest.raises(ConfigError, match="JAX and TensorFlow backends"):
        check_launch(chief, "torch")
    with pytest.raises(ConfigError, match="does not resolve"):
        check_launch(Cluster(("no-such-host.invalid:8476",), 2, 1), "jax")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(ConfigError, match=f"process 0/2 must listen at {address}") as info:
            check_launch(Cluster((address,), 2, 0), "jax")
        assert f"Received: --coordinator {address}" in str(info.value)
        check_launch(Cluster((address,), 2, 1), "jax")  # on JAX only process 0 listens
        with pytest.raises(ConfigError, match="process 1/2 must listen"):  # on TF every one
            check_launch(Cluster(("127.0.0.1:1", address), 2, 1), "tensorflow")


def test_a_suite_for_several_processes_takes_fixed_steps_and_no_clock():
    chief = Cluster(("127.0.0.1:1",), 2, 0)
    cfg = BenchConfig(models=["lenet"], steps=10)
    assert check_suite(cfg, chief, "jax").distribute is True
    with pytest.raises(ConfigError, match="give --steps N or --epochs N"):
        check_suite(BenchConfig(models=["lenet"], budget=30), chief, "jax")
    with pytest.raises(ConfigError, match="--time-budget stops each process"):
        check_suite(BenchConfig(models=["lenet"], epochs=1, time_budget=60), chief, "jax")


def test_the_config_words_tell_suites_apart():
    a, b = BenchConfig(models=["lenet"], steps=10), BenchConfig(models=["lenet"], steps=11)
    assert config_words(a) == config_words(BenchConfig(models=["lenet"], steps=10))
    assert config_words(a) != config_words(b) and len(config_words(a)) == 4
    rows = np.array([digest_words(b"x"), digest_words(b"x"), digest_words(b"y")])
    assert differing(rows) == [2]


def test_the_shards_of_a_batch_are_the_global_batch_in_order():
    x = np.arange(100 * 4, dtype="float32").reshape(100, 2, 2, 1)
    y = np.eye(10, dtype="float32")[np.arange(100) % 10]
    whole = BatchStream(x, y, 32, seed=3, steps=5)
    parts = [BatchStream(x, y, 32, seed=3, steps=5, shard=(k, 4)) for k in range(4)]
    for step in (0, 3, 4):  # step 3 crosses into the second pass
        xs, ys = zip(*(p[step] for p in parts))
        np.testing.assert_array_equal(np.concatenate(xs), whole[step][0])
        np.testing.assert_array_equal(np.concatenate(ys), whole[step][1])
        assert len(xs[0]) == 8
    with pytest.raises(ArgumentError, match="divisible"):
        BatchStream(x, y, 30, seed=0, shard=(0, 4))


def _record(key, status, error=None):
    return RunRecord(
        model="lenet", dataset="d", seed=0, config_hash="h", key=key, status=status, error=error
    )


def test_resume_runs_a_cluster_failure_again(tmp_path):
    store.write_result(tmp_path, _record("b", "failed", RunError("NaNLoss", "nan")))
    store.write_result(tmp_path, _record("c", "failed", RunError(CLUSTER_FAILURE, "peer died")))
    assert {p.stem for p in (tmp_path / store.RESULTS).glob("*.json")} == {"b", "c"}
    assert store.finished_keys(tmp_path) == {"b"}  # the model's failure stays; c runs again


def test_the_watchdog_ends_a_stuck_process_after_calling_its_handler(tmp_path):
    marker = tmp_path / "expired.txt"
    code = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from kerascnn.distributed.watchdog import Watchdog
        dog = Watchdog(1.0, lambda m: Path({str(marker)!r}).write_text(m), context="process 0/2")
        with dog.phase("working"):  # beats keep it alive
            for _ in range(15):
                time.sleep(0.1)
                dog.beat()
        time.sleep(1.5)  # disarmed: nothing happens
        with dog.phase("waiting for a peer"):
            time.sleep(30)
        print("not reached")
        """
    )
    t0 = __import__("time").monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_CLUSTER and "not reached" not in proc.stdout
    assert __import__("time").monotonic() - t0 < 20
    message = marker.read_text()
    assert "No progress for 1 s while waiting for a peer (process 0/2)" in message
    assert message in proc.stderr and "--resume" in message


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--process-id", "2"], "--process-id must be from 0 to 1 for 2 processes"),
    ],
)
def test_the_command_refuses_a_bad_launch_before_it_starts(tmp_path, args, expected):
    from click.testing import CliRunner

    from kerascnn.cli import main

    launch = ["--coordinator", "127.0.0.1:8476", "--num-processes", "2", "--models", "lenet"]
    launch += ["--steps", "2"]
    result = CliRunner().invoke(main, ["bench", *launch, *args, "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and expected in " ".join(result.output.split())
    assert not (tmp_path / "r").exists()
