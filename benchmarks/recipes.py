"""What each main-job model needs to train in its budget: the evidence behind the registry recipes.

Every (model, optimizer, peak learning rate) of the grid below trains with the main job's
settings (embedded Fashion-MNIST subset, batch 64, cosine schedule, BatchNorm statistics
recomputed) for a fixed number of steps: about what a 30-second budget gives each model on a
2-core CPU, and half of it (a slower or busier machine). Steps, not seconds, so the
comparison does not move with the machine's load.

    python benchmarks/recipes.py --out reports/main-job/recipes
    python benchmarks/recipes.py --models lenet --seeds 0 --steps-scale 0.01 --out /tmp/r  # quick

Writes results.csv (one row per run) and README.md (test top-1 per setting and step count).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
from pathlib import Path

# model spec: (step counts, settings as (optimizer, peak learning rate, warm-up epochs))
GRID = {
    "lenet": ((1500, 3000), (("adam", 3e-3, 0.5), ("adam", 1e-3, 0.5), ("adam", 3e-4, 0.5))),
    "vgg": (
        (100, 200),
        (
            ("adam", 1e-3, 0.25),
            ("adam", 1e-3, 0.5),
            ("adam", 5e-4, 0.5),
            ("adam", 3e-4, 0.5),
            ("momentum", 0.05, 0.5),
        ),
    ),
    "vgg11(dropout=0.0)": ((100, 200), (("adam", 1e-3, 0.5),)),
    "mobilenetv2": (
        (45, 90),
        (("adam", 3e-3, 0.5), ("adam", 2e-3, 0.5), ("adam", 1e-3, 0.5), ("adam", 5e-4, 0.5)),
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=";".join(GRID), help="models of the grid (;-separated)")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds")
    parser.add_argument("--steps-scale", type=float, default=1.0, help="scale every step count")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    from kerascnn.bench.presets import main_job
    from kerascnn.bench.runner import run_suite
    from kerascnn.record import store
    from kerascnn.record.files import write_text_atomic
    from kerascnn.record.tabular import write_csv

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="recipes-"))
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for model in args.models.split(";"):
        counts, settings = GRID[model]
        for steps in (max(1, round(c * args.steps_scale)) for c in counts):
            for optimizer, rate, warmup in settings:
                flags = dict(models=[model], steps=steps, optimizer=optimizer, seeds=seeds)
                cfg = main_job({**flags, "learning_rate": rate, "warmup_epochs": warmup})
                out = work / f"run{len(rows)}"
                run_suite(cfg, out=out, echo=lambda text: None, argv=sys.argv)
                for record in store.load_results(out):
                    rows.append(
                        dict(
                            model=model,
                            steps=steps,
                            optimizer=optimizer,
                            learning_rate=rate,
                            warmup_epochs=warmup,
                            seed=record.seed,
                            top1=record.test.top1 if record.ok else None,
                            train_acc=(record.history or {}).get("acc", [None])[-1],
                            status=record.status,
                        )
                    )
                    print(
                        f"{model} {steps} steps {optimizer} {rate:g} warm-up {warmup} "
                        f"seed {record.seed}: "
                        f"top-1 {rows[-1]['top1']}",
                        flush=True,
                    )
    shutil.rmtree(work, ignore_errors=True)
    columns = ("model", "steps", "optimizer", "learning_rate", "warmup_epochs", "seed", "top1")
    columns += ("train_acc",)
    write_csv(args.out / "results.csv", rows, (*columns, "status"))
    write_text_atomic(args.out / "README.md", _readme(rows))
    return 0


def _readme(rows: list[dict]) -> str:
    import keras
    import numpy as np

    from kerascnn.measure.environment import device_name
    from kerascnn.record.tabular import markdown_table

    lines = [
        "# Per-model recipes: what each main-job model needs in its budget",
        "",
        "Test top-1 on the embedded Fashion-MNIST subset (1,000 test images: one image is 0.1 "
        "point, the noise of one run about 1.5 points) after a fixed number of steps, with the "
        "main job's settings (batch 64, cosine schedule with its warm-up, BatchNorm statistics "
        "recomputed before evaluation) and the optimizer, peak learning rate and warm-up of each "
        "row (`momentum`: Nesterov SGD, momentum 0.9; the warm-up is capped at a fifth of the "
        "run). Mean over the seeds, each seed's value in brackets.",
        "",
        f"Command: `python benchmarks/recipes.py {' '.join(sys.argv[1:])}`; {device_name()}, "
        f"Keras {keras.__version__} on {keras.backend.backend()}, Python "
        f"{platform.python_version()}.",
        "",
    ]
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        counts = sorted({r["steps"] for r in mine})
        keys = ("optimizer", "learning_rate", "warmup_epochs")
        settings = list(dict.fromkeys(tuple(r[k] for k in keys) for r in mine))
        table = []
        for setting in settings:
            optimizer, rate, warmup = setting
            cells = [f"{optimizer} {rate:g}, warm-up {warmup:g}"]
            for steps in counts:
                got = [
                    r["top1"]
                    for r in mine
                    if tuple(r[k] for k in keys) == setting
                    and r["steps"] == steps
                    and r["top1"] is not None
                ]
                cells.append(
                    f"{np.mean(got):.3f} ({', '.join(f'{g:.3f}' for g in got)})"
                    if got
                    else "failed"
                )
            table.append(cells)
        lines += [
            f"## {model}",
            "",
            markdown_table(
                ["optimizer, peak lr, warm-up epochs", *(f"{s} steps" for s in counts)], table
            ),
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
