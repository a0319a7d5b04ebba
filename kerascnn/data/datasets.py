"""``load_dataset(name)``: image-classification datasets as numpy arrays.

Sources (``kerascnn datasets`` lists them):

* named sets: ``fashion_mnist_mini`` (embedded, offline), ``fashion_mnist``, ``mnist``,
  ``cifar10``, ``cifar100`` (:mod:`kerascnn.data.cifar`);
* ``npz:PATH``: an .npz with ``x_train, y_train, x_test, y_test`` (optional ``class_names``);
* ``folder:PATH``: one sub-folder of images per class, optionally inside ``train/`` and
  ``test/`` (:mod:`kerascnn.data.folder`);
* ``tfds:NAME``: a dataset prepared by tensorflow-datasets, read from disk, never downloaded
  (:mod:`kerascnn.data.tfds_source`).

Where a named dataset is looked for, in order (the first complete copy wins):

1. ``data_dir`` (``--data-dir``), then ``$KERASCNN_DATA_DIR``: the files directly in it or
   in a sub-folder named after the dataset (``fashion-mnist/``, ``mnist/``,
   ``cifar-10-batches-py/``, ``cifar-100-python/``);
2. known local copies: Debian's ``dataset-fashion-mnist`` package installs
   ``/usr/share/datasets/fashion-mnist/*.gz``;
3. the Keras cache (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``);
4. a download of keras.datasets' own files into the Keras cache (:mod:`kerascnn.data.fetch`;
   not with ``data_dir``, nor when ``KERASCNN_NO_DOWNLOAD=1``). Offline it fails within seconds.

When nothing is found the error lists every place that was tried, why the download failed (when
one was tried) and how to get the data; a failed download leaves nothing behind.
A file that exists but is corrupt raises :class:`CorruptDataError` at once (a broken copy is
never silently skipped in favour of another).

``image_size=(height, width)`` resizes the images of every source at load time
(:func:`kerascnn.data.resize.resize_images`, with ``aspect`` ``"squash"``, ``"crop"`` or
``"pad"``). kerascnn holds a dataset in memory: a set whose images would take more than
:data:`~kerascnn.data.dataset.MAX_IN_MEMORY_BYTES` (2 GB) raises
:class:`DatasetTooLargeError` before anything is decoded or resized.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerascnn.data.cifar import (  # noqa: F401  (the class lists: re-exported for older imports)
    CIFAR10_CLASSES,
    CIFAR100_CLASSES,
    load_cifar10,
    load_cifar100,
)
from kerascnn.data.dataset import (
    Dataset,
    check_in_memory,
    check_test_fraction,
    keras_cache,
    user_dirs,
)
from kerascnn.data.fetch import fetch_or_fail
from kerascnn.data.folder import load_folder
from kerascnn.data.idx import read_idx_images, read_idx_labels
from kerascnn.data.resize import check_aspect, check_image_size, resize_images
from kerascnn.data.tfds_source import check_splits, load_tfds
from kerascnn.errors import ArgumentError, CorruptDataError, DatasetNotFoundError

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
MNIST_CLASSES = tuple(str(i) for i in range(10))

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

EMBEDDED_DIR = Path(__file__).parent / "embedded"


# --------------------------------------------------------------------------- locations


def _find_idx_set(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder`` (plain or .gz), or None if any is missing."""
    found = {}
    for key, stem in IDX_FILES.items():
        for cand in (folder / f"{stem}.gz", folder / stem):
            if cand.is_file():
                found[key] = cand
                break
        else:
            return None
    return found


def _load_idx_set(name: str, files: dict[str, Path], class_names) -> Dataset:
    ds = Dataset(
        name=name,
        x_train=read_idx_images(files["x_train"]),
        y_train=read_idx_labels(files["y_train"], len(class_names)),
        x_test=read_idx_images(files["x_test"]),
        y_test=read_idx_labels(files["y_test"], len(class_names)),
        class_names=tuple(class_names),
        source=str(files["x_train"].parent),
        split="the dataset's own train / t10k files",
    )
    return ds.validate()


def _idx_dataset(
    name: str,
    sub: str,
    class_names,
    system_dirs: list[Path],
    keras_npz: str | None,
    how: str,
) -> Callable:
    def load(data_dir=None) -> Dataset:
        tried: list[str] = []
        candidates: list[tuple[Path, str]] = []
        for folder, label in user_dirs(data_dir):
            candidates += [(folder, label), (folder / sub, label)]
        candidates += [(d, "system copy") for d in system_dirs]
        candidates += [(keras_cache() / sub, "Keras cache")]
        for folder, label in candidates:
            tried.append(f"{folder} ({label})")
            files = _find_idx_set(folder)
            if files:
                return _load_idx_set(name, files, class_names)
        if keras_npz:
            npz = keras_cache() / keras_npz
            tried.append(f"{npz} (Keras cache)")
            if npz.is_file():
                return load_npz(npz, name=name, class_names=class_names)
        return fetch_or_fail(name, data_dir, tried, how, read)

    def read(folder: Path) -> Dataset:
        """The set from a folder of freshly fetched files (keras.datasets' own: the npz, when
        there is one, else the IDX files)."""
        if keras_npz:
            return load_npz(folder / keras_npz, name=name, class_names=class_names)
        files = _find_idx_set(folder)
        if files is None:
            raise CorruptDataError(f"{folder} lacks some of {', '.join(IDX_FILES.values())}.")
        return _load_idx_set(name, files, class_names)

    return load


FASHION_HOW = (
    "Get it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu, installs "
    "/usr/share/datasets/fashion-mnist), or put train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
    "in a folder and pass --data-dir (or set KERASCNN_DATA_DIR). Offline, "
    "'fashion_mnist_mini' (embedded) always works."
)
MNIST_HOW = (
    "Put the four MNIST IDX files (train-images-idx3-ubyte.gz, ...) in a folder and pass "
    "--data-dir (or set KERASCNN_DATA_DIR), or run keras.datasets.mnist.load_data() once online "
    "(it writes ~/.keras/datasets/mnist.npz)."
)


def load_npz(path: str | os.PathLike, name: str | None = None, class_names=None) -> Dataset:
    """A dataset from an .npz with ``x_train, y_train, x_test, y_test`` (and optional ``class_names``).

    Grayscale images stored as ``(N, H, W)`` get a channel axis.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetNotFoundError(
            f"No such file: {path}. An npz dataset needs arrays x_train, y_train, x_test, y_test. "
            f"Received: npz:{path}"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in IDX_FILES if k not in z.files]
            if missing:
                raise CorruptDataError(
                    f"{path} lacks arrays {missing}; it has {sorted(z.files)}. Expected x_train, "
                    f"y_train, x_test, y_test."
                )
            arrays = {k: z[k] for k in IDX_FILES}
            names = tuple(str(c) for c in z["class_names"]) if "class_names" in z.files else None
    except CorruptDataError:
        raise
    except Exception as exc:
        raise CorruptDataError(
            f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})."
        ) from None
    for key in ("x_train", "x_test"):
        if arrays[key].ndim == 3:
            arrays[key] = arrays[key][..., None]
        arrays[key] = arrays[key].astype(np.uint8)
    for key in ("y_train", "y_test"):
        arrays[key] = arrays[key].astype(np.int64).reshape(-1)
    if class_names is None:
        class_names = names or tuple(
            str(i) for i in range(int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1)
        )
    return Dataset(
        name or path.stem,
        class_names=tuple(class_names),
        source=str(path),
        split="the file's x_train / x_test arrays",
        **arrays,
    ).validate()


def load_fashion_mnist_mini(data_dir=None) -> Dataset:
    """The embedded stratified subset of Fashion-MNIST (6,000 train / 1,000 test; MIT licence)."""
    path = EMBEDDED_DIR / "fashion_mnist_mini.npz"
    if not path.is_file():
        raise DatasetNotFoundError(
            f"The embedded dataset is missing from the installation ({path}). Reinstall kerascnn, "
            f"or rebuild it with scripts/make_fashion_mnist_mini.py."
        )
    ds = load_npz(path, name="fashion_mnist_mini", class_names=FASHION_MNIST_CLASSES)
    ds.source = f"embedded ({path.name}: stratified subset of Fashion-MNIST)"
    ds.split = "the embedded train / test arrays (a stratified subset of each official split)"
    return ds


DATASETS: dict[str, Callable[..., Dataset]] = {
    "fashion_mnist_mini": load_fashion_mnist_mini,
    "fashion_mnist": _idx_dataset(
        "fashion_mnist",
        "fashion-mnist",
        FASHION_MNIST_CLASSES,
        [Path("/usr/share/datasets/fashion-mnist")],
        None,
        FASHION_HOW,
    ),
    "mnist": _idx_dataset(
        "mnist",
        "mnist",
        MNIST_CLASSES,
        [Path("/usr/share/datasets/mnist")],
        "mnist.npz",
        MNIST_HOW,
    ),
    "cifar10": load_cifar10,
    "cifar100": load_cifar100,
}

DATASET_DESCRIPTIONS = {
    "fashion_mnist_mini": "embedded 6,000/1,000 stratified Fashion-MNIST subset, 28x28x1 (offline default)",
    "fashion_mnist": "Fashion-MNIST 60,000/10,000, 28x28x1 (Debian dataset-fashion-mnist, --data-dir, Keras cache, download)",
    "mnist": "MNIST 60,000/10,000, 28x28x1 (--data-dir, Keras cache, download)",
    "cifar10": "CIFAR-10 50,000/10,000, 32x32x3 (Keras cache, --data-dir, download)",
    "cifar100": "CIFAR-100 50,000/10,000, 32x32x3, 100 fine labels (Keras cache, --data-dir, download)",
    "npz:PATH": "any .npz with x_train, y_train, x_test, y_test (optional class_names)",
    "folder:PATH": "your images: PATH/<class>/<files> (.jpg .png .bmp .gif), or PATH/train/ + PATH/test/",
    "tfds:NAME": "a tensorflow-datasets set already prepared in --data-dir or $TFDS_DATA_DIR (no download)",
}
SOURCE_PATTERNS = ("npz:PATH", "folder:PATH", "tfds:NAME")


def list_datasets() -> list[str]:
    """The named sets, then the source patterns ``npz:PATH``, ``folder:PATH``, ``tfds:NAME``."""
    return sorted(DATASETS) + list(SOURCE_PATTERNS)


def _resized(ds: Dataset, image_size, aspect: str) -> Dataset:
    """``ds`` with its images at ``image_size`` (the memory checked first); as is when None."""
    if image_size is None:
        return ds
    shape = (*image_size, ds.x_train.shape[-1])
    check_in_memory(ds.name, len(ds.x_train) + len(ds.x_test), shape)
    ds.x_train = resize_images(ds.x_train, image_size, aspect)
    ds.x_test = resize_images(ds.x_test, image_size, aspect)
    return ds.validate()


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    image_size=None,
    aspect: str = "squash",
    test_fraction: float = 0.2,
    seed: int = 0,
    skip_bad: bool = False,
    splits=None,
) -> Dataset:
    """Load a dataset by name; see the module docstring for the sources and where each looks.

    Names: ``fashion_mnist_mini`` (embedded, offline), ``fashion_mnist``, ``mnist``,
    ``cifar10``, ``cifar100``, ``npz:PATH``, ``folder:PATH``, ``tfds:NAME``. Images come back
    uint8 NHWC, labels int64.

    Args:
        data_dir: where named sets and ``tfds:`` look first (``--data-dir``).
        image_size: None (keep the images' size) or ``(height, width)`` (an int n means n x n):
            every source is resized to it at load time.
        aspect: ``"squash"``, ``"crop"`` or ``"pad"``: how a different aspect ratio is met.
        test_fraction, seed: the seeded, stratified test split of a source without one (a
            folder without train/ and test/, a tfds set with only a train split).
        skip_bad: skip unreadable image files (listed in ``Dataset.skipped``) instead of
            raising :class:`CorruptDataError`.
        splits: ``(train_split, test_split)`` tensorflow-datasets split strings; tfds: only.
    """
    if not isinstance(name, str):
        raise DatasetNotFoundError(f"A dataset name must be a string. Received: {name!r}")
    image_size, aspect = check_image_size(image_size), check_aspect(aspect)
    test_fraction = check_test_fraction(test_fraction)
    splits = check_splits(splits)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise ArgumentError(f"seed must be an int. Received: seed={seed!r}")
    if name.startswith("tfds:"):
        return load_tfds(
            name[5:],
            data_dir,
            image_size=image_size,
            aspect=aspect,
            test_fraction=test_fraction,
            seed=int(seed),
            skip_bad=skip_bad,
            splits=splits,
        )
    if splits is not None:
        raise ArgumentError(
            f"splits applies to tfds:NAME datasets only; {name!r} has its own train and test "
            f"data. Received: splits={splits!r}"
        )
    if name.startswith("folder:"):
        return load_folder(
            name[7:],
            image_size=image_size,
            aspect=aspect,
            test_fraction=test_fraction,
            seed=int(seed),
            skip_bad=skip_bad,
        )
    if name.startswith("npz:"):
        return _resized(load_npz(name[4:]), image_size, aspect)
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise DatasetNotFoundError(
            f"The data directory {data_dir} does not exist. Pass an existing folder that holds "
            f"the dataset's files. Received: data_dir={str(data_dir)!r}"
        )
    key = name.strip().lower().replace("-", "_")
    if key not in DATASETS:
        import difflib

        close = difflib.get_close_matches(key, list(DATASETS), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise DatasetNotFoundError(
            f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(list_datasets())}. "
            f"Received: {name!r}"
        )
    return _resized(DATASETS[key](data_dir=data_dir), image_size, aspect)
