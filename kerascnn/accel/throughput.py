"""Device throughput of a Keras model: compiled train and inference steps on resident data.

This is the "what the hardware does" view of the benchmark (the other view, end-to-end
latency on host numpy input, is ``kerascnn.bench.timing.measure_latency``): the batch lives
on the device, the step is compiled once (XLA), the host only dispatches, and timing is
synchronized at window ends. Compile time (the first call) is reported apart from the
steady state. Nothing here calls ``model.fit`` or ``model.predict``: those add per-step host
work that this view must exclude (the bench runner measures that end-to-end view).

Backends:
* JAX: ``model.stateless_call`` + ``optimizer.stateless_apply`` inside ``jax.jit`` with donated
  state (the same arrays are updated in place on the device).
* TensorFlow: a ``tf.function(jit_compile=True)`` step with ``GradientTape``.
Inference runs through ``kerascnn.bench.timing.compile_inference`` (the function the bench
evaluates and times with: ``jax.jit`` of ``stateless_call``, or ``tf.function`` with XLA).
The PyTorch backend is not supported here (Keras on torch is several times slower than
either); asking for it raises ArgumentError (a ValueError).

Precision: ``"float32"`` or ``"bfloat16"`` (``keras`` dtype policy ``mixed_bfloat16``: float32
variables, bfloat16 compute; the loss is computed in float32 from logits). float16 needs loss
scaling and is left to ``model.fit`` in the bench runner.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

import keras
import numpy as np

from kerascnn._dtype import dtype_policy_scope
from kerascnn.bench.timing import compile_inference
from kerascnn.errors import ArgumentError

PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


@contextmanager
def dtype_policy(precision: str):
    """Build models under the Keras dtype policy for ``precision``; restore the old one after."""
    if precision not in PRECISIONS:
        raise ArgumentError(
            f"precision must be one of {sorted(PRECISIONS)}. Received: precision={precision!r}"
        )
    with dtype_policy_scope(PRECISIONS[precision]):
        yield


def _loss(y, logits):
    logits = keras.ops.cast(logits, "float32")
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))


def _timed_windows(run_steps: Callable[[int], None], steps: int, windows: int) -> list[float]:
    """Seconds per step for each of ``windows`` synchronized windows of ``steps`` steps."""
    out = []
    for _ in range(windows):
        t0 = time.perf_counter()
        run_steps(steps)
        out.append((time.perf_counter() - t0) / steps)
    return out


def _summary(per_step: list[float], batch_size: int, compile_s: float, prefix: str) -> dict:
    med = statistics.median(per_step)
    return {
        f"{prefix}_compile_s": compile_s,
        f"{prefix}_step_ms_median": med * 1e3,
        f"{prefix}_step_ms_min": min(per_step) * 1e3,
        f"{prefix}_step_ms_max": max(per_step) * 1e3,
        f"{prefix}_img_s": batch_size / med,
        f"{prefix}_windows": len(per_step),
    }


# --------------------------------------------------------------------------------- JAX


def _jax_train(model, optimizer, x, y, steps, windows):
    import jax

    optimizer.build(model.trainable_variables)

    def loss_fn(tv, ntv, xb, yb):
        logits, ntv = model.stateless_call(tv, ntv, xb, training=True)
        return _loss(yb, logits), ntv

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    @functools.partial(jax.jit, donate_argnums=(0, 1, 2))
    def step(tv, ntv, ov, xb, yb):
        (loss, ntv), grads = grad_fn(tv, ntv, xb, yb)
        tv, ov = optimizer.stateless_apply(ov, grads, tv)
        return tv, ntv, ov, loss

    state = [
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
    ]
    x, y = jax.device_put(x), jax.device_put(y)
    losses = []

    def run(n):
        loss = None
        for _ in range(n):
            state[0], state[1], state[2], loss = step(state[0], state[1], state[2], x, y)
        losses.append(float(jax.block_until_ready(loss)))

    t0 = time.perf_counter()
    run(1)
    compile_s = time.perf_counter() - t0
    run(2)  # warm-up after compile (autotuning, allocator)
    per_step = _timed_windows(run, steps, windows)
    return per_step, compile_s, losses


# ------------------------------------------------------------------------------ TensorFlow


def _tf_train(model, optimizer, x, y, steps, windows):
    import tensorflow as tf

    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = _loss(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    x, y = tf.constant(x), tf.constant(y)
    losses = []

    def run(n):
        loss = None
        for _ in range(n):
            loss = step(x, y)
        losses.append(float(loss.numpy()))  # .numpy() synchronizes

    t0 = time.perf_counter()
    run(1)
    compile_s = time.perf_counter() - t0
    run(2)
    return _timed_windows(run, steps, windows), compile_s, losses


# ------------------------------------------------------------------------------ inference


def _infer(model, x, steps, windows):
    """Inference steps through the bench's compiled forward pass, on a device-resident batch."""
    inf = compile_inference(model, jit=True)  # XLA on TensorFlow; jax.jit on JAX
    xd = inf.to_device(x)

    def run(n):
        out = None
        for _ in range(n):
            out = inf.call(xd)
        inf.sync(out)

    t0 = time.perf_counter()
    run(1)
    compile_s = time.perf_counter() - t0
    run(2)
    return _timed_windows(run, steps, windows), compile_s


# --------------------------------------------------------------------------------- API


def measure_throughput(
    build: Callable[[], keras.Model],
    *,
    batch_size: int = 256,
    num_classes: int | None = None,
    precision: str = "float32",
    steps: int = 20,
    windows: int = 5,
    train: bool = True,
    infer: bool = True,
    optimizer: str = "sgd",
    seed: int = 0,
) -> dict:
    """Train and inference images/s of the model ``build()`` returns, on synthetic resident data.

    ``build`` must return a model whose last layer gives logits (``classifier_activation=None``);
    it is called under the dtype policy of ``precision``. Returns a flat dict: backend,
    precision, batch size, input shape, compile seconds and median/min/max step time and img/s
    for train and inference, and the first/last training loss (a sanity check that the steps
    really trained).
    """
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ArgumentError(
            "The device-throughput path supports the 'jax' and 'tensorflow' backends. "
            f"Received: KERAS_BACKEND={backend!r}"
        )
    if batch_size < 1 or steps < 1 or windows < 1:
        raise ArgumentError(
            f"batch_size, steps and windows must be positive. Received: batch_size={batch_size}, "
            f"steps={steps}, windows={windows}"
        )
    with dtype_policy(precision):
        model = build()
    shape = tuple(int(d) for d in model.input_shape[1:])
    classes = int(num_classes or model.output_shape[-1])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, *shape), dtype=np.float32)
    y = rng.integers(0, classes, batch_size).astype(np.int32)
    result = {
        "backend": backend,
        "precision": precision,
        "batch_size": batch_size,
        "input_shape": list(shape),
        "params": int(model.count_params()),
        "steps_per_window": steps,
    }
    if infer:
        per_step, compile_s = _infer(model, x, steps, windows)
        result.update(_summary(per_step, batch_size, compile_s, "infer"))
    if train:
        opt = {
            "sgd": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
            "adam": lambda: keras.optimizers.Adam(1e-3),
        }.get(optimizer)
        if opt is None:
            raise ArgumentError(
                f"optimizer must be 'sgd' or 'adam'. Received: optimizer={optimizer!r}"
            )
        per_step, compile_s, losses = (_jax_train if backend == "jax" else _tf_train)(
            model, opt(), x, y, steps, windows
        )
        result.update(_summary(per_step, batch_size, compile_s, "train"))
        result["train_loss_first"] = losses[0]
        result["train_loss_last"] = losses[-1]
    return result
