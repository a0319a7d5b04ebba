"""Import the Keras backend without TensorFlow's/XLA's start-up chatter on the terminal.

TensorFlow 2.2x and jaxlib print C++ log lines (oneDNN notes, "could not find cuda drivers",
"All log messages before absl::InitializeLog() ...") straight to file descriptor 2 before any
Python logging setting applies. The CLI calls :func:`quiet_backend_import` once, before its
first Keras use: stderr is pointed at /dev/null only while the backend imports and lists
its devices, then restored. Python exceptions are unaffected (they are raised, not printed,
inside the block). Set ``KERASCNN_VERBOSE_IMPORT=1`` to see everything.
"""

from __future__ import annotations

import os
import sys


def quiet_backend_import(list_devices: bool = True) -> None:
    """Import Keras quietly; ``list_devices=False`` leaves the backend's devices uninitialized
    (a process that joins a multi-process run must start its runtime first)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" in sys.modules or os.environ.get("KERASCNN_VERBOSE_IMPORT"):
        import keras  # noqa: F401

        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # no real stderr (e.g. captured by a test runner)
        import keras  # noqa: F401

        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow" and list_devices:
            import tensorflow as tf

            tf.config.list_physical_devices()
        elif backend == "jax" and list_devices:
            import jax

            jax.devices()
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
