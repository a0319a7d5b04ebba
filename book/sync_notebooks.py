"""Write tutorials/NN_name.ipynb from each lesson's NN_name.py (the source), without outputs.

    python book/sync_notebooks.py        # what `make notebooks` runs

One direction only: the .py is the truth and is never written (`jupytext --sync` would pick the
newer file of each pair and rewrite the .py's header). Cell ids of an existing notebook are kept
where the cell at the same position has the same type, so a re-sync changes only what changed.
Pairing for Jupyter (edit either, jupytext saves both) is tutorials/jupytext.toml.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent


def notebook_for(lesson: Path):
    """The lesson as a notebook: its cells, no outputs, ids kept from the notebook beside it."""
    nb = jupytext.read(lesson)
    old_path = lesson.with_suffix(".ipynb")
    old = nbformat.read(old_path, as_version=4).cells if old_path.is_file() else []
    for i, cell in enumerate(nb.cells):
        if i < len(old) and old[i].cell_type == cell.cell_type and "id" in old[i]:
            cell["id"] = old[i]["id"]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def main(argv: list[str] | None = None) -> int:
    lessons = [Path(p) for p in argv] if argv else sorted(ROOT.glob("tutorials/[0-9][0-9]_*.py"))
    for lesson in lessons:
        target = lesson.with_suffix(".ipynb")
        text = jupytext.writes(notebook_for(lesson), fmt="ipynb")
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
