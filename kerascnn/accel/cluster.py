"""Several processes (on one or many hosts) training one data-parallel model.

The engine does the work: ``keras.distribution.initialize`` starts JAX's distributed runtime
(process 0 runs its coordinator), ``keras.distribution.DataParallel`` then spans the devices of
every process and XLA reduces the gradients across them. This module holds what surrounds it:

* :func:`resolve_cluster`: the launch facts, from ``--coordinator/--num-processes/--process-id``
  or, when those are absent, from the variables a cluster launcher sets (Keras'
  ``KERAS_DISTRIBUTION_*`` or JAX's ``JAX_COORDINATOR_ADDRESS/JAX_NUM_PROCESSES/JAX_PROCESS_ID``);
* :func:`check_launch`: bad launches as clear errors before anything starts (backend, address,
  a coordinator port this host cannot bind);
* :func:`join` (under a :class:`~kerascnn.accel.watchdog.Watchdog` phase) and :func:`allgather`,
  which the suite uses to compare config hashes and to share process 0's list of runs.

TensorFlow's ``MultiWorkerMirroredStrategy`` is refused: Keras 3's ``fit`` cannot train under it
(keras-team/keras#20585; ``tests/test_cluster_tensorflow.py`` reproduces both failures).
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kerascnn.errors import ConfigError, KerasCNNError

DEFAULT_TIMEOUT = 300.0
"""Seconds a process waits for the others (to join, to finish a step) before it gives up."""

ENVIRONMENTS = (
    (
        "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "KERAS_DISTRIBUTION_PROCESS_ID",
    ),
    ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"),
)
"""(addresses, count, id) variable names read when the flags are absent, in this order."""

TENSORFLOW_REFUSAL = (
    "Multi-process training runs on the JAX backend (--backend jax). Keras 3's fit cannot train "
    "under TensorFlow's MultiWorkerMirroredStrategy: it reduces a whole (x, y) batch and then "
    "every scalar metric along axis 0 across workers, and both fail (keras-team/keras#20585). "
    "On one machine, --distribute uses MirroredStrategy over its local devices."
)


_joined: Cluster | None = None


class ClusterError(KerasCNNError):
    """The processes of one run cannot work together (a peer died, never joined, disagrees)."""


@dataclass(frozen=True)
class Cluster:
    """One process's view of a multi-process launch."""

    addresses: tuple[str, ...]
    """``HOST:PORT`` of every process, or of process 0 (the coordinator) alone."""
    num_processes: int
    process_id: int
    timeout: float = DEFAULT_TIMEOUT
    source: str = "flags"

    @property
    def coordinator(self) -> str:
        return self.addresses[0]

    @property
    def is_chief(self) -> bool:
        return self.process_id == 0

    @property
    def label(self) -> str:
        return f"process {self.process_id}/{self.num_processes}"

    def describe(self) -> str:
        return f"{self.label}, coordinator {self.coordinator}"


def parse_address(text: str, what: str = "--coordinator") -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) as (host, port); a ConfigError otherwise."""
    host, sep, port = str(text).strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"{what} takes HOST:PORT with a port from 1 to 65535, e.g. 10.0.0.1:8476. "
            f"Received: {what} {text!r}"
        )
    return host, int(port)


def _int(value, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number. Received: {name}={value!r}") from None


def resolve_cluster(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    timeout: float | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Cluster | None:
    """The launch from the flags, else from a launcher's variables; None for one process."""
    flags = {
        "--coordinator": coordinator,
        "--num-processes": num_processes,
        "--process-id": process_id,
    }
    given = [name for name, value in flags.items() if value is not None]
    source = "flags"
    if given and len(given) < 3:
        missing = [name for name in flags if name not in given]
        raise ConfigError(
            "--coordinator, --num-processes and --process-id go together (or set none and let "
            f"a launcher set {', '.join(ENVIRONMENTS[0])}). Missing: {', '.join(missing)}. "
            f"Received: {', '.join(f'{n} {flags[n]}' for n in given)}"
        )
    if not given:
        for names in ENVIRONMENTS:
            present = [n for n in names if environ.get(n)]
            if present and len(present) < 3:
                raise ConfigError(
                    f"A launch from the environment needs all of {', '.join(names)}. "
                    f"Received: only {', '.join(f'{n}={environ[n]}' for n in present)}"
                )
            if present:
                coordinator, num_processes, process_id = (environ[n] for n in names)
                source = f"environment ({names[0].rsplit('_', 2)[0]}_*)"
                break
        else:
            return None
    n = _int(num_processes, "--num-processes")
    i = _int(process_id, "--process-id")
    if n < 1:
        raise ConfigError(f"--num-processes must be 1 or more. Received: --num-processes {n}")
    if not 0 <= i < n:
        raise ConfigError(
            f"--process-id must be from 0 to {n - 1} for {n} processes (0 is the coordinator). "
            f"Received: --process-id {i}"
        )
    addresses = tuple(a.strip() for a in str(coordinator).split(",") if a.strip())
    if len(addresses) not in (1, n):
        raise ConfigError(
            f"--coordinator takes one HOST:PORT (process 0's) or one per process ({n}). "
            f"Received: {len(addresses)} addresses, {coordinator!r}"
        )
    for a in addresses:
        parse_address(a)
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"--cluster-timeout must be over 0 seconds. Received: {timeout}")
    wait = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    return Cluster(addresses, n, i, wait, source) if n > 1 else None


def check_launch(cluster: Cluster, backend: str) -> None:
    """Errors a launch would otherwise meet later (or as a hang): the backend, an address
    that does not resolve, a coordinator port process 0 cannot bind."""
    if backend == "tensorflow":
        raise ConfigError(f"{TENSORFLOW_REFUSAL} Received: KERAS_BACKEND=tensorflow")
    if backend != "jax":
        raise ConfigError(
            f"Multi-process training runs on the JAX backend (--backend jax). "
            f"Received: KERAS_BACKEND={backend}"
        )
    host, port = parse_address(cluster.coordinator)
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(
            f"The coordinator's host does not resolve ({exc.strerror}). "
            f"Received: --coordinator {cluster.coordinator}"
        ) from None
    if not cluster.is_chief:
        return
    with socket.socket(family, kind, proto) as s:
        try:
            s.bind(where)
        except OSError as exc:
            raise ConfigError(
                f"Process 0 runs the coordinator at {cluster.coordinator}, but this host cannot "
                f"listen there ({exc.strerror}): the port is taken, or the address is not one of "
                "this host's. Choose a free port on process 0's host. "
                f"Received: --coordinator {cluster.coordinator}"
            ) from None


def join(cluster: Cluster) -> None:
    """Start JAX's distributed runtime through Keras (blocks until every process joined)."""
    global _joined
    import keras

    keras.distribution.initialize(
        ",".join(cluster.addresses), cluster.num_processes, cluster.process_id
    )
    _joined = cluster


def joined() -> Cluster | None:
    """The cluster this process joined (None: it runs alone)."""
    return _joined


def allgather(words: Sequence[int]) -> np.ndarray:
    """Every process's ``words`` (int32 each), as rows in process order: (processes, len)."""
    from jax.experimental import multihost_utils

    local = np.asarray(words, dtype=np.int32)
    return np.asarray(multihost_utils.process_allgather(local)).reshape(-1, len(local))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now (for a coordinator started right after)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def digest_words(data: bytes, n: int = 4) -> list[int]:
    """The first ``n`` int32 words of the SHA-256 of ``data`` (for comparing across processes)."""
    raw = hashlib.sha256(data).digest()[: 4 * n]
    return np.frombuffer(raw, dtype="<i4").tolist()


def differing(rows: np.ndarray) -> list[int]:
    """Processes whose row differs from process 0's."""
    return [p for p in range(1, len(rows)) if not np.array_equal(rows[p], rows[0])]


__all__ = [
    "Cluster",
    "ClusterError",
    "DEFAULT_TIMEOUT",
    "ENVIRONMENTS",
    "allgather",
    "check_launch",
    "differing",
    "digest_words",
    "free_port",
    "join",
    "joined",
    "parse_address",
    "resolve_cluster",
]
