"""Data-parallel scaling: training images/s of 1, 2, ... processes of ``kerascnn bench`` training
together (JAX's distributed runtime, one device per process), measured side by side.

Each process count trains every model for ``--steps`` steps with ``--batch-per-process`` images
per process and step (the global batch grows with the processes: weak scaling). The counts
alternate within each of ``--repeats`` rounds (1, 2, 1, 2, ...), so a ratio compares runs
made minutes apart on the same machine; the table gives medians over the rounds. Images/s is
the bench's own steady-state figure (the first steps excluded), from process 0's result.

    python benchmarks/scaling.py --out reports/scaling-cpu                      # this machine
    python benchmarks/scaling.py --processes 1,2,4,8 --one-device-per-process \\
        --out reports/scaling-gpu                                               # 8 GPUs

Writes OUT/results.csv (one row per run), OUT/README.md (the table, the machine, the command)
and OUT/runs/ (every bench run folder, JSON results included).
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = (
    *("model", "processes", "round", "status", "global_batch", "replicas"),
    *("train_images_per_s", "step_p50_ms", "steps", "run_dir"),
)


def bench_command(args, processes: int, run_dir: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "kerascnn.cli", "bench", "--backend", "jax", "--no-report"),
        *("--models", args.models, "--dataset", args.dataset, "--steps", str(args.steps)),
        *("--batch-size", str(args.batch_per_process * processes), "--distribute"),
        *("--out", str(run_dir)),
    ]


def launch(args, processes: int, run_dir: Path) -> list[int]:
    """Run ``processes`` bench processes together; their return codes (killed at the timeout)."""
    from kerascnn.distributed.cluster import free_port

    port, procs = free_port(), []
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    for i in range(processes):
        command = bench_command(args, processes, run_dir)
        if processes > 1:
            command += ["--coordinator", f"127.0.0.1:{port}", "--num-processes", str(processes)]
            command += ["--process-id", str(i), "--cluster-timeout", "120"]
        env = {**os.environ, "KERAS_BACKEND": "jax"}
        if args.one_device_per_process:
            env["CUDA_VISIBLE_DEVICES"] = str(i)
        log = open(run_dir.parent / f"{run_dir.name}.p{i}.log", "w")
        procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env))
    deadline = time.monotonic() + args.timeout
    try:
        return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        return [-9] * processes
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def rows_of(run_dir: Path, processes: int, round_: int) -> list[dict]:
    from kerascnn.record.store import load_results

    rows = []
    for r in load_results(run_dir) if (run_dir / "results").is_dir() else []:
        train, dp = r.train, r.data_parallel
        rows.append(
            {
                "model": r.model,
                "processes": processes,
                "round": round_,
                "status": r.status,
                "global_batch": (r.config or {}).get("batch_size"),
                "replicas": dp.replicas if dp else None,
                "train_images_per_s": train.images_per_s if train else None,
                "step_p50_ms": train.step_p50_ms if train else None,
                "steps": train.steps if train else None,
                "run_dir": str(run_dir),
            }
        )
    return rows


def summary(rows: list[dict], counts: list[int]) -> list[str]:
    """Markdown table: median images/s per (model, processes), speed-up and efficiency vs 1."""
    lines = [
        "| model | processes | global batch | images/s (median) | speed-up vs 1 | efficiency |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for model in dict.fromkeys(r["model"] for r in rows):
        ok = [r for r in rows if r["model"] == model and r["status"] == "ok"]
        base = {r["round"]: r["train_images_per_s"] for r in ok if r["processes"] == counts[0]}
        for p in counts:
            mine = [r for r in ok if r["processes"] == p]
            if not mine:
                lines.append(f"| {model} | {p} | | failed | | |")
                continue
            ips = statistics.median(r["train_images_per_s"] for r in mine)
            ratios = [
                r["train_images_per_s"] / base[r["round"]] for r in mine if r["round"] in base
            ]
            up = statistics.median(ratios) if ratios else None
            eff = f"{up / (p / counts[0]):.2f}" if up else ""
            lines.append(
                f"| {model} | {p} | {mine[0]['global_batch']} | {ips:,.0f} | "
                f"{f'{up:.2f}x' if up else ''} | {eff} |"
            )
    return lines


def machine(rows: list[dict]) -> list[str]:
    from kerascnn.record.store import load_results

    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        return ["No run finished."]
    env = load_results(ok[0]["run_dir"])[0].environment
    v = env.versions
    return [
        f"- Machine: {env.device}; {env.cpu}, {env.usable_cpus} usable of {env.logical_cpus} "
        f"logical CPUs; {env.platform}.",
        f"- Software: backend {env.backend}, keras {v.get('keras')}, jax {v.get('jax')}, "
        f"jaxlib {v.get('jaxlib')}, Python {v.get('python')}; commit "
        f"{env.git.commit if env.git else None}.",
    ]


def write_report(args, rows: list[dict], counts: list[int], seconds: float) -> Path:
    out = Path(args.out)
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    command = shlex.join(["python", "benchmarks/scaling.py", *sys.argv[1:]])
    text = [
        "# Data-parallel scaling: training images/s by number of processes",
        "",
        f"`{command}` ({seconds:.0f} s). Each process count trains {args.models} for "
        f"{args.steps} steps on {args.dataset}, {args.batch_per_process} images per process and "
        f"step; the counts alternate within {args.repeats} round(s) and the table gives medians "
        "(speed-up: the median of each round's ratio to 1 process).",
        "",
        *summary(rows, counts),
        "",
        *machine(rows),
        "",
        args.note,
        "",
        "One row per run in `results.csv`; every run's bench folder (JSON results, logs) is in "
        "`runs/`.",
        "",
    ]
    (out / "README.md").write_text("\n".join(text))
    return out / "README.md"


CPU_NOTE = (
    "**Read this before the numbers.** On this machine every process shares the same CPU cores "
    "(XLA already spreads one process's work over all of them), and the processes add a "
    "gradient all-reduce over loopback. Two processes here do twice the images on the same "
    "cores, so no real speed-up is possible: the table shows the cost of the machinery, not its "
    "benefit. A real gain needs separate hosts or one GPU per process, where the same script "
    "(`--one-device-per-process` on a GPU machine) gives the real curve."
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="lenet,simple_cnn")
    parser.add_argument("--processes", default="1,2", help="Comma-separated process counts.")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-per-process", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dataset", default="fashion_mnist_mini")
    parser.add_argument("--out", default="reports/scaling-cpu")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds per launch.")
    parser.add_argument(
        "--one-device-per-process",
        action="store_true",
        help="CUDA_VISIBLE_DEVICES=i for process i (a machine with GPUs).",
    )
    parser.add_argument("--note", default=CPU_NOTE, help="The paragraph under the table.")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.processes.split(",")]
    if not counts or min(counts) < 1:
        parser.error(f"--processes takes counts of 1 or more. Received: {args.processes!r}")
    out = Path(args.out)
    if (out / "runs").exists():  # this script's own, from an earlier call: measured again
        shutil.rmtree(out / "runs")
    out.mkdir(parents=True, exist_ok=True)
    t0, rows = time.monotonic(), []
    for round_ in range(1, args.repeats + 1):
        for p in counts:
            run_dir = out / "runs" / f"p{p}-r{round_}"
            codes = launch(args, p, run_dir)
            found = rows_of(run_dir, p, round_)
            rows += found
            speeds = ", ".join(f"{r['model']} {r['train_images_per_s'] or 0:,.0f}" for r in found)
            print(
                f"[scaling] round {round_}, {p} process(es): exit {codes}; images/s {speeds}",
                flush=True,
            )
    print(f"[scaling] {write_report(args, rows, counts, time.monotonic() - t0)}")
    return 0 if rows and all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
