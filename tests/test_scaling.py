"""benchmarks/scaling.py, the scaling report's script: 1 and 2 processes of kerascnn bench, a
few steps each, make a results.csv row per run and a README table with its machine."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scaling.py"


def test_one_and_two_processes_make_a_table(tmp_path):
    out = tmp_path / "scaling"
    command = [sys.executable, str(SCRIPT), "--models", "lenet", "--steps", "4", "--repeats", "1"]
    proc = subprocess.run(
        [*command, "--batch-per-process", "16", "--out", str(out), "--timeout", "150"],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["processes"], r["global_batch"], r["replicas"], r["status"]) for r in rows] == [
        ("1", "16", "1", "ok"),
        ("2", "32", "2", "ok"),
    ]
    assert all(float(r["train_images_per_s"]) > 0 for r in rows)
    readme = (out / "README.md").read_text()
    assert "| lenet | 2 | 32 |" in readme and "1.00x" in readme
    assert "backend jax" in readme and "no real speed-up is possible" in readme
    assert sorted(p.name for p in (out / "runs").iterdir() if p.is_dir()) == ["p1-r1", "p2-r1"]
