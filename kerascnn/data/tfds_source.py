"""``tfds:NAME``: a dataset already prepared by tensorflow-datasets, read from disk (never
downloaded).

The data dir is ``data_dir`` (``--data-dir``), else ``$TFDS_DATA_DIR``, else tensorflow-datasets'
default ``~/tensorflow_datasets``. NAME may carry a config and version as tensorflow-datasets
spells them (``tfds:cifar10``, ``tfds:mnist:3.0.1``, ``tfds:NAME/CONFIG``). The dataset needs an
``Image`` feature and a ``ClassLabel`` label (its supervised keys, or features ``image`` and
``label``); class names come from the ClassLabel.

Splits: ``splits=(train, test)`` when given (any tensorflow-datasets split strings, e.g.
``("train[:90%]", "train[90%:]")``); else ``train`` and ``test``; else ``train`` and
``validation``; else ``train`` with a seeded, stratified ``test_fraction`` held out. Images may
vary in size when ``image_size`` is given (each is resized); grayscale stays 1 channel.

The named sets (``cifar10``, ``mnist``, ...) never go through tensorflow-datasets: when no local
copy exists they fetch keras.datasets' own files (:mod:`kerascnn.data.fetch`).
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import numpy as np

from kerascnn.data.dataset import (
    Dataset,
    check_in_memory,
    short_error,
    split_text,
    stratified_split,
)
from kerascnn.data.resize import BatchResizer, check_aspect, check_image_size
from kerascnn.errors import ArgumentError, CorruptDataError, DatasetNotFoundError, KerasCNNError


def check_splits(splits) -> tuple[str, str] | None:
    """``splits`` as ``(train_split, test_split)`` strings, or None; ArgumentError otherwise."""
    if splits is None:
        return None
    if (
        isinstance(splits, list | tuple)
        and len(splits) == 2
        and all(isinstance(s, str) and s.strip() for s in splits)
    ):
        return (splits[0].strip(), splits[1].strip())
    raise ArgumentError(
        "splits must be None or a pair (train_split, test_split) of tensorflow-datasets split "
        f"strings, e.g. ('train[:90%]', 'train[90%:]'). Received: splits={splits!r}"
    )


def tfds_data_dir(data_dir=None) -> tuple[Path, str]:
    """``(folder, where it came from)``: data_dir, else $TFDS_DATA_DIR, else the default."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get("TFDS_DATA_DIR")
    if env:
        return Path(env).expanduser(), "$TFDS_DATA_DIR"
    return Path.home() / "tensorflow_datasets", "the tensorflow-datasets default"


def _not_prepared(name: str, folder: Path, label: str, extra: str) -> DatasetNotFoundError:
    base = name.split(":")[0].split("/")[0]
    return DatasetNotFoundError(
        f"tensorflow-datasets {name!r} is not prepared in {folder} ({label}){extra}. kerascnn "
        f"never downloads a tfds: dataset. On a machine with network, prepare it with "
        f'`tfds build {base} --data_dir DIR` or `python -c "import tensorflow_datasets as tfds; '
        f"tfds.load('{base}', data_dir='DIR')\"`, then copy DIR here and pass --data-dir DIR "
        f"(data_dir=DIR) or set TFDS_DATA_DIR=DIR. Received: tfds:{name}"
    )


def _builder(tfds, name: str, folder: Path, label: str):
    try:
        builder = tfds.builder(name, data_dir=str(folder))
    except Exception as exc:  # unknown name (tfds' DatasetNotFoundError), bad version, ...
        base = name.split(":")[0].split("/")[0]
        try:
            known = tfds.list_builders(with_community_datasets=False)
        except Exception:
            known = []
        close = difflib.get_close_matches(base, known, n=3, cutoff=0.6)
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        hint = f"; did you mean: {', '.join(close)}?" if close and base not in known else ""
        raise _not_prepared(name, folder, label, f" ({first}{hint})") from None
    if not builder.is_prepared():
        raise _not_prepared(name, folder, label, "")
    return builder


def _keys(tfds, info, name: str) -> tuple[str, str]:
    feats = info.features
    keys = info.supervised_keys
    pairs = [tuple(keys[:2])] if isinstance(keys, tuple | list) and len(keys) >= 2 else []
    for img, lab in [*pairs, ("image", "label")]:
        if not (isinstance(img, str) and isinstance(lab, str)):
            continue
        if img in feats and lab in feats:
            if isinstance(feats[img], tfds.features.Image) and isinstance(
                feats[lab], tfds.features.ClassLabel
            ):
                return img, lab
    found = ", ".join(f"{k}: {type(feats[k]).__name__}" for k in feats.keys())
    raise ArgumentError(
        f"tensorflow-datasets {name!r} is not an image-classification dataset kerascnn can read: "
        f"it needs an Image feature and a ClassLabel label (its supervised keys, or features "
        f"'image' and 'label'). Its features: {found}; supervised keys: {keys}. "
        f"Received: tfds:{name}"
    )


def _choose_splits(info, name: str, splits) -> tuple[str, str | None]:
    if splits:
        return splits
    have = set(info.splits.keys())
    for test in ("test", "validation"):
        if "train" in have and test in have:
            return "train", test
    if "train" in have:
        return "train", None
    raise ArgumentError(
        f"tensorflow-datasets {name!r} has no 'train' split (its splits: "
        f"{', '.join(sorted(have))}); pass splits=(train_split, test_split), e.g. "
        f"('{sorted(have)[0]}[:80%]', '{sorted(have)[0]}[80%:]'). Received: tfds:{name}"
    )


def _count(info, name: str, split: str) -> int:
    try:
        return int(info.splits[split].num_examples)
    except Exception as exc:
        have = ", ".join(f"{k} ({v.num_examples:,})" for k, v in info.splits.items())
        raise ArgumentError(
            f"{split!r} is not a split of tensorflow-datasets {name!r} ({type(exc).__name__}: "
            f"{exc}); its splits: {have}. Received: split {split!r}"
        ) from None


def _tf_error(exc: BaseException) -> str:
    """The cause in a tf.data error (``Invalid PNG ...``), without the iterator's plumbing."""
    line = (str(exc).splitlines() or [""])[0]
    line = re.sub(r"\{\{[^}]*\}\}\s*", "", line)
    line = re.sub(r"^.*Iterator::\S+: ", "", line)
    return f"{type(exc).__name__}: {line[:200]}"


def _split_dataset(tfds, builder, split, keys, skip_bad):
    """The ``(image, label)`` batches of one split (256 a batch when every image has one
    shape, else 1), skipping examples that fail to decode when ``skip_bad``."""
    img_key, lab_key = keys
    static = all(d is not None for d in builder.info.features[img_key].shape)
    ds = builder.as_dataset(
        split=split, shuffle_files=False, read_config=tfds.ReadConfig(try_autocache=False)
    )
    ds = ds.map(lambda ex: (ex[img_key], ex[lab_key]))
    if skip_bad:
        ds = ds.ignore_errors()
    return ds.batch(256 if static else 1)


def _first_image(state, split, index, shape, name) -> None:
    """Record the first image seen; the target shape's unknown entries come from it."""
    state["first"] = (split, index, shape)
    known = state["shape"] or (None, None, None)
    state["shape"] = tuple(k or d for k, d in zip(known, shape))
    if None in known:
        check_in_memory(name, state["count"], state["shape"])


def _check_image(state, shape, target, split, index, count, name) -> None:
    """CorruptDataError when image ``index`` of ``split`` does not fit ``target`` (h, w, c) or
    lies beyond the ``count`` examples the metadata promises."""
    if shape[-1] != target[-1] or (not state["resize"] and shape != target):
        f_split, f_index, f_shape = state["first"]
        raise CorruptDataError(
            f"The images of tensorflow-datasets {name!r} differ in size: example "
            f"{f_index} of split {f_split!r} is {'x'.join(map(str, f_shape))} but "
            f"example {index} of split {split!r} is {'x'.join(map(str, shape))} "
            f"(height x width x channels). Pass image_size=(height, width) "
            f"(--image-size) to resize them all at load time. "
            f"Received: image_size=None"
        )
    if index >= count:
        raise CorruptDataError(
            f"Split {split!r} of tensorflow-datasets {name!r} holds more examples "
            f"than its metadata says ({count}). Received: tfds:{name}"
        )


def _read_split(tfds, builder, split, keys, count, state, name, skip_bad, skipped):
    """``(x, y)`` of one split. ``state`` is shared between the splits: ``shape`` (the target
    (h, w, c); None entries are set from the first image), ``aspect``, ``resize`` (False: every
    image must have ``shape``) and ``first`` (the first image seen, for the size error)."""
    ds = _split_dataset(tfds, builder, split, keys, skip_bad)
    y = np.empty(0, np.int64)
    resizer, got = None, 0
    try:
        for images, labels in tfds.as_numpy(ds):
            for image, label in zip(images, labels):
                if state["first"] is None:
                    _first_image(state, split, got, image.shape, name)
                if resizer is None:
                    x = np.empty((count, *state["shape"]), np.uint8)
                    y = np.empty(count, np.int64)
                    resizer = BatchResizer(x, state["aspect"])
                _check_image(state, image.shape, x.shape[1:], split, got, count, name)
                resizer.add(got, image.astype(np.uint8, copy=False))
                y[got] = label
                got += 1
    except KerasCNNError:
        raise
    except Exception as exc:
        raise CorruptDataError(
            f"Split {split!r} of tensorflow-datasets {name!r} could not be read after {got} "
            f"examples ({_tf_error(exc)}). Pass skip_bad=True (--skip-bad-images) to skip examples that "
            f"fail to decode, or prepare the dataset again. Received: tfds:{name}"
        ) from None
    if resizer is None:  # an empty split
        x = np.empty((0, *(d or 0 for d in state["shape"] or (0, 0, 0))), np.uint8)
    else:
        resizer.flush()
    if got < count:
        skipped.append(
            f"tfds:{name} split {split}: {count - got} example(s) that could not be read"
        )
    return x[:got], y[:got]


def _check_name(name: str) -> str:
    """``name`` stripped; a dataset of another namespace (``tfds:NS:NAME``) is refused."""
    name = name.strip()
    if not name:
        raise DatasetNotFoundError("tfds: needs a dataset name, e.g. tfds:mnist. Received: tfds:")
    namespace, sep, rest = name.partition(":")
    if sep and not re.fullmatch(r"\d+\.\d+\.\d+", rest):
        raise ArgumentError(
            f"tfds:{name} names a dataset in the {namespace!r} namespace; kerascnn reads only "
            f"tensorflow-datasets sets prepared on disk (tfds:NAME, tfds:NAME/CONFIG or "
            f"tfds:NAME:VERSION). Received: tfds:{name}"
        )
    return name


def _import_tfds(name: str):
    try:
        import tensorflow_datasets as tfds  # lazy: heavy, and needs TensorFlow
    except ImportError as exc:
        raise DatasetNotFoundError(
            f"tfds:{name} needs tensorflow-datasets and TensorFlow, which cannot be imported here "
            f"({short_error(exc)}). Install them (pip install tensorflow tensorflow-datasets), or "
            f"export the data as a folder (folder:PATH) or an .npz (npz:PATH). "
            f"Received: tfds:{name}"
        ) from None
    return tfds


def _read_state(builder, keys, counts, image_size, aspect) -> dict:
    """The state :func:`_read_split` shares between the splits; the memory check when the
    target shape is known before the first image."""
    info = builder.info
    h, w, c = info.features[keys[0]].shape  # any may be None
    target = (*image_size, c) if image_size else (h, w, c)
    state = {
        "shape": None if None in target[:2] else target,
        "count": sum(counts.values()),
        "aspect": aspect,
        "resize": image_size is not None,
        "first": None,
    }
    if state["shape"]:  # else checked at the first image
        check_in_memory(builder.name, state["count"], (*target[:2], c or 3))
    return state


def load_tfds(
    name: str,
    data_dir=None,
    *,
    image_size=None,
    aspect: str = "squash",
    test_fraction: float = 0.2,
    seed: int = 0,
    skip_bad: bool = False,
    splits=None,
) -> Dataset:
    """A :class:`Dataset` from a prepared tensorflow-datasets set; see the module docstring."""
    image_size, aspect = check_image_size(image_size), check_aspect(aspect)
    splits = check_splits(splits)
    name = _check_name(name)
    tfds = _import_tfds(name)
    folder, label = tfds_data_dir(data_dir)
    builder = _builder(tfds, name, folder, label)
    info = builder.info
    keys = _keys(tfds, info, name)
    train_split, test_split = _choose_splits(info, name, splits)
    counts = {s: _count(info, name, s) for s in (train_split, test_split) if s}
    state = _read_state(builder, keys, counts, image_size, aspect)
    skipped: list[str] = []
    args = (state, builder.name, skip_bad, skipped)
    xtr, ytr = _read_split(tfds, builder, train_split, keys, counts[train_split], *args)
    if test_split:
        xte, yte = _read_split(tfds, builder, test_split, keys, counts[test_split], *args)
        split = f"tfds splits {train_split} / {test_split}"
    else:
        tr, te = stratified_split(ytr, test_fraction, seed)
        xtr, ytr, xte, yte = xtr[tr], ytr[tr], xtr[te], ytr[te]
        split = f"tfds split {train_split}, {split_text(test_fraction, seed)}"
    return Dataset(
        builder.name,
        xtr,
        ytr,
        xte,
        yte,
        tuple(info.features[keys[1]].names),
        source=f"tensorflow-datasets {builder.name} {info.version} in {folder}",
        split=split,
        skipped=tuple(skipped),
    ).validate()
