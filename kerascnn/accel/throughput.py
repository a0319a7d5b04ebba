"""Device throughput of a Keras model: compiled train and inference steps on resident data.

This is the "what the hardware does" view of the benchmark (the other view, end-to-end
latency on host numpy input, is ``kerascnn.measure.timing.measure_latency``): the batch lives
on the device, the step is compiled once, the host only dispatches, and timing is
synchronized at window ends. Compile time (the first call) is reported apart from the
steady state, warm-up steps are excluded. Nothing here calls ``model.fit`` or
``model.predict``: those add per-step host work that this view must exclude.

:func:`measure_point` measures one (model, mode, batch size) point; ``kerascnn throughput``
(:mod:`kerascnn.accel.sweep`) and ``benchmarks/gpu_throughput.py`` call it for every point.

The compiled path is chosen per backend and device (:func:`choose_path`), recorded in every
result, and can be forced with ``xla=True/False``:

* JAX: ``jax.jit`` (always XLA): ``model.stateless_call`` + ``optimizer.stateless_apply`` with
  donated state (the same arrays are updated in place on the device).
* TensorFlow on a GPU: ``tf.function(jit_compile=True)`` (XLA).
* TensorFlow on a CPU: ``tf.function`` *without* XLA (the graph runs oneDNN kernels; measured
  on 2 cores: resnet18 trains 1.7x and mobilenetv2 8.7x faster than with XLA).

Inference runs through ``kerascnn.accel.inference.compile_inference`` (the one compiled forward
pass of the package), on the model with its BatchNorms folded into the convolutions before them
(:func:`kerascnn.accel.fold_bn.fold_batchnorm`, exact up to float32 rounding; ``fold_bn=False``
times the model as built; the row's ``bn_folded`` says how many were folded); both modes are timed by ``kerascnn.measure.timing.time_steps`` (the one
device-throughput protocol). The PyTorch backend is not supported here; asking for it raises
ArgumentError (a ValueError).

Precision: a name of :data:`PRECISIONS`, the same names every command takes, each standing for
a Keras dtype policy: ``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"`` (float32 variables,
16-bit compute; the loss is computed in float32 from logits), ``"bfloat16"`` (short for
``mixed_bfloat16``). Optimizers: the names of ``kerascnn bench``'s, meaning the same
(:data:`OPTIMIZERS`): ``sgd`` is plain SGD, ``momentum`` SGD with Nesterov momentum 0.9.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import contextmanager

import keras
import numpy as np

from kerascnn._dtype import dtype_policy_scope
from kerascnn.accel.fold_bn import fold_batchnorm
from kerascnn.accel.fused_train import optimizer_class, training_view
from kerascnn.accel.inference import compile_inference
from kerascnn.errors import ArgumentError
from kerascnn.measure import timing as timer
from kerascnn.measure.memory import peak_memory, reset_peak_memory

PRECISIONS = {
    "float32": "float32",
    "mixed_float16": "mixed_float16",
    "mixed_bfloat16": "mixed_bfloat16",
    "bfloat16": "mixed_bfloat16",
}
"""Precision name -> the Keras dtype policy (``kerascnn.bench.config_checks.PRECISION_POLICIES``)."""
MODES = ("train", "infer")
OPTIMIZERS = {
    "sgd": (keras.optimizers.SGD, {"learning_rate": 0.01}),
    "momentum": (keras.optimizers.SGD, {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    "adam": (keras.optimizers.Adam, {"learning_rate": 1e-3}),
    "adamw": (keras.optimizers.AdamW, {"learning_rate": 1e-3}),
}
"""The training optimizer of a point, named as ``kerascnn bench`` names them: sgd = plain SGD,
momentum = SGD with Nesterov momentum 0.9 (learning rate 0.01); adam, adamw (1e-3). Made by
:func:`make_optimizer`."""
DEFAULT_OPTIMIZER = "momentum"


def make_optimizer(name: str, fused: bool = True) -> keras.optimizers.Optimizer:
    """The optimizer ``name`` of :data:`OPTIMIZERS`; ``fused``: its TensorFlow fused-kernel
    class where there is one (:func:`kerascnn.accel.fused_train.optimizer_class`)."""
    cls, kwargs = OPTIMIZERS[name]
    return (optimizer_class(cls) if fused else cls)(**kwargs)


@contextmanager
def dtype_policy(precision: str):
    """Build models under the Keras dtype policy for ``precision``; restore the old one after."""
    check_precision(precision)
    with dtype_policy_scope(PRECISIONS[precision]):
        yield


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ArgumentError(
            f"precision must be one of {', '.join(PRECISIONS)} (bfloat16 is short for "
            f"mixed_bfloat16). Received: precision={precision!r}"
        )


def check_backend(backend: str | None = None) -> str:
    backend = backend or keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ArgumentError(
            "The device-throughput path supports the 'jax' and 'tensorflow' backends. "
            f"Received: KERAS_BACKEND={backend!r}"
        )
    return backend


def _gpu_visible(backend: str) -> bool:
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    import jax

    return jax.devices()[0].platform != "cpu"


def choose_path(xla: bool | None = None, backend: str | None = None) -> tuple[str, bool]:
    """The compiled path for this backend and device: ``(name, uses_xla)``.

    ``xla=None`` (auto): JAX -> ``"jax.jit"``; TensorFlow -> ``"tf.function+xla"`` when a GPU
    is visible, else ``"tf.function"``. ``xla=True/False`` forces it on TensorFlow; JAX always
    compiles with XLA, so ``xla=False`` there is an error.
    """
    backend = check_backend(backend)
    if backend == "jax":
        if xla is False:
            raise ArgumentError(
                "JAX always compiles with XLA (jax.jit); --no-jit applies to TensorFlow only. "
                "Received: xla=False with KERAS_BACKEND='jax'"
            )
        return "jax.jit", True
    use = _gpu_visible(backend) if xla is None else bool(xla)
    return ("tf.function+xla" if use else "tf.function"), use


def _loss(y, logits):
    logits = keras.ops.cast(logits, "float32")
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))


# ------------------------------------------------------------------------------ train steps


def _jax_train(model, optimizer, x, y):
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
    losses: list[float] = []

    def run(n):
        loss = None
        for _ in range(n):
            state[0], state[1], state[2], loss = step(state[0], state[1], state[2], x, y)
        losses.append(float(jax.block_until_ready(loss)))

    def finish():  # write the trained state back, so the model stays usable
        for v, a in zip(model.trainable_variables, state[0]):
            v.assign(a)
        for v, a in zip(model.non_trainable_variables, state[1]):
            v.assign(a)

    return run, losses, finish


def _tf_train(model, optimizer, x, y, xla: bool):
    import tensorflow as tf

    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=xla)
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = _loss(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    x, y = tf.constant(x), tf.constant(y)
    losses: list[float] = []

    def run(n):
        loss = None
        for _ in range(n):
            loss = step(x, y)
        losses.append(float(loss.numpy()))  # .numpy() synchronizes

    return run, losses, lambda: None


# ------------------------------------------------------------------------------ one point


def synthetic_batch(model, batch_size: int, seed: int = 0):
    """A float32 image batch of the model's input shape and int32 labels of its classes."""
    shape = tuple(int(d) for d in model.input_shape[1:])
    classes = int(model.output_shape[-1])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, *shape), dtype=np.float32)
    y = rng.integers(0, classes, batch_size).astype(np.int32)
    return x, y


def measure_point(
    model: keras.Model,
    mode: str,
    batch_size: int,
    *,
    xla: bool | None = None,
    steps: int | None = None,
    windows: int = 5,
    warmup: int = 2,
    window_s: float = 1.0,
    optimizer: str = DEFAULT_OPTIMIZER,
    seed: int = 0,
    fold_bn: bool = True,
    fused_train: bool = True,
) -> dict:
    """Images/s of ``model`` for one ``mode`` ("train" or "infer") at one batch size.

    ``model`` gives logits (``classifier_activation=None``) and was built under the dtype
    policy wanted. One compile (first call, timed apart), ``warmup`` untimed steps, then
    ``windows`` synchronized windows of ``steps`` steps (``None``: enough to last about
    ``window_s`` seconds). Returns a flat dict: mode, batch_size,
    path, xla, compile_s, step_ms_median/min/max, images_per_s, windows, steps_per_window,
    peak_memory_mib and its kind, bn_folded (BatchNorms folded for inference with ``fold_bn``;
    0 for training), fused_train (training through TensorFlow's fused kernels with
    ``fused_train``, :mod:`kerascnn.accel.fused_train`; False for inference and on JAX), and for
    training the first/last loss (a sanity check).
    Backend errors (out of memory included) propagate; see
    :func:`kerascnn.errors.is_out_of_memory`.
    """
    backend = check_backend()
    if mode not in MODES:
        raise ArgumentError(f"mode must be one of {', '.join(MODES)}. Received: mode={mode!r}")
    if batch_size < 1 or (steps is not None and steps < 1) or windows < 1 or warmup < 0:
        raise ArgumentError(
            f"batch_size, steps and windows must be positive (warmup >= 0). Received: "
            f"batch_size={batch_size}, steps={steps}, windows={windows}, warmup={warmup}"
        )
    if optimizer not in OPTIMIZERS:
        raise ArgumentError(
            f"optimizer must be one of {', '.join(OPTIMIZERS)}. Received: optimizer={optimizer!r}"
        )
    path, use_xla = choose_path(xla, backend)
    x, y = synthetic_batch(model, batch_size, seed)
    reset_peak_memory(backend)
    result = {"mode": mode, "batch_size": batch_size, "path": path, "xla": use_xla, "bn_folded": 0}
    result["fused_train"] = False
    if mode == "infer":
        if fold_bn:
            folded = fold_batchnorm(model)
            model, result["bn_folded"] = folded.model, folded.folded
        run = timer.inference_steps(compile_inference(model, jit=use_xla), x)
        timing = timer.time_steps(
            run, steps=steps, windows=windows, warmup=warmup, window_s=window_s
        )
    else:
        if backend == "jax":
            run, losses, finish = _jax_train(model, make_optimizer(optimizer, False), x, y)
        else:
            result["fused_train"] = fused_train
            net = training_view(model) if fused_train else model
            opt = make_optimizer(optimizer, fused_train)
            run, losses, finish = _tf_train(net, opt, x, y, use_xla)
        timing = timer.time_steps(
            run, steps=steps, windows=windows, warmup=warmup, window_s=window_s
        )
        finish()
        result["loss_first"], result["loss_last"] = losses[0], losses[-1]
    mib, kind = peak_memory(backend)
    result.update(
        compile_s=timing.compile_s,
        step_ms_median=timing.median_s * 1e3,
        step_ms_min=min(timing.per_step_s) * 1e3,
        step_ms_max=max(timing.per_step_s) * 1e3,
        images_per_s=timing.images_per_s(batch_size),
        windows=windows,
        steps_per_window=timing.steps_per_window,
        peak_memory_mib=mib,
        peak_memory_kind=kind,
    )
    return result


# --------------------------------------------------------------------- train + infer at once


def measure_throughput(
    build: Callable[[], keras.Model],
    *,
    batch_size: int = 256,
    precision: str = "float32",
    steps: int = 20,
    windows: int = 5,
    train: bool = True,
    infer: bool = True,
    optimizer: str = DEFAULT_OPTIMIZER,
    seed: int = 0,
    xla: bool | None = None,
    fold_bn: bool = True,
    fused_train: bool = True,
) -> dict:
    """Train and inference images/s of the model ``build()`` returns, at one batch size.

    ``build`` must return a model whose last layer gives logits (``classifier_activation=None``);
    it is called under the dtype policy of ``precision``. Both modes go through
    :func:`measure_point`. Returns a flat dict: backend, precision, batch size, input shape,
    params, path, xla, and ``{infer,train}_`` compile seconds, median/min/max step time, img/s,
    windows, peak memory, ``infer_bn_folded`` (see :func:`measure_point`'s ``fold_bn``), plus
    the first/last training loss.
    """
    backend = check_backend()
    check_precision(precision)
    if batch_size < 1 or steps < 1 or windows < 1:
        raise ArgumentError(
            f"batch_size, steps and windows must be positive. Received: batch_size={batch_size}, "
            f"steps={steps}, windows={windows}"
        )
    with dtype_policy(precision):
        model = build()
    result = {
        "backend": backend,
        "precision": precision,
        "batch_size": batch_size,
        "input_shape": [int(d) for d in model.input_shape[1:]],
        "params": int(model.count_params()),
        "steps_per_window": steps,
    }
    for mode, wanted in (("infer", infer), ("train", train)):
        if not wanted:
            continue
        point = measure_point(
            model,
            mode,
            batch_size,
            xla=xla,
            steps=steps,
            windows=windows,
            optimizer=optimizer,
            seed=seed,
            fold_bn=fold_bn,
            fused_train=fused_train,
        )
        result["path"], result["xla"] = point["path"], point["xla"]
        for key in ("compile_s", "step_ms_median", "step_ms_min", "step_ms_max", "windows"):
            result[f"{mode}_{key}"] = point[key]
        result[f"{mode}_img_s"] = point["images_per_s"]
        result[f"{mode}_peak_memory_mib"] = point["peak_memory_mib"]
        if mode == "infer":
            result["infer_bn_folded"] = point["bn_folded"]
        if mode == "train":
            result["train_loss_first"] = point["loss_first"]
            result["train_loss_last"] = point["loss_last"]
    return result
