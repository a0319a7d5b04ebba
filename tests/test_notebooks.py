"""Every lesson has its notebook: tutorials/NN_name.ipynb, paired with NN_name.py (the source)
by jupytext (tutorials/jupytext.toml), the same cells, committed without outputs.

`make notebooks` regenerates them from the .py files after a lesson changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
LESSONS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
FIX = "run `make notebooks` (jupytext --to ipynb tutorials/[0-9][0-9]_*.py) and commit the result"


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides conftest's per-test clear_session(): nothing here builds a Keras model."""
    yield


def cells(nb) -> list[tuple[str, str, list[str]]]:
    """What must agree between the pair: each cell's type, source and tags."""
    return [
        (cell.cell_type, cell.source.strip(), list(cell.metadata.get("tags", [])))
        for cell in nb.cells
    ]


def test_there_are_lessons():
    assert len(LESSONS) >= 15


def test_the_pairing_config_pairs_ipynb_with_percent_py():
    config = (TUTORIALS / "jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in config


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_lesson_notebook_is_in_sync_and_has_no_outputs(lesson):
    notebook = lesson.with_suffix(".ipynb")
    assert notebook.is_file(), f"{notebook.name} is missing: {FIX}"
    nb_py = jupytext.read(lesson)
    nb_ipynb = jupytext.read(notebook)
    assert cells(nb_ipynb) == cells(nb_py), f"{notebook.name} is out of date: {FIX}"
    assert nb_ipynb.metadata.get("kernelspec", {}).get("name") == "python3"
    for cell in nb_ipynb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{notebook.name} was committed with outputs: {FIX}"
            )
