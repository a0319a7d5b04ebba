"""The one compiled forward pass of the package: ``compile_inference(model)`` wraps
``model(x, training=False)`` in the backend's compiler:

* TensorFlow: ``tf.function(..., jit_compile=jit)``; without XLA the traced graph is frozen
  (weights as constants, so the inference BatchNorm folds into the convolutions);
* JAX: ``jax.jit`` of ``model.stateless_call`` with the weights passed as arguments;
* PyTorch: ``torch.no_grad()`` eager calls (Keras has no compiled inference path there).

``model.predict`` is never used: it rebuilds a data pipeline and iterator on every call,
which costs far more than a small model's forward pass (benchmarks/latency_check.py shows
by how much). The bench's evaluation and timings, ``kerascnn throughput`` and the deploy
runner's Keras row call through it; :mod:`kerascnn.measure.timing` times it.

TensorFlow and JAX are imported lazily, only for the backend in use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class CompiledInference:
    """A compiled forward pass plus helpers to feed it host or device-resident input."""

    backend: str
    jit: bool
    call: Callable[[Any], Any]
    """Run the model on an input already in the backend's format; returns a backend tensor."""
    to_device: Callable[[np.ndarray], Any]
    sync: Callable[[Any], None]
    """Block until a returned tensor is computed."""
    to_numpy: Callable[[Any], np.ndarray]

    def host(self, x: np.ndarray) -> np.ndarray:
        """numpy in, numpy out: what a user calling the model feels."""
        return self.to_numpy(self.call(x))

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Outputs for a whole array in fixed-size batches (the last one padded, so one compile)."""
        outs = []
        n = len(x)
        for start in range(0, n, batch_size):
            chunk = x[start : start + batch_size]
            real = len(chunk)
            if real < batch_size and n > batch_size:
                pad = np.zeros((batch_size - real, *chunk.shape[1:]), dtype=chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            outs.append(self.host(np.ascontiguousarray(chunk))[:real])
        return np.concatenate(outs) if outs else np.zeros((0,))


def compile_inference(model, jit: bool | str = True) -> CompiledInference:
    """Compile ``model(x, training=False)`` for the active Keras backend.

    ``jit``: XLA compilation (TensorFlow ``jit_compile``); JAX always uses ``jax.jit``;
    ``"auto"`` means XLA on TensorFlow only when a GPU is visible.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow(model, jit)
    if backend == "jax":
        return _jax(model)
    if backend == "torch":
        return _torch(model)
    # Any other backend: plain calls (still no model.predict).
    return CompiledInference(
        backend,
        False,
        lambda x: model(x, training=False),
        to_device=lambda a: a,
        sync=lambda y: keras.ops.convert_to_numpy(y),
        to_numpy=lambda y: keras.ops.convert_to_numpy(y),
    )


def _tensorflow(model, jit: bool | str) -> CompiledInference:
    """``tf.function`` (XLA when ``jit``; else the frozen graph, :func:`_frozen`)."""
    import tensorflow as tf

    if jit == "auto":
        jit = bool(tf.config.list_physical_devices("GPU"))

    @tf.function(jit_compile=bool(jit), reduce_retracing=True)
    def forward(x):
        return model(x, training=False)

    call = forward if jit else _frozen(forward, model)
    return CompiledInference(
        "tensorflow",
        bool(jit),
        call,
        to_device=lambda a: tf.identity(tf.constant(a)),
        sync=lambda y: y.numpy() if not isinstance(y, (list, tuple)) else [t.numpy() for t in y],
        to_numpy=lambda y: y.numpy(),
    )


def _jax(model) -> CompiledInference:
    """``jax.jit`` of ``model.stateless_call``, the weights as of now passed as arguments."""
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def forward_pure(tv, ntv, x):
        y, _ = model.stateless_call(tv, ntv, x, training=False)
        return y

    return CompiledInference(
        "jax",
        True,
        lambda x: forward_pure(trainable, non_trainable, x),
        to_device=lambda a: jax.device_put(a),
        sync=lambda y: y.block_until_ready(),
        to_numpy=lambda y: np.asarray(y),
    )


def _torch(model) -> CompiledInference:
    """Eager calls under ``torch.no_grad()`` on the device of the model's weights."""
    import torch

    def forward(x):
        with torch.no_grad():
            return model(x, training=False)

    device = next((v.value.device for v in model.weights), "cpu")
    return CompiledInference(
        "torch",
        False,
        forward,
        to_device=lambda a: torch.as_tensor(a, device=device),
        sync=lambda y: torch.cuda.synchronize() if torch.cuda.is_available() else None,
        to_numpy=lambda y: y.detach().cpu().numpy(),
    )


def _frozen(forward, model):
    """``forward`` with the model's weights folded in as constants (TensorFlow without XLA).

    A graph whose variables are constants lets TensorFlow's graph optimizer fold the inference
    BatchNorm arithmetic into the convolutions before it runs (Keras 3 on TensorFlow runs
    BatchNorm as separate element-wise ops): 1.15x on ResNet-18 at 224 px on a 2-core CPU,
    outputs equal within 4e-7. The weights are those of the moment of the call: compile again
    after training. A model this cannot freeze keeps the plain ``tf.function``.
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec((None, *model.input_shape[1:]), model.inputs[0].dtype)
    try:
        frozen = convert_variables_to_constants_v2(forward.get_concrete_function(spec))
    except Exception:  # an op the converter does not know: the unfrozen function still works
        return forward

    @tf.function(input_signature=[spec])  # the fast call path of a tf.function, not the
    def call(x):  # pruned function's Python wrapper (3 ms per call on LeNet otherwise)
        out = frozen(x)
        return out[0] if isinstance(out, (list, tuple)) and len(out) == 1 else out

    return call
