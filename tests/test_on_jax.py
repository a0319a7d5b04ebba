"""The block-equivalence tests again on JAX, in a subprocess (Keras picks its backend once per
process): every public layer equals its zoo block there too (test_block_equivalence.py). Whole
models on both backends: test_backends.py. (Keras' run_layer_test, test_layers_keras.py, runs on
the suite's backend: on JAX, `KERAS_BACKEND=jax pytest tests/test_layers_keras.py`.)"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import test_block_equivalence as equivalence

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="already on another backend",
)
def test_layer_suite_on_jax():
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "XLA_FLAGS": "--xla_backend_optimization_level=0",
    }
    files = [str(HERE / "test_block_equivalence.py")]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            *files,
            "-k",
            "not drifted",
        ],  # fmt: skip
        cwd=HERE.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    expected = len(equivalence.ZOO_CASES) + len(equivalence.BLOCK_CASES)
    assert f"{expected} passed" in proc.stdout, proc.stdout[-2000:]
