"""Datasets as numpy arrays: ``load_dataset(name)`` -> :class:`Dataset` (``kerascnn datasets``
lists the names): named sets, ``npz:PATH``, ``folder:PATH`` (your images, one folder per class)
and ``tfds:NAME`` (a prepared tensorflow-datasets set), optionally resized at load time
(``image_size``, :mod:`kerascnn.data.resize`). Augmentation runs in the benchmark's training
(:mod:`kerascnn.bench`)."""

from kerascnn.data.dataset import Dataset, check_in_memory, stratified_split
from kerascnn.data.datasets import (
    DATASET_DESCRIPTIONS,
    list_datasets,
    load_dataset,
    load_npz,
)
from kerascnn.data.folder import load_folder
from kerascnn.data.idx import read_idx, read_idx_images, read_idx_labels
from kerascnn.data.resize import (
    ASPECT_MODES,
    check_image_size,
    resize_images,
    resizing_layer,
)
from kerascnn.data.tfds_source import load_tfds

__all__ = [
    "ASPECT_MODES",
    "Dataset",
    "DATASET_DESCRIPTIONS",
    "check_image_size",
    "check_in_memory",
    "list_datasets",
    "load_dataset",
    "load_folder",
    "load_npz",
    "load_tfds",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "resize_images",
    "resizing_layer",
    "stratified_split",
]
