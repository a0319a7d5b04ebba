"""Fast paths: device-resident compiled train/inference steps, and data parallelism.

``measure_point`` measures one (model, mode, batch size); ``kerascnn.accel.sweep.run_sweep``
(the ``kerascnn throughput`` command) sweeps it over models, modes and batch sizes.

Backend-specific code lives here and imports jax/tensorflow lazily, inside functions, so
``import kerascnn.accel`` works on any backend.
"""

from importlib import import_module

_SOURCES = {
    "DataParallelInfo": "distribute",
    "check_global_batch": "distribute",
    "data_parallel": "distribute",
    "split_cpu_for_tensorflow": "distribute",
    "MODES": "throughput",
    "choose_path": "throughput",
    "dtype_policy": "throughput",
    "measure_point": "throughput",
    "measure_throughput": "throughput",
}


def __getattr__(name: str):
    """The package's names, imported on first use: ``kerascnn.accel.cluster`` and ``.watchdog``
    stay light (the command line reads their defaults without loading Keras)."""
    if name == "is_oom":  # the sweep's "oom" status
        from kerascnn.errors import is_out_of_memory

        return is_out_of_memory
    if name in _SOURCES:
        return getattr(import_module(f"kerascnn.accel.{_SOURCES[name]}"), name)
    raise AttributeError(f"module 'kerascnn.accel' has no attribute {name!r}")


__all__ = [*_SOURCES, "is_oom"]
