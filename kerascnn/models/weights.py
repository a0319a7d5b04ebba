"""``weights=``: load a weight file into a built model, checked layer by layer first.

Accepted files:

- ``.keras`` and ``.weights.h5`` (Keras 3): the variables are keyed by layer class and order
  (``layers/conv2d_1/vars/0``), so a model built again by the same builder (any ``name=``)
  fits. They are loaded by Keras' own ``Model.load_weights``.
- ``.h5`` (the legacy format of keras.applications' ImageNet files): layers with weights are
  paired in graph order, Keras' own rule for these files. A 1x1 convolution kernel loads into
  the Dense layer of the same size (MobileNet's ImageNet classifier is such a convolution).

Before anything is assigned, every layer's variable shapes are compared with the file's; the
first layer that differs is named in the error, and the model is left untouched.

``weights="imagenet"`` for the builders with keras.applications' layout: their weight file is
looked for in the Keras cache (``$KERAS_HOME/models`` or ``~/.keras/models``) and downloaded
there only when ``$KERASCNN_NO_DOWNLOAD`` is unset; offline, the error says where it looked and
where to put the file.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from kerascnn.errors import ArgumentError

LEGACY_FORMAT = ".h5"


@dataclass(frozen=True)
class ImagenetFile:
    """keras.applications' ImageNet weight file for one configuration: name and origin."""

    file_name: str
    origin: str


# --------------------------------------------------------------------------- checks


def _snake(name: str) -> str:  # Keras' rule for the keys of a .weights.h5 file
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _model_keys(model) -> list[tuple[str, object, list[tuple]]]:
    """(file key, layer, variable shapes) per layer, as Keras writes them for this model."""
    used: dict[str, int] = {}
    out = []
    for layer in model.layers:
        key = _snake(type(layer).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        store: dict = {}
        layer.save_own_variables(store)
        out.append(
            (f"layers/{key}", layer, [tuple(store[str(i)].shape) for i in range(len(store))])
        )
    return out


def _h5_groups(h5) -> dict[str, list[tuple]]:
    """``layers/<key>`` -> variable shapes, from a Keras 3 weights file."""
    found: dict[str, list[tuple]] = {}
    if "layers" not in h5:
        return found
    for key, group in h5["layers"].items():
        if "vars" in group:
            variables = group["vars"]
            found[f"layers/{key}"] = [tuple(variables[str(i)].shape) for i in range(len(variables))]
    return found


def _open_h5(path: Path):
    import h5py

    return h5py.File(path, "r")


def _archive_weights(path: Path, folder: str) -> Path:
    """The weights file of the ``.keras`` archive ``path``, extracted into ``folder``.

    Keras reads a .keras archive's weights through the zip stream, seeking back and forth (each
    backward seek re-reads and re-checksums the archive from its start): 12 s for ResNet-101's,
    against 2 s from the extracted file."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".weights.h5")]
            if not names:
                raise _bad_file(path, "it holds no model.weights.h5")
            target = Path(folder) / "model.weights.h5"
            with archive.open(names[0]) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    except ArgumentError:
        raise
    except Exception as exc:  # not a zip, truncated, ...
        raise _bad_file(path, f"{type(exc).__name__}: {exc}") from None
    return target


def _bad_file(path: Path, why: str) -> ArgumentError:
    return ArgumentError(
        f"weights: {path} cannot be read as a Keras weight file ({why}). Pass a .keras or "
        f".weights.h5 file saved from this builder, or keras.applications' .h5. "
        f"Received: weights={str(path)!r}"
    )


def _mismatch(model, path: Path, what: str) -> ArgumentError:
    return ArgumentError(
        f"weights: {path} does not fit model {model.name!r}: {what}. Nothing was loaded; build the "
        f"model with the settings the file was saved with. Received: weights={str(path)!r}"
    )


def _check_keras_file(model, h5_path: Path, path: Path) -> None:
    """Every layer's variable shapes in ``h5_path`` (the weights of ``path``) equal the model's."""
    try:
        with _open_h5(h5_path) as h5:
            in_file = _h5_groups(h5)
    except Exception as exc:  # not HDF5, truncated, ...
        raise _bad_file(path, f"{type(exc).__name__}: {exc}") from None
    expected = {key: (layer, shapes) for key, layer, shapes in _model_keys(model) if shapes}
    for key, (layer, shapes) in expected.items():
        have = in_file.get(key)
        if have != shapes:
            held = "nothing" if have is None else f"variables of shapes {have}"
            raise _mismatch(
                model,
                path,
                f"the first layer that differs is {layer.name!r} ({type(layer).__name__}, "
                f"variables of shapes {shapes}); the file holds {held} for it ({key})",
            )
    extra = sorted(k for k, v in in_file.items() if v and k not in expected)
    if extra:
        raise _mismatch(
            model,
            path,
            f"the file holds weights for {len(extra)} layer(s) the model lacks: {extra[:3]}",
        )


def _legacy_layers(h5) -> list[tuple[str, list[np.ndarray]]]:
    """(layer name, arrays) in file order for the layers with weights (Keras 2 HDF5 layout)."""
    if "layer_names" not in h5.attrs and "model_weights" in h5:
        h5 = h5["model_weights"]
    out = []
    for raw in h5.attrs["layer_names"]:
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        group = h5[name]
        names = [
            n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]
        ]
        if names:
            out.append((name, [np.asarray(group[n]) for n in names]))
    return out


def _fit(src: np.ndarray, shape: tuple) -> np.ndarray | None:
    if src.shape == shape:
        return src
    if src.ndim == 4 and src.shape[:2] == (1, 1) and src.shape[2:] == shape:  # 1x1 conv -> Dense
        return src.reshape(shape)
    return None


def _load_legacy(model, path: Path) -> None:
    try:
        with _open_h5(path) as h5:
            saved = _legacy_layers(h5)
    except Exception as exc:
        raise _bad_file(path, f"{type(exc).__name__}: {exc}") from None
    targets = [layer for layer in model.layers if layer.weights]
    if len(saved) != len(targets):
        raise _mismatch(
            model,
            path,
            f"the file holds {len(saved)} layers with weights, the model {len(targets)}",
        )
    plan = []
    for layer, (saved_name, arrays) in zip(targets, saved):
        shapes = [tuple(w.shape) for w in layer.weights]
        fitted = [_fit(a, s) for a, s in zip(arrays, shapes)] if len(arrays) == len(shapes) else []
        if len(fitted) != len(shapes) or any(f is None for f in fitted):
            raise _mismatch(
                model,
                path,
                f"the first layer that differs is {layer.name!r} ({type(layer).__name__}, "
                f"variables of shapes {shapes}); its counterpart {saved_name!r} in the file has "
                f"{[a.shape for a in arrays]}",
            )
        plan.append((layer, fitted))
    for layer, arrays in plan:
        layer.set_weights(arrays)


def load_weights(model, weights) -> None:
    """Load ``weights`` (a path to a .keras, .weights.h5 or legacy .h5 file) into ``model``."""
    if not isinstance(weights, (str, os.PathLike)):
        raise ArgumentError(
            f"weights must be None, 'imagenet' or a path to a .keras / .weights.h5 file. "
            f"Received: weights={weights!r}"
        )
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ArgumentError(
            f"weights: no such file {path}. Pass None, 'imagenet' or the path of a .keras / "
            f".weights.h5 file. Received: weights={str(weights)!r}"
        )
    if path.name.endswith(".keras"):
        with tempfile.TemporaryDirectory(prefix="kerascnn-weights-") as folder:
            h5_path = _archive_weights(path, folder)
            _check_keras_file(model, h5_path, path)
            model.load_weights(h5_path)
    elif path.name.endswith(".weights.h5"):
        _check_keras_file(model, path, path)
        model.load_weights(path)
    elif path.name.endswith(LEGACY_FORMAT):
        _load_legacy(model, path)
    else:
        raise ArgumentError(
            f"weights: {path.name} is not a weight file kerascnn reads; use a .keras, "
            f".weights.h5 or keras.applications .h5 file. Received: weights={str(weights)!r}"
        )


# --------------------------------------------------------------------------- imagenet


def keras_models_cache() -> Path:
    """Where Keras keeps downloaded weight files: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME")
    return (Path(home) if home else Path.home() / ".keras") / "models"


def imagenet_path(model_name: str, spec: ImagenetFile) -> Path:
    """The cached ImageNet file of ``spec``; downloaded (Keras' get_file) only when allowed."""
    path = keras_models_cache() / spec.file_name
    if path.is_file():
        return path
    if os.environ.get("KERASCNN_NO_DOWNLOAD", "") in ("", "0"):
        try:
            return Path(keras.utils.get_file(spec.file_name, spec.origin, cache_subdir="models"))
        except Exception as exc:  # offline: say where we looked and what to do
            reason = f" (download failed: {type(exc).__name__})"
    else:
        reason = " (downloads are off: KERASCNN_NO_DOWNLOAD is set)"
    raise ArgumentError(
        f"{model_name}: weights='imagenet' needs keras.applications' file {spec.file_name}, which "
        f"is not in the Keras cache {path.parent}{reason}. Download it on a machine with network "
        f"from {spec.origin} and put it there (or set KERAS_HOME), or pass weights=None. "
        f"Received: weights='imagenet'"
    )


APPLICATIONS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications"


def applications_file(folder: str, file_name: str) -> ImagenetFile:
    """keras.applications' file ``file_name``, published under ``APPLICATIONS_ORIGIN/folder``."""
    return ImagenetFile(file_name, f"{APPLICATIONS_ORIGIN}/{folder}/{file_name}")
