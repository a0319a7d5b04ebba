"""``load_dataset(name)``: named image-classification datasets as numpy arrays.

Where a named dataset is looked for, in order (the first complete copy wins):

1. ``data_dir`` (``--data-dir``), then ``$KERASCNN_DATA_DIR``: the IDX files directly in it or
   in a sub-folder named after the dataset (``fashion-mnist/``, ``mnist/``);
2. known local copies: Debian's ``dataset-fashion-mnist`` package installs
   ``/usr/share/datasets/fashion-mnist/*.gz``;
3. the Keras cache (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``);
4. tensorflow-datasets (downloads; needs network). Set ``KERASCNN_NO_DOWNLOAD=1`` to skip.

When nothing is found the error lists every place that was tried and how to get the data.
A file that exists but is corrupt raises :class:`CorruptDataError` at once (a broken copy is
never silently skipped in favour of another).
"""

from __future__ import annotations

import os
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerascnn.data.dataset import Dataset
from kerascnn.data.idx import read_idx_images, read_idx_labels
from kerascnn.errors import CorruptDataError, DatasetNotFoundError

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

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

EMBEDDED_DIR = Path(__file__).parent / "embedded"


# --------------------------------------------------------------------------- locations


def _keras_cache() -> Path:
    home = os.environ.get("KERAS_HOME")
    return Path(home) / "datasets" if home else Path.home() / ".keras" / "datasets"


def _user_dirs(data_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    dirs = []
    if data_dir is not None:
        dirs.append((Path(data_dir).expanduser(), "--data-dir"))
    env = os.environ.get("KERASCNN_DATA_DIR")
    if env:
        dirs.append((Path(env).expanduser(), "$KERASCNN_DATA_DIR"))
    return dirs


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
    )
    return ds.validate()


def _tfds_allowed() -> bool:
    return os.environ.get("KERASCNN_NO_DOWNLOAD", "") in ("", "0")


def _load_tfds(tfds_name: str, name: str, class_names, data_dir) -> Dataset:
    import tensorflow_datasets as tfds  # lazy: heavy, and needs TensorFlow

    kwargs = {"data_dir": str(data_dir)} if data_dir else {}
    (xtr, ytr), (xte, yte) = tfds.as_numpy(
        tfds.load(tfds_name, split=["train", "test"], batch_size=-1, as_supervised=True, **kwargs)
    )
    ds = Dataset(
        name,
        xtr.astype(np.uint8),
        ytr.astype(np.int64),
        xte.astype(np.uint8),
        yte.astype(np.int64),
        tuple(class_names),
        source=f"tensorflow-datasets:{tfds_name}",
    )
    return ds.validate()


def _not_found(name: str, tried: list[str], how: str, errors: list[str]) -> DatasetNotFoundError:
    where = "; ".join(tried)
    extra = f" Download attempt failed: {' | '.join(errors)}." if errors else ""
    return DatasetNotFoundError(f"Dataset {name!r} was not found. Looked in: {where}.{extra} {how}")


def _idx_dataset(
    name: str,
    sub: str,
    class_names,
    system_dirs: list[Path],
    tfds_name: str,
    keras_npz: str | None,
    how: str,
) -> Callable:
    def load(data_dir=None) -> Dataset:
        tried: list[str] = []
        candidates: list[tuple[Path, str]] = []
        for folder, label in _user_dirs(data_dir):
            candidates += [(folder, label), (folder / sub, label)]
        candidates += [(d, "system copy") for d in system_dirs]
        candidates += [(_keras_cache() / sub, "Keras cache")]
        for folder, label in candidates:
            tried.append(f"{folder} ({label})")
            files = _find_idx_set(folder)
            if files:
                return _load_idx_set(name, files, class_names)
        if keras_npz:
            npz = _keras_cache() / keras_npz
            tried.append(f"{npz} (Keras cache)")
            if npz.is_file():
                return load_npz(npz, name=name, class_names=class_names)
        errors: list[str] = []
        if data_dir is None and _tfds_allowed():
            tried.append(f"tensorflow-datasets '{tfds_name}' (download)")
            try:
                return _load_tfds(tfds_name, name, class_names, None)
            except Exception as exc:  # network, missing package, checksum: report, don't crash
                errors.append(
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                )
        raise _not_found(name, tried, how, errors)

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


def load_cifar10(data_dir=None) -> Dataset:
    """CIFAR-10 from the Keras cache (``cifar-10-batches-py``), a data dir, or tensorflow-datasets."""
    tried: list[str] = []
    folders = [d / "cifar-10-batches-py" for d, _ in _user_dirs(data_dir)] + [
        d for d, _ in _user_dirs(data_dir)
    ]
    folders.append(_keras_cache() / "cifar-10-batches-py")
    for folder in folders:
        tried.append(str(folder))
        if (folder / "data_batch_1").is_file() and (folder / "test_batch").is_file():
            return _load_cifar_batches(folder)
        tar = folder / "cifar-10-python.tar.gz"
        if tar.is_file():
            with tarfile.open(tar) as tf:
                tf.extractall(folder, filter="data")
            return _load_cifar_batches(folder / "cifar-10-batches-py")
    errors: list[str] = []
    if data_dir is None and _tfds_allowed():
        tried.append("tensorflow-datasets 'cifar10' (download)")
        try:
            return _load_tfds("cifar10", "cifar10", CIFAR10_CLASSES, None)
        except Exception as exc:
            errors.append(
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            )
    raise _not_found(
        "cifar10",
        tried,
        "Run keras.datasets.cifar10.load_data() once online (it fills ~/.keras/datasets), or pass "
        "--data-dir with the python-version batches (cifar-10-batches-py).",
        errors,
    )


def _load_cifar_batches(folder: Path) -> Dataset:
    def read(path: Path):
        try:
            with open(path, "rb") as fh:
                d = pickle.load(fh, encoding="bytes")
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return x, np.asarray(d[b"labels"], dtype=np.int64)
        except Exception as exc:
            raise CorruptDataError(
                f"{path} is not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})."
            ) from None

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
    )
    return ds.validate()


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
        name or path.stem, class_names=tuple(class_names), source=str(path), **arrays
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
    return ds


DATASETS: dict[str, Callable[..., Dataset]] = {
    "fashion_mnist_mini": load_fashion_mnist_mini,
    "fashion_mnist": _idx_dataset(
        "fashion_mnist",
        "fashion-mnist",
        FASHION_MNIST_CLASSES,
        [Path("/usr/share/datasets/fashion-mnist")],
        "fashion_mnist",
        None,
        FASHION_HOW,
    ),
    "mnist": _idx_dataset(
        "mnist",
        "mnist",
        MNIST_CLASSES,
        [Path("/usr/share/datasets/mnist")],
        "mnist",
        "mnist.npz",
        MNIST_HOW,
    ),
    "cifar10": load_cifar10,
}

DATASET_DESCRIPTIONS = {
    "fashion_mnist_mini": "embedded 6,000/1,000 stratified Fashion-MNIST subset, 28x28x1 (offline default)",
    "fashion_mnist": "Fashion-MNIST 60,000/10,000, 28x28x1 (Debian dataset-fashion-mnist, --data-dir, Keras cache, TFDS)",
    "mnist": "MNIST 60,000/10,000, 28x28x1 (--data-dir, Keras cache, TFDS)",
    "cifar10": "CIFAR-10 50,000/10,000, 32x32x3 (Keras cache, --data-dir, TFDS)",
    "npz:PATH": "any .npz with x_train, y_train, x_test, y_test (optional class_names)",
}


def list_datasets() -> list[str]:
    return sorted(DATASETS) + ["npz:PATH"]


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load a dataset by name; see the module docstring for where each is looked for.

    Names: ``fashion_mnist_mini`` (embedded, offline), ``fashion_mnist``, ``mnist``,
    ``cifar10``, ``npz:PATH``. Images come back uint8 NHWC, labels int64.
    """
    if not isinstance(name, str):
        raise DatasetNotFoundError(f"A dataset name must be a string. Received: {name!r}")
    if name.startswith("npz:"):
        return load_npz(name[4:])
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
    return DATASETS[key](data_dir=data_dir)
