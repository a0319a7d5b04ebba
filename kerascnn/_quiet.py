"""Keep the frameworks' own log lines off the terminal: lessons and commands print their lines.

TensorFlow 2.21 prints C++ log lines when it loads ("WARNING: All log messages before
absl::InitializeLog() ...", ``I0000 ... port.cc] oneDNN custom operations are on ...``,
``cudart_stub.cc] Could not find cuda drivers ...``, ``cpu_feature_guard.cc] This TensorFlow
binary is optimized ...``) straight to file descriptor 2, before any Python logging setting
applies. ``TF_CPP_MIN_LOG_LEVEL`` silences only the later ones (cpu_feature_guard): the oneDNN
and CUDA lines are written by absl's logger before TensorFlow reads that variable, twice (two
libraries), and no variable reaches them (``GLOG_minloglevel``, ``ABSL_MIN_LOG_LEVEL`` and
``GRPC_VERBOSITY`` were tried). ``TF_ENABLE_ONEDNN_OPTS`` is left alone: it changes numerics.
So the backend is imported with descriptor 2 captured (:func:`quiet_backend_import`), and
converters that print from C++ run inside :func:`captured_stderr` the same way. What a block
printed is shown when the block fails, so a crash still says why.

Who calls it: the CLI, once before a command's first Keras use
(:func:`kerascnn.cli._base.uses_keras`; ``--debug`` / ``KERASCNN_DEBUG=1`` shows everything),
and every lesson, first thing in its first code cell (``KERASCNN_VERBOSE=1 python
tutorials/01_why_convolution.py`` shows everything). ``KERASCNN_VERBOSE=1`` (or the older
``KERASCNN_VERBOSE_IMPORT=1``) turns all of it off, in any process. Python exceptions are
unaffected (they are raised, not printed, inside the blocks).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

VERBOSE_ENV = "KERASCNN_VERBOSE"
"""Set (not "0") to see the frameworks' own log lines (lessons, any process)."""
_VERBOSE_NAMES = (VERBOSE_ENV, "KERASCNN_VERBOSE_IMPORT")
_asked = {"verbose": False}  # set_verbose's choice (``--debug``), for this process


def verbose() -> bool:
    """Whether the frameworks' log lines are wanted (``KERASCNN_VERBOSE``, ``--debug``)."""
    env = any(os.environ.get(name, "") not in ("", "0") for name in _VERBOSE_NAMES)
    return env or _asked["verbose"]


def set_verbose(on: bool = True) -> None:
    """Show (``on``) or hide the frameworks' log lines from now on in this process
    (``KERASCNN_VERBOSE`` in the environment shows them whatever this says)."""
    _asked["verbose"] = bool(on)


@dataclass
class Captured:
    """What a :func:`captured_stderr` block wrote to descriptor 2 (filled when it ends)."""

    text: str = ""


STDERR_FD = 2
"""What C++ code writes to, whatever Python's ``sys.stderr`` is (a notebook's, a test runner's)."""


def _stderr_fd() -> int | None:
    try:
        os.fstat(STDERR_FD)
    except OSError:  # closed: nothing to capture
        return None
    return STDERR_FD


def _flush() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


@contextmanager
def captured_stderr() -> Iterator[Captured]:
    """Point file descriptor 2 at a temporary file for the block (C++ code's prints included);
    the text is in the yielded :class:`Captured` afterwards. If the block raises, the text is
    written to stderr first (a failure shows its framework's lines). Verbose: no capture."""
    captured = Captured()
    fd = None if verbose() else _stderr_fd()
    if fd is None:
        yield captured
        return
    _flush()
    saved = os.dup(fd)
    failed = True
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield captured
            failed = False
        finally:
            _flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", errors="replace")
            if failed and captured.text:
                sys.stderr.write(captured.text)
                sys.stderr.flush()


def quiet_backend_import(list_devices: bool = True, verbose_logs: bool | None = None) -> None:
    """Import Keras (and its backend) without the backend's start-up lines; ``list_devices=False``
    leaves the backend's devices uninitialized (a process that joins a multi-process run must
    start its runtime first). ``verbose_logs`` (``--debug``) shows or hides the frameworks' lines
    from now on (:func:`set_verbose`); None keeps the choice so far. Call it before anything
    imports Keras: once Keras is loaded, only the choice is made."""
    if verbose_logs is not None:
        set_verbose(verbose_logs)
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's later INFO/WARNING
    if "keras" in sys.modules:
        return
    with captured_stderr():
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow" and list_devices:
            import tensorflow as tf

            tf.config.list_physical_devices()
        elif backend == "jax" and list_devices:
            import jax

            jax.devices()
