"""``Dataset``: the arrays every loader of :mod:`kerascnn.data` returns, checked on the way in,
and what the loaders share: the in-memory limit, the seeded stratified split, and where named
datasets are looked for (``--data-dir``, ``$KERASCNN_DATA_DIR``, the Keras cache)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerascnn.errors import (
    ArgumentError,
    CorruptDataError,
    DatasetNotFoundError,
    DatasetTooLargeError,
)

#: The most bytes a dataset's decoded images may take: kerascnn holds a dataset in memory as
#: numpy arrays (no streaming). Checked by every loader *before* it decodes or resizes.
MAX_IN_MEMORY_BYTES = 2 * 1024**3


@dataclass
class Dataset:
    """Image classification data: uint8 NHWC images, int64 labels.

    ``split`` says how train and test were made (e.g. ``"train/ and test/ folders"``,
    ``"stratified 20% test split, seed 0"``); ``skipped`` lists the files left out as unreadable
    (``skip_bad=True``).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str = field(default="")
    split: str = field(default="")
    skipped: tuple[str, ...] = field(default=())

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @functools.cached_property
    def channel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and standard deviation of the training images in [0, 1] units: what
        per-channel normalization subtracts and divides by (CIFAR-10's: about (0.491, 0.482,
        0.447) and (0.247, 0.243, 0.262)). Float64 sums over chunks of images, so a 50,000-image
        set needs no float copy of itself."""
        channels = self.x_train.shape[-1]
        total, squares, count = np.zeros(channels), np.zeros(channels), 0
        for start in range(0, len(self.x_train), 4096):
            chunk = self.x_train[start : start + 4096].reshape(-1, channels).astype(np.float64)
            total += chunk.sum(axis=0)
            squares += np.square(chunk).sum(axis=0)
            count += len(chunk)
        mean = total / max(count, 1)
        std = np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0))
        return tuple(float(m) / 255 for m in mean), tuple(float(s) / 255 for s in std)

    def __repr__(self) -> str:  # short: never print the arrays
        extra = f", skipped={len(self.skipped)}" if self.skipped else ""
        return (
            f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
            f"classes={self.num_classes}, source={self.source!r}{extra})"
        )

    def validate(self) -> Dataset:
        """Check shapes, dtypes and labels agree; raise CorruptDataError otherwise."""
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 4:
                raise CorruptDataError(
                    f"{self.name}: x_{split} must be NHWC, got shape {x.shape} ({self.source})."
                )
            if not len(x):
                raise CorruptDataError(
                    f"{self.name}: the {split} split holds no images ({self.source}"
                    f"{'; ' + self.split if self.split else ''}); a benchmark needs both splits. "
                    f"Add images (or a {split}/ folder), or raise the test fraction. "
                    f"Received: {len(self.x_train)} train / {len(self.x_test)} test images"
                )
            if len(x) != len(y):
                raise CorruptDataError(
                    f"{self.name}: {len(x)} {split} images but {len(y)} labels ({self.source})."
                )
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise CorruptDataError(
                    f"{self.name}: {split} labels span [{y.min()}, {y.max()}] but there are "
                    f"{self.num_classes} classes ({self.source})."
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise CorruptDataError(
                f"{self.name}: train images {self.x_train.shape[1:]} and test images "
                f"{self.x_test.shape[1:]} differ in shape ({self.source})."
            )
        return self


# --------------------------------------------------------------------------- memory


def _human(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size / 10 or unit == "KB":
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} bytes"  # pragma: no cover


def check_in_memory(name: str, count: int, shape) -> int:
    """The bytes ``count`` uint8 images of ``shape`` (H, W, C) take; DatasetTooLargeError above
    :data:`MAX_IN_MEMORY_BYTES`. Call it before decoding or resizing anything."""
    h, w, c = (int(d) for d in shape)
    need = int(count) * h * w * c
    limit = MAX_IN_MEMORY_BYTES
    if need > limit:
        raise DatasetTooLargeError(
            f"Dataset {name!r} is too large: kerascnn holds a dataset in memory as arrays, and "
            f"this one needs {_human(need)} ({count:,} images at {h}x{w}x{c}); the limit is "
            f"{_human(limit)}. Use a smaller image_size (--image-size), or, for the "
            f"bench, leave the image size to the model's input (the bench can resize on the fly), "
            f"or use a subset of the data. Received: {count:,} images, image size {h}x{w}x{c}"
        )
    return need


# --------------------------------------------------------------------------- splitting


def check_test_fraction(value) -> float:
    """``value`` as a float strictly between 0 and 1; ArgumentError otherwise."""
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if not ok or not 0 < float(value) < 1:
        raise ArgumentError(
            f"test_fraction must be a number strictly between 0 and 1 (the share of each class "
            f"held out for testing). Received: test_fraction={value!r}"
        )
    return float(value)


def stratified_split(labels, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of a seeded split that holds out ``test_fraction`` of each class
    (rounded, at least one image of a class with two or more); every class keeps at least one
    training image. Both index arrays come back sorted."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test: list[np.ndarray] = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        n_test = 0 if len(idx) < 2 else min(len(idx) - 1, max(1, round(len(idx) * test_fraction)))
        test.append(rng.permutation(idx)[:n_test])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def split_text(test_fraction: float, seed: int) -> str:
    return f"stratified {test_fraction * 100:g}% test split, seed {seed}"


# --------------------------------------------------------------------------- locations


def keras_cache() -> Path:
    """The Keras dataset cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME")
    return Path(home) / "datasets" if home else Path.home() / ".keras" / "datasets"


def user_dirs(data_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """``(folder, label)`` for ``data_dir`` (--data-dir) and ``$KERASCNN_DATA_DIR``, in order."""
    dirs = []
    if data_dir is not None:
        dirs.append((Path(data_dir).expanduser(), "--data-dir"))
    env = os.environ.get("KERASCNN_DATA_DIR")
    if env:
        dirs.append((Path(env).expanduser(), "$KERASCNN_DATA_DIR"))
    return dirs


def downloads_allowed() -> bool:
    """False when ``$KERASCNN_NO_DOWNLOAD`` is set (to anything but 0)."""
    return os.environ.get("KERASCNN_NO_DOWNLOAD", "") in ("", "0")


def not_found(
    name: str, tried: list[str], how: str, failed: str = "", data_dir=None
) -> DatasetNotFoundError:
    """The error of a named set found nowhere: every place in ``tried``, the sentence ``failed``
    (why fetching it failed; empty when nothing was fetched) and ``how`` to get it."""
    where = "; ".join(tried)
    extra = f" {failed}" if failed else ""
    received = f"dataset={name!r}" + (
        f", data_dir={str(data_dir)!r}" if data_dir is not None else ""
    )
    return DatasetNotFoundError(
        f"Dataset {name!r} was not found. Looked in: {where}.{extra} {how} Received: {received}"
    )


def short_error(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}"
