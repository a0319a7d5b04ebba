"""The hparam search in KerasTuner's distributed mode: a chief (the oracle) and two workers on
127.0.0.1 run every trial exactly once, and the chief's table holds them all."""

import json
import os
import re
import subprocess
import sys

import pytest

from kerascnn.distributed.cluster import free_port
from kerascnn.errors import ConfigError
from kerascnn.experiments.hparam import DISTRIBUTED, search_role

pytest.importorskip("keras_tuner")


def test_a_chief_and_two_workers_run_each_trial_once(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "kerascnn.cli", "experiment", "hparam", "--fast"]
    command += [
        "--trials",
        "4",
        "--tuner-dir",
        str(tmp_path / "tuner"),
        "--out",
        str(tmp_path / "report"),
    ]
    procs = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id}
        env.update(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port))
        procs[tuner_id] = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
    try:
        out = {k: p.communicate(timeout=240)[0] for k, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    assert {k: p.returncode for k, p in procs.items()} == dict.fromkeys(procs, 0), out
    ran = []
    for worker in ("tuner0", "tuner1"):
        (line,) = re.findall(rf"worker {worker} ran trial\(s\) ([^;]*);", out[worker])
        ran += [t for t in line.split(", ") if t != "none"]
    report = json.loads((tmp_path / "report" / "results.json").read_text())
    table = [row["trial"] for row in report["rows"]]
    assert len(ran) == len(set(ran)) == 4  # every trial once, none twice
    assert sorted(table) == sorted(ran)
    assert "distributed" in report["settings"]["search"]
    assert "wrote" in out["chief"] and "wrote" not in out["tuner0"]


def test_a_distributed_search_needs_all_three_variables_and_a_shared_folder(tmp_path):
    assert search_role({}) is None
    assert search_role(dict(zip(DISTRIBUTED, ["tuner3", "h", "1"]))) == "tuner3"
    with pytest.raises(ConfigError, match="Received: only KERASTUNER_TUNER_ID=chief"):
        search_role({"KERASTUNER_TUNER_ID": "chief"})
    env = {**os.environ, **dict(zip(DISTRIBUTED, ["tuner0", "127.0.0.1", "1"]))}
    command = [sys.executable, "-m", "kerascnn.cli", "experiment", "hparam", "--fast"]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "needs --tuner-dir" in proc.stderr


def test_an_option_of_another_experiment_is_refused():
    from kerascnn.errors import ArgumentError
    from kerascnn.experiments import run_experiment

    with pytest.raises(ArgumentError, match="Received: tuner_dir"):
        run_experiment("optimizers", fast=True, tuner_dir="x")
