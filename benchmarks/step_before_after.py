"""The main job's training step before and after a change, measured side by side.

Checks out ``--before`` and ``--after`` (git revisions) into temporary worktrees and runs
`kerascnn bench --models M --steps N` from each, alternating (before, after, before, after,
...) so that the machine's slow periods hit both alike. Each run is the main job's settings
with fixed steps; from its stored record come the median training step (``train.step_p50_ms``,
the figure a budget calibration divides the budget by) and the first step (tracing and
compilation, ``train.first_step_seconds``). The README gives, per model, the median over the
rounds of each and the ratio before / after; results.json holds every run.

    python benchmarks/step_before_after.py --before 098e51f --after HEAD \
        --models vgg,mobilenetv2 --rounds 3 --out reports/main-job/step-speed
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = {"lenet": 600, "vgg": 120, "mobilenetv2": 60}


def _worktree(rev: str, where: Path) -> str:
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip


def _bench(tree: Path, model: str, steps: int, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "kerascnn.cli", "bench", "--models", model,
           "--steps", str(steps), "--out", str(out)]  # fmt: skip
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    records = list((out / "results").glob("*.json"))
    if proc.returncode != 0 or len(records) != 1:
        raise SystemExit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rec = json.loads(records[0].read_text())
    train = rec["train"]
    return {
        "model": model, "steps": steps, "step_p50_ms": train["step_p50_ms"],
        "first_step_s": train["first_step_seconds"], "top1": rec["test"]["top1"],
        "fused_train": rec.get("fused_train"), "load_before": round(load, 2),
    }  # fmt: skip


def _table(records: list[dict], labels: dict) -> str:
    sys.path.insert(0, str(ROOT))
    from kerascnn.record.tabular import markdown_table

    cells = []
    for model in dict.fromkeys(r["model"] for r in records):
        med = {}
        for side in ("before", "after"):
            rs = [r for r in records if r["model"] == model and r["side"] == side]
            med[side] = (
                statistics.median(r["step_p50_ms"] for r in rs),
                statistics.median(r["first_step_s"] for r in rs),
                ", ".join(f"{r['step_p50_ms']:.0f}" for r in rs),
            )
        b, a = med["before"], med["after"]
        cells.append([model, b[2], a[2], f"{b[0]:.1f}", f"{a[0]:.1f}", f"{b[0] / a[0]:.2f}x",
                      f"{1 - a[0] / b[0]:.0%}", f"{b[1]:.1f}", f"{a[1]:.1f}"])  # fmt: skip
    head = ["model", f"step ms, each round ({labels['before']})",
            f"step ms, each round ({labels['after']})", "median before", "median after",
            "before / after", "faster by", "first step s before", "first step s after"]  # fmt: skip
    return markdown_table(head, cells)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default="HEAD")
    ap.add_argument("--models", default="vgg,mobilenetv2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    command = "python " + shlex.join(["benchmarks/step_before_after.py", *(argv or sys.argv[1:])])
    records, labels = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {side: Path(tmp, side) for side in ("before", "after")}
        try:
            for side, rev in (("before", args.before), ("after", args.after)):
                labels[side] = _worktree(rev, trees[side])
            for k in range(args.rounds):
                for model in args.models.split(","):
                    for side in ("before", "after"):
                        t0 = time.perf_counter()
                        out = Path(tmp, f"run-{k}-{model}-{side}")
                        rec = _bench(trees[side], model, STEPS[model], out)
                        records.append({**rec, "side": side, "rev": labels[side], "round": k,
                                        "wall_s": round(time.perf_counter() - t0, 1)})  # fmt: skip
                        print(f"round {k} {model} {side} ({labels[side]}): "
                              f"{rec['step_p50_ms']:.1f} ms/step, first step "
                              f"{rec['first_step_s']:.1f} s", file=sys.stderr, flush=True)  # fmt: skip
        finally:
            for where in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT,
                               capture_output=True)  # fmt: skip
    sys.path.insert(0, str(ROOT))
    from kerascnn.measure.environment import device_name
    from kerascnn.record.files import write_json_atomic, write_text_atomic

    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "results.json", {"command": command, "records": records})
    text = [
        "# The main job's training step, before and after",
        "",
        "`kerascnn bench --models M --steps N` (the main job's settings, fixed steps: "
        + ", ".join(f"{m} {STEPS[m]}" for m in args.models.split(","))
        + f") from {labels['before']} (before) and {labels['after']} (after), alternating, "
        f"{args.rounds} rounds. Step: the run's median training step (`train.step_p50_ms`, "
        "what a budget calibration divides the budget by); first step: tracing, compilation "
        f"and one step. {device_name()}, {os.cpu_count()} logical CPUs. Command: `{command}`.",
        "",
        _table(records, labels),
        "",
    ]
    write_text_atomic(args.out / "README.md", "\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
