"""Sphinx extension: what the book adds to each lesson page, without editing the lesson.

A lesson (``NN_name``) is read from its jupytext percent ``.py`` file. Before myst-nb parses it,
two cells are added to the notebook it becomes:

- a hidden first code cell (tag ``remove-cell``) that sets ``__file__`` to the lesson's real
  path, so ``HERE`` (the lesson's folder) is ``tutorials/`` as when it runs as a script and
  files it reads beside the repository (``HERE.parent / "reports" / ...``) are found;
- after the title cell, a note saying the page was executed in fast mode and how to get the
  full numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
from nbformat.v4 import new_code_cell, new_markdown_cell

LESSON = re.compile(r"^\d\d_\w+$")
FMT = "py:percent"


def fast_mode_note(name: str) -> str:
    return (
        "```{note}\n"
        "This page was executed in fast mode (`KERASCNN_FAST=1`) when the book was built: "
        "smaller data and fewer epochs wherever the lesson loads data or trains, so its numbers "
        "are the quick pass's. Run `python tutorials/" + name + ".py` (or open "
        "`tutorials/" + name + ".ipynb` in Jupyter) for the full numbers.\n"
        "```"
    )


def book_notebook(text: str, name: str, lesson_path: Path) -> str:
    """The lesson's percent text with the book's two cells added (percent text again)."""
    nb = jupytext.reads(text, fmt=FMT)
    hidden = new_code_cell(f"__file__ = {str(lesson_path)!r}", metadata={"tags": ["remove-cell"]})
    title = next(
        (i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"),
        -1,
    )
    nb.cells.insert(title + 1, new_markdown_cell(fast_mode_note(name)))
    nb.cells.insert(0, hidden)
    return jupytext.writes(nb, fmt=FMT)


def on_source_read(app, docname: str, source: list[str]) -> None:
    if LESSON.match(docname):
        lesson_path = Path(app.config.book_lessons_dir) / f"{docname}.py"
        source[0] = book_notebook(source[0], docname, lesson_path)


def setup(app):
    app.add_config_value("book_lessons_dir", "", "env")
    app.connect("source-read", on_source_read)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
