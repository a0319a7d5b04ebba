"""Datasets as numpy arrays (``load_dataset``) and augmentation pipelines."""

from kerascnn.data.datasets import (
    DATASET_DESCRIPTIONS,
    Dataset,
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
