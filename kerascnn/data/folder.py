"""``folder:PATH``: a folder of images, one sub-folder per class (the layout of
``keras.utils.image_dataset_from_directory``)::

    PATH/cat/001.jpg           PATH/train/cat/001.jpg  PATH/test/cat/101.jpg
    PATH/cat/002.png    or     PATH/train/dog/...      PATH/test/dog/...
    PATH/dog/...               (test/ may be named val/ or validation/)

With ``train/`` and a ``test/`` (or ``val/``, ``validation/``) folder, those are the splits and
must hold the same class folders. Otherwise the class folders of PATH are split: a seeded,
stratified ``test_fraction`` of each class is held out for testing (every class keeps at least
one training image). Class names are the sorted folder names, labels 0..K-1. Images are found
recursively inside each class folder: .jpg .jpeg .png .bmp .gif (any case; a GIF gives its first
frame); other files and hidden entries (``.name``) are ignored.

Images are decoded with Pillow: when every image is grayscale the dataset has 1 channel,
otherwise 3 (RGB; alpha is dropped, grayscale images are repeated into 3 channels). A first
pass reads only the headers (size, mode) to check readability, sizes and the memory limit before
anything is decoded; a second pass decodes (and, with ``image_size``, resizes) into the arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerascnn.data.dataset import (
    Dataset,
    check_in_memory,
    split_text,
    stratified_split,
)
from kerascnn.data.resize import BatchResizer, check_aspect, check_image_size
from kerascnn.errors import CorruptDataError, DatasetNotFoundError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
TEST_FOLDERS = ("test", "validation", "val")  # the first present is the test split
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
LAYOUT = "PATH/<class>/<image files>, e.g. PATH/cat/001.jpg and PATH/dog/001.jpg"


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir())


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _image_files(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder``, hidden entries skipped, in sorted order."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in sorted(filenames) if _is_image_name(f)]
    return found


def _class_files(folder: Path, root: Path) -> dict[str, list[Path]]:
    """``{class name: image files}`` for the class folders of ``folder``; errors for none."""
    classes = {d.name: _image_files(d) for d in _visible_dirs(folder)}
    if not classes:
        loose = sum(1 for p in folder.iterdir() if p.is_file() and _is_image_name(p.name))
        note = (
            f" ({loose} images lie directly in it: put them in one folder per class)"
            if loose
            else ""
        )
        raise DatasetNotFoundError(
            f"{folder} has no class folders{note}. A folder dataset holds one sub-folder per "
            f"class with the images inside: {LAYOUT}. Received: folder:{root}"
        )
    if not any(classes.values()):
        raise DatasetNotFoundError(
            f"No images ({' '.join(IMAGE_EXTENSIONS)}) in any class folder of {folder} "
            f"(folders: {', '.join(sorted(classes))}). Received: folder:{root}"
        )
    empty = [str(folder / c) for c, files in classes.items() if not files]
    if empty:
        raise CorruptDataError(
            f"Class folder{'s' if len(empty) > 1 else ''} {', '.join(empty)} hold"
            f"{'' if len(empty) > 1 else 's'} no images ({' '.join(IMAGE_EXTENSIONS)}); every "
            f"class needs at least one. Add images or remove the folder. Received: folder:{root}"
        )
    if len(classes) < 2:
        raise CorruptDataError(
            f"{folder} has a single class folder ({next(iter(classes))}): classification needs "
            f"at least 2 classes, one folder each. Received: folder:{root}"
        )
    return classes


def _split_folders(root: Path) -> tuple[Path, Path, list[str]] | None:
    """``(train, test, unused split folders)`` when ``root`` holds train/ and test/ (or val/,
    validation/) and nothing that looks like a class beside them; None for a class layout."""
    dirs = {d.name.lower(): d for d in _visible_dirs(root)}
    tests = [dirs[n] for n in TEST_FOLDERS if n in dirs]
    if "train" not in dirs or not tests:
        return None
    others = [d for n, d in dirs.items() if n != "train" and n not in TEST_FOLDERS]
    classy = [d.name for d in others if _image_files(d)]
    if classy:
        raise CorruptDataError(
            f"{root} holds split folders ({dirs['train'].name}/, {tests[0].name}/) and, beside "
            f"them, folders with images ({', '.join(classy)}). Put every class folder inside "
            f"{dirs['train'].name}/ and {tests[0].name}/, or use a plain layout without split "
            f"folders ({LAYOUT}). Received: folder:{root}"
        )
    return dirs["train"], tests[0], [d.name for d in tests[1:]]


def _is_gray(im) -> bool:
    if im.mode in GRAY_MODES:
        return True
    if im.mode == "P":
        pal = im.getpalette() or []
        return bool(pal) and all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal), 3))
    return False


def _bad_file(path: Path, exc: BaseException, root: Path) -> CorruptDataError:
    return CorruptDataError(
        f"{path} is not a readable image ({type(exc).__name__}: {exc}). Remove or replace it, or "
        f"pass skip_bad=True (--skip-bad-images) to skip unreadable files. Received: folder:{root}"
    )


def _gray_array(im) -> np.ndarray:
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16") or (im.mode == "I" and arr.size and arr.max() > 255):
            arr = arr / 257.0  # 16-bit to 8-bit
        return np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return np.asarray(im.convert("L"), dtype=np.uint8)


def _decode(path: Path, channels: int) -> np.ndarray:
    """The image at ``path`` as HWC uint8 with ``channels`` (1: grayscale, 3: RGB)."""
    from PIL import Image

    with Image.open(path) as im:
        im.seek(0)  # a GIF's first frame
        if _is_gray(im):
            gray = _gray_array(im)[..., None]
            return gray if channels == 1 else np.repeat(gray, 3, axis=-1)
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _read_headers(files, root: Path, skip_bad: bool, skipped: list[str]):
    """``[(width, height), is_gray]`` per file (None for a skipped unreadable one)."""
    from PIL import Image

    heads = []
    for path in files:
        try:
            with Image.open(path) as im:
                heads.append((im.size, _is_gray(im)))
        except Exception as exc:
            if not skip_bad:
                raise _bad_file(path, exc, root) from None
            skipped.append(str(path))
            heads.append(None)
    return heads


def _decode_all(files, labels, shape, root, aspect, skip_bad, skipped):
    x = np.empty((len(files), *shape), np.uint8)
    resizer = BatchResizer(x, aspect)
    keep = np.ones(len(files), bool)
    for i, path in enumerate(files):
        try:
            image = _decode(path, shape[2])
        except Exception as exc:
            if not skip_bad:
                raise _bad_file(path, exc, root) from None
            skipped.append(str(path))
            keep[i] = False
            continue
        resizer.add(i, image)
    resizer.flush()
    y = np.asarray(labels, np.int64)
    return (x, y) if keep.all() else (x[keep], y[keep])


def _collect(root: Path):
    """``(class names, {"train"|"test": (files, labels)}, split text or None)``; the test part
    is empty (and the split None) for a class layout, which is split later."""
    splits = _split_folders(root)
    if splits:
        train_dir, test_dir, unused = splits
        train, test = _class_files(train_dir, root), _class_files(test_dir, root)
        if set(train) != set(test):
            only_tr, only_te = sorted(set(train) - set(test)), sorted(set(test) - set(train))
            raise CorruptDataError(
                f"{train_dir} and {test_dir} hold different class folders: only in "
                f"{train_dir.name}/: {', '.join(only_tr) or '-'}; only in {test_dir.name}/: "
                f"{', '.join(only_te) or '-'}. Both splits need the same classes. "
                f"Received: folder:{root}"
            )
        split = f"{train_dir.name}/ and {test_dir.name}/ folders"
        split += f" ({', '.join(u + '/' for u in unused)} not used)" if unused else ""
    else:
        train, test, split = _class_files(root, root), {}, None  # split below, once readable
    class_names = tuple(sorted(train))
    index = {c: i for i, c in enumerate(class_names)}
    parts = {
        part: ([f for c in class_names for f in d.get(c, [])],
               [index[c] for c in class_names for _ in d.get(c, [])])
        for part, d in (("train", train), ("test", test))
    }  # fmt: skip
    return class_names, parts, split


def load_folder(
    path: str | os.PathLike,
    *,
    image_size=None,
    aspect: str = "squash",
    test_fraction: float = 0.2,
    seed: int = 0,
    skip_bad: bool = False,
) -> Dataset:
    """A :class:`Dataset` from a folder of class folders; see the module docstring."""
    image_size, aspect = check_image_size(image_size), check_aspect(aspect)
    root = Path(path).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DatasetNotFoundError(
            f"{root} {what}. A folder dataset is a folder with one sub-folder per class holding "
            f"the images: {LAYOUT}. Received: folder:{path}"
        )
    root = root.resolve()
    class_names, parts, split = _collect(root)
    skipped: list[str] = []
    heads = {p: _read_headers(files, root, skip_bad, skipped) for p, (files, _) in parts.items()}
    for part, (files, labels) in list(parts.items()):  # drop the unreadable ones
        ok = [i for i, h in enumerate(heads[part]) if h is not None]
        parts[part] = ([files[i] for i in ok], [labels[i] for i in ok])
        heads[part] = [heads[part][i] for i in ok]
    for part, (_, labels) in parts.items():
        missing = sorted(set(range(len(class_names))) - set(labels))
        if missing and (part == "train" or split):
            names = ", ".join(class_names[i] for i in missing)
            raise CorruptDataError(
                f"No readable images are left in class folder(s) {names} of {root}"
                f"{'/' + part if split else ''} after skipping unreadable files. "
                f"Received: folder:{root}"
            )

    all_heads = heads["train"] + heads["test"]
    all_files = parts["train"][0] + parts["test"][0]
    channels = 1 if all(gray for _, gray in all_heads) else 3
    if image_size is None:
        sizes = [wh for wh, _ in all_heads]
        odd = next((i for i, wh in enumerate(sizes) if wh != sizes[0]), None)
        if odd is not None:
            (w0, h0), (w1, h1) = sizes[0], sizes[odd]
            raise CorruptDataError(
                f"The images of {root} differ in size: {all_files[0]} is {h0}x{w0} (height x "
                f"width) but {all_files[odd]} is {h1}x{w1}. Pass image_size=(height, width) "
                f"(--image-size) to resize them all at load time. Received: image_size=None"
            )
        image_size = (sizes[0][1], sizes[0][0])
    shape = (*image_size, channels)
    check_in_memory(root.name, len(all_files), shape)

    if split is None:
        tr, te = stratified_split(parts["train"][1], test_fraction, seed)
        files, labels = parts["train"]
        parts = {
            "train": ([files[i] for i in tr], [labels[i] for i in tr]),
            "test": ([files[i] for i in te], [labels[i] for i in te]),
        }
        split = split_text(test_fraction, seed)
    xtr, ytr = _decode_all(*parts["train"], shape, root, aspect, skip_bad, skipped)
    xte, yte = _decode_all(*parts["test"], shape, root, aspect, skip_bad, skipped)
    return Dataset(
        root.name, xtr, ytr, xte, yte, class_names, str(root), split, tuple(skipped)
    ).validate()
