"""CPU throughput side by side: `kerascnn throughput` (Keras 3) vs a PyTorch reference.

Each framework runs in its own subprocess with the same batch, resolution, thread count and
timing protocol (one compile call timed apart, 2 warm-up steps, N synchronized windows of S
steps, img/s from the median window; synthetic data, SGD + momentum 0.9 for training):

    keras         the `kerascnn throughput` command itself (python -m kerascnn.cli throughput),
                  on its default CPU path (TensorFlow tf.function without XLA)
    torch-eager   PyTorch eager, NCHW (contiguous) tensors
    torch-cl      PyTorch eager, channels_last tensors and weights
    torch-compile torch.compile (inductor) of the channels_last model

The PyTorch nets are written below in plain torch.nn (torchvision/timm are not required; if
torchvision is importable it is used instead): ResNet-18 and MobileNetV2 with the exact
torchvision architecture. The script checks they have the same number of weights as ours
(Keras counts BatchNorm's moving mean/variance; torch keeps them as buffers: both counted).

    python benchmarks/torch_cpu_throughput.py --models resnet18,mobilenetv2 \
        --image-size 224 --batch-size 32 --out reports/throughput-cpu/torch
    # quick check (seconds):
    python benchmarks/torch_cpu_throughput.py --models resnet18 --image-size 64 \
        --batch-size 4 --windows 2 --torch-paths eager --out /tmp/torch-side

Writes under --out: results.json (every record), results.csv, README.md (img/s and the ratio
keras / best torch path per mode). The frameworks alternate --repeats times (default 3) and the
README takes each one's median repeat: on a shared machine, PyTorch's OpenMP threads suffer far
more from other processes' load than TensorFlow's thread pool, so compare on a quiet machine.
Extra environment for our side with --keras-env KEY=VALUE (repeatable). More Keras columns,
measured in the same alternation, with --keras-variant NAME=WORDS: environment settings
(KEY=VALUE) and `kerascnn throughput` flags, e.g. --keras-variant "as-built=--no-fold-bn
--no-fused-train" or --keras-variant "onednn-off=TF_ENABLE_ONEDNN_OPTS=0".
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
TORCH_PATHS = ("eager", "cl", "compile")


# ------------------------------------------------------------------ PyTorch reference nets


def torch_model(name: str):
    import torch.nn as nn

    try:  # the real torchvision nets when available
        import torchvision.models as tvm

        return {"resnet18": tvm.resnet18, "mobilenetv2": tvm.mobilenet_v2}[name](num_classes=1000)
    except ImportError:
        pass

    def cbr(cin, cout, k, s, groups=1, act=nn.ReLU):
        return [
            nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            *([act(inplace=True)] if act else []),
        ]

    class Basic(nn.Module):  # torchvision BasicBlock
        def __init__(self, cin, cout, s):
            super().__init__()
            self.body = nn.Sequential(*cbr(cin, cout, 3, s), *cbr(cout, cout, 3, 1, act=None))
            self.down = (
                nn.Sequential(*cbr(cin, cout, 1, s, act=None)) if s != 1 or cin != cout else None
            )
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            return self.relu(self.body(x) + (x if self.down is None else self.down(x)))

    class InvRes(nn.Module):  # torchvision InvertedResidual
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hid = cin * t
            layers = cbr(cin, hid, 1, 1, act=nn.ReLU6) if t != 1 else []
            layers += cbr(hid, hid, 3, s, groups=hid, act=nn.ReLU6)
            layers += cbr(hid, cout, 1, 1, act=None)
            self.body, self.res = nn.Sequential(*layers), s == 1 and cin == cout

        def forward(self, x):
            return x + self.body(x) if self.res else self.body(x)

    if name == "resnet18":
        layers, cin = cbr(3, 64, 7, 2) + [nn.MaxPool2d(3, 2, 1)], 64
        for cout, s in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [Basic(cin, cout, s), Basic(cout, cout, 1)]
            cin = cout
        head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
        return nn.Sequential(*layers, *head)
    if name == "mobilenetv2":
        layers, cin = cbr(3, 32, 3, 2, act=nn.ReLU6), 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):  # fmt: skip
            for i in range(n):
                layers.append(InvRes(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += cbr(cin, 1280, 1, 1, act=nn.ReLU6)
        head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1280, 1000)]
        return nn.Sequential(*layers, *head)
    raise SystemExit(f"no PyTorch reference for {name!r}; have: resnet18, mobilenetv2")


def _auto_steps(warm_s: float, window_s: float) -> int:
    return int(min(200, max(1, round(window_s / max(warm_s, 1e-9)))))


def _torch_step(torch, fn, x, y, opt, mode):
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        if mode == "infer":
            with torch.inference_mode():
                return fn(x)
        loss = loss_fn(fn(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def _timed(step, args) -> dict:
    """The protocol of kerascnn.accel.throughput: compile call, 2 warm-up steps, windows."""
    t0 = time.perf_counter()
    step()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(2):
        step()
    steps = args.steps or _auto_steps((time.perf_counter() - t0) / 2, args.window_s)
    per = []
    for _ in range(args.windows):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        per.append((time.perf_counter() - t0) / steps)
    med = statistics.median(per)
    return {
        "images_per_s": args.batch_size / med, "step_ms_median": med * 1e3,
        "step_ms_min": min(per) * 1e3, "step_ms_max": max(per) * 1e3, "compile_s": compile_s,
        "steps_per_window": steps, "windows": args.windows,
    }  # fmt: skip


def worker_torch(args) -> list[dict]:
    import torch

    torch.set_num_threads(args.threads)
    recs = []
    for model in args.models.split(","):
        for path in args.torch_paths.split(","):
            net = torch_model(model)
            weights = sum(p.numel() for p in net.parameters())
            weights += sum(b.numel() for n, b in net.named_buffers() if "running" in n)
            fmt = torch.channels_last if path in ("cl", "compile") else torch.contiguous_format
            net = net.to(memory_format=fmt)
            x = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
            x = x.contiguous(memory_format=fmt)
            y = torch.randint(0, 1000, (args.batch_size,))
            opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
            for mode in args.modes.split(","):
                net.train(mode == "train")
                fn = torch.compile(net) if path == "compile" else net
                rec = {"framework": f"torch-{path}", "model": model, "mode": mode,
                       "batch_size": args.batch_size, "image_size": args.image_size,
                       **_timed(_torch_step(torch, fn, x, y, opt, mode), args),
                       "weights": int(weights), "threads": torch.get_num_threads(),
                       "version": torch.__version__, "status": "ok"}  # fmt: skip
                recs.append(rec)
                print(f"[torch-{path}] {model} {mode}: {rec['images_per_s']:.1f} img/s",
                      file=sys.stderr, flush=True)  # fmt: skip
    return recs


# ------------------------------------------------------------------------------- parent


def run_keras(args, name: str, extra: str) -> list[dict]:
    """`kerascnn throughput` in a subprocess, with the same threads and protocol; ``extra``:
    a variant's environment and flags (e.g. "TF_ENABLE_ONEDNN_OPTS=0" or "--no-fold-bn")."""
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(args.threads)}
    env.update(dict(kv.split("=", 1) for kv in args.keras_env))
    words = shlex.split(extra)
    env.update(dict(w.split("=", 1) for w in words if not w.startswith("-")))
    extra = shlex.join(w for w in words if w.startswith("-"))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "kerascnn.cli", "throughput", "--models", args.models,
               "--image-size", str(args.image_size), "--batch-sizes", str(args.batch_size),
               "--mode", args.modes, "--windows", str(args.windows),
               "--window-s", str(args.window_s), "--out", tmp, *shlex.split(args.keras_args),
               *shlex.split(extra)]  # fmt: skip
        if args.steps:
            cmd += ["--steps", str(args.steps)]
        print("$ " + shlex.join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, env=env, cwd=ROOT, check=False, stdout=sys.stderr)
        doc = json.loads((Path(tmp) / "results.json").read_text())
    return [{**r, "framework": name, "weights": r.get("params")} for r in doc["rows"]]


def _median_of_repeats(records: list[dict]) -> list[dict]:
    """One record per (framework, model, mode): the median img/s of its repeats (and all of them)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if r.get("images_per_s"):
            groups.setdefault((r["framework"], r["model"], r["mode"]), []).append(r)
    out = []
    for rs in groups.values():
        values = sorted(r["images_per_s"] for r in rs)
        out.append({**rs[0], "images_per_s": statistics.median(values),
                    "repeats": [round(v, 1) for v in values]})  # fmt: skip
    return out


def _cells(records: list[dict], keras_names: list[str]) -> tuple[list[str], list[list]]:
    header = ["model", "mode", "batch"] + [f"{k} img/s" for k in keras_names]
    header += [f"torch-{p} img/s" for p in TORCH_PATHS]
    header += ["best torch", f"{keras_names[0]} / best torch", "weights keras / torch"]
    cells = []
    for key in dict.fromkeys((r["model"], r["mode"]) for r in records):
        rows = {r["framework"]: r for r in records if (r["model"], r["mode"]) == key}
        torch_recs = [r for f, r in rows.items() if f.startswith("torch")]
        best = max(torch_recs, key=lambda t: t["images_per_s"], default=None)
        ours = rows.get(keras_names[0])

        def cell(r):
            return f"{r['images_per_s']:.1f} ({', '.join(map(str, r['repeats']))})" if r else ""

        cells.append(
            [key[0], key[1], next(iter(rows.values()))["batch_size"]]
            + [cell(rows.get(k)) for k in keras_names]
            + [cell(rows.get(f"torch-{p}")) for p in TORCH_PATHS]
            + [best["framework"] if best else "",
               f"{ours['images_per_s'] / best['images_per_s']:.2f}x" if ours and best else "",
               f"{ours.get('weights') or 0:,} / {best['weights']:,}" if ours and best else ""]
        )  # fmt: skip
    return header, cells


def write(out: Path, records: list[dict], command: str, keras_names: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from kerascnn.measure.environment import device_name
    from kerascnn.record.tabular import markdown_table, write_csv

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"command": command, "records": records}, indent=1)
    )
    cols = ["framework", "model", "mode", "batch_size", "image_size", "images_per_s",
            "step_ms_median", "step_ms_min", "step_ms_max", "compile_s", "steps_per_window",
            "windows", "weights", "bn_folded", "fused_train", "status", "error"]  # fmt: skip
    write_csv(out / "results.csv", records, cols + ["repeat", "load_before"])
    header, cells = _cells(_median_of_repeats(records), keras_names)
    threads = next((t["threads"] for t in records if "threads" in t), "?")
    repeats = 1 + max((r.get("repeat", 0) for r in records), default=0)
    lines = [
        "# CPU throughput: kerascnn (Keras 3) vs PyTorch",
        "",
        f"Command: `{command}`",
        "",
        f"Each framework in its own process, {threads} threads, same batch, resolution and "
        f"protocol, on {device_name()}. The frameworks alternate, {repeats} repeats; each cell "
        "is the median img/s of the repeats (each repeat in brackets, sorted; every record in "
        "results.json and results.csv). Keras path: `"
        + next((r["path"] for r in records if r.get("path")), "?")
        + "`; "
        + "; ".join(f"{k}: `kerascnn throughput {v or '(defaults)'}`" for k, v in _VARIANTS.items())
        + ".",
        "",
        markdown_table(header, cells),
        "",
    ]
    (out / "README.md").write_text("\n".join(lines) + "\n")


_VARIANTS: dict[str, str] = {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", default="resnet18,mobilenetv2")
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--modes", default="train,infer")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--steps", type=int, default=None, help="steps per window [default: auto]")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--window-s", type=float, default=1.0)
    ap.add_argument(
        "--torch-paths", default="eager,cl,compile", help="from: " + ", ".join(TORCH_PATHS)
    )
    ap.add_argument(
        "--repeats", type=int, default=3, help="alternating runs; each cell is their median"
    )
    ap.add_argument("--frameworks", default="keras,torch", help="keras, torch or both")
    ap.add_argument("--keras-env", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--keras-args", default="", help="extra `kerascnn throughput` flags")
    ap.add_argument(
        "--keras-variant", action="append", default=[], metavar="NAME=FLAGS",
        help="another Keras column: `kerascnn throughput` with these KEY=VALUE environment "
        "settings and flags, e.g. 'as-built=--no-fold-bn --no-fused-train' (the first column "
        "stays `keras`)",
    )  # fmt: skip
    ap.add_argument("--out", default="reports/throughput-cpu/torch")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker_torch(args)), flush=True)
        return 0
    command = "python " + shlex.join(["benchmarks/torch_cpu_throughput.py",
                                      *(argv if argv is not None else sys.argv[1:])])  # fmt: skip
    _VARIANTS.update({"keras": ""}, **dict(v.split("=", 1) for v in args.keras_variant))
    records, fws = [], args.frameworks.split(",")
    passthrough = list(argv if argv is not None else sys.argv[1:])
    for rep in range(args.repeats):  # alternate the frameworks: load changes hit both alike
        load = round(os.getloadavg()[0], 2)
        if "torch" in fws:
            proc = subprocess.run(
                [sys.executable, __file__, *passthrough, "--worker"], capture_output=True, text=True
            )
            sys.stderr.write(proc.stderr[-3000:])
            found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if not found:
                print(f"torch worker failed (exit {proc.returncode})", file=sys.stderr)
                return 1
            records += [
                {**r, "repeat": rep, "load_before": load} for r in json.loads(found[-1][7:])
            ]
        if "keras" in fws:
            for name, extra in _VARIANTS.items():
                records += [{**r, "repeat": rep, "load_before": load}
                            for r in run_keras(args, name, extra)]  # fmt: skip
    write(Path(args.out), records, command, list(_VARIANTS) if "keras" in fws else ["keras"])
    print(Path(args.out, "README.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
