"""The fast lane: conftest's SLOW table names files and tests that exist, the `slow` marker is
registered, and `pytest -m "not slow"` leaves out exactly what the table names."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import SLOW, slow_reason

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def defined_tests(path: Path) -> set[str]:
    """'test_name' and 'Class::test_name' for every test function defined in a file."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}::{sub.name}"
                for sub in node.body
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    return {name for name in names if name.rsplit("::", 1)[-1].startswith("test")}


@pytest.mark.parametrize("entry", sorted(SLOW))
def test_every_slow_entry_names_an_existing_file_or_test(entry):
    file, _, test = entry.partition("::")
    assert (TESTS / file).is_file(), f"SLOW names {file}, which is not in tests/"
    if test:
        assert test in defined_tests(TESTS / file), f"SLOW names {entry}, which is not a test"
    assert SLOW[entry].strip(), f"SLOW's entry {entry} gives no reason"


def test_slow_is_a_registered_marker(pytestconfig):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    markers = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    assert any(line.startswith("slow:") for line in markers)
    assert any(line.startswith("slow:") for line in pytestconfig.getini("markers"))


def test_slow_reason_matches_files_and_whole_tests_only():
    file_entry = next(entry for entry in SLOW if "::" not in entry)
    test_entry = next(entry for entry in SLOW if "::" in entry)
    assert slow_reason(f"tests/{file_entry}::test_anything[x-1]") == SLOW[file_entry]
    assert slow_reason(f"tests/{file_entry}::Cls::test_anything") == SLOW[file_entry]
    assert slow_reason(f"tests/{test_entry}") == SLOW[test_entry]
    assert slow_reason(f"tests/{test_entry}[a/b.py]") == SLOW[test_entry]
    assert slow_reason(f"tests/{test_entry}_too") is None  # a longer name is another test
    assert slow_reason(f"tests/x_{file_entry}::test_anything") is None
    assert slow_reason("tests/test_fast_lane.py::test_slow_is_a_registered_marker") is None


def test_collected_tests_carry_the_marker_exactly_when_the_table_names_them(request):
    items = request.session.items
    assert items
    for item in items:
        marked = item.get_closest_marker("slow") is not None
        assert marked == (slow_reason(item.nodeid) is not None), item.nodeid


def collect(marker_expression: str, *files: str) -> list[str]:
    """The node ids `pytest -m EXPR --collect-only` selects from tests/FILES, in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + ["-m", marker_expression, *(f"tests/{f}" for f in files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 5), proc.stdout[-2000:] + proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_not_slow_leaves_out_exactly_the_table():
    # test_tutorials_a.py: its lesson runs are in SLOW, its notebook checks are not
    fast = collect("not slow", "test_tutorials_a.py")
    slow = collect("slow", "test_tutorials_a.py")
    assert fast and slow
    assert all("test_lesson_is_a_percent_format_notebook" in nodeid for nodeid in fast)
    assert all("test_lesson_runs_in_fast_mode" in nodeid for nodeid in slow)
    assert len(fast) == len(slow)  # one of each per lesson
