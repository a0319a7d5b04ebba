"""The main job, run several times in a row: does its answer hold from one run to the next?

Runs `make bench` (the README's command: `kerascnn bench --models lenet,vgg,mobilenetv2`)
N times back to back in this checkout, moves each run folder to OUT/run-K, and writes
OUT/README.md: every model's top-1, calibrated steps and training time side by side, the
suite time each run printed, and the machine's load around each run; OUT/results.csv holds
every run's rows (each run folder keeps its own report, JSON records and plots).

    git clone . /tmp/fresh && cd /tmp/fresh && make install
    python benchmarks/main_job_repeat.py --runs 3 --out reports/main-job/runs
    python benchmarks/main_job_repeat.py --runs 3 --bench-args="--budget 30" \
        --out reports/main-job/runs-budget      # calibrated on this machine at every run
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _run_once(out: Path, bench_args: str) -> dict:
    """One `make bench`: its run folder moved to ``out``, what it printed, load and time."""
    before, t0 = _load(), time.perf_counter()
    command = ["make", "bench", *([f"BENCH_ARGS={bench_args}"] if bench_args else [])]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"make bench failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    done = re.search(r"^(\d+) ok, .* in (\d+) s; results in (.+)$", proc.stdout, re.M)
    if done is None:
        raise SystemExit(f"no summary line in make bench's output:\n{proc.stdout[-3000:]}")
    shutil.move(str(ROOT / done.group(3)), out)
    (out / "make-bench.log").write_text(proc.stdout, encoding="utf-8")
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return dict(
        rows=rows,
        suite_seconds=int(done.group(2)),
        wall_seconds=wall,
        load_before=before,
        load_after=_load(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bench-args", default="", help="flags for make bench's BENCH_ARGS")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for k in range(1, args.runs + 1):
        runs.append(_run_once(args.out / f"run-{k}", args.bench_args))
        summary = ", ".join(f"{r['model']} {float(r['top1']):.3f}" for r in runs[-1]["rows"])
        print(f"run {k}: {summary}; suite {runs[-1]['suite_seconds']} s", flush=True)
    rows = [{"run": k, **row} for k, run in enumerate(runs, 1) for row in run["rows"]]
    from kerascnn.record.files import write_text_atomic
    from kerascnn.record.tabular import write_csv

    write_csv(args.out / "results.csv", rows, ["run", *runs[0]["rows"][0]])
    write_text_atomic(args.out / "README.md", _readme(runs, args.bench_args))
    return 0


def _readme(runs: list[dict], bench_args: str) -> str:
    from kerascnn.record.tabular import markdown_table

    first = runs[0]["rows"][0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    models = [r["model"] for r in runs[0]["rows"]]
    n = len(runs)
    header = ["model", *(f"run {k} top-1 (steps)" for k in range(1, n + 1)), "spread (points)"]
    how = (
        "the steps 30 s of training gave each model on the reference machine"
        if not bench_args
        else f'`{bench_args}` (`make bench BENCH_ARGS="{bench_args}"`)'
    )
    table = []
    for model in models:
        got = [next(r for r in run["rows"] if r["model"] == model) for run in runs]
        tops = [float(r["top1"]) for r in got]
        cells = [f"{float(r['top1']):.3f} ({int(float(r['steps'])):,})" for r in got]
        table.append([model, *cells, f"{(max(tops) - min(tops)) * 100:.1f}"])
    ranking = [
        " > ".join(r["model"] for r in sorted(run["rows"], key=lambda r: -float(r["top1"])))
        for run in runs
    ]
    timing = [
        [
            f"run {k}",
            f"{run['suite_seconds']}",
            f"{run['wall_seconds']:.0f}",
            " / ".join(f"{v:g}" for v in run["load_before"]),
            " / ".join(f"{v:g}" for v in run["load_after"]),
            ", ".join(f"{r['model']} {float(r['train_seconds']):.1f}" for r in run["rows"]),
        ]
        for k, run in enumerate(runs, 1)
    ]
    return "\n".join(
        [
            f"# The main job, {n} runs in a row",
            "",
            "`make bench` (`kerascnn bench --models lenet,vgg,mobilenetv2"
            f"{' ' + bench_args if bench_args else ''}`) run {n} "
            "times back "
            f"to back on a fresh clone (commit `{commit}`), nothing else running: "
            f"{first['device']}, {os.cpu_count()} CPUs, Keras {first['keras']} on "
            f"{first['backend']}, Python {platform.python_version()}, embedded Fashion-MNIST "
            f"subset (6,000 train / 1,000 test images), training length: {how}; BatchNorm "
            "statistics recomputed before every evaluation. Command: "
            f"`python benchmarks/main_job_repeat.py {' '.join(sys.argv[1:])}`.",
            "",
            "## Top-1 and steps",
            "",
            markdown_table(header, table),
            "",
            "Ranking by top-1: " + "; ".join(f"run {k}: {r}" for k, r in enumerate(ranking, 1)),
            "",
            "## Time and load",
            "",
            markdown_table(
                [
                    "run",
                    "suite (s, as printed)",
                    "make bench (s)",
                    "load before (1/5/15 min)",
                    "load after",
                    "training time per model (s)",
                ],
                timing,
            ),
            "",
            "Each `run-K/` folder is that run as `make bench` wrote it: `README.md` (its report "
            "and plots), `results/*.json`, `results.csv`, and `make-bench.log` (what it printed).",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
