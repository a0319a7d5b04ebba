#!/usr/bin/env bash
# Produces reports/throughput-cpu/: `kerascnn throughput` on the CPU path (TensorFlow
# tf.function without XLA), the same points forced through XLA, and the PyTorch side by side.
# Run it on a quiet machine from the repository root:  bash benchmarks/throughput-cpu.sh
# Estimated on the shared 2-core machine (EPYC): ~3 min (CPU path) + ~6 min (XLA, mobilenetv2
# training is slow there) + ~6 min (PyTorch side by side incl. torch.compile) = ~15 min.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-reports/throughput-cpu}
POINTS=(--models lenet,resnet18,mobilenetv2 --image-size 224 --batch-sizes 1,8,32 --mode train,infer)
export TF_CPP_MIN_LOG_LEVEL=2
rm -rf "$OUT"
mkdir -p "$OUT"

# 1. the same points forced through XLA (tf.function(jit_compile=True)): 3 windows, it is slow
"$PY" -m kerascnn.cli throughput "${POINTS[@]}" --jit --windows 3 --warmup 1 --out "$OUT/xla"

# 2. PyTorch side by side at batch 32 (each framework in its own process, same threads),
#    alternating 2 repeats, best repeat reported
"$PY" benchmarks/torch_cpu_throughput.py --models resnet18,mobilenetv2 --image-size 224 \
    --batch-size 32 --repeats 2 --out "$OUT/torch"

# 3. the CPU path (auto: tf.function without XLA); its README compares with step 1 and links 2
"$PY" -m kerascnn.cli throughput "${POINTS[@]}" --out "$OUT" --compare "$OUT/xla"
