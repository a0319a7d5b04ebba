"""A watchdog that ends a process which stops making progress (a multi-process run whose peer
died, hangs or never joined would otherwise wait in a collective forever).

Work that can block on other processes runs inside ``with watchdog.phase("joining"):``; the
training loop calls :func:`beat` after every step (``kerascnn.bench.callbacks.StepTimer`` does).
When an armed phase sees no beat for ``timeout`` seconds, the watchdog's thread calls
``on_expire(message)`` (the run folder's owner records the run as failed there) and then ends
the process with :data:`EXIT_CLUSTER`: a thread cannot interrupt a collective that waits in C++,
so ``os._exit`` is the only bounded way out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_CLUSTER = 75
"""Exit status of a process the watchdog ended (EX_TEMPFAIL: try again, e.g. with --resume)."""

_active: Watchdog | None = None


def beat() -> None:
    """Tell the active watchdog (if any) that this process made progress."""
    if _active is not None:
        _active.beat()


class Watchdog:
    """Ends the process when an armed phase makes no progress for ``timeout`` seconds."""

    def __init__(
        self,
        timeout: float,
        on_expire: Callable[[str], None] | None = None,
        *,
        context: str = "",
        exit_code: int = EXIT_CLUSTER,
    ):
        self.timeout = float(timeout)
        self.on_expire = on_expire
        self.context = context
        self.exit_code = exit_code
        self._lock = threading.Lock()
        self._what: str | None = None
        self._last = time.monotonic()
        self._thread = threading.Thread(target=self._watch, name="kerascnn-watchdog", daemon=True)
        self._thread.start()

    def activate(self) -> Watchdog:
        """Make this the watchdog :func:`beat` reaches."""
        global _active
        _active = self
        return self

    def beat(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    @contextmanager
    def phase(self, what: str) -> Iterator[None]:
        """Watch ``what`` (words for the message); phases do not nest."""
        with self._lock:
            self._what, self._last = what, time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._what = None

    def _watch(self) -> None:
        tick = min(1.0, self.timeout / 10)
        while True:
            time.sleep(tick)
            with self._lock:
                what, idle = self._what, time.monotonic() - self._last
            if what is not None and idle > self.timeout:
                self._expire(what)

    def message(self, what: str, exit_status: int | None = None) -> str:
        where = f" ({self.context})" if self.context else ""
        return (
            f"No progress for {self.timeout:g} s while {what}{where}: another process died, "
            f"hangs or never joined. This process stops (exit status "
            f"{exit_status or self.exit_code}); start every process again with --resume to "
            "rerun the unfinished runs."
        )

    @contextmanager
    def from_outside(self, what: str) -> Iterator[None]:
        """Watch ``what`` from a small watcher process, for a call that holds Python's GIL
        while it waits (TensorFlow's MultiWorkerMirroredStrategy while the workers join):
        the watchdog's thread cannot run then. The watcher prints the message and kills this
        process (exit status 137) when the block lasts over ``timeout``."""
        watcher = subprocess.Popen(
            [sys.executable, "-c", _WATCHER, str(self.timeout), str(os.getpid())],
            stdin=subprocess.PIPE,
            text=True,
        )
        watcher.stdin.write(self.message(what, 137) + "\n")
        watcher.stdin.flush()
        try:
            yield
        finally:
            watcher.stdin.close()  # done in time: the watcher ends without a word
            watcher.wait()

    def _expire(self, what: str) -> None:
        message = self.message(what)
        try:
            if self.on_expire is not None:
                self.on_expire(message)
        finally:
            print(f"Error: {message}", file=sys.stderr, flush=True)
            os._exit(self.exit_code)


_WATCHER = """
import os, select, signal, sys
timeout, pid = float(sys.argv[1]), int(sys.argv[2])
message = sys.stdin.readline().strip()
if not select.select([sys.stdin], [], [], timeout)[0]:
    print("Error: " + message, file=sys.stderr, flush=True)
    os.kill(pid, signal.SIGKILL)
"""
