"""How steady a training step's time is on this machine: the statistic behind the budget's calibration.

One process compiles a main-job model's training step (as `kerascnn bench` does), then runs
`--windows` fits of `--steps` steps back to back and times every step. For each window it
gives the mean, the median, the 10th percentile and the minimum; the spread of each statistic
over the windows (max / min - 1) says how far a calibration that used it would move the
calibrated steps between runs.

    python benchmarks/calibration_windows.py --out reports/main-job/calibration
    python benchmarks/calibration_windows.py --model lenet --windows 2 --out /tmp/cal  # quick
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

STATISTICS = {
    "mean": np.mean,
    "median": np.median,
    "10th percentile": lambda d: np.percentile(d, 10),
    "min": np.min,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobilenetv2")
    parser.add_argument("--windows", type=int, default=12)
    parser.add_argument("--steps", type=int, default=21, help="steps per window (20 timed)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    import keras

    from kerascnn.bench.arrays import prepare_data
    from kerascnn.bench.augment import BatchStream
    from kerascnn.bench.callbacks import StepTimer
    from kerascnn.bench.config import RunSpec
    from kerascnn.bench.optim import compile_for_training, make_optimizer, make_schedule
    from kerascnn.bench.presets import main_job
    from kerascnn.bench.training import build_model
    from kerascnn.data import load_dataset
    from kerascnn.measure.environment import device_name
    from kerascnn.record.files import write_text_atomic
    from kerascnn.record.tabular import markdown_table, write_csv

    cfg = main_job({}).for_model(args.model)
    data = prepare_data(load_dataset("fashion_mnist_mini"), cfg, 0)
    model, _ = build_model(RunSpec(args.model, "fashion_mnist_mini", 0, cfg), data)
    optimizer = make_optimizer(cfg, make_schedule(cfg, 1000, 10))
    compile_for_training(model, cfg, optimizer, data.num_classes)
    rows = []
    for window in range(args.windows + 1):  # window 0: the compilation, left out
        timer = StepTimer(None)
        stream = BatchStream(data.x_train, data.y_train_onehot, 64, window, steps=args.steps)
        model.fit(stream, epochs=1, callbacks=[timer], verbose=0)
        durations = np.diff([end for _, _, end in timer.steps]) * 1e3
        if window == 0:
            continue
        row = {"window": window, "load": os.getloadavg()[0]}
        row.update({k: float(f(durations)) for k, f in STATISTICS.items()})
        rows.append(row)
        print(", ".join(f"{k} {v:.1f}" for k, v in row.items()), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "results.csv", rows, ["window", *STATISTICS, "load"])
    spread = [
        [name, f"{min(r[name] for r in rows):.1f}", f"{max(r[name] for r in rows):.1f}"]
        + [f"{(max(r[name] for r in rows) / min(r[name] for r in rows) - 1) * 100:.0f}%"]
        for name in STATISTICS
    ]
    windows = [
        [r["window"], *(f"{r[k]:.1f}" for k in STATISTICS), f"{r['load']:.2f}"] for r in rows
    ]
    text = [
        f"# Step time of {args.model}'s training step, window by window",
        "",
        f"{args.windows} windows of {args.steps - 1} timed steps each (batch 64, 28x28, the main "
        "job's compiled training step), back to back in one process after the compilation. "
        f"{device_name()}, Keras {keras.__version__} on {keras.backend.backend()}, Python "
        f"{platform.python_version()}. Command: `python benchmarks/calibration_windows.py "
        f"{' '.join(sys.argv[1:])}`.",
        "",
        "## Each statistic over the windows (ms per step)",
        "",
        markdown_table(["statistic", "lowest window", "highest window", "spread"], spread),
        "",
        "## The windows (ms per step; load: 1-minute load average after the window)",
        "",
        markdown_table(["window", *STATISTICS, "load"], windows),
        "",
    ]
    write_text_atomic(args.out / "README.md", "\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
