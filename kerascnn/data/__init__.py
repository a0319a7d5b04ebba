"""Datasets as numpy arrays: ``load_dataset(name)`` -> :class:`Dataset` (``kerascnn datasets``
lists the names). Augmentation runs in the benchmark's training (:mod:`kerascnn.bench`)."""

from kerascnn.data.dataset import Dataset
from kerascnn.data.datasets import (
    DATASET_DESCRIPTIONS,
    list_datasets,
    load_dataset,
    load_npz,
)
from kerascnn.data.idx import read_idx, read_idx_images, read_idx_labels

__all__ = [
    "Dataset",
    "DATASET_DESCRIPTIONS",
    "list_datasets",
    "load_dataset",
    "load_npz",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
]
