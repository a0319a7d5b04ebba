"""A run's data parallelism: the scope it trains in, this process's shard of every batch, the
check that every process ended with the same weights, and a local copy to evaluate.

One process (``--distribute``): the backend's data-parallel scope over the local devices. Several
processes (``kerascnn bench --num-processes N``, :mod:`kerascnn.distributed.cluster`): the
same scope spans every process's devices; each process feeds its shard of the global batch, all train and
evaluate, process 0 alone times inference and writes.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from kerascnn.distributed.cluster import allgather, differing, digest_words, joined, strategy
from kerascnn.distributed.data_parallel import check_global_batch, data_parallel
from kerascnn.distributed.multiworker import feed, multiworker_model
from kerascnn.record.run import DataParallelUse


def process_shard() -> tuple[int, int]:
    """(this process's index, process count) of the joined runtime; (0, 1) for one process."""
    cluster = joined()
    return (cluster.process_id, cluster.num_processes) if cluster else (0, 1)


def for_workers(net):
    """``net`` as it trains here: under TensorFlow's MultiWorkerMirroredStrategy (several
    processes) as a :class:`~kerascnn.distributed.multiworker.MultiWorkerModel`; else itself."""
    if strategy() is None:
        return net
    return multiworker_model(net)


def fit_input(stream):
    """What ``fit`` takes for ``stream`` (this process's shards): the stream itself, or on
    TensorFlow with several processes the strategy's distributed dataset of it."""
    if strategy() is None:
        return stream
    return feed(strategy(), stream)


def enter_data_parallel(scope: contextlib.ExitStack, batch_size: int) -> DataParallelUse:
    """Enter the backend's data-parallel scope on ``scope``; check the global batch splits."""
    dp = scope.enter_context(data_parallel())
    check_global_batch(batch_size, dp.num_replicas)
    use = DataParallelUse(engine=dp.engine, replicas=dp.num_replicas, devices=list(dp.devices))
    use.num_processes = dp.num_processes
    use.global_batch = int(batch_size)
    use.per_device_batch = int(batch_size) // dp.num_replicas
    if dp.num_processes > 1:
        use.coordinator = joined().coordinator if joined() else None
    return use


def weights_digest(model) -> bytes:
    """The bytes of every weight, in order (equal across processes when they are in sync)."""
    return b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())


def weights_in_sync(model) -> bool:
    """Whether every process holds bit-identical weights (compared by SHA-256 words)."""
    return not differing(allgather(digest_words(weights_digest(model))))


def local_copy(model):
    """``model`` with its weights on this process's default device, outside any distribution
    (a multi-process model's variables span devices this process cannot run on alone)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone
