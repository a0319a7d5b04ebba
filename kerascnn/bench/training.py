"""One benchmark run: build, train, evaluate, time, and return a JSON-ready record.

Training uses ``model.compile`` + ``model.fit`` with callbacks that

* time every step (steady-state images/s excludes the first steps, which include tracing
  and compilation; that warm-up is reported separately),
* stop at the first non-finite loss (the run is then recorded as failed: ``NaNLoss``),
* stop when the run's time budget is spent (failed: ``TimeBudgetExceeded``).

Augmentation runs on the fly with Keras preprocessing layers: flip/translate/crop/erasing as
layers in front of the model inside the training graph (inactive at inference); MixUp/CutMix
on each batch of a ``keras.utils.PyDataset`` (they mix labels too). The model that is
evaluated, timed and saved is the plain model without those layers.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from kerascnn._utils import fmt_duration
from kerascnn.bench.config import RunSpec


class RunFailure(Exception):
    """Training stopped for a reason that makes the run a failure (NaN loss, time budget)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------- data


def prepare_arrays(ds, cfg, seed: int):
    """Float32 images in [0, 1], one-hot labels; optional seeded subsets (train_limit/test_limit)."""
    rng = np.random.default_rng(seed)

    def subset(x, y, limit):
        if limit is None or limit >= len(x):
            return x, y
        idx = np.sort(rng.choice(len(x), size=limit, replace=False))
        return x[idx], y[idx]

    xtr, ytr = subset(ds.x_train, ds.y_train, cfg.train_limit)
    xte, yte = subset(ds.x_test, ds.y_test, cfg.test_limit)
    to_float = lambda a: (a.astype(np.float32) / np.float32(255.0))  # noqa: E731
    return to_float(xtr), ytr.astype(np.int64), to_float(xte), yte.astype(np.int64)


def one_hot(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(y), n), dtype=np.float32)
    out[np.arange(len(y)), y] = 1.0
    return out


# --------------------------------------------------------------------------- optimizer


def _one_cycle_class():
    import keras

    @keras.saving.register_keras_serializable(package="kerascnn")
    class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up from peak/25 to peak over ``warmup_steps``, then cosine down to peak/1e4."""

        def __init__(self, peak, total_steps, warmup_steps):
            self.peak = float(peak)
            self.total_steps = int(total_steps)
            self.warmup_steps = int(warmup_steps)

        def __call__(self, step):
            ops = keras.ops
            step = ops.cast(step, "float32")
            start, end = self.peak / 25.0, self.peak / 1e4
            warm = max(self.warmup_steps, 1)
            up = start + (self.peak - start) * ops.minimum(step / warm, 1.0)
            frac = ops.clip((step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1), 0.0, 1.0)
            down = end + (self.peak - end) * 0.5 * (1.0 + ops.cos(math.pi * frac))
            return ops.where(step < self.warmup_steps, up, down)

        def get_config(self):
            return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}

    return OneCycle


_ONE_CYCLE = None


def make_optimizer(cfg, steps_per_epoch: int):
    """The optimizer and learning-rate schedule of ``cfg`` (a BenchConfig)."""
    global _ONE_CYCLE
    import keras

    lr = cfg.resolved_learning_rate()
    total = max(1, steps_per_epoch * cfg.epochs)
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    if cfg.schedule == "constant":
        schedule: Any = lr if warm == 0 else keras.optimizers.schedules.CosineDecay(
            lr / 10, decay_steps=1, alpha=1.0, warmup_target=lr, warmup_steps=warm)  # warm-up, then flat
    elif cfg.schedule == "cosine":
        if warm:
            schedule = keras.optimizers.schedules.CosineDecay(
                lr / 10, decay_steps=max(1, total - warm), alpha=0.0, warmup_target=lr, warmup_steps=warm)
        else:
            schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=total, alpha=0.0)
    else:  # one-cycle
        if _ONE_CYCLE is None:
            _ONE_CYCLE = _one_cycle_class()
        schedule = _ONE_CYCLE(lr, total, warm if warm else max(1, int(0.3 * total)))
    wd = float(cfg.weight_decay) or None
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, weight_decay=wd)
    if cfg.optimizer == "momentum":
        return keras.optimizers.SGD(schedule, momentum=cfg.momentum, nesterov=True, weight_decay=wd)
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(schedule, weight_decay=wd)
    return keras.optimizers.AdamW(schedule, weight_decay=float(cfg.weight_decay))


# --------------------------------------------------------------------------- callbacks


def _callbacks():
    import keras

    class StepTimer(keras.callbacks.Callback):
        """Per-step wall times, a NaN guard and the time budget, in one callback."""

        def __init__(self, budget_s: float | None):
            super().__init__()
            self.budget_s = budget_s
            self.failure: RunFailure | None = None
            self.steps: list[tuple[int, int, float]] = []  # (epoch, step, end time)
            self.epoch_start: list[float] = []
            self.epoch_end: list[float] = []
            self.epoch = 0

        def on_train_begin(self, logs=None):
            self.t_begin = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.epoch_start.append(time.perf_counter())

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.steps.append((self.epoch, batch, now))
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.failure = RunFailure(
                    "NaNLoss", f"The training loss became {float(loss)} at epoch {self.epoch + 1}, "
                               f"step {batch + 1}; training stopped.")
                self.model.stop_training = True
            elif self.budget_s is not None and now - self.t_begin > self.budget_s:
                self.failure = RunFailure(
                    "TimeBudgetExceeded", f"Training passed its time budget of {self.budget_s:g} s at "
                                          f"epoch {self.epoch + 1}, step {batch + 1}; training stopped.")
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_end.append(time.perf_counter())

    class Progress(keras.callbacks.Callback):
        """Prefix keras' per-epoch line with the run's place in the suite and its training ETA."""

        def __init__(self, label: str, epochs: int, echo):
            super().__init__()
            self.label, self.epochs, self.echo = label, epochs, echo

        def on_train_begin(self, logs=None):
            self.t_begin = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            eta = run_eta(time.perf_counter() - self.t_begin, epoch, self.epochs)
            self.echo(f"{self.label}  epoch {epoch + 1}/{self.epochs}"
                      + (f"  (training ETA ~{fmt_duration(eta)})" if eta is not None else ""))

    return StepTimer, Progress


def build_for_precision(spec: str, input_shape, num_classes: int, precision: str):
    """The model for a run; under a mixed policy its softmax runs in float32.

    Keras' mixed-precision rule: a model's outputs should be float32, or the loss and metrics
    see float16/bfloat16 probabilities (TensorFlow's top-k op even rejects them). The builder
    makes logits (``classifier_activation=None``) and a float32 softmax layer follows; it has no
    weights, so parameters and MACs are those of the plain model.
    """
    import keras

    from kerascnn.registry import create_model

    if precision == "float32":
        return create_model(spec, input_shape=input_shape, num_classes=num_classes)
    logits = create_model(spec, input_shape=input_shape, num_classes=num_classes, classifier_activation=None)
    probs = keras.layers.Activation("softmax", dtype="float32", name=f"{logits.name}_softmax_float32")(logits.output)
    return keras.Model(logits.inputs, probs, name=logits.name)


def run_eta(elapsed_s: float, epochs_done: int, epochs: int) -> float | None:
    """Seconds left in a run after ``epochs_done`` of ``epochs`` epochs took ``elapsed_s``.

    None before the first epoch has finished. The first epoch includes tracing and
    compilation, so the estimate is on the safe side early on.
    """
    if epochs_done <= 0:
        return None
    return elapsed_s / epochs_done * (epochs - epochs_done)


def train_throughput(steps: list[tuple[int, int, float]], epoch_start: list[float], batch_size: int,
                     n_train: int, warmup_steps: int = 3) -> dict[str, Any]:
    """Steady-state training images/s from step end times (first ``warmup_steps`` steps excluded).

    Step ``i``'s duration is the gap between the ends of steps ``i-1`` and ``i`` of the same
    epoch (the first step of a later epoch is timed from that epoch's start). Partial last
    batches count with their real size.
    """
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    last_size = n_train - (steps_per_epoch - 1) * batch_size
    images, seconds, durations = 0, 0.0, []
    for i, (epoch, step, t_end) in enumerate(steps):
        if epoch == 0 and step < warmup_steps:
            continue
        if i > 0 and steps[i - 1][0] == epoch:
            prev = steps[i - 1][2]
        elif epoch < len(epoch_start):
            prev = epoch_start[epoch]
        else:
            continue
        size = last_size if step == steps_per_epoch - 1 else batch_size
        images += size
        seconds += t_end - prev
        durations.append(t_end - prev)
    if not durations:
        return {"images_per_s": None, "steps_timed": 0, "step_p50_ms": None}
    return {"images_per_s": images / seconds if seconds > 0 else None, "steps_timed": len(durations),
            "step_p50_ms": float(np.median(durations) * 1e3)}


# --------------------------------------------------------------------------- metrics


def classification_metrics(probs: np.ndarray, y: np.ndarray, num_classes: int) -> dict[str, Any]:
    probs = probs.astype(np.float64)
    pred = probs.argmax(axis=1)
    k = min(5, num_classes)
    topk = np.argpartition(-probs, kth=k - 1, axis=1)[:, :k]
    conf = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    return {
        "top1": float((pred == y).mean()),
        "top5": float((topk == y[:, None]).any(axis=1).mean()),
        "loss": float(-np.log(p_true).mean()),
        "confusion": conf.tolist(),
        "n": int(len(y)),
    }


def _profile(model) -> dict[str, Any]:
    try:
        from kerascnn.analysis import profile
    except ImportError as exc:
        return {"macs": None, "macs_error": f"kerascnn.analysis is not available ({exc})"}
    try:
        p = profile(model)
        return {"macs": int(p.total_macs), "profile_params": int(p.total_params)}
    except Exception as exc:  # a profiler gap must not lose the trained run
        return {"macs": None, "macs_error": f"{type(exc).__name__}: {exc}"}


def _model_size_bytes(model, keep: Path | None) -> dict[str, Any]:
    """Bytes of the model as a .keras file (architecture + weights, no optimizer state)."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "model.keras"
        path.parent.mkdir(parents=True, exist_ok=True)
        clone.save(path)
        size = path.stat().st_size
    return {"keras_file_bytes": int(size), "saved_to": str(keep) if keep else None}


# --------------------------------------------------------------------------- one run


def _pad_random_crop(input_shape, seed: int):
    """Zero-pad by 1/8 of the size, then a random crop back to the size (training only).

    keras.layers.RandomCrop alone returns its padded input unchanged at inference, so the
    padding must live inside the same training-only branch.
    """
    import keras

    h, w = int(input_shape[0]), int(input_shape[1])
    pad = max(1, h // 8)

    class PadRandomCrop(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.crop = keras.layers.RandomCrop(h, w, seed=seed)

        def build(self, input_shape):  # no weights: RandomCrop is stateless
            self.built = True

        def call(self, x, training=None):
            if not training:
                return x
            padded = keras.ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
            return self.crop(padded, training=True)

        def compute_output_shape(self, shape):
            return shape

    return PadRandomCrop(name="pad_random_crop")


def _augment_model(model, augment: list[str], input_shape, seed: int):
    """The training-time wrapper: preprocessing layers, then the model (weights shared)."""
    import keras
    from keras import layers

    aug = []
    if "flip" in augment:
        aug.append(layers.RandomFlip("horizontal", seed=seed))
    if "translate" in augment:
        aug.append(layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed))
    if "crop" in augment:
        aug.append(_pad_random_crop(input_shape, seed))
    if "erasing" in augment:
        aug.append(layers.RandomErasing(value_range=(0.0, 1.0), seed=seed))
    if not aug:
        return model
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for layer in aug:
        x = layer(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_train")


def _mixing_dataset(x, y_onehot, batch_size, kind, seed):
    import keras

    layer = keras.layers.MixUp(seed=seed) if kind == "mixup" else keras.layers.CutMix(seed=seed)
    rng = np.random.default_rng(seed)

    class Mixed(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.order = rng.permutation(len(x))

        def __len__(self):
            return math.ceil(len(x) / batch_size)

        def __getitem__(self, i):
            idx = self.order[i * batch_size:(i + 1) * batch_size]
            out = layer({"images": x[idx], "labels": y_onehot[idx]}, training=True)
            return (keras.ops.convert_to_numpy(out["images"]), keras.ops.convert_to_numpy(out["labels"]))

        def on_epoch_end(self):
            self.order = rng.permutation(len(x))

    return Mixed()


def execute_run(run: RunSpec, ds, *, label: str = "", echo=print, models_dir: Path | None = None,
                log_path: Path | None = None, verbose: int | None = None) -> dict[str, Any]:
    """Train and measure one run. Returns the measurement dict (raises on failure).

    A :class:`RunFailure` (NaN loss, time budget) carries the partial curves in ``.partial``.
    """
    import keras

    from kerascnn.bench import timing
    from kerascnn.bench.environment import load_average, peak_rss_mib

    cfg = run.config
    keras.backend.clear_session()
    keras.utils.set_random_seed(run.seed)
    keras.mixed_precision.set_global_policy(cfg.precision)
    scope = contextlib.ExitStack()
    try:
        out: dict[str, Any] = {"load_average_before": load_average(), "rss_before_mib": peak_rss_mib()}
        xtr, ytr, xte, yte = prepare_arrays(ds, cfg, run.seed)
        n_classes = ds.num_classes
        if cfg.distribute:  # build, compile and fit inside the backend's data-parallel scope
            from kerascnn.accel import check_global_batch, data_parallel

            dp = scope.enter_context(data_parallel())
            check_global_batch(cfg.batch_size, dp.num_replicas)
            out["data_parallel"] = {"engine": dp.engine, "replicas": dp.num_replicas, "devices": list(dp.devices)}
        model = build_for_precision(run.model, ds.input_shape, n_classes, cfg.precision)
        out["model_name"] = model.name
        out["params"] = int(model.count_params())
        out["trainable_params"] = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
        out.update(_profile(model))

        steps_per_epoch = math.ceil(len(xtr) / cfg.batch_size)
        train_model = _augment_model(model, cfg.augment, ds.input_shape, run.seed)
        train_model.compile(
            optimizer=make_optimizer(cfg, steps_per_epoch),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=float(cfg.label_smoothing)),
            metrics=[keras.metrics.CategoricalAccuracy(name="acc"),
                     keras.metrics.TopKCategoricalAccuracy(k=min(5, n_classes), name="top5")],
            jit_compile=cfg.jit,
            steps_per_execution=cfg.steps_per_execution,
        )
        # Under mixed_float16, compile() wraps the optimizer in a LossScaleOptimizer (dynamic loss
        # scaling, Keras' auto_scale_loss); the result records whether it did.
        out["loss_scaling"] = isinstance(train_model.optimizer, keras.optimizers.LossScaleOptimizer)
        StepTimer, Progress = _callbacks()
        timer = StepTimer(cfg.time_budget)
        callbacks = [timer, Progress(label, cfg.epochs, echo)]
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            callbacks.append(keras.callbacks.CSVLogger(str(log_path)))
        ytr_1h, yte_1h = one_hot(ytr, n_classes), one_hot(yte, n_classes)
        mixing = next((a for a in cfg.augment if a in ("mixup", "cutmix")), None)
        fit_kwargs: dict[str, Any] = dict(epochs=cfg.epochs, callbacks=callbacks,
                                          verbose=verbose if verbose is not None else (1 if os.isatty(1) else 2))
        if cfg.eval_every_epoch:
            fit_kwargs["validation_data"] = (xte, yte_1h)
            fit_kwargs["validation_batch_size"] = max(cfg.batch_size, 256)
        t0 = time.perf_counter()
        if mixing:
            history = train_model.fit(_mixing_dataset(xtr, ytr_1h, cfg.batch_size, mixing, run.seed), **fit_kwargs)
        else:
            history = train_model.fit(xtr, ytr_1h, batch_size=cfg.batch_size, shuffle=True, **fit_kwargs)
        train_s = time.perf_counter() - t0
        scope.close()  # evaluation and timing run on the trained (replicated) model as usual
        try:
            out["jit_compile"] = bool(train_model.jit_compile)
        except AttributeError:
            out["jit_compile"] = cfg.jit
        out["history"] = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        out["epochs_completed"] = len(timer.epoch_end)
        first_step = timer.steps[0][2] - timer.t_begin if timer.steps else None
        tp = train_throughput(timer.steps, timer.epoch_start, cfg.batch_size, len(xtr))
        out["train"] = {
            "seconds": train_s,
            "images": int(len(xtr)),
            "steps_per_epoch": steps_per_epoch,
            "epoch_seconds": [e - s for s, e in zip(timer.epoch_start, timer.epoch_end)],
            "first_step_seconds": first_step,
            "warmup_seconds": (first_step - tp["step_p50_ms"] / 1e3) if first_step and tp["step_p50_ms"] else first_step,
            **tp,
        }
        if timer.failure is not None:
            timer.failure.partial = out  # type: ignore[attr-defined]
            raise timer.failure
        hist_loss = out["history"].get("loss", [])
        if hist_loss and not math.isfinite(hist_loss[-1]):
            raise RunFailure("NaNLoss", f"The final training loss is {hist_loss[-1]}.")

        # ---- evaluation and timing, through one compiled inference function
        inf = timing.compile_inference(model, jit=cfg.jit)
        out["inference_jit"] = inf.jit
        eval_batch = 256
        compile_s = timing.first_call_seconds(inf, xte[:eval_batch] if len(xte) >= eval_batch else xte)
        probs = inf.predict(xte, batch_size=eval_batch)
        metrics = classification_metrics(probs, yte, n_classes)
        out["test"] = metrics
        if not np.isfinite(probs).all():
            raise RunFailure("NaNOutput", "The model's test-set outputs contain NaN or inf.")
        nb = min(cfg.latency_batch, len(xte))
        lat1_compile = timing.first_call_seconds(inf, xte[:1])
        latN_compile = timing.first_call_seconds(inf, xte[:nb])
        out["inference"] = {
            "first_call_seconds": {"eval_batch": compile_s, "batch_1": lat1_compile, f"batch_{nb}": latN_compile},
            "latency_b1": timing.measure_latency(inf, xte[:1], seconds=cfg.latency_seconds),
            "latency_bN": timing.measure_latency(inf, xte[:nb], seconds=cfg.latency_seconds),
            "device_throughput": timing.measure_throughput(inf, xte[:nb], seconds=cfg.latency_seconds),
        }
        keep = (models_dir / f"{run.key}.keras") if (models_dir and cfg.save_models) else None
        out["size"] = _model_size_bytes(model, keep)
        out["peak_rss_mib"] = peak_rss_mib()
        out["load_average_after"] = load_average()
        return out
    finally:
        scope.close()
        keras.mixed_precision.set_global_policy("float32")
