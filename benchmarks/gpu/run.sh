#!/usr/bin/env bash
# Everything kerascnn measures on the GPU machine, in one command (README: "GPU and backends").
# On the GPU machine, from the repository root, with .whl/ carried along:
#     bash benchmarks/gpu/run.sh            # throughput (ours vs timm) + Fashion-MNIST accuracy
#     PARTS=throughput bash benchmarks/gpu/run.sh
# Results go to $OUT (or reports/) as markdown + JSON; commit them with this command line.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR="${OUT:-reports}"
PARTS="${PARTS:-throughput,fashion}"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT_DIR/gpu-info.txt"
status=0
if [[ ",$PARTS," == *",throughput,"* ]]; then
  python3 benchmarks/gpu_throughput.py --out "$OUT_DIR/gpu-throughput" || status=1
fi
if [[ ",$PARTS," == *",fashion,"* ]]; then
  # Full Fashion-MNIST must travel as IDX files in .data/fashion-mnist (git-ignored).
  python3 -m kerascnn.cli bench --suite benchmarks/fashion-gpu.toml --data-dir .data/fashion-mnist \
    --out "$OUT_DIR/fashion-gpu" --resume || status=1
fi
exit $status
