"""Fast paths: device-resident compiled train/inference steps, and data parallelism.

``measure_point`` measures one (model, mode, batch size); ``kerascnn.accel.sweep.run_sweep``
(the ``kerascnn throughput`` command) sweeps it over models, modes and batch sizes.

Backend-specific code lives here and imports jax/tensorflow lazily, inside functions, so
``import kerascnn.accel`` works on any backend.
"""

from kerascnn.accel.distribute import (
    DataParallelInfo,
    check_global_batch,
    data_parallel,
    split_cpu_for_tensorflow,
)
from kerascnn.accel.throughput import (
    MODES,
    choose_path,
    dtype_policy,
    measure_point,
    measure_throughput,
)
from kerascnn.errors import is_out_of_memory as is_oom  # the sweep's "oom" status

__all__ = [
    "DataParallelInfo",
    "check_global_batch",
    "data_parallel",
    "split_cpu_for_tensorflow",
    "MODES",
    "choose_path",
    "dtype_policy",
    "is_oom",
    "measure_point",
    "measure_throughput",
]
