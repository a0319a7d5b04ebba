"""The test evaluations of a run and what is measured after them: inference timings and the file.

* :class:`TestEvaluator`: every test evaluation of a run, the curve points during training and
  the final one, each after the BatchNorm statistics are recomputed for the weights of that
  moment (``cfg.precise_bn``, :mod:`kerascnn.bench.precise_bn`); a curve point puts training's
  statistics back afterwards, the final recomputation stays (the measured, saved and deployed
  model carries it). Their time, recomputation included, is the run's evaluation time, apart
  from its training time and budget;
* :func:`evaluate_model`: test-set metrics through the compiled inference function of
  :mod:`kerascnn.measure.timing`;
* :func:`measure_inference`: first-call, latency and device-throughput timings of the compiled
  inference of the model with its BatchNorms folded into the convolutions before them (folded
  once, compiled once; :mod:`kerascnn.accel.fold_bn`, exact up to float32 rounding); the test
  metrics stay those of the model as trained;
* :func:`record_measurements`: model file size, memory and load average.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from kerascnn.accel import inference as compiled
from kerascnn.accel.fold_bn import fold_batchnorm
from kerascnn.bench.arrays import Arrays
from kerascnn.bench.metrics import classification_metrics
from kerascnn.bench.precise_bn import Recalibrator, training_batches
from kerascnn.measure import timing
from kerascnn.measure.environment import load_average, peak_rss_mib
from kerascnn.record.run import InferenceTimings, Measurements, ModelSize, PreciseBN

EVAL_BATCH = 256


class RunFailure(Exception):
    """Training stopped for a reason that makes the run a failure (NaN loss, time budget)."""

    def __init__(self, kind: str, message: str, partial: Measurements | None = None):
        super().__init__(message)
        self.kind = kind
        self.partial = partial or Measurements()
        """What the run measured before it failed."""


class TestEvaluator:
    """The test evaluations of one run of ``cfg`` on ``data`` and their time (``seconds``).

    With ``cfg.precise_bn`` each first recomputes the BatchNorm statistics of ``model`` from
    the same ``cfg.precise_bn_batches`` un-augmented training batches (the first of the run
    seed's shuffle).
    """

    __test__ = False  # not a pytest class

    def __init__(self, model, data: Arrays, run):
        self.data, self.cfg = data, run.config
        self.batches = []
        if self.cfg.precise_bn:
            self.batches = training_batches(
                data.x_train, self.cfg.batch_size, self.cfg.precise_bn_batches, run.seed
            )
        self.recalibrator = Recalibrator(model, self.batches) if self.cfg.precise_bn else None
        self.net = None
        """The compiled training model holding ``model`` (set by the training)."""
        self.seconds = 0.0
        """Time of the curve points' evaluations and recomputations, and the final recomputation."""

    def curve_point(self, net) -> dict[str, float]:
        """Test loss and metrics of ``net`` (the compiled training model) in the middle of
        training: statistics recomputed, then training's own put back."""
        t0 = time.perf_counter()
        saved = self.recalibrator.snapshot() if self.recalibrator else None
        if self.recalibrator:
            self.recalibrator()
        logs = self._evaluate(net)
        if saved is not None:
            self.recalibrator.restore(saved)
        self.seconds += time.perf_counter() - t0
        return logs

    def _evaluate(self, net) -> dict[str, float]:
        return net.evaluate(
            self.data.x_test,
            self.data.y_test_onehot,
            batch_size=max(self.cfg.batch_size, EVAL_BATCH),
            verbose=0,
            return_dict=True,
        )

    def recalibrate(self) -> PreciseBN | None:
        """Recompute the statistics of the model for good, before the final evaluation; the
        training model first measures the top-1 that training's own statistics give."""
        recal = self.recalibrator
        if recal is None:
            return None
        t0 = time.perf_counter()
        stale = None
        if self.net is not None and recal.layers:
            stale = float(self._evaluate(self.net)["acc"])
        recal()
        self.seconds += time.perf_counter() - t0
        return PreciseBN(
            layers=len(recal.layers),
            batches=len(self.batches),
            batch_size=self.cfg.batch_size,
            calls=recal.calls,
            seconds=recal.seconds,
            top1_stale=stale,
        )


@dataclass
class Evaluation:
    inference: compiled.CompiledInference
    """The compiled forward pass that evaluated the model (and is timed next)."""
    first_call_seconds: float
    """Tracing + compilation + one call at the evaluation batch."""
    measured: Measurements
    model: keras.Model | None = None
    """The model evaluated (:func:`measure_inference` times it with its BatchNorms folded)."""


def evaluate_model(model, data: Arrays, cfg) -> Evaluation:
    """Test-set metrics through one compiled inference function (no ``model.predict``).

    Raises RunFailure (with the metrics) when an output is NaN or infinite.
    """
    inf = compiled.compile_inference(model, jit=cfg.jit)
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
    return Evaluation(inf, first, measured, model)


def measure_inference(ev: Evaluation, data: Arrays, cfg) -> InferenceTimings:
    """First-call times, batch-1 and batch-N latency, device throughput at batch N, of the
    evaluated model with its BatchNorms folded (compiled once more when any were; the
    ``eval_batch`` first call is the evaluation's own, of the model as trained)."""
    inf, x = ev.inference, data.x_test
    folded, fold_seconds = None, None
    if ev.model is not None:
        t0 = time.perf_counter()
        result = fold_batchnorm(ev.model)
        if result.folded:
            inf = compiled.compile_inference(result.model, jit=cfg.jit)
        folded, fold_seconds = result.folded, time.perf_counter() - t0
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
        device_throughput=timing.device_throughput(inf, x[:nb], seconds=cfg.latency_seconds),
        bn_folded=folded,
        fold_seconds=fold_seconds,
    )


def inference_model(model) -> keras.Model:
    """``model``'s graph and weights as a model that was never compiled: a ``.keras`` file of
    it holds no optimizer or training configuration (so it loads with plain
    ``keras.saving.load_model``, with nothing of kerascnn's to deserialize)."""
    return keras.Model(model.input, model.output, name=model.name)  # the same structures


def model_size(model, keep: Path | None) -> ModelSize:
    """Bytes of the model as a .keras file (architecture + weights, no optimizer state); with
    ``keep`` the file stays there."""
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "model.keras"
        path.parent.mkdir(parents=True, exist_ok=True)
        inference_model(model).save(path)
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
