"""Fast paths (issue 7): device-resident compiled steps and data parallelism, on CPU."""

import math

import pytest
from test_backends import run_py

from kerascnn import create_model
from kerascnn.accel import dtype_policy, measure_throughput
from kerascnn.distributed.data_parallel import check_global_batch

THROUGHPUT = r"""
import sys, json
from kerascnn import create_model
from kerascnn.accel import measure_throughput
r = measure_throughput(lambda: create_model("lenet", classifier_activation=None), batch_size=32,
                       steps=3, windows=2, precision=sys.argv[1])
print("RESULT", json.dumps(r))
"""

DATA_PARALLEL = r"""
import numpy as np, keras
if keras.backend.backend() == "tensorflow":
    from kerascnn.distributed.data_parallel import split_cpu_for_tensorflow
    split_cpu_for_tensorflow(2)
from kerascnn import create_model
from kerascnn.distributed.data_parallel import data_parallel
x = np.random.default_rng(0).uniform(0, 1, (64, 28, 28, 1)).astype("float32")
y = np.arange(64) % 10
with data_parallel() as dp:
    m = create_model("lenet")
    m.compile("adam", "sparse_categorical_crossentropy")
    h = m.fit(x, y, batch_size=16, epochs=2, verbose=0)
shards = len(m.trainable_variables[0].value.sharding.device_set) if dp.backend == "jax" else dp.num_replicas
print("RESULT", dp.num_replicas, shards, dp.engine, h.history["loss"][-1])
"""


def _check(result):
    for key in ("train_img_s", "infer_img_s", "train_compile_s", "infer_compile_s"):
        assert result[key] > 0, key
    assert (
        math.isfinite(result["train_loss_first"])
        and result["train_loss_last"] < result["train_loss_first"]
    )
    assert result["params"] == 61706 and result["input_shape"] == [28, 28, 1]


def test_throughput_tensorflow_in_process():
    r = measure_throughput(
        lambda: create_model("lenet", classifier_activation=None), batch_size=32, steps=3, windows=2
    )
    assert r["backend"] == "tensorflow" and r["precision"] == "float32"
    assert (r["path"], r["xla"]) == ("tf.function", False)  # a CPU: the graph without XLA
    _check(r)


def test_throughput_tensorflow_forced_xla():
    r = measure_throughput(
        lambda: create_model("lenet", classifier_activation=None),
        batch_size=8,
        steps=2,
        windows=1,
        xla=True,
    )
    assert (r["path"], r["xla"]) == ("tf.function+xla", True)
    assert r["train_img_s"] > 0 and r["infer_img_s"] > 0


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_throughput_jax(precision):
    import json

    out = run_py(THROUGHPUT.replace("sys.argv[1]", repr(precision)), "jax")
    r = json.loads(out.split("RESULT", 1)[1])
    assert r["backend"] == "jax" and r["precision"] == precision
    assert (r["path"], r["xla"]) == ("jax.jit", True)
    _check(r)


def test_bfloat16_policy_is_scoped():
    import keras

    before = keras.config.dtype_policy().name
    with dtype_policy("bfloat16"):
        m = create_model("lenet")
        assert m.layers[1].compute_dtype == "bfloat16" and m.layers[1].variable_dtype == "float32"
    assert keras.config.dtype_policy().name == before


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: precision='fp8'"):
        with dtype_policy("fp8"):
            pass
    with pytest.raises(ValueError, match="batch_size=0"):
        measure_throughput(lambda: create_model("lenet"), batch_size=0)
    with pytest.raises(ValueError, match="multiple of 2. Received: batch_size=7"):
        check_global_batch(7, 2)


@pytest.mark.parametrize(
    "backend,env",
    [
        ("jax", {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}),
        ("tensorflow", {}),
    ],
)
def test_data_parallel_on_two_cpu_devices(backend, env):
    out = run_py(DATA_PARALLEL, backend, env)
    replicas, shards, engine, loss = out.split("RESULT", 1)[1].split(maxsplit=3)
    assert int(replicas) == 2 and int(shards) == 2
    assert engine == (
        "keras.distribution.DataParallel" if backend == "jax" else "tf.distribute.MirroredStrategy"
    )
    assert math.isfinite(float(loss))


def test_gpu_throughput_script_smoke(tmp_path):
    """The GPU benchmark script runs end to end on a CPU in smoke mode and writes its report."""
    import json
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_throughput.py"
    run_py(
        [
            str(script),
            "--smoke",
            "--models",
            "resnet18",
            "--frameworks",
            "keras-jax,timm-compile",
            "--out",
            str(tmp_path),
        ],
        "jax",
    )
    recs = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    ours = next(r for r in recs if r["framework"] == "keras-jax")
    assert ours["train_img_s"] > 0 and ours["infer_img_s"] > 0 and ours["macs"] > 0
    assert ours["input_shape"] == [32, 32, 3] and ours["batch_size"] == 4
    assert ours["device"].startswith("CPU: ")  # the one device_name format of every stored result
    assert ours["path"] == "jax.jit"  # measured by kerascnn.accel.measure_point, as the sweep
    readme = (tmp_path / "README.md").read_text()
    assert "| resnet18 | keras-jax |" in readme and "--smoke" in readme
    timm = next(r for r in recs if r["framework"] == "timm-compile")
    assert "error" not in timm or timm["error"].startswith("skipped")


def test_bench_on_jax_without_tensorflow_data_parallel(tmp_path):
    """`kerascnn bench --backend jax --distribute` runs with TensorFlow absent, over 2 devices."""
    import json

    from _backend_scripts import BENCH_NO_TF

    script = tmp_path / "bench.py"
    script.write_text(BENCH_NO_TF)
    out = tmp_path / "run"
    args = [
        "--backend",
        "jax",
        "--distribute",
        "--models",
        "lenet",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--train-limit",
        "256",
        "--test-limit",
        "128",
        "--steps-per-execution",
        "2",
        "--out",
        str(out),
    ]
    run_py(
        [str(script), *args],
        "tensorflow",  # --backend jax must win over the environment
        {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
    )
    results = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert len(results) == 1, list(out.iterdir())
    r = results[0]
    assert r["status"] == "ok" and r["model"] == "lenet"
    assert r["data_parallel"] == {
        "engine": "keras.distribution.DataParallel",
        "replicas": 2,
        "devices": ["cpu:0", "cpu:1"],
        "num_processes": 1,
        "global_batch": 32,
        "per_device_batch": 16,
    }
    assert r["config"]["steps_per_execution"] == 2 and r["config"]["distribute"] is True
    assert '"backend": "jax"' in json.dumps(r["environment"])
    assert (out / "README.md").is_file()
