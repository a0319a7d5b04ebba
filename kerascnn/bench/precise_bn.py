"""Precise BatchNorm statistics: the moving mean and variance recomputed for the current weights.

During training a BatchNormalization layer keeps an exponential moving average of the batch
statistics it sees (Keras' ``momentum=0.99``: about the last hundred steps, each taken with
other weights). A model that trained for a few dozen steps, as MobileNetV2 does in the main
job's 30 seconds, still holds mostly the initial statistics (mean 0, variance 1): in inference
mode it predicts one class for every image, although in training mode it is right two times out
of three. Evaluating such a model measures its stale statistics, not its weights.

:class:`Recalibrator` recomputes them as pycls' ``compute_precise_bn_stats``, fvcore's
``update_bn_stats`` and torch's ``swa_utils.update_bn`` do: forward passes only, in training
mode (every BatchNorm normalizes with its batch statistics, as in a training step), over N
un-augmented training batches; each layer's moving mean becomes the average of its N batch
means and its moving variance the average of its N batch variances (Keras' biased variance,
what its own update uses), every batch weighing the same. Nothing else changes: weights,
optimizer, frozen BatchNorm layers (``trainable=False``, which run in inference mode) and
renormalizing ones (``renorm=True``) are left as they are.

Works on every backend: the statistics come from a Keras model over the same layers (so the
compiled ``predict`` of the backend runs it) whose outputs are the batch moments of every
BatchNorm input.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import keras
import numpy as np


def batchnorm_layers(model) -> list:
    """The BatchNormalization layers of ``model`` whose statistics training updates: trainable
    (a frozen layer runs in inference mode and keeps its statistics) and not renormalizing."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization)
        and layer.trainable
        and not layer.renorm
    ]


class BatchMoments(keras.Model):
    """A functional model whose outputs are (mean, variance) of every BatchNorm input of another
    model, run in training mode whatever ``predict`` asks (its BatchNorm layers normalize with
    batch statistics, as in a training step). It shares the other model's layers and weights."""

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs, training=True, mask=mask)


def _moments_model(model, layers: Sequence) -> BatchMoments:
    outputs = []
    for layer in layers:
        try:
            x = layer.input
        except (AttributeError, ValueError) as exc:
            raise ValueError(
                f"Precise BatchNorm needs a functional model whose BatchNorm layers are called "
                f"once; layer {layer.name!r} is not ({exc}). Received: model {model.name!r}"
            ) from None
        x = keras.ops.cast(x, "float32")
        axes = [i for i in range(len(x.shape)) if i != layer.axis % len(x.shape)]
        mean, variance = keras.ops.moments(x, axes=axes)
        # a row per call: a data-parallel predict gives each replica the batch and stacks
        # their rows (the same values); the mean of the rows is the batch's moment
        outputs += [keras.ops.expand_dims(mean, 0), keras.ops.expand_dims(variance, 0)]
    return BatchMoments(model.inputs, outputs, name=f"{model.name}_batch_moments")


class Recalibrator:
    """Recomputes the moving statistics of ``model``'s BatchNorm layers from ``batches`` (a
    list of image arrays, the same at every call) as their exact average.

    The statistics model is built on the first call and reused (one trace per run).
    :meth:`snapshot` / :meth:`restore` keep and put back the statistics training holds, for an
    evaluation in the middle of training.
    """

    def __init__(self, model, batches: Sequence[np.ndarray]):
        self.model = model
        self.batches = list(batches)
        self.layers = batchnorm_layers(model)
        self._moments: BatchMoments | None = None
        self.calls = 0
        """Recomputations so far."""
        self.seconds = 0.0
        """Time spent recomputing, over every call (outside any training budget)."""

    @property
    def images(self) -> int:
        return int(sum(len(b) for b in self.batches))

    def statistics(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(mean, variance) per layer: the average over the batches of its batch moments."""
        if self._moments is None:
            self._moments = _moments_model(self.model, self.layers)
        sums = None
        for batch in self.batches:
            rows = self._moments.predict_on_batch(batch)
            values = [np.asarray(v, np.float64).mean(axis=0) for v in rows]
            sums = values if sums is None else [s + v for s, v in zip(sums, values)]
        n = len(self.batches)
        return [(sums[2 * i] / n, sums[2 * i + 1] / n) for i in range(len(self.layers))]

    def __call__(self) -> None:
        """Set every layer's moving mean and variance to the recomputed statistics."""
        if not self.layers or not self.batches:
            return
        t0 = time.perf_counter()
        for layer, (mean, variance) in zip(self.layers, self.statistics()):
            layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
            layer.moving_variance.assign(variance.astype(layer.moving_variance.dtype))
        self.seconds += time.perf_counter() - t0
        self.calls += 1

    def snapshot(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The moving statistics as they are now."""
        return [
            (
                keras.ops.convert_to_numpy(layer.moving_mean),
                keras.ops.convert_to_numpy(layer.moving_variance),
            )
            for layer in self.layers
        ]

    def restore(self, saved: Iterable[tuple[np.ndarray, np.ndarray]]) -> None:
        """Put back statistics taken by :meth:`snapshot`."""
        for layer, (mean, variance) in zip(self.layers, saved):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(variance)


def training_batches(x: np.ndarray, batch_size: int, count: int, seed: int) -> list[np.ndarray]:
    """The first ``count`` batches of a seeded shuffle of ``x`` (un-augmented), each of
    ``batch_size`` images (a pass that ends mid-batch goes on into the next shuffle)."""
    from kerascnn.bench.augment import BatchStream

    stream = BatchStream(x, np.zeros((len(x), 1), np.float32), batch_size, seed, steps=count)
    return [x[stream.indices(i)] for i in range(count)]
