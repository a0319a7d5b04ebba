"""Exceptions with messages meant for people: what was received, what is accepted."""


class KerasCNNError(ValueError):
    """Base class for kerascnn's user-facing errors (a ValueError, so callers may catch either)."""


class DatasetNotFoundError(KerasCNNError):
    """A named dataset could not be found locally (and could not be downloaded)."""


class CorruptDataError(KerasCNNError):
    """A data file exists but is truncated, has a wrong magic number or inconsistent sizes."""


class ConfigError(KerasCNNError):
    """A benchmark or experiment configuration is invalid."""
