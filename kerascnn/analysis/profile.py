"""Per-layer profile of any Keras model: shapes, parameters, MACs, other ops, receptive field, memory.

Conventions (the ones torchvision, timm and most papers use, so numbers compare):

- **MACs** are the multiply-accumulates of convolutions (standard, grouped, dilated,
  depthwise, separable, transposed) and dense/einsum layers, per sample. This is what
  torchvision's model tables and timm call "GFLOPS"/"GMACs" (ResNet-50: 4.09 G for
  torchvision's v1.5, MobileNetV2: 0.30 G). **FLOPs = 2 x MACs** (one multiply + one add).
  Kernel taps over zero padding are counted (as torchvision/fvcore do); ``padding_macs``
  says how many of the MACs those are (XLA's cost analysis leaves them out).
- **Other ops** are counted separately and never mixed into MACs: bias adds and fused
  activations (1 per output element), BatchNorm at inference (2 per element: the folded
  scale and shift), Layer/Group normalisation (5 per element), activations (1 per element,
  softmax 3), pooling windows (one op per window element per output), global pooling (one per
  input element), merges (Add/Multiply/Subtract/Maximum/Minimum: n-1 per output element,
  Average one more), Rescaling/Normalization (2 per element). Reshapes, padding,
  concatenation, dropout and the like cost nothing.
- **Receptive field** of a layer's output on the model input, per spatial dimension: ``size``
  (input pixels one output unit sees, unclipped: it may exceed the image), ``jump`` (input
  pixels between neighbouring output units) and ``start`` (input coordinate of the first
  pixel seen by output unit 0; negative over zero padding). Through branches the receptive
  field is the union of the branches'. After global pooling, Flatten or a Dense layer on
  flattened features, every unit sees the whole input: ``jump`` is ``None`` and ``size`` is
  the extent of that union. Transposed convolutions and upsampling give an upper bound
  (marked ``~`` in the notes).
- **Activation bytes**: the size of each layer's output per sample at its dtype; the total is
  the sum over layers (what training keeps for the backward pass, roughly; inference needs less).

Custom layers join through a protocol: a layer with ``count_macs(input_shape) -> int`` (Keras
``build``-style shape with the batch dimension, or a list of them for several inputs; MACs
per sample) is trusted for MACs (``count_other_ops(input_shape)`` likewise, optional), and one
with ``receptive_field(input_shape) -> (kernel, stride, pad_left)`` (ints or per-dimension
tuples; ``receptive_field()`` without the shape also works) for the receptive field. Such a
layer may profile its own inner functional graph: the last row of ``profile(inner)`` is the
field of the whole graph (``kernel = rf_size``, ``stride = rf_jump``, ``pad_left = -rf_start``),
and nested ``profile()`` calls share no state. Layers that are neither understood nor follow
the protocol are listed in ``ModelProfile.unknown_layers`` and marked in their row: they are
never silently zero.

Where the parts live: the graph walk and :func:`profile` here; the cost of one layer call
(a table from layer class to cost function) in :mod:`kerascnn.analysis.costs`; the fields
through each layer in :mod:`kerascnn.analysis.receptive` (formulas from
:mod:`kerascnn.geometry`); the rows, totals and tables in :mod:`kerascnn.analysis.rows`.
Cross-check with XLA's cost analysis: :func:`kerascnn.analysis.xla.xla_cost` (JAX backend).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import keras

from kerascnn.analysis.costs import LayerCall, cost, elements
from kerascnn.analysis.receptive import TensorInfo, input_fields, row_values
from kerascnn.analysis.rows import LayerProfile, ModelProfile
from kerascnn.errors import ArgumentError

__all__ = ["LayerProfile", "ModelProfile", "profile"]


def _dtype_bytes(dtype: str) -> int:
    d = str(dtype)
    for key, size in (
        ("float64", 8),
        ("int64", 8),
        ("uint64", 8),
        ("complex64", 8),
        ("bfloat16", 2),
        ("float16", 2),
        ("int16", 2),
        ("uint16", 2),
        ("float32", 4),
        ("int32", 4),
        ("uint32", 4),
        ("int8", 1),
        ("uint8", 1),
        ("bool", 1),
        ("float8", 1),
    ):
        if key in d:
            return size
    return 4


def _functional(model):
    """The functional graph of a functional or (built) Sequential model, else None."""
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    return model if hasattr(model, "_nodes_by_depth") else None


class _Profiler:
    """One walk over a model's graph. Its state is its own: nested profile() calls are safe."""

    def __init__(self) -> None:
        self.rows: list[LayerProfile] = []
        self.unknown: list[str] = []
        self._seen_weights: set[int] = set()
        self._keep: list[Any] = []  # the walked tensors stay alive (their ids are the keys)

    def _params(self, op) -> tuple[int, int]:
        """(trainable, non-trainable) weights of ``op`` not met before (shared layers!)."""
        tr = nt = 0
        if not isinstance(op, keras.layers.Layer):
            return 0, 0
        trainable_ids = {id(w) for w in op.trainable_weights}
        for w in op.weights:
            if id(w) in self._seen_weights:
                continue
            self._seen_weights.add(id(w))
            size = int(math.prod(w.shape))
            if id(w) in trainable_ids:
                tr += size
            else:
                nt += size
        return tr, nt

    def walk(self, model, in_infos: list[TensorInfo], prefix: str) -> list[TensorInfo]:
        fn = _functional(model)
        if fn is None:
            raise ArgumentError(
                f"Sequential model {model.name!r} is not built: give it an Input (e.g. "
                f"keras.Sequential([keras.Input((32, 32, 3)), ...])) or call it on data first. "
                f"Received: model={model.name!r} (built={model.built})"
            )
        tdict: dict[int, TensorInfo] = {id(x): i for x, i in zip(fn.inputs, in_infos)}
        for depth in sorted(fn._nodes_by_depth, reverse=True):
            for node in fn._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(x) not in tdict for x in node.input_tensors):
                    continue
                ins = [tdict[id(x)] for x in node.input_tensors]
                outs = self.visit(node.operation, node, ins, prefix)
                for x, y in zip(node.outputs, outs):
                    tdict[id(x)] = y
        self._keep.append(tdict)
        return [tdict[id(x)] for x in fn.outputs]

    def visit(self, op, node, ins: list[TensorInfo], prefix: str) -> list[TensorInfo]:
        name = prefix + op.name
        # Nested functional / Sequential models: recurse, their layers get "outer/inner" rows.
        if isinstance(op, keras.Model) and (
            isinstance(op, keras.Sequential) or hasattr(op, "_nodes_by_depth")
        ):
            return self.walk(op, ins, name + "/")

        out_kts = list(node.outputs)
        channels_first = getattr(op, "data_format", None) == "channels_first"
        outs_shape = [tuple(kt.shape[1:]) for kt in out_kts]
        out_dtype = str(out_kts[0].dtype) if out_kts else "float32"
        tr, nt = self._params(op)
        x = ins[0] if ins else TensorInfo((), out_dtype, [])
        c = cost(LayerCall(op, node, ins, x, outs_shape, channels_first))
        row = LayerProfile(
            name=name,
            type=type(op).__name__,
            output_shape=outs_shape[0] if len(outs_shape) == 1 else outs_shape,
            trainable_params=tr,
            non_trainable_params=nt,
            macs=int(c.macs),
            other_ops=int(c.other_ops),
            activation_bytes=sum(
                elements(s) * _dtype_bytes(str(kt.dtype)) for s, kt in zip(outs_shape, out_kts)
            ),
            note=c.note,
            padding_macs=int(c.padding_macs),
        )
        if c.note.startswith("unknown"):
            self.unknown.append(f"{name} ({row.type})")
        if c.rf:
            row.rf_size, row.rf_jump, row.rf_start = row_values(c.rf)
        self.rows.append(row)
        return [
            TensorInfo(s, str(kt.dtype), c.rf, channels_first) for s, kt in zip(outs_shape, out_kts)
        ]


def profile(model, input_shape: Sequence[int] | None = None) -> ModelProfile:
    """Profile a Keras model layer by layer (see the module docstring for the conventions).

    Args:
        model: a built functional or Sequential ``keras.Model`` (nested models are walked;
            shared layers get one row per call, their weights are counted once).
        input_shape: optional per-sample input shape (no batch) to profile a functional model
            at another resolution (the model is cloned onto a new Input; weights untouched).
            Needed when the model was built with ``None`` spatial dimensions.

    Returns:
        A :class:`ModelProfile`: ``rows``, ``total_params``, ``total_macs`` (per sample),
        ``total_flops`` (= 2 x MACs), ``other_ops``, ``activation_bytes``, ``unknown_layers``.
        ``print()`` it for the table ``kerascnn summary`` prints; its ``repr`` is one line,
        ``Profile(lenet: 61,706 params, 0.42 M MACs, 8 layers)``.
    """
    if not isinstance(model, keras.Model):
        raise ArgumentError(f"profile() needs a keras.Model. Received: {type(model).__name__}")
    if input_shape is not None:
        model = _at_input_shape(model, input_shape)
    fn = _functional(model)
    if fn is None:
        raise ArgumentError(
            "profile() walks the layer graph of functional and Sequential models; a subclassed "
            "model has no graph to walk. Wrap it: keras.Model(inp, MyModel()(inp)) still hides "
            f"its inside, so build it functionally. Received: {type(model).__name__} {model.name!r}"
        )
    prof = _Profiler()
    in_infos = [_input_info(prof, t, model) for t in fn.inputs]
    prof.walk(model, in_infos, "")
    shapes = [r.output_shape for r in prof.rows if r.type == "InputLayer"]
    policy = getattr(model, "dtype_policy", None)
    dtype = str(policy.compute_dtype) if policy is not None else "float32"
    return ModelProfile(
        name=model.name,
        input_shape=shapes[0] if len(shapes) == 1 else shapes,
        dtype=dtype,
        rows=prof.rows,
        unknown_layers=prof.unknown,
    )


def _at_input_shape(model, input_shape):
    """``model`` cloned onto a new Input of per-sample shape ``input_shape`` (weights untouched)."""
    shape = tuple(input_shape)
    if not shape or any(
        isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in shape
    ):
        raise ArgumentError(
            f"input_shape must be positive integers. Received: input_shape={input_shape!r}"
        )
    shape = tuple(int(d) for d in shape)
    try:
        return keras.models.clone_model(
            model, input_tensors=keras.Input(shape=shape, batch_size=None)
        )
    except Exception as exc:  # noqa: BLE001 - report what Keras said, for people
        raise ArgumentError(
            f"Could not rebuild the model at input_shape={shape}: {exc}. Received: "
            f"input_shape={input_shape!r}"
        ) from None


def _input_info(prof: _Profiler, t, model) -> TensorInfo:
    """The :class:`TensorInfo` of model input ``t``; its InputLayer row joins ``prof.rows``."""
    shape = tuple(t.shape[1:])
    nsp = len(shape) - 1 if len(shape) >= 2 else 0  # channels-last: all but the last axis
    if any(d is None for d in shape):
        raise ArgumentError(
            f"profile() needs a fixed input shape but {model.name!r} has {shape}; pass "
            f"input_shape=(224, 224, 3) or build the model with a fixed shape. "
            f"Received: input shape {shape}"
        )
    history = getattr(t, "_keras_history", None)
    source = history.operation if history else None
    prof.rows.append(
        LayerProfile(
            name=source.name if source is not None else "input",
            type="InputLayer",
            output_shape=shape,
            rf_size=(1,) * nsp or None,
            rf_jump=(1,) * nsp or None,
            rf_start=(0,) * nsp or None,
            activation_bytes=elements(shape) * _dtype_bytes(str(t.dtype)),
        )
    )
    return TensorInfo(shape, str(t.dtype), input_fields(nsp))
