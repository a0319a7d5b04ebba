"""Exceptions with messages meant for people: what was received, what is accepted.

Every error kerascnn raises for a user's mistake is a :class:`KerasCNNError` (a ``ValueError``,
so ``except ValueError`` keeps working). The command line turns exactly these into a
one-paragraph message; any other exception is a bug in kerascnn and is reported as one.
"""

import functools
import re
import shlex


class KerasCNNError(ValueError):
    """Base class for kerascnn's user-facing errors (a ValueError, so callers may catch either)."""


class ArgumentError(KerasCNNError):
    """An argument of a builder, block, layer or function is invalid (unknown name, bad value)."""


class DatasetNotFoundError(KerasCNNError):
    """A named dataset could not be found locally (and could not be downloaded)."""


class CorruptDataError(KerasCNNError):
    """A data file exists but is truncated, has a wrong magic number or inconsistent sizes."""


class DatasetTooLargeError(KerasCNNError):
    """A dataset would not fit the in-memory limit (kerascnn holds datasets as numpy arrays)."""


class ConfigError(KerasCNNError):
    """A benchmark or experiment configuration is invalid."""


class ReportError(KerasCNNError):
    """A run folder cannot be reported on (missing, or holds no results)."""


class SchemaVersionError(KerasCNNError):
    """A stored result was written in a schema version this kerascnn does not read."""

    def __init__(self, source: str, found: object, expected: int):
        self.source, self.found, self.expected = str(source), found, expected
        if isinstance(found, int) and not isinstance(found, bool) and found > expected:
            hint = "It was written by a newer kerascnn: upgrade kerascnn to read it."
        elif isinstance(found, int) and not isinstance(found, bool):
            hint = "It was written by an older kerascnn: rerun the benchmark with this version."
        else:
            hint = "Its schema version is not a number."
        super().__init__(
            f"{self.source} was written in schema version {found!r}; this kerascnn reads schema "
            f"version {expected} only. {hint} Received: schema={found!r} in {self.source}"
        )

    def __reduce__(self):  # pickle with the constructor's arguments, not the message
        return type(self), (self.source, self.found, self.expected)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error: Python's MemoryError or a backend's
    (TensorFlow ``ResourceExhaustedError``, XLA/JAX ``RESOURCE_EXHAUSTED``, CUDA "out of memory")."""
    if isinstance(exc, MemoryError):
        return True
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(
        k in text for k in ("resourceexhausted", "resource_exhausted", "out of memory", "oom when")
    )


def install_hint(extra: str) -> str:
    """How to install kerascnn's optional ``extra`` (kerascnn is not on PyPI, so
    ``pip install "kerascnn[extra]"`` cannot work): the checkout's editable install with the extra,
    or the extra's own packages, read from the installed kerascnn's metadata (editable or wheel).

    >>> install_hint("tensorboard")  # doctest: +SKIP
    'the tensorboard extra: pip install -e ".[tensorboard]" in the kerascnn checkout, or pip install tensorboard'
    """
    hint = f'the {extra} extra: pip install -e ".[{extra}]" in the kerascnn checkout'
    packages = _extra_requirements(extra)
    return f"{hint}, or pip install {' '.join(packages)}" if packages else hint


@functools.cache
def _extra_requirements(extra: str) -> tuple[str, ...]:
    """The requirements the installed kerascnn lists under ``extra``, shell-quoted (empty if none)."""
    from importlib import metadata

    try:
        requires = metadata.requires("kerascnn") or []
    except metadata.PackageNotFoundError:  # run from a checkout on sys.path, not installed
        return ()
    wanted = re.compile(rf"""\s*extra\s*==\s*["']{re.escape(extra)}["']\s*""")
    return tuple(
        shlex.quote(spec.strip())
        for spec, _, marker in (r.partition(";") for r in requires)
        if wanted.fullmatch(marker)
    )
