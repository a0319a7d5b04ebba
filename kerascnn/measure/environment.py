"""The environment a run was measured in: hardware, backend, versions, commit, command line."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

from kerascnn.record.run import Environment, GitInfo


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> GitInfo:
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return GitInfo(commit=None, dirty=None)
    return GitInfo(commit=sha or None, dirty=bool(dirty) if sha else None)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("kerascnn", "keras", "numpy", "tensorflow", "jax", "jaxlib", "torch"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


def device_name(backend: str | None = None) -> str:
    """The device ``backend`` (default: Keras' active backend) computes on, in words.

    ``"GPU: <name> (xN)"`` (N devices of that kind; a TPU reads ``"TPU: ..."``) or
    ``"CPU: <model>"``, the format of every stored result. Never raises: a broken driver
    gives the CPU.
    """
    if backend is None:
        import keras

        backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"GPU: {details.get('device_name', gpus[0].name)} (x{len(gpus)})"
        elif backend == "jax":
            import jax

            dev = jax.devices()[0]
            if dev.platform != "cpu":
                return f"{dev.platform.upper()}: {dev.device_kind} (x{len(jax.devices())})"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU: {torch.cuda.get_device_name(0)} (x{torch.cuda.device_count()})"
    except Exception:  # a broken driver must not stop a CPU benchmark
        pass
    return f"CPU: {_cpu_model()}"


def cpu_counts() -> dict[str, int | None]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"logical_cpus": os.cpu_count(), "usable_cpus": usable}


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB), from getrusage."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def environment(argv: list[str] | None = None) -> Environment:
    """Everything a reader needs to know where the numbers came from."""
    import keras

    backend = keras.backend.backend()
    return Environment(
        backend=backend,
        versions=_versions(),
        device=device_name(backend),
        cpu=_cpu_model(),
        **cpu_counts(),
        platform=platform.platform(),
        hostname=platform.node(),
        git=_git_commit(),
        command=" ".join(argv if argv is not None else ["kerascnn", *sys.argv[1:]]),
        load_average_at_start=load_average(),
    )
