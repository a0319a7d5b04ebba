"""Lessons 01-06, 12 and 17 run end to end as scripts in fast mode, and open as notebooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
LESSONS = [
    "01_why_convolution.py",
    "02_convolution_math.py",
    "03_padding_and_stride.py",
    "04_pooling.py",
    "05_building_a_cnn.py",
    "06_backprop_by_hand.py",
    "12_detection_basics.py",
    "17_robustness.py",
]


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides conftest's per-test clear_session(): the lessons run in subprocesses."""
    yield


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_fast_mode(lesson, tmp_path):
    env = dict(
        os.environ,
        KERASCNN_FAST="1",
        MPLBACKEND="Agg",
        KERASCNN_OUT=str(tmp_path),
        TF_CPP_MIN_LOG_LEVEL="3",
        KERASCNN_NO_DOWNLOAD="1",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
    )  # the NumPy parts: no thread fights on 2 cores
    proc = subprocess.run(
        [sys.executable, str(TUTORIALS / lesson)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, f"{lesson} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    figures = list(tmp_path.rglob("*.png"))
    assert figures, f"{lesson} wrote no figure under KERASCNN_OUT"
    assert all(f.stat().st_size > 1000 for f in figures)
    assert all(tmp_path in f.parents for f in figures)


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_is_a_percent_format_notebook(lesson):
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.read(TUTORIALS / lesson)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds[0] == "markdown" and nb.cells[0].source.startswith("# ")  # opens with its title
    assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "KERASCNN_FAST" in code and "KERASCNN_OUT" in code and "assert " in code
