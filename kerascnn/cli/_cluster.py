"""The multi-process flags of ``kerascnn bench`` and how such a process ends."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from kerascnn.cli._options import option
from kerascnn.distributed.cluster import (
    DEFAULT_TIMEOUT,
    ENVIRONMENTS,
    Cluster,
    joined,
    resolve_cluster,
)
from kerascnn.errors import KerasCNNError

_ENV = ", ".join(ENVIRONMENTS[0])


CLUSTER_OPTIONS = (
    option(
        "--coordinator",
        default=None,
        help="Several processes train together: HOST:PORT of process 0, which runs the "
        "coordinator, or every process's address, comma-separated (TensorFlow listens on "
        "each; with one address, process i uses PORT+i). Without these three flags a "
        f"launcher's {_ENV} (or JAX_*, or TF_CONFIG) are used.",
    ),
    option(
        "--num-processes",
        type=int,
        default=None,
        help="How many processes train together (each with its own devices).",
    ),
    option(
        "--process-id",
        type=int,
        default=None,
        help="This process's index, 0 to N-1; process 0 writes the results.",
    ),
    option(
        "--cluster-timeout",
        type=float,
        default=None,
        help="Seconds a process waits for the others (joining, a step, process 0's timing "
        "between runs) before it stops with an error; the run is stored as failed and "
        f"--resume runs it again. [default: {DEFAULT_TIMEOUT:g}]",
    ),
)
"""``--coordinator``, ``--num-processes``, ``--process-id`` and ``--cluster-timeout``."""


def cluster_from(given: Mapping[str, Any]) -> Cluster | None:
    """The cluster that the values of :data:`CLUSTER_OPTIONS` among a command's keyword
    arguments ``given`` name, else a launcher's variables; None for one process."""
    return resolve_cluster(
        given["coordinator"],
        given["num_processes"],
        given["process_id"],
        timeout=given["cluster_timeout"],
    )


def leave(code: int, message: str | None = None) -> None:
    """End a process that joined a cluster now. A normal exit would wait in JAX's shutdown
    barrier for processes that may be gone (and abort after minutes)."""
    if message:
        click.echo(message, err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_joined(cluster: Cluster | None, work):
    """``work()``; a process of a joined cluster that fails ends at once with the error."""
    try:
        return work()
    except KerasCNNError as exc:
        if cluster is None or joined() is None:
            raise
        leave(1, "Error: " + " ".join(str(exc).split()))
