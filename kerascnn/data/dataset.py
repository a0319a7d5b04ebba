"""``Dataset``: the arrays every loader of :mod:`kerascnn.data` returns, checked on the way in."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kerascnn.errors import CorruptDataError


@dataclass
class Dataset:
    """Image classification data: uint8 NHWC images, int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str = field(default="")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:  # short: never print the arrays
        return (
            f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
            f"classes={self.num_classes}, source={self.source!r})"
        )

    def validate(self) -> Dataset:
        """Check shapes, dtypes and labels agree; raise CorruptDataError otherwise."""
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 4:
                raise CorruptDataError(
                    f"{self.name}: x_{split} must be NHWC, got shape {x.shape} ({self.source})."
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
