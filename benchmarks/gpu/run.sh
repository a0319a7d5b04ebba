#!/usr/bin/env bash
# Everything kerascnn measures on the GPU machine, in one command (README: "GPU and backends").
# On the GPU machine, from the repository root, with .whl/ (Keras wheels) and .data/fashion-mnist
# (the IDX files) carried along:
#     bash benchmarks/gpu/run.sh                       # all parts, stops starting work at 7.5 min
#     DEADLINE=300 bash benchmarks/gpu/run.sh          # a shorter second command
# benchmarks/gpu/run.py does the work (parts, deadline, one summary line per part); results go to
# $OUT (or reports/): software.json, summary.json, gpu-throughput/, fashion-gpu-main/, fashion-gpu/.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR="${OUT:-reports}"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
exec python3 benchmarks/gpu/run.py --out "$OUT_DIR" --deadline "${DEADLINE:-450}"
