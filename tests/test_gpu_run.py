"""benchmarks/gpu/run.py, the GPU machine's one command: smoke mode on the CPU runs its parts
and writes its summary; the deadline stops new work and the summary is still written."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu" / "run.py"


def run(*args, timeout=600):
    command = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_smoke_mode_runs_the_main_job_and_an_accuracy_run(tmp_path):
    proc = run("--smoke", "--parts", "main,accuracy", "--out", str(tmp_path), "--deadline", "400")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("[gpu] ")]
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "[gpu] software",
        "[gpu] main job",
        "[gpu] accuracy lenet",
    ]
    assert "lenet ok top-1" in lines[1] and lines[-1].startswith("[gpu] done in")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [p["status"] for p in summary["parts"]] == ["ok", "ok", "ok"]
    found = json.loads((tmp_path / "software.json").read_text())
    assert found["python"] == ".".join(map(str, sys.version_info[:3])) and found["keras"]
    for folder in ("fashion-gpu-main", "fashion-gpu"):
        assert "lenet" in (tmp_path / folder / "results.csv").read_text()


def test_past_the_deadline_nothing_starts_and_the_summary_is_written(tmp_path):
    proc = run("--smoke", "--out", str(tmp_path), "--deadline", "0", timeout=120)
    assert proc.returncode == 1  # not every part ran
    summary = json.loads((tmp_path / "summary.json").read_text())
    statuses = {p["part"]: p["status"] for p in summary["parts"]}
    assert statuses.pop("software") == "ok"
    assert set(statuses) == {"throughput", "main job", "accuracy lenet"}
    assert all(s == "skipped: deadline" for s in statuses.values()), statuses
    assert not (tmp_path / "fashion-gpu").exists()


def test_unknown_parts_are_refused(tmp_path):
    proc = run("--parts", "throughput,train", "--out", str(tmp_path), timeout=60)
    assert proc.returncode == 2 and "Received: 'throughput,train'" in proc.stderr


def test_the_throughput_script_skips_what_its_deadline_leaves_out(tmp_path):
    script = SCRIPT.parents[1] / "gpu_throughput.py"
    args = ["--smoke", "--models", "resnet18", "--frameworks", "keras-jax", "--deadline", "0"]
    command = [sys.executable, str(script), *args, "--out", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (record,) = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert record["error"] == "skipped: the 0 s deadline had passed"
    assert "skipped: the 0 s deadline" in (tmp_path / "README.md").read_text()
