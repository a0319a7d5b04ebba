"""How many training batches the recomputed BatchNorm statistics need (bench's --precise-bn-batches).

Trains each model for a fixed number of steps with `kerascnn bench` (the main job's settings,
BatchNorm recomputation off, the model saved), then, for every N, recomputes the statistics of
the saved model from N un-augmented training batches of 64 (kerascnn.bench.precise_bn, three
different draws of the batches) and measures the test top-1 and the time. "all" is every batch
of the training set (the reference); "stale" is the statistics training left.

    python benchmarks/precise_bn_batches.py --out reports/main-job/precise-bn
    python benchmarks/precise_bn_batches.py --runs mobilenetv2:10 --batches 1,5 --draws 1 \
        --out /tmp/pbn     # a quick check (about a minute)

Writes results.csv (one row per run, N and draw) and README.md (mean and spread per N).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEFAULT_RUNS = "mobilenetv2:44,mobilenetv2:88,resnet18:60,simple_cnn:300"


def _train(model: str, steps: int, work: Path) -> Path:
    """The saved model of a main-job run of ``model`` for ``steps`` steps, statistics as left."""
    from kerascnn.bench.presets import main_job
    from kerascnn.bench.runner import run_suite

    cfg = main_job(dict(models=[model], steps=steps, precise_bn=False, save_models=True))
    out = work / f"{model}-{steps}"
    run_suite(cfg, out=out, echo=lambda text: None, argv=sys.argv)
    return next((out / "models").glob("*.keras"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="MODEL:STEPS,... to train")
    parser.add_argument("--batches", default="1,2,5,10,20,30,50,all", help="values of N")
    parser.add_argument("--draws", type=int, default=3, help="draws of the N batches (seeds)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    import keras

    from kerascnn.accel.inference import compile_inference
    from kerascnn.bench.precise_bn import Recalibrator, training_batches
    from kerascnn.data import load_dataset
    from kerascnn.record.files import write_text_atomic
    from kerascnn.record.tabular import write_csv

    ds = load_dataset("fashion_mnist_mini")
    x_train = ds.x_train.astype("float32") / 255.0
    x_test = ds.x_test.astype("float32") / 255.0
    everything = len(x_train) // 64
    counts = [everything if n == "all" else int(n) for n in args.batches.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="precise-bn-"))  # the trained runs; not published
    rows = []
    for spec in args.runs.split(","):
        name, steps = spec.split(":")
        path = _train(name, int(steps), work)
        model = keras.saving.load_model(path)

        def top1() -> float:
            probs = compile_inference(model, jit=False).predict(x_test)  # noqa: B023
            return float(np.mean(probs.argmax(1) == ds.y_test))

        stale = Recalibrator(model, [])
        saved = stale.snapshot()
        rows.append(dict(model=name, steps=int(steps), batches="stale", draw=0, top1=top1()))
        print(
            f"{name} after {steps} steps: stale statistics top-1 {rows[-1]['top1']:.3f}", flush=True
        )
        for n in counts:
            for draw in range(1 if n == everything else args.draws):
                recal = Recalibrator(model, training_batches(x_train, 64, n, seed=100 + draw))
                recal.restore(saved)
                recal()
                t0 = time.perf_counter()
                recal()  # timed again, without the one-off trace
                seconds = time.perf_counter() - t0
                label = "all" if n == everything else n
                rows.append(
                    dict(
                        model=name,
                        steps=int(steps),
                        batches=label,
                        draw=draw,
                        top1=top1(),
                        seconds=seconds,
                    )
                )
                print(
                    f"  N={label} draw {draw}: top-1 {rows[-1]['top1']:.3f}, {seconds:.2f} s",
                    flush=True,
                )
        keras.backend.clear_session()
    shutil.rmtree(work, ignore_errors=True)
    columns = ("model", "steps", "batches", "draw", "top1", "seconds")
    write_csv(args.out / "results.csv", rows, columns)
    write_text_atomic(args.out / "README.md", _readme(rows, counts, everything, args))
    return 0


def _readme(rows: list[dict], counts: list[int], everything: int, args) -> str:
    import keras

    from kerascnn.measure.environment import device_name

    lines = [
        "# Recomputed BatchNorm statistics: how many training batches",
        "",
        "Each model trained with the main job's settings for the steps shown (BatchNorm "
        "recomputation off), then its statistics were recomputed from N un-augmented training "
        f"batches of 64 ({args.draws} draws of the batches for each N; `all` = all {everything} "
        "batches of the embedded 6,000-image subset) and the 1,000 test images evaluated. "
        "Top-1: mean (min-max over the draws); seconds: one recomputation, median over the draws.",
        "",
        f"Command: `python benchmarks/precise_bn_batches.py {' '.join(sys.argv[1:])}`; "
        f"{device_name()}, Keras {keras.__version__} on {keras.backend.backend()}, "
        f"Python {platform.python_version()}.",
        "",
    ]
    runs = list(dict.fromkeys((r["model"], r["steps"]) for r in rows))
    header = ["N", *(f"{m} ({s} steps)" for m, s in runs)]
    table = []
    for label in ["stale", *("all" if n == everything else n for n in counts)]:
        cells = [str(label) if label != "stale" else "stale (as trained)"]
        for m, s in runs:
            got = [r for r in rows if (r["model"], r["steps"], r["batches"]) == (m, s, label)]
            accs = [r["top1"] for r in got]
            text = f"{np.mean(accs):.3f}"
            if len(accs) > 1:
                text += f" ({min(accs):.3f}-{max(accs):.3f})"
            if got and got[0].get("seconds") is not None:
                text += f", {np.median([r['seconds'] for r in got]):.2f} s"
            cells.append(text)
        table.append(cells)
    from kerascnn.record.tabular import markdown_table

    lines.append(markdown_table(header, table))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
