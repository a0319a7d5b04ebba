"""Backend independence (issue 7): kerascnn without TensorFlow, and TF/JAX agreement."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _backend_scripts import NO_TENSORFLOW, SAME_WEIGHTS

from kerascnn import create_model, list_models

ROOT = Path(__file__).resolve().parents[1]


def run_py(code_or_args, backend, extra_env=None, timeout=600):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **(extra_env or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    args = (
        [sys.executable, "-c", code_or_args]
        if isinstance(code_or_args, str)
        else [sys.executable, *code_or_args]
    )
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nSTDOUT:\n{proc.stdout[-3000:]}\nSTDERR:\n{proc.stderr[-5000:]}"
    )
    return proc.stdout


# PyTorch is not a dependency (PyPI's Linux wheel brings ~5 GB of CUDA libraries): the torch
# cases run where torch is installed in the test environment (pip install torch) and skip elsewhere.
HAS_TORCH = importlib.util.find_spec("torch") is not None
BACKENDS = [
    "jax",
    pytest.param("torch", marks=pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")),
]


# One model per builder (each family, and the block kinds within one: basic and bottleneck
# ResNets, MobileNet v1 and v2, the three course nets), the smallest of each: on JAX every weight
# initializer compiles on first use, so the whole zoo took ~3 minutes. The rest of the zoo is held
# to the same rule statically: models/ and layers/ import keras only (tests/test_architecture.py).
ONE_PER_BUILDER = (  # two parts of about equal cost, one per test worker
    ("lenet", "alexnet", "vgg11_bn", "nin", "resnet18", "resnet50", "seresnet18", "simple_cnn")
    + ("efficientnet_b0", "cifar_cnn"),
    ("googlenet", "densenet121", "mobilenet", "mobilenetv2", "simple_convnet", "allconv_bn"),
)


def test_one_per_builder_covers_every_family():
    from kerascnn import model_info

    chosen = [name for part in ONE_PER_BUILDER for name in part]
    assert set(chosen) <= set(list_models())
    assert {model_info(n).family for n in chosen} == {model_info(n).family for n in list_models()}


@pytest.mark.parametrize("part", range(len(ONE_PER_BUILDER)))
@pytest.mark.parametrize("backend", BACKENDS)
def test_import_and_build_models_without_tensorflow(backend, part, tmp_path):
    script = tmp_path / "no_tf.py"
    script.write_text(NO_TENSORFLOW)
    # Building checks shapes and finiteness only, so XLA may skip its slow optimisation passes;
    # the same-weights test below keeps the default flags.
    fast_compile = {
        "XLA_FLAGS": "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    }
    names = ONE_PER_BUILDER[part]
    out = run_py(
        [str(script), ",".join(names)], backend, fast_compile if backend == "jax" else None
    )
    assert f"OK {len(names)} models on {backend} without tensorflow" in out


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
def test_bench_on_torch_without_tensorflow(tmp_path):
    import json

    from _backend_scripts import BENCH_NO_TF

    script = tmp_path / "bench.py"
    script.write_text(BENCH_NO_TF)
    out = tmp_path / "run"
    args = [
        "--backend",
        "torch",
        "--models",
        "lenet",
        "--epochs",
        "10",
        "--batch-size",
        "32",
        "--train-limit",
        "512",
        "--test-limit",
        "256",
        "--out",
        str(out),
    ]
    run_py([str(script), *args], "tensorflow")  # --backend torch must win over the environment
    (result,) = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert result["status"] == "ok" and result["model"] == "lenet", result.get("error")
    assert result["test"]["top1"] > 0.2  # 10 epochs on 512 images: far above chance (0.1)
    assert '"backend": "torch"' in json.dumps(result["environment"])
    assert (out / "README.md").is_file()


@pytest.mark.parametrize(
    "name,shape", [("lenet", (28, 28, 1)), ("resnet18", (32, 32, 3)), ("mobilenetv2", (32, 32, 3))]
)
def test_same_weights_same_outputs_tensorflow_and_jax(name, shape, tmp_path):
    if name not in list_models():
        pytest.skip(f"{name} is not registered")
    model = create_model(name, input_shape=shape, num_classes=10)
    x = np.random.default_rng(1).uniform(0, 1, (4, *shape)).astype("float32")
    weights, xfile, out = tmp_path / "w.weights.h5", tmp_path / "x.npy", tmp_path / "jax.npy"
    model.save_weights(weights)
    np.save(xfile, x)
    y_tf = np.asarray(model(x, training=False))
    script = tmp_path / "same.py"
    script.write_text(SAME_WEIGHTS)
    assert "backend jax" in run_py(
        [str(script), name, ",".join(map(str, shape)), str(weights), str(xfile), str(out)], "jax"
    )
    y_jax = np.load(out)
    assert y_jax.shape == y_tf.shape
    np.testing.assert_allclose(y_jax, y_tf, rtol=1e-4, atol=1e-5)
