"""Lessons 07-11 and 13-16 run as scripts in fast mode (KERASCNN_FAST=1) and exit 0.

Each lesson asserts its own claims, so exit 0 means every number it states was checked.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = [
    "07_classic_architectures",
    "08_transfer_learning",
    "09_regularization_and_augmentation",
    "10_efficient_architectures",
    "11_attention_se",
    "13_visualising_cnns",
    "14_convolution_variants",
    "15_batch_normalization",
    "16_course_networks",
]


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_fast_mode(lesson, tmp_path):
    script = ROOT / "tutorials" / f"{lesson}.py"
    assert script.is_file(), script
    env = dict(
        os.environ,
        KERASCNN_FAST="1",
        MPLBACKEND="Agg",
        KERASCNN_OUT=str(tmp_path),
        KERASCNN_NO_DOWNLOAD="1",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"{lesson} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    pngs = list((tmp_path / lesson).rglob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs), (
        f"{lesson} wrote no figure under KERASCNN_OUT"
    )


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_is_a_jupytext_percent_notebook(lesson):
    text = (ROOT / "tutorials" / f"{lesson}.py").read_text()
    assert "format_name: percent" in text
    assert text.count("# %% [markdown]") >= 3 and text.count("\n# %%\n") >= 3
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.reads(text, fmt="py:percent")
    kinds = {cell.cell_type for cell in nb.cells}
    assert kinds == {"markdown", "code"}


def test_every_lesson_runs_in_one_of_the_two_files():
    """A new lesson is added to LESSONS here or in test_tutorials_a.py, or no test runs it."""
    from test_tutorials_a import LESSONS as FIRST

    listed = sorted([name.removesuffix(".py") for name in FIRST] + LESSONS)
    lessons = sorted(p.stem for p in (ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
    assert listed == lessons
