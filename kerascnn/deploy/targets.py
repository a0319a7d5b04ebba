"""The deployment targets: what each is exported as, how it is quantized, what runs it.

============== ============ =========== ===================== =========================
target         format       quantize    runtime               needs
============== ============ =========== ===================== =========================
keras          .keras       none        Keras (TF graph)      (kerascnn itself)
litert         .tflite      none        ai-edge-litert        ai-edge-litert
litert-dynamic .tflite      dynamic     ai-edge-litert        ai-edge-litert
litert-int8    .tflite      int8        ai-edge-litert        ai-edge-litert
litert-float16 .tflite      float16     ai-edge-litert        ai-edge-litert
onnx           .onnx        none        onnxruntime           onnxruntime, tf2onnx, onnx
openvino       .xml + .bin  none        OpenVINO              openvino
============== ============ =========== ===================== =========================

Quantization (LiteRT's converter): ``dynamic`` stores weights as int8 and computes in float;
``int8`` is full-integer (weights and activations int8, ranges calibrated on a representative
set of training images; inputs and outputs stay float unless ``int8_io``); ``float16`` halves
the weights. ``saved_model`` is an export format only (TensorFlow Serving), not a target.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from kerascnn.errors import ArgumentError, install_hint

FORMATS = ("keras", "saved_model", "litert", "onnx", "openvino")
QUANTIZATIONS = ("none", "dynamic", "int8", "float16")
EXTRA = install_hint("deploy")


@dataclass(frozen=True)
class Target:
    name: str
    format: str
    quantize: str
    runtime: str
    modules: tuple[str, ...]  # what must be importable to export and run it

    def missing(self) -> list[str]:
        """The modules of this target that are not installed."""
        return [m for m in self.modules if importlib.util.find_spec(m) is None]


TARGETS = {
    t.name: t
    for t in (
        Target("keras", "keras", "none", "keras", ()),
        Target("litert", "litert", "none", "litert", ("ai_edge_litert",)),
        Target("litert-dynamic", "litert", "dynamic", "litert", ("ai_edge_litert",)),
        Target("litert-int8", "litert", "int8", "litert", ("ai_edge_litert",)),
        Target("litert-float16", "litert", "float16", "litert", ("ai_edge_litert",)),
        Target("onnx", "onnx", "none", "onnxruntime", ("onnxruntime", "tf2onnx", "onnx")),
        Target("openvino", "openvino", "none", "openvino", ("openvino",)),
    )
}
DEFAULT_TARGETS = ("keras", "litert", "litert-dynamic", "litert-int8", "onnx", "openvino")
"""``kerascnn deploy`` without ``--targets`` (a missing runtime: a skipped row and one line)."""


def target_for(fmt: str, quantize: str = "none") -> Target:
    """The target of an export ``--format``/``--quantize`` pair (saved_model: export only)."""
    if fmt not in FORMATS:
        raise ArgumentError(f"format must be one of {', '.join(FORMATS)}. Received: {fmt!r}")
    if quantize not in QUANTIZATIONS:
        raise ArgumentError(
            f"quantize must be one of {', '.join(QUANTIZATIONS)}. Received: {quantize!r}"
        )
    if quantize != "none" and fmt != "litert":
        raise ArgumentError(
            "Quantization is done by the LiteRT converter: use --format litert with --quantize. "
            f"Received: format={fmt!r}, quantize={quantize!r}"
        )
    if fmt == "saved_model":
        return Target("saved_model", "saved_model", "none", "tensorflow", ("tensorflow",))
    name = fmt if quantize == "none" else f"{fmt}-{quantize}"
    return TARGETS[name]


def parse_targets(text: str | None) -> list[Target]:
    """``"keras,litert-int8"`` as targets; None = :data:`DEFAULT_TARGETS`."""
    if text is None:
        return [TARGETS[n] for n in DEFAULT_TARGETS]
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown or not names:
        raise ArgumentError(
            f"Unknown deploy target(s) {', '.join(unknown) or '(none given)'}. Known: "
            f"{', '.join(TARGETS)}. Received: --targets {text!r}"
        )
    return [TARGETS[n] for n in dict.fromkeys(names)]
