"""The main job's steps: what a 30-second budget gives each model on the reference machine.

The equal-budget protocol calibrates each model's step time at the start of every run, so its
steps follow the machine's speed at that minute: a shared 2-core machine has slow periods
lasting minutes, and three runs in a row gave MobileNetV2 105, 104 and 80 steps (VGG-11's top-1
then moved by 8 points). The main job trains fixed steps instead, measured here once: every
model's compiled training step is calibrated `--repeats` times exactly as `kerascnn bench
--budget` does (`calibrate` in kerascnn/bench/budget.py), and its steps are
floor(budget / the median calibrated step time). The numbers go into
kerascnn/bench/presets.py (QUICK's overrides) and benchmarks/main-job.toml by hand; a test
holds the two equal.

    python benchmarks/main_job_steps.py --out reports/main-job/steps
    python benchmarks/main_job_steps.py --models lenet --repeats 1 --out /tmp/steps  # quick
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="lenet,vgg,mobilenetv2")
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    import keras

    from kerascnn.bench.arrays import prepare_data
    from kerascnn.bench.budget import calibrate
    from kerascnn.bench.config import RunSpec
    from kerascnn.bench.presets import main_job
    from kerascnn.bench.training import build_model, training_network
    from kerascnn.data import load_dataset
    from kerascnn.measure.environment import device_name
    from kerascnn.record.files import write_text_atomic
    from kerascnn.record.tabular import markdown_table, write_csv

    ds = load_dataset("fashion_mnist_mini")
    rows, table = [], []
    for model_name in args.models.split(","):
        keras.backend.clear_session()
        cfg = main_job({"models": [model_name], "budget": args.budget}).for_model(model_name)
        run = RunSpec(model_name, "fashion_mnist_mini", 0, cfg)
        data = prepare_data(ds, cfg, run.seed)
        model, _ = build_model(run, data)
        fit, _ = training_network(model, data, run)  # the bench's own training network
        times = []
        for k in range(args.repeats):
            cal = calibrate(fit.net, data, run)
            times.append(cal.step_seconds)
            steps = math.floor(args.budget / cal.step_seconds)
            rows.append(
                dict(model=model_name, repeat=k, step_ms=cal.step_seconds * 1e3, steps=steps)
            )
            print(f"{model_name} calibration {k}: {cal.step_seconds * 1e3:.2f} ms, {steps} steps")
        step = statistics.median(times)
        table.append(
            [
                model_name,
                ", ".join(f"{r['steps']:,}" for r in rows if r["model"] == model_name),
                f"{step * 1e3:.2f}",
                f"{math.floor(args.budget / step):,}",
            ]
        )
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "results.csv", rows, ["model", "repeat", "step_ms", "steps"])
    text = [
        "# The main job's steps, measured once on the reference machine",
        "",
        f"Each model's compiled training step (the main job's settings) calibrated {args.repeats} "
        f"times as `kerascnn bench --budget {args.budget:g}` does; its steps: floor({args.budget:g} s "
        "/ the median step time). "
        f"{device_name()}, Keras {keras.__version__} on {keras.backend.backend()}, Python "
        f"{platform.python_version()}. Command: `python benchmarks/main_job_steps.py "
        f"{' '.join(sys.argv[1:])}`.",
        "",
        markdown_table(
            ["model", "steps of each calibration", "median step (ms)", "the main job's steps"],
            table,
        ),
        "",
    ]
    write_text_atomic(args.out / "README.md", "\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
