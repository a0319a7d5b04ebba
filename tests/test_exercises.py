"""Every lesson ends with its exercises, in the one shape the book relies on:

    ## Exercises                                  (a markdown cell: the questions, 1..k)
    ### Exercise 1 · Short title                  (a markdown cell)
    <one code cell tagged solution, hide-cell>    (the worked solution; it asserts)
    ...                                           (k = 3 to 5, numbered 1..k)

The book folds each solution away under its exercise (myst-nb's hide-cell tag); the solution
runs every time the lesson runs, as a script (tests/test_tutorials_*.py) and in the book.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
LESSONS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
EXERCISE = re.compile(r"^### Exercise (\d+) · \S")
TAGS = {"solution", "hide-cell"}


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides conftest's per-test clear_session(): nothing here builds a Keras model."""
    yield


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_lesson_has_its_exercises_each_with_one_folded_asserting_solution(lesson):
    nb = jupytext.read(lesson)
    heads = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Exercises")
    ]
    assert len(heads) == 1, f"{lesson.name}: expected one '## Exercises' markdown cell"
    numbers = []
    for i, cell in enumerate(nb.cells):
        match = EXERCISE.match(cell.source.lstrip()) if cell.cell_type == "markdown" else None
        if match is None:
            if cell.cell_type == "code" and tags(cell) & {"solution"}:
                assert i > 0 and EXERCISE.match(nb.cells[i - 1].source.lstrip() or " "), (
                    f"{lesson.name}: a solution cell (cell {i}) that follows no exercise cell"
                )
            continue
        assert i > heads[0], f"{lesson.name}: exercise {match.group(1)} before '## Exercises'"
        numbers.append(int(match.group(1)))
        assert i + 1 < len(nb.cells), f"{lesson.name}: exercise {match.group(1)} has no solution"
        solution = nb.cells[i + 1]
        where = f"{lesson.name}, exercise {match.group(1)}"
        assert solution.cell_type == "code", f"{where}: the next cell is not its solution code"
        assert tags(solution) >= TAGS, f"{where}: the solution is not tagged {sorted(TAGS)}"
        assert re.search(r"^\s*assert\b", solution.source, flags=re.M), f"{where}: no assert"
        after = nb.cells[i + 2] if i + 2 < len(nb.cells) else None
        assert after is None or after.cell_type == "markdown", (
            f"{where}: exactly one code cell follows an exercise"
        )
    assert 3 <= len(numbers) <= 5, f"{lesson.name}: {len(numbers)} exercises (3 to 5 wanted)"
    assert numbers == list(range(1, len(numbers) + 1)), f"{lesson.name}: numbered {numbers}"
