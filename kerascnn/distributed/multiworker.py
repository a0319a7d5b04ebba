"""Keras 3's ``fit`` under TensorFlow's ``MultiWorkerMirroredStrategy`` (several processes).

Keras 3.15 fails there twice (keras-team/keras#20585, open; ``tests/test_cluster_tensorflow.py``
shows both with a plain model):

1. before the first step it reduces the whole first ``(x, y)`` batch across workers to build
   the model symbolically, and the strategy cannot reduce a tuple;
2. every step it reduces each log value "MEAN along axis 0" across workers, and a scalar has
   no axis 0.

:class:`MultiWorkerModel` wraps the training network (same layers, same weights) and answers
both: it builds from this worker's own part of the first batch (shapes are all a build needs),
and its ``train_step``/``test_step`` (Keras' documented customisation points) return each log
value as a vector of one, whose mean along axis 0 across workers is the value. :func:`feed`
hands ``fit`` this worker's shard of every global batch through the strategy's own
``distribute_datasets_from_function``.
"""

from __future__ import annotations

import keras


class MultiWorkerModel(keras.Model):
    """A functional model that trains with ``fit`` under MultiWorkerMirroredStrategy."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None:  # this worker's values of the first batch, no collective
            for _, _, batches in iterator:
                first = next(batches)
                break
            local = self.distribute_strategy.experimental_local_results
            data_batch = keras.tree.map_structure(lambda v: local(v)[0], first)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def train_step(self, data):
        return _vectors(super().train_step(data))

    def test_step(self, data):
        return _vectors(super().test_step(data))


def _vectors(logs):
    return {name: keras.ops.reshape(value, (1,)) for name, value in logs.items()}


def multiworker_model(net: keras.Model) -> MultiWorkerModel:
    """``net``'s graph (its layers and weights) as a :class:`MultiWorkerModel`."""
    return MultiWorkerModel(net.inputs, net.outputs, name=net.name)


def feed(strategy, stream):
    """A distributed dataset of ``stream`` (a PyDataset of this worker's shard of each global
    batch, in order), cut into one part per local replica."""
    import tensorflow as tf

    x0, y0 = stream[0]
    replicas = len(strategy.extended.worker_devices)  # this worker's devices

    def batches():
        for i in range(len(stream)):
            x, y = stream[i]
            size = len(x) // replicas
            for r in range(replicas):
                yield x[r * size : (r + 1) * size], y[r * size : (r + 1) * size]

    signature = (
        tf.TensorSpec((None, *x0.shape[1:]), tf.as_dtype(x0.dtype)),
        tf.TensorSpec((None, *y0.shape[1:]), tf.as_dtype(y0.dtype)),
    )

    def dataset(context):
        return tf.data.Dataset.from_generator(batches, output_signature=signature)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(dataset, options)
