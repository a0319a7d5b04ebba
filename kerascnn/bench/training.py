"""One benchmark run, in phases: data, build, train, evaluate, measure, record.

:func:`execute_run` calls them in that order; each takes what the one before produced and
returns what it measured as a (partial) :class:`~kerascnn.results.Measurements`:

* :func:`prepare_data`: float32 images in [0, 1] and integer labels (seeded subsets);
* :func:`build_model`: the model (float32 softmax under mixed precision), its parameters and MACs;
* :func:`train_model`: ``model.compile`` + ``model.fit`` with the callbacks of
  :mod:`kerascnn.bench.callbacks` (step times, NaN guard, time budget, progress) and the
  augmentation of :mod:`kerascnn.bench.augment`; curves and steady-state images/s;
* :func:`evaluate_model`: test-set metrics through the compiled inference function of
  :mod:`kerascnn.bench.timing`;
* :func:`measure_inference`: first-call, latency and device-throughput timings of that function;
* :func:`record_measurements`: model file size, memory and load average; the finished record.

A run that fails for a reason of its own (NaN loss or outputs, time budget) raises
:class:`RunFailure` carrying everything measured until then in ``.partial``.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerascnn._dtype import dtype_policy_scope
from kerascnn.analysis import profile
from kerascnn.bench import timing
from kerascnn.bench.augment import MixingDataset, augment_model, mixing_kind
from kerascnn.bench.callbacks import Progress, StepTimer
from kerascnn.bench.config import RunSpec
from kerascnn.bench.environment import load_average, peak_rss_mib
from kerascnn.bench.optim import make_optimizer
from kerascnn.results import (
    DataParallelUse,
    EvalMetrics,
    InferenceTimings,
    Measurements,
    ModelSize,
)

EVAL_BATCH = 256


class RunFailure(Exception):
    """Training stopped for a reason that makes the run a failure (NaN loss, time budget)."""

    def __init__(self, kind: str, message: str, partial: Measurements | None = None):
        super().__init__(message)
        self.kind = kind
        self.partial = partial or Measurements()
        """What the run measured before it failed."""


# --------------------------------------------------------------------------- data


@dataclass
class Arrays:
    """The data of one run: float32 images in [0, 1], int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_shape: tuple[int, ...]


def prepare_data(ds, cfg, seed: int) -> Arrays:
    """``ds`` (a Dataset) as float arrays; seeded subsets of ``cfg.train_limit``/``test_limit``."""
    rng = np.random.default_rng(seed)

    def subset(x, y, limit):
        if limit is None or limit >= len(x):
            return x, y
        idx = np.sort(rng.choice(len(x), size=limit, replace=False))
        return x[idx], y[idx]

    xtr, ytr = subset(ds.x_train, ds.y_train, cfg.train_limit)
    xte, yte = subset(ds.x_test, ds.y_test, cfg.test_limit)
    scale = np.float32(255.0)
    return Arrays(
        x_train=xtr.astype(np.float32) / scale,
        y_train=ytr.astype(np.int64),
        x_test=xte.astype(np.float32) / scale,
        y_test=yte.astype(np.int64),
        num_classes=int(ds.num_classes),
        input_shape=tuple(ds.input_shape),
    )


def one_hot(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(y), n), dtype=np.float32)
    out[np.arange(len(y)), y] = 1.0
    return out


# --------------------------------------------------------------------------- build


def build_for_precision(spec: str, input_shape, num_classes: int, precision: str):
    """The model for a run; under a mixed policy its softmax runs in float32.

    Keras' mixed-precision rule: a model's outputs should be float32, or the loss and metrics
    see float16/bfloat16 probabilities (TensorFlow's top-k op even rejects them). The builder
    makes logits (``classifier_activation=None``) and a float32 softmax layer follows; it has no
    weights, so parameters and MACs are those of the plain model.
    """
    from kerascnn.registry import create_model

    if precision == "float32":
        return create_model(spec, input_shape=input_shape, num_classes=num_classes)
    logits = create_model(
        spec, input_shape=input_shape, num_classes=num_classes, classifier_activation=None
    )
    probs = keras.layers.Activation(
        "softmax", dtype="float32", name=f"{logits.name}_softmax_float32"
    )(logits.output)
    return keras.Model(logits.inputs, probs, name=logits.name)


def profile_facts(model) -> dict[str, Any]:
    """MACs and parameters from ``kerascnn.analysis.profile``; its error instead if it fails."""
    try:
        p = profile(model)
    except Exception as exc:  # a profiler gap must not lose the trained run
        return {"macs": None, "macs_error": f"{type(exc).__name__}: {exc}"}
    return {"macs": int(p.total_macs), "profile_params": int(p.total_params)}


def build_model(run: RunSpec, data: Arrays) -> tuple[keras.Model, Measurements]:
    """The run's model and its facts: name, parameters, MACs."""
    model = build_for_precision(run.model, data.input_shape, data.num_classes, run.config.precision)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return model, Measurements(
        model_name=model.name,
        params=int(model.count_params()),
        trainable_params=int(trainable),
        **profile_facts(model),
    )


def enter_data_parallel(scope: contextlib.ExitStack, batch_size: int) -> DataParallelUse:
    """Enter the backend's data-parallel scope on ``scope``; check the global batch splits."""
    from kerascnn.accel import check_global_batch, data_parallel

    dp = scope.enter_context(data_parallel())
    check_global_batch(batch_size, dp.num_replicas)
    return DataParallelUse(engine=dp.engine, replicas=dp.num_replicas, devices=list(dp.devices))


# --------------------------------------------------------------------------- train


def compile_for_training(train_net, cfg, steps_per_epoch: int, num_classes: int) -> None:
    train_net.compile(
        optimizer=make_optimizer(cfg, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=float(cfg.label_smoothing)),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="acc"),
            keras.metrics.TopKCategoricalAccuracy(k=min(5, num_classes), name="top5"),
        ],
        jit_compile=cfg.jit,
        steps_per_execution=cfg.steps_per_execution,
    )


def train_model(
    model,
    data: Arrays,
    run: RunSpec,
    *,
    label: str = "",
    echo: Callable[[str], None] = print,
    log_path: Path | None = None,
    verbose: int | None = None,
) -> Measurements:
    """Fit ``model`` (behind the augmentation layers) on ``data``; curves and train stats.

    Raises RunFailure (with those measurements) on a non-finite loss or a spent time budget.
    """
    cfg = run.config
    train_net = augment_model(model, cfg.augment, data.input_shape, run.seed)
    compile_for_training(
        train_net, cfg, math.ceil(len(data.x_train) / cfg.batch_size), data.num_classes
    )
    timer = StepTimer(cfg.time_budget)
    callbacks = [timer, Progress(label, cfg.epochs, echo)]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(log_path)))
    fit_kwargs: dict[str, Any] = dict(
        epochs=cfg.epochs,
        callbacks=callbacks,
        verbose=verbose if verbose is not None else (1 if os.isatty(1) else 2),
    )
    if cfg.eval_every_epoch:
        fit_kwargs["validation_data"] = (data.x_test, one_hot(data.y_test, data.num_classes))
        fit_kwargs["validation_batch_size"] = max(cfg.batch_size, EVAL_BATCH)
    y_train = one_hot(data.y_train, data.num_classes)
    kind = mixing_kind(cfg.augment)
    t0 = time.perf_counter()
    if kind:
        batches = MixingDataset(data.x_train, y_train, cfg.batch_size, kind, run.seed)
        history = train_net.fit(batches, **fit_kwargs)
    else:
        history = train_net.fit(
            data.x_train, y_train, batch_size=cfg.batch_size, shuffle=True, **fit_kwargs
        )
    seconds = time.perf_counter() - t0
    curves = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    measured = Measurements(
        # under mixed_float16 compile() wraps the optimizer in a LossScaleOptimizer
        loss_scaling=isinstance(train_net.optimizer, keras.optimizers.LossScaleOptimizer),
        jit_compile=bool(train_net.jit_compile),
        history=curves,
        epochs_completed=len(timer.epoch_end),
        train=timer.stats(seconds, cfg.batch_size, len(data.x_train)),
    )
    if timer.failure is not None:
        raise RunFailure(*timer.failure, partial=measured)
    final = curves.get("loss", [])
    if final and not math.isfinite(final[-1]):
        raise RunFailure("NaNLoss", f"The final training loss is {final[-1]}.", partial=measured)
    return measured


# --------------------------------------------------------------------------- evaluate


def classification_metrics(probs: np.ndarray, y: np.ndarray, num_classes: int) -> EvalMetrics:
    """Top-1, top-5 (top-k for fewer classes), cross-entropy and the confusion matrix."""
    probs = probs.astype(np.float64)
    pred = probs.argmax(axis=1)
    k = min(5, num_classes)
    topk = np.argpartition(-probs, kth=k - 1, axis=1)[:, :k]
    conf = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    loss = float(-np.log(p_true).mean())
    return EvalMetrics(
        top1=float((pred == y).mean()),
        top5=float((topk == y[:, None]).any(axis=1).mean()),
        loss=loss if math.isfinite(loss) else None,
        confusion=conf.tolist(),
        n=int(len(y)),
    )


@dataclass
class Evaluation:
    inference: timing.CompiledInference
    """The compiled forward pass that evaluated the model (and is timed next)."""
    first_call_seconds: float
    """Tracing + compilation + one call at the evaluation batch."""
    measured: Measurements


def evaluate_model(model, data: Arrays, cfg) -> Evaluation:
    """Test-set metrics through one compiled inference function (no ``model.predict``).

    Raises RunFailure (with the metrics) when an output is NaN or infinite.
    """
    inf = timing.compile_inference(model, jit=cfg.jit)
    first = timing.first_call_seconds(inf, data.x_test[:EVAL_BATCH])
    probs = inf.predict(data.x_test, batch_size=EVAL_BATCH)
    measured = Measurements(
        inference_jit=inf.jit,
        test=classification_metrics(probs, data.y_test, data.num_classes),
    )
    if not np.isfinite(probs).all():
        raise RunFailure(
            "NaNOutput", "The model's test-set outputs contain NaN or inf.", partial=measured
        )
    return Evaluation(inf, first, measured)


# --------------------------------------------------------------------------- measure


def measure_inference(ev: Evaluation, data: Arrays, cfg) -> InferenceTimings:
    """First-call times, batch-1 and batch-N latency, device throughput at batch N."""
    inf, x = ev.inference, data.x_test
    nb = min(cfg.latency_batch, len(x))
    first = {
        "eval_batch": ev.first_call_seconds,
        "batch_1": timing.first_call_seconds(inf, x[:1]),
        f"batch_{nb}": timing.first_call_seconds(inf, x[:nb]),
    }
    return InferenceTimings(
        first_call_seconds=first,
        latency_b1=timing.measure_latency(inf, x[:1], seconds=cfg.latency_seconds),
        latency_bN=timing.measure_latency(inf, x[:nb], seconds=cfg.latency_seconds),
        device_throughput=timing.measure_throughput(inf, x[:nb], seconds=cfg.latency_seconds),
    )


# --------------------------------------------------------------------------- record


def model_size(model, keep: Path | None) -> ModelSize:
    """Bytes of the model as a .keras file (architecture + weights, no optimizer state)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "model.keras"
        path.parent.mkdir(parents=True, exist_ok=True)
        clone.save(path)
        size = path.stat().st_size
    return ModelSize(keras_file_bytes=int(size), saved_to=str(keep) if keep else None)


def record_measurements(measured: Measurements, model, keep: Path | None) -> Measurements:
    """``measured`` completed with the model's file size, peak memory and the load average."""
    return measured.merged(
        Measurements(
            size=model_size(model, keep),
            peak_rss_mib=peak_rss_mib(),
            load_average_after=load_average(),
        )
    )


# --------------------------------------------------------------------------- one run


def execute_run(run: RunSpec, ds, **kwargs) -> Measurements:
    """Train and measure one run (keywords of :func:`_measure_run`) with its layers made under
    the run's precision policy; the policy in force before comes back afterwards."""
    keras.backend.clear_session()  # before the scope: it also resets the global dtype policy
    with dtype_policy_scope(run.config.precision):
        return _measure_run(run, ds, **kwargs)


def _measure_run(
    run: RunSpec,
    ds,
    *,
    label: str = "",
    echo: Callable[[str], None] = print,
    models_dir: Path | None = None,
    log_path: Path | None = None,
    verbose: int | None = None,
) -> Measurements:
    """The phases of one run; raises RunFailure (with ``.partial``) or any other error."""
    cfg = run.config
    measured = Measurements(load_average_before=load_average(), rss_before_mib=peak_rss_mib())
    try:
        keras.utils.set_random_seed(run.seed)
        data = prepare_data(ds, cfg, run.seed)
        with contextlib.ExitStack() as scope:  # build, compile and fit in the data-parallel scope
            if cfg.distribute:
                measured.data_parallel = enter_data_parallel(scope, cfg.batch_size)
            model, facts = build_model(run, data)
            measured = measured.merged(facts)
            trained = train_model(
                model, data, run, label=label, echo=echo, log_path=log_path, verbose=verbose
            )
            measured = measured.merged(trained)
        ev = evaluate_model(model, data, cfg)  # on the trained (replicated) model as usual
        measured = measured.merged(ev.measured)
        measured.inference = measure_inference(ev, data, cfg)
        keep = (models_dir / f"{run.key}.keras") if (models_dir and cfg.save_models) else None
        return record_measurements(measured, model, keep)
    except RunFailure as exc:
        exc.partial = measured.merged(exc.partial)
        raise
