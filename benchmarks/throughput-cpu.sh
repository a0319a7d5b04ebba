#!/usr/bin/env bash
# Produces reports/throughput-cpu/: `kerascnn throughput` on the CPU path (TensorFlow
# tf.function without XLA), the same points forced through XLA, and the PyTorch side by side.
# Run it on a quiet machine from the repository root:  bash benchmarks/throughput-cpu.sh
# Estimated on the shared 2-core machine (EPYC): ~3 min (CPU path) + ~6 min (XLA, mobilenetv2
# training is slow there) + ~15 min (PyTorch side by side incl. torch.compile, 3 repeats)
# + ~6 min (thread settings) + ~4 min (profiles) = ~35 min.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-reports/throughput-cpu}
POINTS=(--models lenet,resnet18,mobilenetv2 --image-size 224 --batch-sizes 1,8,32 --mode train,infer)
export TF_CPP_MIN_LOG_LEVEL=2
mkdir -p "$OUT"
# everything but levers.md (written by hand from these runs) is regenerated
find "$OUT" -mindepth 1 -maxdepth 1 ! -name levers.md -exec rm -rf {} +

# 1. the same points forced through XLA (tf.function(jit_compile=True)): 3 windows, it is slow
"$PY" -m kerascnn.cli throughput "${POINTS[@]}" --jit --windows 3 --warmup 1 --out "$OUT/xla"

# 2. PyTorch side by side at batch 32 (each framework in its own process, same threads),
#    alternating 3 repeats, the median reported; a second Keras column without our levers
"$PY" benchmarks/torch_cpu_throughput.py --models resnet18,mobilenetv2 --image-size 224 \
    --batch-size 32 --repeats 3 --keras-variant "keras-as-built=--no-fold-bn --no-fused-train" \
    --out "$OUT/torch"

# 2b. the thread and oneDNN settings, Keras only, alternating
"$PY" benchmarks/torch_cpu_throughput.py --models resnet18,mobilenetv2 --image-size 224 \
    --batch-size 32 --repeats 2 --frameworks keras \
    --keras-variant "interop-1=TF_NUM_INTEROP_THREADS=1" \
    --keras-variant "intraop-1=TF_NUM_INTRAOP_THREADS=1" \
    --keras-variant "onednn-off=TF_ENABLE_ONEDNN_OPTS=0" --out "$OUT/threads"

# 2c. where the time goes: per-op profiles of both frameworks, with and without our levers
"$PY" benchmarks/profile_cpu.py --out "$OUT/profile"
"$PY" benchmarks/profile_cpu.py --frameworks keras --no-fold-bn --no-fused-train \
    --out "$OUT/profile/as-built"

# 3. the CPU path (auto: tf.function without XLA); its README compares with step 1 and links 2
"$PY" -m kerascnn.cli throughput "${POINTS[@]}" --out "$OUT" --compare "$OUT/xla"
