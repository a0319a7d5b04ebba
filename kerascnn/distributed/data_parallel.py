"""Data-parallel training through each backend's own engine (no home-made all-reduce).

* JAX: ``keras.distribution.DataParallel`` over all devices: variables replicated, the
  batch sharded along its first axis, gradients reduced by XLA. After
  :func:`kerascnn.distributed.cluster.join` the devices are those of every process, and each process
  feeds its shard of the global batch (``auto_shard_dataset = False``).
* TensorFlow: ``tf.distribute.MirroredStrategy`` over the GPUs, or over the logical CPU
  devices when there is no GPU (so it can be tested on a CPU machine split in two).

Build *and compile* the model inside ``with data_parallel() as dp:``; ``fit`` then runs
data-parallel. The global batch size must divide evenly by ``dp.num_replicas``.

Testing on one CPU: start the process with
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` (JAX) or call
:func:`split_cpu_for_tensorflow` before TensorFlow initialises (TensorFlow).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import keras

from kerascnn.distributed.cluster import joined
from kerascnn.distributed.cluster import strategy as joined_strategy
from kerascnn.errors import ArgumentError


@dataclass(frozen=True)
class DataParallelInfo:
    backend: str
    num_replicas: int
    devices: tuple[str, ...]
    engine: str
    num_processes: int = 1
    """Processes the replicas span (JAX's distributed runtime, :mod:`kerascnn.distributed.cluster`)."""


def split_cpu_for_tensorflow(n: int = 2) -> None:
    """Make TensorFlow see ``n`` logical CPU devices (call before any TensorFlow op runs)."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * n
    )


def check_global_batch(batch_size: int, num_replicas: int) -> None:
    if batch_size % num_replicas:
        raise ArgumentError(
            f"With data parallelism the global batch is split over {num_replicas} devices, so "
            f"it must be a multiple of {num_replicas}. Received: batch_size={batch_size}"
        )


@contextmanager
def data_parallel():
    """Context in which models built and compiled train data-parallel on all local devices."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        from keras import distribution

        devices = distribution.list_devices()  # every process's, after cluster.join
        previous = distribution.distribution()
        dp = distribution.DataParallel(devices=devices)
        processes = jax.process_count()
        if processes > 1:  # each process feeds its own shard of every global batch
            dp.auto_shard_dataset = False
        distribution.set_distribution(dp)
        try:
            yield DataParallelInfo(
                backend,
                len(devices),
                tuple(devices),
                "keras.distribution.DataParallel",
                processes,
            )
        finally:
            distribution.set_distribution(previous)
    elif backend == "tensorflow" and joined_strategy() is not None:  # several processes
        workers = joined_strategy()
        with workers.scope():
            yield DataParallelInfo(
                backend,
                workers.num_replicas_in_sync,
                tuple(workers.extended.worker_devices),
                "tf.distribute.MultiWorkerMirroredStrategy",
                joined().num_processes,
            )
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        with strategy.scope():
            yield DataParallelInfo(
                backend,
                strategy.num_replicas_in_sync,
                tuple(devices),
                "tf.distribute.MirroredStrategy",
            )
    else:
        raise ArgumentError(
            "Data parallelism is supported on the 'jax' and 'tensorflow' backends. "
            f"Received: KERAS_BACKEND={backend!r}"
        )
