"""Build the course book: every lesson executed (fast mode), figures inline, math as MathML.

    python book/make_book.py                    # -> build/book/html/index.html (what `make book` runs)
    python book/make_book.py --out DIR --fresh  # elsewhere, rebuilt from scratch

Stages the sources under OUT/src (each lesson ``tutorials/NN_*.py`` copied as it is, and the
front page ``index.md`` generated from the README's "## Learn" section: its intro and its lesson
table, each row linked to its lesson's page), then runs Sphinx with book/conf.py. The Jupyter
kernels run with KERASCNN_FAST=1, KERASCNN_OUT=OUT/figures (the lessons' PNG files, one folder
per lesson) and KERASCNN_NO_DOWNLOAD=1 (offline). Sphinx rebuilds only the lessons that changed
since the last build; --fresh rebuilds everything (e.g. after changing the package).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
LESSON_GLOB = "[0-9][0-9]_*.py"
LINK = re.compile(r"\[([^\]]+)\]\((?!https?:)[^)]+\)")  # a relative markdown link


def lesson_files(root: Path = ROOT) -> list[Path]:
    """Every lesson ``tutorials/NN_name.py``, in order."""
    return sorted((root / "tutorials").glob(LESSON_GLOB))


def learn_section(readme: str) -> tuple[list[str], list[str]]:
    """The README's "## Learn" section: (intro lines before the table, the table's lines)."""
    lines = readme.splitlines()
    try:
        start = lines.index("## Learn") + 1
    except ValueError:
        raise SystemExit(
            "README.md has no '## Learn' section: the book's front page comes from it"
        ) from None
    intro: list[str] = []
    table: list[str] = []
    for line in lines[start:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
        else:
            intro.append(line)
    return intro, table


def link_row(row: str, names: dict[str, str]) -> str:
    """A table row whose first cell starts with a lesson number, linked to that lesson's page."""
    cells = row.split("|")
    first = cells[1].strip()
    match = re.match(r"(\d\d)\b", first)
    if match and match.group(1) in names:
        cells[1] = f" {{doc}}`{first} <{names[match.group(1)]}>` "
    return "|".join(cells)


def front_page(readme: str, lessons: list[str]) -> str:
    """index.md: the README's Learn intro and table (rows linked), then the toctree of lessons."""
    intro, table = learn_section(readme)
    names = {name[:2]: name for name in lessons}
    text = "\n".join(LINK.sub(r"\1", line) for line in intro).strip()
    rows = [link_row(row, names) if i >= 2 else row for i, row in enumerate(table)]
    toctree = "\n".join(["```{toctree}", ":hidden:", ":maxdepth: 1", ":caption: Lessons", ""])
    return (
        "# kerascnn: the course\n\n"
        + text
        + "\n\n"
        + "\n".join(rows)
        + "\n\n"
        + toctree
        + "\n".join(lessons)
        + "\n```\n"
    )


def write_if_changed(path: Path, data: bytes) -> None:
    """Write only what changed, so Sphinx re-reads (re-executes) only changed pages."""
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)


def stage(src: Path, root: Path = ROOT) -> list[str]:
    """OUT/src: the lessons as they are and the generated front page. Returns the lesson names."""
    src.mkdir(parents=True, exist_ok=True)
    lessons = lesson_files(root)
    names = [path.stem for path in lessons]
    for old in src.glob(LESSON_GLOB):
        if old.stem not in names:
            old.unlink()
    for path in lessons:
        write_if_changed(src / path.name, path.read_bytes())
    readme = (root / "README.md").read_text(encoding="utf-8")
    write_if_changed(src / "index.md", front_page(readme, names).encode("utf-8"))
    return names


def build(out: Path, *, jobs: str = "1", fresh: bool = False, quiet: bool = False) -> int:
    """Stage and build into ``out`` (html in out/html); Sphinx's exit status."""
    from sphinx.cmd.build import build_main

    out = out.resolve()
    if fresh:
        for part in ("html", "doctrees", "figures", "src"):
            shutil.rmtree(out / part, ignore_errors=True)
    names = stage(out / "src")
    # the Jupyter kernels inherit this environment
    os.environ["KERASCNN_FAST"] = "1"
    os.environ["KERASCNN_OUT"] = str(out / "figures")
    os.environ["KERASCNN_NO_DOWNLOAD"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # the NumPy parts, as the tests
        os.environ.setdefault(threads, "1")  # run them: no thread fights on a small machine
    args = ["-b", "html", "-c", str(BOOK), "-d", str(out / "doctrees"), "-j", jobs]
    args += ["-W", "--keep-going"] + (["-q"] if quiet else [])
    start = time.perf_counter()
    status = build_main([*args, str(out / "src"), str(out / "html")])
    seconds = time.perf_counter() - start
    verdict = "built" if status == 0 else "FAILED"
    print(
        f"book {verdict}: {len(names)} lessons in {seconds:.0f} s -> {out / 'html' / 'index.html'}"
    )
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    # More than one: a lesson that fails under -j 2 left Sphinx 9.0's parent waiting forever on a
    # worker blocked writing its result (2026-12); one process fails cleanly, naming the lesson.
    parser.add_argument("--jobs", "-j", default="1", help="Sphinx processes (default 1)")
    parser.add_argument("--fresh", action="store_true", help="rebuild every page")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    return build(args.out, jobs=args.jobs, fresh=args.fresh, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
