"""Several processes (on one or many hosts) training one data-parallel model.

The engines do the work. On JAX, ``keras.distribution.initialize`` starts JAX's distributed
runtime (process 0 runs its coordinator), ``keras.distribution.DataParallel`` then spans the
devices of every process and XLA reduces the gradients across them. On TensorFlow,
``tf.distribute.MultiWorkerMirroredStrategy`` reads the ``TF_CONFIG`` this module writes (every
process listens at its own address) and all-reduces with collective ops; Keras 3's ``fit`` needs
:class:`kerascnn.distributed.multiworker.MultiWorkerModel` under it (keras-team/keras#20585). This
module holds what surrounds them:

* :func:`resolve_cluster`: the launch facts, from ``--coordinator/--num-processes/--process-id``
  or, when those are absent, from the variables a cluster launcher sets (Keras'
  ``KERAS_DISTRIBUTION_*``, JAX's ``JAX_COORDINATOR_ADDRESS/JAX_NUM_PROCESSES/JAX_PROCESS_ID``
  or TensorFlow's ``TF_CONFIG``);
* :func:`check_launch`: bad launches as clear errors before anything starts (backend, address,
  a coordinator port this host cannot bind);
* :func:`join` (under a :class:`~kerascnn.distributed.watchdog.Watchdog` phase) and :func:`allgather`,
  which the suite uses to compare config hashes and to share process 0's list of runs.
"""

from __future__ import annotations

import hashlib
import json
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

BACKENDS = ("jax", "tensorflow")

_joined: Cluster | None = None
_strategy = None  # TensorFlow's MultiWorkerMirroredStrategy, once joined


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

    def worker_address(self, i: int) -> str:
        """Where process ``i`` listens on TensorFlow: its own address, or with one address
        given (one machine), the coordinator's port plus ``i``."""
        if len(self.addresses) == self.num_processes:
            return self.addresses[i]
        host, port = parse_address(self.coordinator)
        return f"{host}:{port + i}" if ":" not in host else f"[{host}]:{port + i}"

    def tf_config(self) -> str:
        """The ``TF_CONFIG`` of this process (every worker's address, this task's index)."""
        workers = [self.worker_address(i) for i in range(self.num_processes)]
        task = {"type": "worker", "index": self.process_id}
        return json.dumps({"cluster": {"worker": workers}, "task": task})

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
    if not given and environ.get("TF_CONFIG"):
        coordinator, num_processes, process_id = _from_tf_config(environ["TF_CONFIG"])
        source = "environment (TF_CONFIG)"
    elif not given:
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


def _from_tf_config(text: str) -> tuple[str, int, int]:
    try:
        spec = json.loads(text)
        workers, index = spec["cluster"]["worker"], spec["task"]["index"]
        assert spec["task"].get("type", "worker") == "worker" and workers
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError(
            'TF_CONFIG must be {"cluster": {"worker": ["HOST:PORT", ...]}, "task": {"type": '
            f'"worker", "index": I}}. Received: TF_CONFIG={text[:300]!r}'
        ) from None
    return ",".join(workers), len(workers), index


def _resolve_host(address: str, what: str):
    host, port = parse_address(address)
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(
            f"The {what}'s host does not resolve ({exc.strerror}). Received: {address}"
        ) from None


def check_launch(cluster: Cluster, backend: str) -> None:
    """Errors a launch would otherwise meet later (or as a hang): the backend, an address
    that does not resolve, a port this process must listen on but cannot (process 0's
    coordinator on JAX; every process's own address on TensorFlow)."""
    if backend not in BACKENDS:
        raise ConfigError(
            "Multi-process training runs on the JAX and TensorFlow backends. "
            f"Received: KERAS_BACKEND={backend}"
        )
    _resolve_host(cluster.coordinator, "coordinator")
    if backend == "jax" and not cluster.is_chief:
        return
    own = cluster.coordinator if backend == "jax" else cluster.worker_address(cluster.process_id)
    family, kind, proto, _, where = _resolve_host(own, f"process {cluster.process_id}")
    with socket.socket(family, kind, proto) as s:
        try:
            s.bind(where)
        except OSError as exc:
            raise ConfigError(
                f"{cluster.label} must listen at {own}, but this host cannot ({exc.strerror}): "
                "the port is taken, or the address is not one of this host's. Choose a free "
                f"port on that host. Received: --coordinator {','.join(cluster.addresses)}"
            ) from None


def join(cluster: Cluster, watchdog=None, what: str = "joining") -> None:
    """Start the backend's multi-process runtime (blocks until every process joined): JAX's
    through ``keras.distribution.initialize``; TensorFlow's MultiWorkerMirroredStrategy, whose
    wait holds the GIL (so a ``watchdog`` watches it from outside)."""
    global _joined, _strategy
    from contextlib import nullcontext

    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        os.environ["TF_CONFIG"] = cluster.tf_config()
        with watchdog.from_outside(what) if watchdog else nullcontext():
            _strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _joined = cluster
        allgather([0])  # a first collective: every worker is there
        return
    keras.distribution.initialize(
        ",".join(cluster.addresses), cluster.num_processes, cluster.process_id
    )
    _joined = cluster


def strategy():
    """TensorFlow's MultiWorkerMirroredStrategy of the joined cluster (None otherwise)."""
    return _strategy


def joined() -> Cluster | None:
    """The cluster this process joined (None: it runs alone)."""
    return _joined


def device_count() -> int:
    """Devices over every process of the joined runtime (the replicas of one global batch)."""
    if _strategy is not None:
        return _strategy.num_replicas_in_sync
    import jax

    return jax.device_count()


def allgather(words: Sequence[int]) -> np.ndarray:
    """Every process's ``words`` (int32 each), as rows in process order: (processes, len)."""
    local = np.asarray(words, dtype=np.int32)
    if _strategy is not None:  # one row per replica, the replicas of a worker in a block
        rows = _strategy.gather(_strategy.run(lambda: local[None]), axis=0).numpy()
        return rows.reshape(-1, len(local))[:: len(rows) // _joined.num_processes]
    from jax.experimental import multihost_utils

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
    "device_count",
    "digest_words",
    "free_port",
    "join",
    "joined",
    "strategy",
    "parse_address",
    "resolve_cluster",
]
