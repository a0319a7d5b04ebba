"""CIFAR-10 and CIFAR-100 (100 fine labels) from their python-version files.

Where each is looked for, in order (the first complete copy wins):

1. ``data_dir`` (``--data-dir``), then ``$KERASCNN_DATA_DIR``: the sub-folder
   ``cifar-10-batches-py/`` / ``cifar-100-python/``, or the folder itself;
2. the Keras cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``): the same sub-folder,
   directly or where Keras 3 extracts it (``cifar-10-batches-py-target/``);
3. an archive ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` in any of those folders
   (extracted beside itself, safely: ``tarfile`` filter ``"data"``);
4. a download of keras.datasets' archive, extracted into the Keras cache
   (:mod:`kerascnn.data.fetch`; only without ``data_dir`` and when downloads are allowed).

CIFAR-10 is ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``; CIFAR-100 is ``train``,
``test`` and ``meta`` (class names; a built-in list when absent). The pickles are read with an
unpickler that accepts only plain containers and numpy arrays; a broken file raises
:class:`CorruptDataError` naming it.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from kerascnn.data.dataset import (
    Dataset,
    keras_cache,
    short_error,
    user_dirs,
)
from kerascnn.data.fetch import fetch_or_fail
from kerascnn.errors import CorruptDataError

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR100_CLASSES = tuple(
    """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
    butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab
    crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard
    lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom
    oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine
    possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper snail snake
    spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor
    train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split()
)

_CIFAR = {  # name: (sub-folder, archive, files that make a complete copy, how to get it)
    "cifar10": (
        "cifar-10-batches-py",
        "cifar-10-python.tar.gz",
        ("data_batch_1", "test_batch"),
        "Run keras.datasets.cifar10.load_data() once online (it fills ~/.keras/datasets), or "
        "pass --data-dir with the python-version batches (cifar-10-batches-py).",
    ),
    "cifar100": (
        "cifar-100-python",
        "cifar-100-python.tar.gz",
        ("train", "test"),
        "Run keras.datasets.cifar100.load_data() once online (it fills ~/.keras/datasets), or "
        "pass --data-dir with the python version (cifar-100-python/ holding train, test and "
        "meta, or cifar-100-python.tar.gz).",
    ),
}

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol 2 spells Python 3 bytes
}


class _CifarUnpickler(pickle.Unpickler):
    """Plain containers and numpy arrays only: a data file must not run code."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def _read_pickle(path: Path, what: str, keys: tuple[bytes, ...]) -> dict:
    try:
        with open(path, "rb") as fh:
            d = _CifarUnpickler(fh, encoding="bytes").load()
        if not isinstance(d, dict):
            raise TypeError(f"it holds a {type(d).__name__}, not a dict")
        missing = [k.decode() for k in keys if k not in d]
        if missing:
            raise KeyError(f"no {', '.join(missing)} in it")
        return d
    except Exception as exc:
        raise CorruptDataError(f"{path} is not a readable {what} ({short_error(exc)}).") from None


def _images(d: dict, path: Path, what: str, label_key: bytes):
    try:
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.asarray(d[label_key], dtype=np.int64).reshape(-1)
    except Exception as exc:
        raise CorruptDataError(f"{path} is not a readable {what} ({short_error(exc)}).") from None
    return x, y


def _load_cifar_batches(folder: Path) -> Dataset:
    """CIFAR-10 from ``folder`` (``data_batch_1`` ... ``data_batch_5``, ``test_batch``)."""

    def read(path: Path):
        d = _read_pickle(path, "CIFAR-10 batch", (b"data", b"labels"))
        return _images(d, path, "CIFAR-10 batch", b"labels")

    parts = [read(folder / f"data_batch_{i}") for i in range(1, 6)]
    xte, yte = read(folder / "test_batch")
    ds = Dataset(
        "cifar10",
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        xte,
        yte,
        CIFAR10_CLASSES,
        source=str(folder),
        split="the dataset's own data_batch_1-5 / test_batch",
    )
    return ds.validate()


def _load_cifar100_files(folder: Path) -> Dataset:
    """CIFAR-100 (fine labels) from ``folder`` (``train``, ``test``, optional ``meta``)."""
    what = "CIFAR-100 file"
    arrays = {}
    for part in ("train", "test"):
        path = folder / part
        d = _read_pickle(path, what, (b"data", b"fine_labels"))
        arrays[part] = _images(d, path, what, b"fine_labels")
    names = CIFAR100_CLASSES
    meta = folder / "meta"
    if meta.is_file():
        d = _read_pickle(meta, "CIFAR-100 meta file", (b"fine_label_names",))
        try:
            names = tuple(
                n.decode() if isinstance(n, bytes) else str(n) for n in d[b"fine_label_names"]
            )
        except Exception as exc:
            raise CorruptDataError(
                f"{meta} is not a readable CIFAR-100 meta file ({short_error(exc)})."
            ) from None
    ds = Dataset(
        "cifar100",
        *arrays["train"],
        *arrays["test"],
        names,
        source=str(folder),
        split="the dataset's own train / test files",
    )
    return ds.validate()


def _extract(tar: Path) -> None:
    try:
        with tarfile.open(tar) as tf:
            tf.extractall(tar.parent, filter="data")
    except Exception as exc:
        raise CorruptDataError(f"{tar} is not a readable archive ({short_error(exc)}).") from None


def _load_cifar(name: str, data_dir, reader) -> Dataset:
    sub, archive, needed, how = _CIFAR[name]
    dirs = [d for d, _ in user_dirs(data_dir)]
    cache = keras_cache()
    folders = [d / sub for d in dirs] + dirs + [cache / sub, cache / f"{sub}-target" / sub]
    tried: list[str] = []
    for folder in folders:
        tried.append(str(folder))
        if all((folder / f).is_file() for f in needed):
            return reader(folder)
        tar = folder / archive
        if tar.is_file():
            _extract(tar)
            return _from_archive(tar, sub, needed, reader)
    tar = cache / archive
    tried.append(str(tar))
    if tar.is_file():
        _extract(tar)
        return _from_archive(tar, sub, needed, reader)

    def read(folder: Path) -> Dataset:  # a fetched archive: extracted, then read
        _extract(folder / archive)
        return _from_archive(folder / archive, sub, needed, reader)

    return fetch_or_fail(name, data_dir, tried, how, read)


def _from_archive(tar: Path, sub: str, needed, reader) -> Dataset:
    folder = tar.parent / sub
    if not all((folder / f).is_file() for f in needed):
        raise CorruptDataError(
            f"{tar} does not hold {sub}/ with {', '.join(needed)} (extracted into {tar.parent})."
        )
    return reader(folder)


def load_cifar10(data_dir=None) -> Dataset:
    """CIFAR-10 (50,000 / 10,000, 32x32x3); see the module docstring for where it is looked for."""
    return _load_cifar("cifar10", data_dir, _load_cifar_batches)


def load_cifar100(data_dir=None) -> Dataset:
    """CIFAR-100 with its 100 fine labels (50,000 / 10,000, 32x32x3)."""
    return _load_cifar("cifar100", data_dir, _load_cifar100_files)
