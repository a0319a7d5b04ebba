"""Train and inference throughput: kerascnn builders (Keras on JAX) vs timm, side by side.

One run, one machine, synthetic data resident on the device, the same batch, resolution and
precision for every framework. Each (framework, model) pair runs in its own subprocess so GPU
memory and compile caches never leak between them. Writes, under --out:

    results.jsonl   one flat JSON record per (framework, model), as measured
    README.md       the table (img/s, compile s, achieved TFLOP/s, MFU, ratio to timm),
                    the environment and the exact command

Frameworks:
    keras-jax     kerascnn.create_model(...) on KERAS_BACKEND=jax, measured point by point with
                  kerascnn.accel.measure_point, the function `kerascnn throughput` sweeps (jax.jit
                  of stateless_call + optimizer.stateless_apply, donated state)
    timm-eager    timm.create_model(...), channels_last, torch.autocast(bfloat16), eager
    timm-compile  the same under torch.compile

FLOPs use kerascnn's MAC count (kerascnn.analysis.profile): inference = 2 x MACs per image,
training = 3 x that (forward + two backward matmuls). MFU divides by the device's dense
peak for the precision (table PEAK_TFLOPS below; unknown devices get no MFU).

Usage (on the GPU machine; benchmarks/gpu/run.sh runs it there with the rest):
    python benchmarks/gpu_throughput.py --out reports/gpu-throughput
Smoke test on a CPU (what CI runs, tiny sizes, frameworks that are installed):
    python benchmarks/gpu_throughput.py --smoke --out /tmp/gpu-smoke
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

# our registry name -> timm name of the same architecture
TIMM_NAMES = {
    "resnet18": "resnet18",
    "resnet50": "resnet50",
    "mobilenetv2": "mobilenetv2_100",
    "vgg16": "vgg16",
    "densenet121": "densenet121",
    "efficientnet_b0": "efficientnet_b0",
}
FRAMEWORKS = ("keras-jax", "timm-eager", "timm-compile")
# Dense (no sparsity) peak TFLOP/s by device-name substring and precision.
PEAK_TFLOPS = {
    ("H100", "bfloat16"): 989.4,
    ("H100", "float32"): 494.7,  # SXM; float32 via TF32 tensor cores
    ("H200", "bfloat16"): 989.4,
    ("H200", "float32"): 494.7,
    ("A100", "bfloat16"): 312.0,
    ("A100", "float32"): 156.0,
}


# ------------------------------------------------------------------------------ workers


def worker_keras_jax(model: str, args) -> dict:
    """The per-point function of `kerascnn throughput` (kerascnn.accel.measure_point)."""
    os.environ["KERAS_BACKEND"] = "jax"
    import jax
    import keras

    from kerascnn.accel import measure_point
    from kerascnn.accel.sweep import build_model
    from kerascnn.measure.environment import device_name

    net = build_model(model, args.image_size, args.precision)
    rec = {
        "backend": "jax",
        "precision": args.precision,
        "batch_size": args.batch_size,
        "input_shape": [int(d) for d in net.input_shape[1:]],
        "params": int(net.count_params()),
        "steps_per_window": args.steps,
    }
    for mode in ("infer", "train"):
        point = measure_point(net, mode, args.batch_size, steps=args.steps, windows=args.windows)
        rec["path"] = point["path"]
        rec[f"{mode}_img_s"] = point["images_per_s"]
        for key in ("compile_s", "step_ms_median", "windows", "peak_memory_mib"):
            rec[f"{mode}_{key}"] = point[key]
        if mode == "train":
            rec["train_loss_first"], rec["train_loss_last"] = (
                point["loss_first"],
                point["loss_last"],
            )
    rec.update(
        device=device_name("jax"), versions={"keras": keras.__version__, "jax": jax.__version__}
    )
    return rec


def worker_timm(model: str, args, compile_: bool) -> dict:
    import statistics

    import timm
    import torch

    from kerascnn.measure.environment import device_name  # imports neither Keras nor TensorFlow

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    dtype = torch.bfloat16 if args.precision == "bfloat16" else torch.float32
    net = (
        timm.create_model(TIMM_NAMES[model], num_classes=1000)
        .to(dev)
        .to(memory_format=torch.channels_last)
    )
    params = sum(p.numel() for p in net.parameters())
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size, device=dev).to(
        memory_format=torch.channels_last
    )
    y = torch.randint(0, 1000, (args.batch_size,), device=dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        with torch.autocast(dev, dtype=dtype, enabled=dtype != torch.float32):
            loss = loss_fn(net_c(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def infer_step():
        with (
            torch.inference_mode(),
            torch.autocast(dev, dtype=dtype, enabled=dtype != torch.float32),
        ):
            return net_c(x)

    def timed(step, n_windows):
        sync()
        t0 = time.perf_counter()
        out = step()
        sync()
        compile_s = time.perf_counter() - t0
        for _ in range(2):
            step()
        sync()
        per = []
        for _ in range(n_windows):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                out = step()
            sync()
            per.append((time.perf_counter() - t0) / args.steps)
        return per, compile_s, out

    rec = {
        "backend": "torch",
        "precision": args.precision,
        "batch_size": args.batch_size,
        "input_shape": [args.image_size, args.image_size, 3],
        "params": int(params),
        "steps_per_window": args.steps,
    }
    net.eval()
    net_c = torch.compile(net) if compile_ else net
    per, c, _ = timed(infer_step, args.windows)
    rec.update(
        infer_compile_s=c,
        infer_step_ms_median=statistics.median(per) * 1e3,
        infer_img_s=args.batch_size / statistics.median(per),
        infer_windows=len(per),
    )
    net.train()
    net_c = torch.compile(net) if compile_ else net
    first = float(train_step())
    per, c, last = timed(train_step, args.windows)
    rec.update(
        train_compile_s=c,
        train_step_ms_median=statistics.median(per) * 1e3,
        train_img_s=args.batch_size / statistics.median(per),
        train_windows=len(per),
        train_loss_first=first,
        train_loss_last=float(last),
    )
    rec["device"] = device_name("torch")
    rec["versions"] = {"torch": torch.__version__, "timm": timm.__version__}
    return rec


def run_worker(args) -> None:
    fw, model = args.worker
    if fw == "keras-jax":
        rec = worker_keras_jax(model, args)
    else:
        rec = worker_timm(model, args, compile_=fw == "timm-compile")
    print("RESULT " + json.dumps(rec), flush=True)


# ------------------------------------------------------------------------------ parent


def available(fw: str) -> str | None:
    """None if the framework can run here, else why not."""
    import importlib.util

    need = ["jax", "keras"] if fw == "keras-jax" else ["torch", "timm"]
    missing = [m for m in need if importlib.util.find_spec(m) is None]
    return f"not installed: {', '.join(missing)}" if missing else None


def macs_per_image(model: str, size: int) -> int:
    from kerascnn import create_model
    from kerascnn.analysis import profile

    return int(
        profile(create_model(model, input_shape=(size, size, 3), num_classes=1000)).total_macs
    )


def peak(device: str, precision: str) -> float | None:
    for (key, prec), value in PEAK_TFLOPS.items():
        if key in device and prec == precision:
            return value
    return None


def fmt(v, spec=",.0f"):
    return "" if v is None else format(v, spec)


def write_readme(out: Path, records: list[dict], args, command: str) -> None:
    from kerascnn.accel.sweep import flops_per_image

    lines = [
        "# GPU throughput: kerascnn (Keras 3 on JAX) vs timm",
        "",
        f"Command: `{command}`  ",
        f"Date (UTC): {records[0]['date'] if records else ''}  ",
        f"Setup: batch {args.batch_size}, {args.image_size}x{args.image_size}x3, {args.precision}, synthetic data resident "
        f"on the device, SGD+momentum, {args.windows} windows x {args.steps} steps after 1 compile + 2 warm-up steps; "
        f"img/s from the median window. Each (framework, model) ran in its own process.",
        "",
        "| model | framework | device | train img/s | infer img/s | train compile s | train TFLOP/s | train MFU | "
        "train vs timm-compile | infer vs timm-eager |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["framework"], r["model"]): r for r in records}
    for r in records:
        if r.get("error"):
            status = r["error"] if r["error"].startswith("skipped") else f"failed: {r['error']}"
            lines.append(f"| {r['model']} | {r['framework']} | | {status[:140]} | | | | | | |")
            continue
        macs = r.get("macs")
        tflops = r["train_img_s"] * flops_per_image(macs, "train") / 1e12 if macs else None
        pk = peak(r.get("device", ""), args.precision)
        tc = by.get(("timm-compile", r["model"]), {})
        te = by.get(("timm-eager", r["model"]), {})
        ratio_t = r["train_img_s"] / tc["train_img_s"] if tc.get("train_img_s") else None
        ratio_i = r["infer_img_s"] / te["infer_img_s"] if te.get("infer_img_s") else None
        lines.append(
            f"| {r['model']} | {r['framework']} | {r.get('device', '')} | {fmt(r['train_img_s'])} | "
            f"{fmt(r['infer_img_s'])} | {fmt(r['train_compile_s'], '.1f')} | {fmt(tflops, '.1f')} | "
            f"{fmt(tflops / pk * 100 if tflops and pk else None, '.1f')}{'%' if tflops and pk else ''} | "
            f"{fmt(ratio_t, '.2f')} | {fmt(ratio_i, '.2f')} |"
        )
    lines += [
        "",
        "Versions: "
        + "; ".join(
            sorted(
                {
                    json.dumps(r.get("versions", {}), sort_keys=True)
                    for r in records
                    if not r.get("error")
                }
            )
        ),
        f"Host: {platform.node()} {platform.platform()}, Python {platform.python_version()}",
    ]
    (out / "README.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--models",
        default=",".join(TIMM_NAMES),
        help="comma-separated registry names (default: %(default)s)",
    )
    ap.add_argument(
        "--frameworks",
        default=",".join(FRAMEWORKS),
        help="comma-separated, from: " + ", ".join(FRAMEWORKS),
    )
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--precision", choices=["bfloat16", "float32"], default="bfloat16")
    ap.add_argument("--steps", type=int, default=20, help="steps per timed window")
    ap.add_argument("--windows", type=int, default=5, help="timed windows (median reported)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per (framework, model)")
    ap.add_argument(
        "--deadline",
        type=float,
        default=None,
        help="seconds from the start after which no new (framework, model) starts; the ones "
        "left are recorded as skipped and the README is still written",
    )
    ap.add_argument("--out", default="reports/gpu-throughput")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes for a CPU check: batch 4, 32 px, float32, 2 steps, 1 window",
    )
    ap.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "MODEL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.smoke:
        args.batch_size, args.image_size, args.steps, args.windows = 4, 32, 2, 1
        args.precision = "float32"
    if args.worker:
        run_worker(args)
        return 0
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    bad = [m for m in models if m not in TIMM_NAMES] + [
        f for f in frameworks if f not in FRAMEWORKS
    ]
    if bad:
        ap.error(
            f"unknown model/framework {bad}; models: {', '.join(TIMM_NAMES)}; frameworks: {', '.join(FRAMEWORKS)}"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.jsonl").write_text("")  # this run's records only
    command = "python " + " ".join(
        shlex.quote(a) for a in [sys.argv[0], *(argv if argv is not None else sys.argv[1:])]
    )
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M")
    records = []
    started = time.monotonic()
    passthrough = [
        "--batch-size",
        str(args.batch_size),
        "--image-size",
        str(args.image_size),
        "--precision",
        args.precision,
        "--steps",
        str(args.steps),
        "--windows",
        str(args.windows),
    ]
    for model in models:
        macs = macs_per_image(model, args.image_size)
        for fw in frameworks:
            rec = {
                "model": model,
                "framework": fw,
                "timm_name": TIMM_NAMES[model],
                "macs": macs,
                "date": date,
            }
            why = available(fw)
            left = None if args.deadline is None else args.deadline - (time.monotonic() - started)
            if left is not None and left <= 1:
                why = f"the {args.deadline:.0f} s deadline had passed"
            if why:
                rec["error"] = f"skipped: {why}"
                print(f"[{fw} {model}] skipped: {why}", flush=True)
            else:
                print(f"[{fw} {model}] running ...", flush=True)
                env = {
                    **os.environ,
                    "XLA_PYTHON_CLIENT_MEM_FRACTION": os.environ.get(
                        "XLA_PYTHON_CLIENT_MEM_FRACTION", ".75"
                    ),
                }
                if fw == "keras-jax":
                    env["KERAS_BACKEND"] = "jax"
                try:
                    proc = subprocess.run(
                        [sys.executable, __file__, "--worker", fw, model, *passthrough],
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=args.timeout if left is None else min(args.timeout, left),
                    )
                    found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
                    if proc.returncode == 0 and found:
                        rec.update(json.loads(found[-1][7:]))
                    else:
                        rec["error"] = (
                            f"exit {proc.returncode}: "
                            + (proc.stderr.strip().splitlines() or ["?"])[-1]
                        )
                except subprocess.TimeoutExpired as exc:
                    rec["error"] = f"timed out after {exc.timeout:.0f}s"
                print(
                    f"[{fw} {model}] "
                    + (
                        rec.get("error")
                        or f"train {rec['train_img_s']:,.0f} img/s, infer {rec['infer_img_s']:,.0f} img/s"
                    ),
                    flush=True,
                )
            records.append(rec)
            with open(out / "results.jsonl", "a") as fh:
                fh.write(json.dumps(rec) + "\n")
    write_readme(out, records, args, command)
    print(f"wrote {out / 'README.md'}")
    return 1 if any(r.get("error") and not r["error"].startswith("skipped") for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
