"""Peak memory of a measurement, where the backend reports it.

* TensorFlow on a GPU: ``tf.config.experimental.get_memory_info('GPU:0')['peak']``, reset
  before each point (:func:`reset_peak_memory`), so the figure is the point's own.
* JAX on a GPU/TPU: ``device.memory_stats()['peak_bytes_in_use']``. JAX cannot reset it: the
  figure is the process's peak so far (a sweep runs batch sizes in ascending order, so it is
  the largest point's).
* A CPU: the process's peak resident set size (getrusage), labelled ``"process_peak_rss"``:
  it includes the framework and every earlier point, so only its growth means anything.
"""

from __future__ import annotations

from kerascnn.measure.environment import peak_rss_mib

MIB = 1024 * 1024


def reset_peak_memory(backend: str) -> None:
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_physical_devices("GPU"):
                tf.config.experimental.reset_memory_stats("GPU:0")
    except Exception:  # a missing statistic must not stop a measurement
        pass


def peak_memory(backend: str) -> tuple[float | None, str | None]:
    """``(MiB, kind)``: kind is ``"device_peak"``, ``"process_peak_rss"``, or None if unknown."""
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_physical_devices("GPU"):
                return tf.config.experimental.get_memory_info("GPU:0")["peak"] / MIB, "device_peak"
        elif backend == "jax":
            import jax

            dev = jax.devices()[0]
            if dev.platform != "cpu":
                stats = dev.memory_stats() or {}
                if "peak_bytes_in_use" in stats:
                    return stats["peak_bytes_in_use"] / MIB, "device_peak"
                return None, None
    except Exception:
        return None, None
    return peak_rss_mib(), "process_peak_rss"
