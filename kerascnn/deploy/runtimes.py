"""An exported artifact running in its own runtime: numpy images in, class scores out.

Each predictor takes float32 NHWC images (the Keras model's input) of any batch size and
returns float32 scores; ``threads`` is the runtime's thread setting (None: its own choice).

* keras: the ``.keras`` file through kerascnn's compiled inference path (the bench's: a frozen
  TensorFlow graph on a CPU);
* litert: ai-edge-litert's ``Interpreter``; the input is resized to each batch; int8 inputs
  and outputs (``int8_io``) are quantized and dequantized with the tensors' own scale and
  zero point;
* onnx: onnxruntime's ``InferenceSession`` (CPU), ``intra_op_num_threads``;
* openvino: ``Core().compile_model`` on the CPU, ``INFERENCE_NUM_THREADS``, in float32
  (``INFERENCE_PRECISION_HINT``: OpenVINO's own default on CPUs with bfloat16 units is bfloat16,
  which would make the float target a silently reduced-precision one);
* saved_model: ``tf.saved_model.load`` and its ``serve`` endpoint (export checks only).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

from kerascnn._quiet import captured_stderr
from kerascnn.deploy.targets import EXTRA, Target
from kerascnn.errors import KerasCNNError


def dist_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


class KerasPredictor:
    runtime, dist = "keras", "keras"

    def __init__(self, path: Path, threads: int | None = None, model=None):
        """``model``: the file already loaded (the runner's reference), else ``path`` is loaded."""
        import keras

        import kerascnn.layers  # noqa: F401 (registers kerascnn's layers for loading)
        from kerascnn.accel.inference import compile_inference

        self.threads = threads  # TensorFlow's pools are process-wide: set before it starts
        self.model = model if model is not None else keras.saving.load_model(path, compile=False)
        self.inference = compile_inference(self.model, jit="auto")

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.inference.host(np.ascontiguousarray(x, "float32")))


class LiteRTPredictor:
    runtime, dist = "litert", "ai-edge-litert"

    def __init__(self, path: Path, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.threads = threads
        with captured_stderr():  # "Created TensorFlow Lite XNNPACK delegate": shown when verbose
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.batch = None

    def _resize(self, n: int) -> None:
        if self.batch != n:
            shape = [n, *self.input["shape"][1:]]
            self.interpreter.resize_tensor_input(self.input["index"], shape)
            with captured_stderr():
                self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]
            self.batch = n

    def predict(self, x: np.ndarray) -> np.ndarray:
        self._resize(len(x))
        dtype = self.input["dtype"]
        if dtype != np.float32:  # int8 input: quantize with the tensor's scale and zero point
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], np.ascontiguousarray(x, dtype))
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self.output["index"])
        if self.output["dtype"] != np.float32:
            scale, zero = self.output["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return np.asarray(y, np.float32)


class OnnxPredictor:
    runtime, dist = "onnxruntime", "onnxruntime"

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.name = self.session.get_inputs()[0].name

    def predict(self, x: np.ndarray) -> np.ndarray:
        feed = {self.name: np.ascontiguousarray(x, "float32")}
        return np.asarray(self.session.run(None, feed)[0], np.float32)


class OpenVINOPredictor:
    runtime, dist = "openvino", "openvino"

    def __init__(self, path: Path, threads: int | None = None):
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.threads = threads
        self.compiled = core.compile_model(str(path), "CPU", config)
        self.out = self.compiled.output(0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.compiled(np.ascontiguousarray(x, "float32"))[self.out], np.float32)


class SavedModelPredictor:
    runtime, dist = "tensorflow", "tensorflow"

    def __init__(self, path: Path, threads: int | None = None):
        import tensorflow as tf

        self.threads = threads
        self.loaded = tf.saved_model.load(str(path))  # holds the variables `serve` reads
        self.serve = self.loaded.serve

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.serve(np.ascontiguousarray(x, "float32")), np.float32)


PREDICTORS = {
    "keras": KerasPredictor,
    "litert": LiteRTPredictor,
    "onnxruntime": OnnxPredictor,
    "openvino": OpenVINOPredictor,
    "tensorflow": SavedModelPredictor,
}


def open_runtime(target: Target, path: Path, threads: int | None = None):
    """A predictor running ``path`` (``target``'s artifact) in ``target``'s runtime."""
    missing = target.missing()
    if missing:
        raise KerasCNNError(
            f"Target {target.name} needs {', '.join(missing)}, which is not installed: {EXTRA}. "
            f"Received: target={target.name!r}"
        )
    return PREDICTORS[target.runtime](Path(path), threads)


def runtime_version(target: Target) -> str | None:
    return dist_version(PREDICTORS[target.runtime].dist)
