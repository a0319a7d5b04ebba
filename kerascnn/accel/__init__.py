"""Fast paths: device-resident compiled train/inference steps (the cluster and data
parallelism are :mod:`kerascnn.distributed`; the timers :mod:`kerascnn.measure`).

``measure_point`` measures one (model, mode, batch size); ``kerascnn.accel.sweep.run_sweep``
(the ``kerascnn throughput`` command) sweeps it over models, modes and batch sizes.

Backend-specific code lives here and imports jax/tensorflow lazily, inside functions, so
``import kerascnn.accel`` works on any backend.
"""

from importlib import import_module

_SOURCES = {
    "MODES": "throughput",
    "choose_path": "throughput",
    "dtype_policy": "throughput",
    "measure_point": "throughput",
    "measure_throughput": "throughput",
}


def __getattr__(name: str):
    """The package's names, imported on first use (the command line reads their defaults
    without loading a backend)."""
    if name == "is_oom":  # the sweep's "oom" status
        from kerascnn.errors import is_out_of_memory

        return is_out_of_memory
    if name in _SOURCES:
        return getattr(import_module(f"kerascnn.accel.{_SOURCES[name]}"), name)
    raise AttributeError(f"module 'kerascnn.accel' has no attribute {name!r}")


__all__ = [*_SOURCES, "is_oom"]
