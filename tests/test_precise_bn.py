"""Recomputed BatchNorm statistics (kerascnn.bench.precise_bn) against NumPy's exact average.

Runs on the suite's backend; test_precise_bn_on_other_backends runs this file again on JAX
and PyTorch in subprocesses (Keras picks its backend once per process).
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from kerascnn.bench.precise_bn import Recalibrator, batchnorm_layers, training_batches

HERE = Path(__file__).resolve().parent
EPS = 1e-3  # Keras' BatchNormalization epsilon


def _model(frozen: bool = False):
    """1x1 convolutions (a matmul over channels, easy in NumPy) each followed by BatchNorm."""
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Conv2D(5, 1, name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(4, 1, name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2", trainable=not frozen)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="tiny_bn")
    rng = np.random.default_rng(1)
    for bn in ("bn1", "bn2"):  # non-trivial scale and offset: bn1's output feeds bn2's input
        layer = model.get_layer(bn)
        layer.gamma.assign(rng.uniform(0.5, 2.0, layer.gamma.shape).astype("float32"))
        layer.beta.assign(rng.normal(0, 1, layer.beta.shape).astype("float32"))
    return model


def _numpy_statistics(model, batches):
    """Each BatchNorm's (mean, variance) averaged over the batches, in training mode, in NumPy."""

    def conv(x, name):
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in model.get_layer(name).weights)
        return x @ kernel[0, 0] + bias

    def normalize(x, name):
        layer = model.get_layer(name)
        m, v = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        gamma, beta = (keras.ops.convert_to_numpy(w) for w in (layer.gamma, layer.beta))
        return (x - m) / np.sqrt(v + EPS) * gamma + beta, m, v

    per_batch = []
    for x in batches:
        x = x.astype(np.float64)
        h1 = conv(x, "conv1")
        y1, m1, v1 = normalize(h1, "bn1")
        h2 = conv(np.maximum(y1, 0), "conv2")
        _, m2, v2 = normalize(h2, "bn2")
        per_batch.append(((m1, v1), (m2, v2)))
    return [
        tuple(np.mean([b[i][k] for b in per_batch], axis=0) for k in range(2)) for i in range(2)
    ]


def _batches(count=3, size=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0.5, 2.0, (size, 4, 4, 3)).astype("float32") for _ in range(count)]


def _moving(layer):
    return [keras.ops.convert_to_numpy(v) for v in (layer.moving_mean, layer.moving_variance)]


def test_recomputed_statistics_are_the_exact_average_over_the_batches():
    model, batches = _model(), _batches()
    expected = _numpy_statistics(model, batches)
    weights = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    recal = Recalibrator(model, batches)
    assert [layer.name for layer in recal.layers] == ["bn1", "bn2"]
    recal()
    for layer, (mean, variance) in zip(recal.layers, expected):
        got_mean, got_variance = _moving(layer)
        np.testing.assert_allclose(got_mean, mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got_variance, variance, rtol=1e-4, atol=1e-5)
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert all(np.array_equal(a, b) for a, b in zip(weights, after))  # only the statistics
    assert recal.calls == 1 and recal.seconds > 0
    recal()  # again, the statistics model reused: the same values (nothing accumulates)
    np.testing.assert_allclose(_moving(recal.layers[1])[0], expected[1][0], rtol=1e-4, atol=1e-5)


def test_inference_then_normalizes_with_the_recomputed_statistics():
    model, batches = _model(), _batches(count=1, size=16)
    Recalibrator(model, batches)()
    # one batch: the moving statistics are that batch's, so inference = training mode on it
    inference = keras.ops.convert_to_numpy(model(batches[0], training=False))
    training = keras.ops.convert_to_numpy(model(batches[0], training=True))
    np.testing.assert_allclose(inference, training, rtol=1e-4, atol=1e-5)


def test_frozen_batchnorm_keeps_its_statistics_and_snapshots_restore():
    model = _model(frozen=True)
    assert [layer.name for layer in batchnorm_layers(model)] == ["bn1"]
    frozen = _moving(model.get_layer("bn2"))
    recal = Recalibrator(model, _batches())
    saved = recal.snapshot()
    recal()
    assert not np.allclose(_moving(model.get_layer("bn1"))[0], saved[0][0])
    assert all(np.array_equal(a, b) for a, b in zip(_moving(model.get_layer("bn2")), frozen))
    recal.restore(saved)
    assert all(np.array_equal(a, b) for a, b in zip(_moving(model.get_layer("bn1")), saved[0]))


def test_a_model_without_batchnorm_is_left_alone():
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    recal = Recalibrator(model, _batches())
    recal()
    assert recal.layers == [] and recal.calls == 0


def test_training_batches_are_the_first_of_the_seeded_stream():
    x = np.arange(50, dtype="float32").reshape(50, 1)
    batches = training_batches(x, 16, 4, seed=3)
    assert [len(b) for b in batches] == [16] * 4
    first_pass = np.concatenate(batches)[:50]
    assert sorted(first_pass.ravel().tolist()) == list(range(50))  # a shuffle of every image
    again = training_batches(x, 16, 4, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    assert not np.array_equal(training_batches(x, 16, 1, seed=4)[0], batches[0])


def test_a_subclassed_model_is_a_clear_error():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.bn = keras.layers.BatchNormalization()

        def call(self, x, training=None):
            return self.bn(x, training=training)

    net = Net()
    net(np.zeros((2, 3), "float32"))
    recal = Recalibrator(net, [np.ones((2, 3), "float32")])
    with pytest.raises(ValueError, match="functional model.*Received: model"):
        recal()


@pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="already on another backend",
)
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_precise_bn_on_other_backends(backend):
    if backend == "torch":
        pytest.importorskip("torch")
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        + [str(Path(__file__)), "-k", "not other_backends"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
