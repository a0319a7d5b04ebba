"""Lessons and commands print their own lines (issue 26): TensorFlow's start-up lines (absl,
oneDNN, CUDA, cpu_feature_guard) and the converters' C++ prints stay off the terminal unless
KERASCNN_VERBOSE=1 / --debug asks for them (kerascnn._quiet)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kerascnn import _quiet

ROOT = Path(__file__).resolve().parents[1]
NOISE = re.compile(r"oneDNN|cpu_feature_guard|I0000|absl")
CONVERTER_NOISE = re.compile(r"fully_quantize|FutureWarning")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: no TF_CPP_MIN_LOG_LEVEL, no verbose switch."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP_", "KERASCNN_VERB"))}
    env.update(
        KERASCNN_FAST="1",
        MPLBACKEND="Agg",
        KERASCNN_OUT=str(tmp_path),
        KERASCNN_NO_DOWNLOAD="1",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _noisy(proc: subprocess.CompletedProcess, pattern: re.Pattern) -> list[str]:
    lines = (proc.stdout + proc.stderr).splitlines()
    return [line for line in lines if pattern.search(line)]


@pytest.fixture
def quiet(monkeypatch):
    """This process not verbose, whatever an earlier --debug in it chose."""
    for name in ("KERASCNN_VERBOSE", "KERASCNN_VERBOSE_IMPORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(_quiet._asked, "verbose", False)


def test_a_lesson_prints_only_its_own_lines(tmp_path):
    lesson = ROOT / "tutorials" / "03_padding_and_stride.py"  # the shortest lesson
    proc = _run([sys.executable, str(lesson)], _env(tmp_path), tmp_path)
    assert not _noisy(proc, NOISE), _noisy(proc, NOISE)
    assert proc.stdout.strip() and not proc.stderr.strip()  # its own lines, nothing else


def test_the_quiet_import_hides_what_verbose_shows(tmp_path):
    code = "from kerascnn._quiet import quiet_backend_import; quiet_backend_import()"
    quiet = _run([sys.executable, "-c", code], _env(tmp_path), tmp_path)
    assert not _noisy(quiet, NOISE), _noisy(quiet, NOISE)
    loud = _run([sys.executable, "-c", code], _env(tmp_path, KERASCNN_VERBOSE="1"), tmp_path)
    if not _noisy(loud, NOISE):
        pytest.skip("this TensorFlow prints no start-up lines: nothing to hide")


def test_captured_stderr_keeps_cpp_prints_and_shows_them_on_failure(capfd, quiet):
    with _quiet.captured_stderr() as captured:
        os.write(2, b"converter chatter\n")  # what C++ code does: the descriptor, not sys.stderr
    assert captured.text == "converter chatter\n"
    assert capfd.readouterr().err == ""
    with pytest.raises(RuntimeError), _quiet.captured_stderr():
        os.write(2, b"why it failed\n")
        raise RuntimeError("conversion failed")
    assert "why it failed" in capfd.readouterr().err


def test_verbose_captures_nothing(capfd, quiet, monkeypatch):
    _quiet.set_verbose(True)  # what --debug does
    with _quiet.captured_stderr() as captured:
        os.write(2, b"shown\n")
    assert captured.text == "" and capfd.readouterr().err == "shown\n"
    _quiet.set_verbose(False)
    assert not _quiet.verbose()
    monkeypatch.setenv("KERASCNN_VERBOSE", "1")  # what a lesson's reader does
    assert _quiet.verbose()
    monkeypatch.setenv("KERASCNN_VERBOSE", "0")
    assert not _quiet.verbose()
