#!/usr/bin/env bash
# Run on a CPU machine with PyPI access, in the repository root: downloads the pure-Python
# pieces the GPU machine lacks (it has JAX, PyTorch and timm but no Keras) as Python 3.12
# wheels into .whl/, and the Fashion-MNIST IDX files into .data/
# (both git-ignored), to be carried there: run(carry=[".whl", ".data"], "bash benchmarks/gpu/run.sh").
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl keras==3.15.1 namex optree tabulate
ls -la .whl
# Full Fashion-MNIST travels as IDX files (git-ignored .data/); needs `apt-get install dataset-fashion-mnist`.
if [ -d /usr/share/datasets/fashion-mnist ]; then
  mkdir -p .data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz .data/fashion-mnist/
fi
