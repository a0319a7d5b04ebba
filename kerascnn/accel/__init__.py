"""Fast paths: device-resident compiled train/inference steps, and data parallelism.

Backend-specific code lives here and imports jax/tensorflow lazily, inside functions, so
``import kerascnn.accel`` works on any backend.
"""

from kerascnn.accel.distribute import (
    DataParallelInfo,
    check_global_batch,
    data_parallel,
    split_cpu_for_tensorflow,
)
from kerascnn.accel.throughput import dtype_policy, measure_throughput

__all__ = [
    "DataParallelInfo",
    "check_global_batch",
    "data_parallel",
    "split_cpu_for_tensorflow",
    "dtype_policy",
    "measure_throughput",
]
