"""Exceptions with messages meant for people: what was received, what is accepted.

Every error kerascnn raises for a user's mistake is a :class:`KerasCNNError` (a ``ValueError``,
so ``except ValueError`` keeps working). The command line turns exactly these into a
one-paragraph message; any other exception is a bug in kerascnn and is reported as one.
"""


class KerasCNNError(ValueError):
    """Base class for kerascnn's user-facing errors (a ValueError, so callers may catch either)."""


class ArgumentError(KerasCNNError):
    """An argument of a builder, block, layer or function is invalid (unknown name, bad value)."""


class DatasetNotFoundError(KerasCNNError):
    """A named dataset could not be found locally (and could not be downloaded)."""


class CorruptDataError(KerasCNNError):
    """A data file exists but is truncated, has a wrong magic number or inconsistent sizes."""


class ConfigError(KerasCNNError):
    """A benchmark or experiment configuration is invalid."""
