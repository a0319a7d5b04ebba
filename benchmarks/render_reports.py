"""Render every published report again, from its stored records, into a copy of it.

Copies each report folder under reports/ to OUT/reports/<same path> and rebuilds it there
with whatever ``kerascnn`` is importable (PYTHONPATH decides), so that two renders, one with
the code before a change and one with the code after, compare byte for byte:

    git worktree add /tmp/base <commit before>
    PYTHONPATH=/tmp/base python benchmarks/render_reports.py --out /tmp/render_before
    python benchmarks/render_reports.py --out /tmp/render_after --diff /tmp/render_before
    git worktree remove /tmp/base --force

``--diff DIR`` compares the markdown and CSV files of every rendered folder with DIR's
(``diff -r -x '*.png'`` does the same by hand); ``--diff .`` from the checkout's root compares
with the published reports themselves. PNGs are redrawn too but not compared (their bytes vary). Each command
runs with OUT as its working directory and the folder's path relative to it, so the paths a
README names (``reports/fashion-cpu``) are the published ones.

The report folders:

- a bench run: a ``results/`` folder of ``*.json``: ``kerascnn report reports/<path>``
  (README.md, results.csv, the plots, and DEPLOY.md where it has ``deploy/``);
- a ``kerascnn throughput`` sweep: a ``results.json`` of kind ``kerascnn.throughput``:
  ``write_throughput_report``; a sweep holding exactly one other sweep one folder below
  (``benchmarks/throughput-cpu.sh``'s ``--compare "$OUT/xla"``) is rendered against it;
- a ``deploy/`` folder without results: ``write_deploy_report``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THROUGHPUT_KIND = "kerascnn.throughput"
COMPARED = (".md", ".csv")


def _is_sweep(folder: Path) -> bool:
    path = folder / "results.json"
    if not path.is_file():
        return False
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == THROUGHPUT_KIND


def report_folders(reports: Path) -> list[tuple[str, Path]]:
    """(kind, folder) of every report folder under ``reports``: bench, throughput or deploy."""
    found = []
    for folder in sorted(p for p in [reports, *reports.rglob("*")] if p.is_dir()):
        if (folder / "results").is_dir() and any((folder / "results").glob("*.json")):
            found.append(("bench", folder))
        elif _is_sweep(folder):
            found.append(("throughput", folder))
        elif (folder / "deploy").is_dir():
            found.append(("deploy", folder))
    return found


def _command(kind: str, rel: Path, cwd: Path) -> list[str]:
    """The command that renders ``rel``, a path relative to ``cwd`` (its working directory)."""
    if kind == "bench":
        return [sys.executable, "-m", "kerascnn.cli", "report", str(rel)]
    if kind == "deploy":
        code = "from kerascnn.report.deploy import write_deploy_report as w; w({!r})"
        return [sys.executable, "-c", code.format(str(rel))]
    inner = [p for p in sorted((cwd / rel).iterdir()) if p.is_dir() and _is_sweep(p)]
    against = str(inner[0].relative_to(cwd)) if len(inner) == 1 else None
    code = (
        "from kerascnn.report.throughput import write_throughput_report as w; w({!r}, compare={!r})"
    )
    return [sys.executable, "-c", code.format(str(rel), against)]


def render(reports: Path, out: Path) -> list[Path]:
    """Copy every report folder of ``reports`` under ``out/reports`` and render it there."""
    folders = report_folders(reports)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    where = subprocess.run(
        [sys.executable, "-c", "import kerascnn; print(kerascnn.__file__)"],
        cwd=out, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(f"rendering with {where.stdout.strip()}", flush=True)
    rendered = []
    for _, folder in folders:  # a folder inside one already copied comes with it
        rel = Path("reports") / folder.relative_to(reports)
        if not (out / rel).exists():
            shutil.copytree(folder, out / rel, symlinks=True)
    for kind, folder in folders:
        rel = Path("reports") / folder.relative_to(reports)
        print(f"{kind:>10}  {rel}", flush=True)
        done = subprocess.run(
            _command(kind, rel, out), cwd=out, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"{rel}: exit {done.returncode}\n{done.stderr[-3000:]}")
        rendered.append(rel)
    return rendered


def compare(out: Path, other: Path, rendered: list[Path]) -> bool:
    """Print, per rendered folder, whether its markdown and CSV files match ``other``'s."""
    same = True
    for rel in rendered:
        here, there = out / rel, other / rel
        names = {
            p.relative_to(root)
            for root in (here, there)
            if root.is_dir()
            for p in root.rglob("*")
            if p.suffix in COMPARED and p.is_file()
        }
        differ = [
            str(n)
            for n in sorted(names)
            if not (here / n).is_file()
            or not (there / n).is_file()
            or (here / n).read_bytes() != (there / n).read_bytes()
        ]
        same = same and not differ
        status = "identical" if not differ else "DIFFERS: " + ", ".join(differ)
        print(f"{rel}: {len(names)} md/csv file(s) {status}")
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="an empty or new folder")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports", help="%(default)s")
    parser.add_argument(
        "--diff",
        type=Path,
        default=None,
        help="a folder rendered before, or a checkout (its reports/): compare md/csv with it",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out} is not empty: remove it or name another folder")
    out.mkdir(parents=True, exist_ok=True)
    rendered = render(args.reports.resolve(), out)
    if args.diff is None:
        return 0
    return 0 if compare(out, args.diff.resolve(), rendered) else 1


if __name__ == "__main__":
    sys.exit(main())
