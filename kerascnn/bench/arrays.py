"""The arrays a benchmark run trains and evaluates on (numpy only)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass
class Arrays:
    """The data of one run: float32 images in [0, 1], int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_shape: tuple[int, ...]
    normalization: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    """(mean, std) per channel when the run normalizes its inputs (``normalize="per_channel"``)."""

    @functools.cached_property
    def y_train_onehot(self) -> np.ndarray:
        return one_hot(self.y_train, self.num_classes)

    @functools.cached_property
    def y_test_onehot(self) -> np.ndarray:
        return one_hot(self.y_test, self.num_classes)


def prepare_data(ds, cfg, seed: int) -> Arrays:
    """``ds`` (a Dataset) as float arrays; seeded subsets of ``cfg.train_limit``/``test_limit``."""
    rng = np.random.default_rng(seed)

    def subset(x, y, limit):
        if limit is None or limit >= len(x):
            return x, y
        idx = np.sort(rng.choice(len(x), size=limit, replace=False))
        return x[idx], y[idx]

    xtr, ytr = subset(ds.x_train, ds.y_train, cfg.train_limit)
    xte, yte = subset(ds.x_test, ds.y_test, cfg.test_limit)
    scale = np.float32(255.0)
    return Arrays(
        x_train=xtr.astype(np.float32) / scale,
        y_train=ytr.astype(np.int64),
        x_test=xte.astype(np.float32) / scale,
        y_test=yte.astype(np.int64),
        num_classes=int(ds.num_classes),
        input_shape=tuple(ds.input_shape),
        normalization=ds.channel_stats if cfg.normalize == "per_channel" else None,
    )


def one_hot(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(y), n), dtype=np.float32)
    out[np.arange(len(y)), y] = 1.0
    return out
