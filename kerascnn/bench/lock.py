"""One suite per run folder: ``RUN_DIR/bench.lock``, created atomically, removed on exit.

    with RunLock(run_dir, command="kerascnn bench ...", echo=print):
        ...  # train and store; a second suite on the same folder gets a ConfigError

The lock file is created with ``os.open(O_CREAT | O_EXCL)`` (exactly one process wins) and
holds JSON ``{"pid", "host", "started", "command"}``. It is removed when the ``with`` block
ends: normally, on an exception and on Ctrl-C (KeyboardInterrupt). Only ``kill -9`` (or a
crash of Python itself) leaves it behind; the next suite then finds a lock whose process is
gone on this host (a *stale* lock), says so in one line and takes it over. A lock written on
another host is never taken over: this host cannot tell whether that process still runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kerascnn.errors import ConfigError
from kerascnn.record.layout import LOCK_NAME, lock_path
from kerascnn.record.store import utc_now

_HELD: set[str] = set()
"""Lock files held by this process (a lock with our pid that is not here is stale: pid reuse)."""


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), on Linux; None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: start time after boot
        btime = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _started_epoch(info: dict[str, Any]) -> float | None:
    try:
        stamp = datetime.strptime(str(info.get("started")), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC).timestamp()


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one of another user counts).

    On Windows ``os.kill`` would end the process, so there every pid counts as alive (a
    lock left there is deleted by hand)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


class RunLock:
    """The lock of one run folder; a context manager (see the module docstring)."""

    def __init__(
        self,
        run_dir: str | os.PathLike,
        *,
        command: str | None = None,
        echo: Callable[[str], None] = print,
    ):
        self.run_dir = Path(run_dir)
        self.path = lock_path(self.run_dir)
        self._key = os.path.abspath(self.path)
        self.command = command
        self.echo = echo
        self.info: dict[str, Any] | None = None

    # ------------------------------------------------------------------ reading a lock
    def read(self) -> dict[str, Any] | None:
        """The lock file's JSON; None when there is none; {} when it cannot be parsed.

        A lock is created empty and written at once; an empty file seen in that instant
        is read again for a moment before it counts as unparsable.
        """
        for attempt in range(10):
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            except OSError:
                text = ""
            try:
                data = json.loads(text)
                return data if isinstance(data, dict) else {}
            except ValueError:
                if attempt < 9:
                    time.sleep(0.05)
        return {}

    def _stale_why(self, info: dict[str, Any]) -> str | None:
        """Why the lock ``info`` is stale (its process is gone), or None while it is held."""
        pid, host = info.get("pid"), info.get("host")
        if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(host, str):
            return "the lock file is damaged (no pid and host in it)"
        if host != socket.gethostname():
            return None
        if pid == os.getpid():
            return None if self._key in _HELD else "its pid is now this very process"
        if not pid_alive(pid):
            return f"process {pid} is no longer running (killed or crashed)"
        began, locked = _process_start(pid), _started_epoch(info)
        if began is not None and locked is not None and began > locked + 2:
            return f"process {pid} is now another program (started after the lock)"
        return None

    def _describe(self, info: dict[str, Any]) -> str:
        command = f", command {info['command']!r}" if info.get("command") else ""
        return (
            f"process {info.get('pid')} on host {info.get('host')!r}, started "
            f"{info.get('started', '?')}{command}"
        )

    def _refuse(self, info: dict[str, Any]) -> ConfigError:
        received = f"Received: --out {str(self.run_dir)!r}"
        if not info:
            return ConfigError(
                f"The run folder {self.run_dir} is locked by another suite (lock file "
                f"{self.path}, which kept changing). Wait for it to finish, or choose another "
                f"--out. {received}"
            )
        if info.get("host") != socket.gethostname():
            return ConfigError(
                f"The run folder {self.run_dir} is locked by {self._describe(info)} (lock file "
                f"{self.path}). That is another host than this one ({socket.gethostname()!r}), "
                f"so kerascnn cannot tell whether it still runs and does not take the lock "
                f"over. If that suite has stopped, delete {self.path} and run again; else "
                f"choose another --out. {received}"
            )
        return ConfigError(
            f"Another suite is running in the run folder {self.run_dir}: {self._describe(info)} "
            f"(lock file {self.path}). Wait for it to finish (then --resume continues the "
            f"folder), or choose another --out. {received}"
        )

    # ------------------------------------------------------------------ taking and giving back
    def _create(self) -> bool:
        """Create the lock file holding this process's JSON; False if it exists already."""
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": utc_now(),
            "command": self.command,
        }
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(info, indent=1) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        self.info = info
        _HELD.add(self._key)
        return True

    def acquire(self) -> RunLock:
        """Take the lock, taking a stale one over; ConfigError while another suite holds it."""
        if self.info is not None:
            return self
        for _ in range(5):
            if self._create():
                return self
            info = self.read()
            if info is None:  # released in the meantime: try again
                continue
            why = self._stale_why(info)
            if why is None:
                raise self._refuse(info)
            if self.read() != info:  # changed under us: another suite took it over first
                continue
            self.path.unlink(missing_ok=True)
            self.echo(
                f"Taking over a stale lock in {self.run_dir} ({LOCK_NAME} of "
                f"{self._describe(info)}): {why}."
            )
        info = self.read() or {}
        raise self._refuse(info)

    def release(self) -> None:
        """Remove the lock file, if it is still ours (never another suite's)."""
        if self.info is None:
            return
        with contextlib.suppress(OSError):
            if self.read() == self.info:
                self.path.unlink()
        _HELD.discard(self._key)
        self.info = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


__all__ = ["RunLock", "pid_alive"]
