"""Everything kerascnn measures on the GPU machine, in one command with a hard deadline.

The GPU machine is lent for 15 minutes in all (its start included) and one command runs at
most 10, so this driver stops *starting* work at ``--deadline`` seconds (default 450: 7.5
minutes) and always writes what it has. Parts, in order of what they are worth:

1. **software**: Python, nvidia-smi, and the versions of jax, jaxlib, torch, timm, keras and
   numpy as installed there (read, not assumed) -> ``software.json``.
2. **throughput**: ``benchmarks/gpu_throughput.py``: our builders on Keras/JAX against timm
   eager and timm + torch.compile, resnet50, mobilenetv2, resnet18, bf16, batch 256, 224 px,
   train and infer -> ``gpu-throughput/``. At most ``--throughput-share`` of the time left.
3. **main job**: ``kerascnn bench --models lenet,vgg,mobilenetv2`` on full Fashion-MNIST (the IDX
   files carried in ``.data/fashion-mnist``) -> ``fashion-gpu-main/``.
4. **accuracy**: resnet18, mobilenetv2, vgg16_bn, densenet121, googlenet on full Fashion-MNIST,
   one process each, each with an equal share of the time left as its ``--budget`` (the bench
   calibrates the steps, hence the epochs, from the step time it measures) -> ``fashion-gpu/``.

Every part prints one ``[gpu] ...`` summary line when it ends, so a run cut short still says
something; ``summary.json`` lists every part with its status, seconds and command.

    python3 benchmarks/gpu/run.py --out "$OUT"          # on the GPU machine (run.sh calls it)
    python3 benchmarks/gpu/run.py --smoke --out /tmp/g  # on a CPU, in seconds (tested)

Standard library only: the GPU machine has no TensorFlow, and Keras arrives as wheels.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DISTS = ("jax", "jaxlib", "torch", "timm", "keras", "numpy", "kerascnn")
THROUGHPUT_MODELS = "resnet50,mobilenetv2,resnet18"
MAIN_JOB = "lenet,vgg,mobilenetv2"
ACCURACY_MODELS = ("resnet18", "mobilenetv2", "vgg16_bn", "densenet121", "googlenet")
PARTS = ("throughput", "main", "accuracy")
RESERVE_S = 20.0
"""Seconds kept back at the deadline for writing the summary."""


class Clock:
    """Seconds left before the deadline."""

    def __init__(self, deadline: float):
        self.start, self.deadline = time.monotonic(), deadline

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.deadline - self.elapsed()


def software() -> dict:
    """What the machine has, read now."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in DISTS:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    try:
        query = "--query-gpu=name,driver_version,memory.total"
        smi = subprocess.run(
            ["nvidia-smi", query, "--format=csv,noheader"], capture_output=True, text=True
        )
        found["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except OSError:
        found["nvidia_smi"] = None
    return found


def run_part(name: str, command: list[str], timeout: float, log: Path) -> dict:
    """One part as a subprocess, stopped at ``timeout``; its output kept in ``log``."""
    t0 = time.monotonic()
    part = {"part": name, "command": " ".join(command), "timeout_s": round(timeout)}
    if timeout < 5:
        return {**part, "status": "skipped: deadline", "seconds": 0.0}
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as fh:
        try:
            proc = subprocess.run(
                command, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout
            )
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = f"stopped at its {timeout:.0f} s limit"
    return {**part, "status": status, "seconds": round(time.monotonic() - t0, 1)}


def say(part: dict, detail: str = "") -> None:
    line = f"[gpu] {part['part']}: {part['status']} in {part['seconds']:.0f} s"
    print(line + (f"; {detail}" if detail else ""), flush=True)


def throughput_detail(folder: Path) -> str:
    path = folder / "results.jsonl"
    rows = (
        [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []
    )
    done = [r for r in rows if not r.get("error")]
    parts = [f"{r['model']} {r['framework']} train {r['train_img_s']:,.0f} img/s" for r in done]
    return f"{len(done)} of {len(rows)} measured" + (": " + ", ".join(parts) if parts else "")


def bench_detail(folder: Path) -> str:
    path = folder / "results.csv"
    if not path.exists():
        return "no result yet"
    import csv

    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return ", ".join(f"{r['model']} {r['status']} top-1 {r['top1'] or '-'}" for r in rows)


def bench_command(smoke: bool, data_dir: str, models: str, out: Path, budget: float) -> list[str]:
    command = [sys.executable, "-m", "kerascnn.cli", "bench", "--models", models]
    command += ["--out", str(out), "--resume", "--backend", "jax"]
    if smoke:  # the embedded subset, a couple of steps
        return command + ["--steps", "2", "--train-limit", "256", "--test-limit", "128"]
    return command + [
        "--dataset",
        "fashion_mnist",
        "--data-dir",
        data_dir,
        "--budget",
        f"{budget:.0f}",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", default=os.environ.get("OUT", "reports"))
    ap.add_argument("--deadline", type=float, default=450.0, help="seconds; no new work after it")
    ap.add_argument("--throughput-share", type=float, default=0.55, help="of the time left")
    ap.add_argument("--main-budget", type=float, default=20.0, help="training seconds per model")
    ap.add_argument("--data-dir", default=str(ROOT / ".data" / "fashion-mnist"))
    ap.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="comma-separated, from: " + ", ".join(PARTS) + " (default: all; software always)",
    )
    ap.add_argument("--smoke", action="store_true", help="CPU check: tiny sizes, LeNet only")
    args = ap.parse_args(argv)
    chosen = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not chosen or set(chosen) - set(PARTS):
        ap.error(f"--parts takes {', '.join(PARTS)}. Received: {args.parts!r}")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    clock = Clock(args.deadline)
    parts: list[dict] = []

    def finish() -> int:
        summary = {"deadline_s": args.deadline, "elapsed_s": round(clock.elapsed(), 1)}
        summary.update(smoke=args.smoke, parts=parts)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"[gpu] done in {clock.elapsed():.0f} s; {out / 'summary.json'}", flush=True)
        return 0 if all(p["status"] == "ok" for p in parts) else 1

    found = software()
    (out / "software.json").write_text(json.dumps(found, indent=2) + "\n")
    parts.append({"part": "software", "status": "ok", "seconds": round(clock.elapsed(), 1)})
    say(parts[-1], ", ".join(f"{k} {v}" for k, v in found.items() if v and k != "platform"))

    if "throughput" in chosen:
        folder = out / "gpu-throughput"
        command = [sys.executable, str(ROOT / "benchmarks" / "gpu_throughput.py")]
        limit = (clock.left() - RESERVE_S) * args.throughput_share
        command += ["--out", str(folder), "--models", THROUGHPUT_MODELS]
        command += ["--deadline", f"{max(limit - 10, 0):.0f}"]
        command += ["--smoke", "--models", "resnet18"] if args.smoke else []
        parts.append(run_part("throughput", command, limit, out / "throughput.log"))
        say(parts[-1], throughput_detail(folder))

    if "main" in chosen:
        folder = out / "fashion-gpu-main"
        job = "lenet" if args.smoke else MAIN_JOB
        command = bench_command(args.smoke, args.data_dir, job, folder, args.main_budget)
        parts.append(run_part("main job", command, clock.left() - RESERVE_S, out / "main.log"))
        say(parts[-1], bench_detail(folder))

    models = ("lenet",) if args.smoke else ACCURACY_MODELS
    models = models if "accuracy" in chosen else ()
    folder = out / "fashion-gpu"
    for i, model in enumerate(models):
        share = (clock.left() - RESERVE_S) / (len(models) - i)
        budget = max(share - 60, 0)  # start-up, compile and evaluation outside the budget
        command = bench_command(args.smoke, args.data_dir, model, folder, budget)
        limit = clock.left() - RESERVE_S if budget >= 30 or args.smoke else 0
        parts.append(run_part(f"accuracy {model}", command, limit, out / f"accuracy-{model}.log"))
        say(parts[-1], bench_detail(folder))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
