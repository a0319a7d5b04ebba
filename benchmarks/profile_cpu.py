"""Where a CPU step's time goes: a per-op profile of Keras-TF and of PyTorch, side by side.

For each model and mode (train = forward + backward + SGD update; infer = forward) this
script profiles a few steady-state steps of the compiled step that ``kerascnn throughput``
times (``tf.function`` without XLA; inference through ``compile_inference``, BatchNorm folded
by default as there), with TensorFlow's profiler (the XPlane trace that TensorBoard's trace
viewer reads), and the same model in PyTorch eager, channels_last (the fastest eager torch
path on this machine), with ``torch.profiler``. Ops are grouped by kernel type and by phase
(forward, backward, optimizer) and reported per step; shares are of the summed op time.

It also measures the practical matmul limit of the machine (a large float32 matmul in each
framework, the same thread count) and the share of it each model reaches, from kerascnn's
MAC count (inference 2 x MACs per image, training 3 x that).

    python benchmarks/profile_cpu.py --out reports/throughput-cpu/profile
    python benchmarks/profile_cpu.py --models mobilenetv2 --image-size 28 --batch-size 64 \
        --modes train --out /tmp/profile-28   # the main job's MobileNetV2 step

Writes results.json (every op row) and README.md under --out.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
TOP = 12


def _phase(name: str) -> str:
    low = name.lower()
    if "gradient_tape" in low or "backward" in low:
        return "backward"
    if any(k in low for k in ("sgd", "optimizer", "_foreach", "assignaddvariableop", "assignsub")):
        return "optimizer"
    return "forward"


def _tf_ops(logdir: str) -> list[tuple[str, str, float]]:
    """(op type, phase, seconds) of every op the TF executor ran, from the XPlane trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1]
    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(path).read_bytes())
    ops = []
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for ev in line.events:
                name = plane.event_metadata[ev.metadata_id].name
                if ":" in name and "::" not in name:  # ops are "name:Type"; skip executor events
                    op_name, op_type = name.rsplit(":", 1)
                    ops.append((op_type, _phase(op_name), ev.duration_ps * 1e-12))
    return ops


def _summarize(ops, steps: int, step_s: float) -> dict:
    by_type: dict[str, list] = collections.defaultdict(lambda: [0.0, 0])
    by_phase: dict[str, float] = collections.defaultdict(float)
    for op_type, phase, sec in ops:
        by_type[op_type][0] += sec
        by_type[op_type][1] += 1
        by_phase[phase] += sec
    total = sum(v[0] for v in by_type.values()) or 1e-12
    rows = sorted(by_type.items(), key=lambda kv: -kv[1][0])
    return {
        "step_ms": step_s * 1e3,
        "op_ms_per_step": total / steps * 1e3,
        "ops": [
            {
                "op": k,
                "ms_per_step": v[0] / steps * 1e3,
                "share": v[0] / total,
                "calls_per_step": v[1] / steps,
            }
            for k, v in rows
        ],  # fmt: skip
        "phases": {k: v / total for k, v in sorted(by_phase.items())},
    }


def _timed(run, steps: int) -> float:
    run(steps)  # warm
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run(steps)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def worker_keras(args) -> list[dict]:
    import tensorflow as tf

    from kerascnn import create_model
    from kerascnn.accel import throughput
    from kerascnn.accel.fused_train import training_view
    from kerascnn.accel.inference import compile_inference
    from kerascnn.analysis import profile
    from kerascnn.measure.timing import inference_steps

    n = args.batch_size
    out = [_tf_matmul_limit(tf, args)]
    for name in args.models.split(","):
        shape = (args.image_size, args.image_size, args.channels)
        model = create_model(
            name, input_shape=shape, num_classes=args.classes, classifier_activation=None
        )
        macs = int(profile(model).total_macs)
        x, y = throughput.synthetic_batch(model, n)
        for mode in args.modes.split(","):
            if mode == "train":
                fused = not args.no_fused_train
                opt = throughput.make_optimizer(args.optimizer, fused)
                net = training_view(model) if fused else model
                run, _, _ = throughput._tf_train(net, opt, x, y, False)
            else:
                run = inference_steps(compile_inference(_folded(model, args), jit=False), x)
            run(2)
            step_s = _timed(run, args.steps)
            with tempfile.TemporaryDirectory() as logdir:
                tf.profiler.experimental.start(logdir)
                run(args.steps)
                tf.profiler.experimental.stop()
                summary = _summarize(_tf_ops(logdir), args.steps, step_s)
            out.append(_record("keras-tf", name, mode, args, macs, summary))
            print(f"[keras-tf] {name} {mode}: {step_s * 1e3:.1f} ms/step", file=sys.stderr)
    return out


def _folded(model, args):
    if args.no_fold_bn:
        return model
    from kerascnn.accel.fold_bn import fold_batchnorm

    return fold_batchnorm(model).model


def _tf_matmul_limit(tf, args) -> dict:
    a = tf.Variable(tf.random.normal((args.matmul, args.matmul)))  # a variable: not constant-folded
    f = tf.function(lambda: tf.matmul(a, a))
    step_s = _timed(lambda k: [f() for _ in range(k)][-1].numpy(), 5)
    gflops = 2 * args.matmul**3 / step_s / 1e9
    return {"framework": "keras-tf", "model": "matmul", "size": args.matmul, "gflops": gflops}


def worker_torch(args) -> list[dict]:
    import torch
    from torch_cpu_throughput import torch_model

    torch.set_num_threads(args.threads)
    a = torch.randn(args.matmul, args.matmul)
    step_s = _timed(lambda k: [torch.mm(a, a) for _ in range(k)], 5)
    out = [
        {"framework": "torch-cl", "model": "matmul", "gflops": 2 * args.matmul**3 / step_s / 1e9}
    ]
    for name in args.models.split(","):
        net = torch_model(name).to(memory_format=torch.channels_last)
        x = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
        x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 1000, (args.batch_size,))
        opt = (torch.optim.Adam(net.parameters(), 1e-3) if args.optimizer == "adam"
               else torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9))  # fmt: skip
        for mode in args.modes.split(","):
            net.train(mode == "train")

            run = _torch_run(torch, net, x, y, opt, mode)
            run(2)
            step_s = _timed(run, args.steps)
            acts = [torch.profiler.ProfilerActivity.CPU]
            with torch.profiler.profile(activities=acts) as prof:
                run(args.steps)
            ops = []
            for ev in prof.key_averages():
                if ev.self_cpu_time_total > 0 and not ev.key.startswith("ProfilerStep"):
                    sec = ev.self_cpu_time_total * 1e-6
                    ops += [(ev.key, _phase(ev.key), sec / ev.count)] * ev.count
            out.append(
                _record("torch-cl", name, mode, args, None, _summarize(ops, args.steps, step_s))
            )
            print(f"[torch-cl] {name} {mode}: {step_s * 1e3:.1f} ms/step", file=sys.stderr)
    return out


def _torch_run(torch, net, x, y, opt, mode):
    loss_fn = torch.nn.CrossEntropyLoss()

    def run(k):
        for _ in range(k):
            if mode == "infer":
                with torch.inference_mode():
                    net(x)
                continue
            loss = loss_fn(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return run


def _record(fw, name, mode, args, macs, summary) -> dict:
    return {"framework": fw, "model": name, "mode": mode, "batch_size": args.batch_size,
            "image_size": args.image_size, "macs_per_image": macs, **summary}  # fmt: skip


def _gflops(rec, macs) -> float:
    factor = 3 if rec["mode"] == "train" else 1
    return 2 * macs * factor * rec["batch_size"] / (rec["step_ms"] / 1e3) / 1e9


def write(out: Path, records: list[dict], command: str) -> None:
    import dataclasses

    from kerascnn.measure.environment import environment
    from kerascnn.record.tabular import markdown_table

    out.mkdir(parents=True, exist_ok=True)
    env = dataclasses.asdict(environment(shlex.split(command)))
    (out / "results.json").write_text(
        json.dumps({"command": command, "environment": env, "records": records}, indent=1)
    )
    limit = {r["framework"]: r["gflops"] for r in records if r["model"] == "matmul"}
    runs = [r for r in records if r["model"] != "matmul"]
    macs = {r["model"]: r["macs_per_image"] for r in runs if r.get("macs_per_image")}
    lines = ["# Where a CPU step's time goes: Keras-TF vs PyTorch, per op", "",
             f"Command: `{command}`", "",
             "Each framework in its own process. Keras-TF: the compiled step `kerascnn throughput` "
             "times (tf.function, no XLA; inference on the BatchNorm-folded model unless "
             "--no-fold-bn, training through kerascnn.accel.fused_train's kernels unless "
             "--no-fused-train), traced with TensorFlow's profiler (XPlane). PyTorch: eager, "
             "channels_last, `torch.profiler` self CPU time. ms/step: best of 3 timed windows "
             "without the profiler; op times are from a profiled window and are summed over "
             "threads (ops that overlap count twice), so shares, not sums, compare.", "",
             "Practical matmul limit: the faster of the frameworks' float32 square matmul "
             f"({args_matmul(records)}; "
             + ", ".join(f"{k}: {v:.0f} GFLOP/s" for k, v in limit.items())
             + "); 'of matmul limit' is each step's GFLOP/s (kerascnn's MAC count) against it.",
             "",
             _overview(runs, macs, limit, markdown_table), ""]  # fmt: skip
    for key in dict.fromkeys((r["model"], r["mode"]) for r in runs):
        pair = [r for r in runs if (r["model"], r["mode"]) == key]
        lines += [f"## {key[0]} {key[1]}", ""]
        for r in pair:
            phases = ", ".join(f"{k} {v:.0%}" for k, v in r["phases"].items())
            lines += [
                f"**{r['framework']}**: {r['step_ms']:.1f} ms/step; op time by phase: {phases}",
                "",
            ]
            cells = [[o["op"], f"{o['ms_per_step']:.1f}", f"{o['share']:.1%}",
                      f"{o['calls_per_step']:.0f}"] for o in r["ops"][:TOP]]  # fmt: skip
            lines += [markdown_table(["op", "ms/step", "share", "calls/step"], cells), ""]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines += ["## Environment", "",
              f"- CPU: {env['cpu']}, {env['usable_cpus']} usable cores; load average at the "
              f"end {env['load_average_at_start']}", f"- versions: {versions}", ""]  # fmt: skip
    (out / "README.md").write_text("\n".join(lines) + "\n")


def args_matmul(records) -> str:
    size = next((r.get("size") for r in records if r["model"] == "matmul"), None)
    return f"{size}x{size}" if size else "2048x2048"


def _overview(runs, macs, limit, markdown_table) -> str:
    cells = []
    for r in runs:
        gf = _gflops(r, macs[r["model"]]) if r["model"] in macs else None
        lim = max(limit.values(), default=None)  # the machine's: the faster framework's matmul
        top = ", ".join(f"{o['op']} {o['share']:.0%}" for o in r["ops"][:3])
        cells.append([r["model"], r["mode"], r["framework"], f"{r['step_ms']:.1f}",
                      f"{gf:.0f}" if gf else "", f"{gf / lim:.0%}" if gf and lim else "", top])  # fmt: skip
    head = ["model", "mode", "framework", "ms/step", "GFLOP/s", "of matmul limit", "top ops"]
    return markdown_table(head, cells)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", default="resnet18,mobilenetv2")
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--modes", default="train,infer")
    ap.add_argument("--steps", type=int, default=3, help="steps per timed / profiled window")
    ap.add_argument("--optimizer", default="momentum", choices=["momentum", "adam"])
    ap.add_argument("--channels", type=int, default=3, help="input channels (Keras side)")
    ap.add_argument("--classes", type=int, default=1000, help="classes (Keras side)")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--matmul", type=int, default=2048, help="size of the limit's square matmul")
    ap.add_argument("--no-fold-bn", action="store_true", help="profile inference unfolded")
    ap.add_argument(
        "--no-fused-train", action="store_true", help="profile training with Keras's own ops"
    )
    ap.add_argument("--frameworks", default="keras,torch")
    ap.add_argument("--out", default="reports/throughput-cpu/profile")
    ap.add_argument("--worker", choices=["keras", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        recs = worker_keras(args) if args.worker == "keras" else worker_torch(args)
        print("RESULT " + json.dumps(recs), flush=True)
        return 0
    passthrough = list(argv if argv is not None else sys.argv[1:])
    command = "python " + shlex.join(["benchmarks/profile_cpu.py", *passthrough])
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(args.threads)}
    records = []
    for fw in args.frameworks.split(","):
        proc = subprocess.run([sys.executable, __file__, *passthrough, "--worker", fw],
                              capture_output=True, text=True, env=env)  # fmt: skip
        sys.stderr.write("\n".join(ln for ln in proc.stderr.splitlines() if ln.startswith("[")))
        found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if not found:
            sys.stderr.write(proc.stderr[-4000:])
            print(f"\n{fw} worker failed (exit {proc.returncode})", file=sys.stderr)
            return 1
        records += json.loads(found[-1][7:])
    write(Path(args.out), records, command)
    print(Path(args.out, "README.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
