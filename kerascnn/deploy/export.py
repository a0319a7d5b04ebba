"""Write a model as a target's artifact, through Keras' own ``Model.export`` where Keras has the
format (``tf_saved_model``, ``litert``, ``onnx``, ``openvino``), and check it.

LiteRT quantization passes the converter's own settings through Keras' LiteRT exporter:
``optimizations=[Optimize.DEFAULT]`` (dynamic: int8 weights), plus ``supported_types=[float16]``
(float16 weights), or a representative dataset and ``TFLITE_BUILTINS_INT8`` (full integer; the
ranges of every activation calibrated on the given training images). Every LiteRT artifact is
restricted to the builtin operators, so it runs in the plain LiteRT runtime (no TensorFlow
"select" ops): a model that needs more fails at conversion, where the error names the op.

:func:`check_artifact` compares an artifact's outputs with the Keras model's on the same
images: float formats must agree within 1e-4 relative (the largest difference over the largest
Keras output); quantized ones are judged by how often their top-1 class is the Keras model's.

Artifact names (:func:`artifact_path`): ``<key>__<target><ext>`` (``lenet__litert-int8.tflite``,
``lenet__openvino.xml``), shortened to ``<key><ext>`` where the extension is the target's name
(``lenet.onnx``); so one folder holds every target of every model, one file (or OpenVINO's
.xml/.bin pair) each. The keras target keeps its ``__keras`` (``lenet__keras.keras``): a plain
``lenet.keras`` is the trained model it is exported from. ``saved_model`` is a folder
``<key>/`` (``saved_model.pb`` inside).

The converters print from C++ (LiteRT's quantizer: ``fully_quantize: 0, inference_type: 6 ...``)
and Keras' ONNX exporter trips a NumPy FutureWarning (``np.object``) on import: conversion runs
with file descriptor 2 captured (:func:`kerascnn._quiet.captured_stderr`; shown when it fails,
or always under ``--debug`` / ``KERASCNN_VERBOSE=1``) and that one warning filtered.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerascnn._quiet import captured_stderr
from kerascnn.deploy.targets import Target
from kerascnn.errors import ArgumentError

SUFFIX = {"keras": ".keras", "saved_model": "", "litert": ".tflite", "onnx": ".onnx"}
SUFFIX["openvino"] = ".xml"  # with its weights beside it, same stem, .bin
FLOAT_TOLERANCE = 1e-4
NP_OBJECT_WARNING = r"In the future `np\.object` will be defined"
"""NumPy's FutureWarning when Keras' ONNX exporter (keras/src/export/tf2onnx_lib.py) asks for
``np.object``: Keras' own check, nothing a user can act on."""


def artifact_path(folder: str | Path, stem: str, target: Target) -> Path:
    """Where ``target``'s artifact of the model ``stem`` goes: ``<stem>__<target><ext>``, or
    ``<stem><ext>`` where the extension is the target's name (onnx), never ``<stem>.keras``
    (the source model's own name); ``saved_model``: the folder ``<stem>``."""
    ext = SUFFIX[target.format]
    plain = target.format == "saved_model" or (ext == f".{target.name}" and ext != ".keras")
    name = stem if plain else f"{stem}__{target.name}"
    return Path(folder) / f"{name}{ext}"


def litert_options(quantize: str, representative=None, int8_io: bool = False) -> dict:
    """The LiteRT converter's settings for ``quantize`` (Keras passes them to the converter)."""
    import tensorflow as tf

    builtins = tf.lite.OpsSet.TFLITE_BUILTINS
    if quantize == "none":
        return {"target_spec": {"supported_ops": [builtins]}}
    options: dict = {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantize == "dynamic":
        options["target_spec"] = {"supported_ops": [builtins]}
    elif quantize == "float16":
        options["target_spec"] = {"supported_ops": [builtins], "supported_types": [tf.float16]}
    elif quantize == "int8":
        if representative is None or len(representative) == 0:
            raise ArgumentError(
                "Full-integer (int8) quantization needs representative images to calibrate the "
                "activations' ranges. Received: no representative images"
            )
        images = np.asarray(representative, np.float32)

        def calibration():
            for image in images:
                yield [image[None]]

        options["representative_dataset"] = calibration
        options["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}
        if int8_io:
            options["inference_input_type"] = tf.int8
            options["inference_output_type"] = tf.int8
    return options


def export_artifact(model, path: str | Path, target: Target, *, representative=None, int8_io=False):
    """Write ``model`` to ``path`` as ``target``'s artifact; returns ``path``. The converter's
    own prints are kept off the terminal unless it fails (see the module's notes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_artifact(path)
    with captured_stderr(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", NP_OBJECT_WARNING, FutureWarning)
        _write(model, path, target, representative, int8_io)
    return path


def _write(model, path: Path, target: Target, representative, int8_io: bool) -> None:
    fmt = target.format
    if fmt == "keras":
        model.save(path)
    elif fmt == "saved_model":
        model.export(str(path), format="tf_saved_model", verbose=False)
    elif fmt == "litert":
        options = litert_options(target.quantize, representative, int8_io)
        model.export(str(path), format="litert", verbose=False, **options)
    else:  # onnx, openvino
        model.export(str(path), format=fmt, verbose=False)


def artifact_files(path: str | Path) -> list[Path]:
    """The files of an artifact: the file itself, OpenVINO's .xml and .bin, a folder's files."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    files = [path] if path.exists() else []
    if path.suffix == ".xml" and path.with_suffix(".bin").exists():
        files.append(path.with_suffix(".bin"))
    return files


def artifact_bytes(path: str | Path) -> int:
    return sum(p.stat().st_size for p in artifact_files(path))


def remove_artifact(path: str | Path) -> None:
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    for p in artifact_files(path):
        p.unlink()


@dataclass(frozen=True)
class Check:
    """How an artifact's outputs compare with the Keras model's on the same images."""

    max_rel_diff: float
    agreement: float
    """Share of images whose top-1 class is the Keras model's."""
    ok: bool
    message: str


def check_artifact(scores: np.ndarray, reference: np.ndarray, quantized: bool) -> Check:
    scores, reference = np.asarray(scores, np.float64), np.asarray(reference, np.float64)
    if scores.shape != reference.shape:
        return Check(
            float("inf"), 0.0, False, f"output shape {scores.shape}, Keras {reference.shape}"
        )
    rel = float(np.abs(scores - reference).max() / max(np.abs(reference).max(), 1e-12))
    agree = float(np.mean(scores.argmax(-1) == reference.argmax(-1)))
    if quantized:
        return Check(rel, agree, True, f"top-1 agreement with Keras {agree:.4f}")
    ok = rel <= FLOAT_TOLERANCE
    verdict = "within" if ok else "beyond"
    return Check(
        rel, agree, ok, f"max relative difference {rel:.2e} ({verdict} {FLOAT_TOLERANCE:g})"
    )
