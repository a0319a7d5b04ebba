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
with ``receptive_field() -> (kernel, stride, pad_left)`` (ints or per-dimension tuples) for the
receptive field. Layers that are neither understood nor follow the protocol are listed in
``ModelProfile.unknown_layers`` and marked in their row: they are never silently zero.

Cross-check with XLA's cost analysis: :func:`kerascnn.analysis.xla.xla_cost` (JAX backend).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import keras
from keras import layers as L

from kerascnn.analysis.calc import padding_amounts

__all__ = ["LayerProfile", "ModelProfile", "profile"]


# ------------------------------------------------------------------------------------ rows


@dataclass
class LayerProfile:
    """One row of the profile: one call of one layer (a shared layer has one row per call)."""

    name: str
    type: str
    output_shape: tuple | list  # per sample (no batch); a list of tuples for several outputs
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int = 0
    other_ops: int = 0
    rf_size: tuple | None = None  # per spatial dimension; None when unknown / not spatial
    rf_jump: tuple | None = None  # None entries: the unit sees the whole (global) input
    rf_start: tuple | None = None
    activation_bytes: int = 0
    note: str = ""
    padding_macs: int = 0
    """The part of ``macs`` that multiplies zero padding (XLA's cost analysis skips it)."""

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def flops(self) -> int:
        return 2 * self.macs


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "x".join("?" if d is None else str(d) for d in shape)


def _fmt_rf(values) -> str:
    if values is None:
        return ""
    vals = ["-" if v is None else (str(v) if float(v).is_integer() else f"{float(v):.3g}")
            for v in values]
    vals = [v[:-2] if v.endswith(".0") else v for v in vals]
    return vals[0] if len(set(vals)) == 1 else "x".join(vals)


def _human(n: float, unit: str = "") -> str:
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suffix}{unit}"
    return f"{int(n)}{unit}"


@dataclass
class ModelProfile:
    """The profile of a model: rows plus totals. See the module docstring for conventions."""

    name: str
    input_shape: tuple | list
    dtype: str
    rows: list[LayerProfile] = field(default_factory=list)
    unknown_layers: list[str] = field(default_factory=list)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return sum(r.non_trainable_params for r in self.rows)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def total_macs(self) -> int:
        """Multiply-accumulates per sample (conv/dense/depthwise), the "GMACs" of papers."""
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self) -> int:
        """2 x total_macs."""
        return 2 * self.total_macs

    @property
    def other_ops(self) -> int:
        return sum(r.other_ops for r in self.rows)

    @property
    def padding_macs(self) -> int:
        """The part of total_macs that multiplies zero padding (counted, as torchvision does)."""
        return sum(r.padding_macs for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        return sum(r.activation_bytes for r in self.rows)

    @property
    def receptive_field(self) -> tuple | None:
        """Receptive-field size of the last spatial layer (per spatial dimension)."""
        for r in reversed(self.rows):
            if r.rf_size is not None and r.rf_jump is not None and None not in r.rf_jump:
                return r.rf_size
        return None

    def totals(self) -> dict[str, Any]:
        """Flat dict of the totals (JSON-friendly)."""
        return {
            "model": self.name,
            "input_shape": self.input_shape,
            "dtype": self.dtype,
            "layers": len(self.rows),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "total_macs": self.total_macs,
            "total_flops": self.total_flops,
            "other_ops": self.other_ops,
            "padding_macs": self.padding_macs,
            "activation_bytes": self.activation_bytes,
            "unknown_layers": list(self.unknown_layers),
        }

    def _records(self, human: bool = False) -> list[dict[str, Any]]:
        out = []
        for r in self.rows:
            out.append({
                "name": r.name,
                "type": r.type,
                "output": _fmt_shape(r.output_shape),
                "params": _human(r.params) if human else r.params,
                "non-trainable": r.non_trainable_params if not human else (
                    _human(r.non_trainable_params) if r.non_trainable_params else ""),
                "MACs": _human(r.macs) if human else r.macs,
                "other ops": _human(r.other_ops) if human else r.other_ops,
                "RF": _fmt_rf(r.rf_size),
                "jump": _fmt_rf(r.rf_jump),
                "start": _fmt_rf(r.rf_start),
                "act bytes": _human(r.activation_bytes, "B") if human else r.activation_bytes,
                "note": r.note,
            })
        return out

    def to_dataframe(self):
        """One row per layer call as a pandas DataFrame (raw numbers; tuples per dimension)."""
        import pandas as pd

        records = []
        for r in self.rows:
            d = asdict(r)
            d["params"] = r.params
            records.append(d)
        cols = ["name", "type", "output_shape", "params", "trainable_params",
                "non_trainable_params", "macs", "other_ops", "rf_size", "rf_jump", "rf_start",
                "activation_bytes", "note"]
        return pd.DataFrame.from_records(records, columns=cols)

    def totals_lines(self) -> list[str]:
        t = self
        lines = [
            f"Model: {t.name}   input {_fmt_shape(t.input_shape)}   dtype {t.dtype}",
            f"Params: {t.total_params:,} (trainable {t.trainable_params:,}, "
            f"non-trainable {t.non_trainable_params:,})",
            f"MACs: {t.total_macs:,} ({_human(t.total_macs)})   FLOPs = 2 x MACs: "
            f"{_human(t.total_flops)}   other ops: {_human(t.other_ops)}",
            f"Activations: {_human(t.activation_bytes, 'B')} per sample (sum of layer outputs)",
        ]
        rf = self.receptive_field
        if rf is not None:
            lines.append(f"Receptive field of the last spatial layer: {_fmt_rf(rf)} px")
        if self.padding_macs:
            lines.append(f"Of the MACs, {_human(self.padding_macs)} multiply zero padding "
                         "(XLA's cost analysis skips those)")
        if self.unknown_layers:
            lines.append("Not understood (MACs unknown, counted as 0): " + ", ".join(self.unknown_layers))
        return lines

    def to_markdown(self, human: bool = True) -> str:
        """The per-layer table as GitHub markdown, followed by the totals."""
        import pandas as pd

        table = pd.DataFrame(self._records(human)).to_markdown(index=False, disable_numparse=human)
        return table + "\n\n" + "\n".join(f"- {line}" for line in self.totals_lines()) + "\n"

    def to_text(self) -> str:
        """A plain aligned table for terminals, followed by the totals."""
        import pandas as pd

        df = pd.DataFrame(self._records(True)).drop(columns=["non-trainable"])  # in the totals
        empty = [c for c in df.columns if (df[c].astype(str) == "").all()]
        df = df.drop(columns=empty)
        align = ["left" if c in ("name", "type", "note") else "right" for c in df.columns]
        table = df.to_markdown(index=False, tablefmt="simple", disable_numparse=True, colalign=align)
        return table + "\n\n" + "\n".join(self.totals_lines()) + "\n"

    def to_csv(self) -> str:
        return self.to_dataframe().to_csv(index=False)


# ------------------------------------------------------------------------- tensor states

_GLOBAL = "global"


@dataclass
class _RF1:
    """Receptive field along one dimension: size, jump and start (Fractions); jump None = global."""

    size: Fraction
    jump: Fraction | None
    start: Fraction


@dataclass
class _TInfo:
    shape: tuple  # without batch
    dtype: str
    rf: list[_RF1] | None  # one per spatial dim, None = unknown
    channels_first: bool = False

    def spatial(self) -> tuple:
        if len(self.shape) < 2:
            return ()
        return tuple(self.shape[1:]) if self.channels_first else tuple(self.shape[:-1])


def _elems(shape) -> int:
    return int(math.prod(d or 1 for d in shape))


def _as_tuple(v, n: int) -> tuple:
    if isinstance(v, (list, tuple)):
        v = tuple(v)
        if len(v) == 1 and n > 1:
            v = v * n
        return v
    return (v,) * n


def _globalize(info: _TInfo) -> list[_RF1] | None:
    """The union over all positions: what one unit sees after the spatial axes are mixed."""
    if info.rf is None:
        return None
    sp = info.spatial()
    out = []
    for r, n in zip(info.rf, sp if len(sp) == len(info.rf) else [1] * len(info.rf)):
        if r.jump is None:
            out.append(r)
        else:
            out.append(_RF1(r.size + (Fraction(n or 1) - 1) * r.jump, None, r.start))
    return out


def _union(infos: Sequence[_TInfo]) -> list[_RF1] | None:
    rfs = [i.rf for i in infos if i.rf is not None and len(i.rf) > 0]
    if any(i.rf is None for i in infos) or not rfs:
        return None if any(i.rf is None for i in infos) else (rfs[0] if rfs else [])
    ndim = max(len(r) for r in rfs)
    rfs = [r for r in rfs if len(r) == ndim]
    out = []
    for d in range(ndim):
        parts = [r[d] for r in rfs]
        lo = min(p.start for p in parts)
        hi = max(p.start + p.size - 1 for p in parts)
        jumps = [p.jump for p in parts if p.jump is not None]
        # A broadcast (global) input makes every unit see the union; the spatial inputs'
        # jump still says how units are spaced.
        jump = max(jumps) if jumps else None
        out.append(_RF1(hi - lo + 1, jump, lo))
    return out


def _valid_fraction(in_sp, out_sp, k, s, pad_left, d) -> Fraction:
    """Fraction of (output position, kernel tap) pairs that land inside the unpadded input."""
    n = len(in_sp)
    k, s, pad_left, d = (_as_tuple(v, n) for v in (k, s, pad_left, d))
    frac = Fraction(1)
    for size, out, ki, si, pi, di in zip(in_sp, out_sp, k, s, pad_left, d):
        ki, si, pi, di = int(ki), int(si), int(pi), int(di)
        valid = 0
        for t in range(ki):
            off = t * di - pi  # input index = o*s + off must lie in [0, size)
            lo = max(0, -(-(-off) // si)) if off < 0 else 0
            hi = min(out - 1, (size - 1 - off) // si) if size - 1 - off >= 0 else -1
            valid += max(0, hi - lo + 1)
        frac *= Fraction(valid, out * ki)
    return frac


def _window_rf(rf: list[_RF1] | None, k, s, pad_left, d=None) -> list[_RF1] | None:
    if rf is None:
        return None
    n = len(rf)
    k, s, pad_left = _as_tuple(k, n), _as_tuple(s, n), _as_tuple(pad_left, n)
    d = _as_tuple(1 if d is None else d, n)
    out = []
    for r, ki, si, pi, di in zip(rf, k, s, pad_left, d):
        if r.jump is None:
            out.append(r)
            continue
        k_eff = int(di) * (int(ki) - 1) + 1
        out.append(_RF1(r.size + (k_eff - 1) * r.jump, r.jump * int(si), r.start - int(pi) * r.jump))
    return out


# ------------------------------------------------------------------------------ profiler

_CONV = (L.Conv1D, L.Conv2D, L.Conv3D)
_DEPTHWISE = (L.DepthwiseConv1D, L.DepthwiseConv2D)
_SEPARABLE = (L.SeparableConv1D, L.SeparableConv2D)
_TRANSPOSE = (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)
_POOL = (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D,
         L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D)
_GPOOL = (L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D,
          L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D)
_MERGE = (L.Add, L.Subtract, L.Multiply, L.Maximum, L.Minimum, L.Average)
_NORM5 = tuple(c for c in (getattr(L, n, None) for n in
               ("LayerNormalization", "GroupNormalization", "UnitNormalization", "RMSNormalization"))
               if c is not None)
_ACT = tuple(c for c in (getattr(L, n, None) for n in
             ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")) if c is not None)
_FREE_SAME_RF = tuple(c for c in (getattr(L, n, None) for n in (
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity", "Masking",
    "Concatenate", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    "RandomContrast", "RandomBrightness", "RandomCrop", "RandomErasing", "RandomGaussianBlur",
    "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness", "RandomShear",
    "RandomColorJitter", "RandomInvert", "RandomPosterization", "RandomPerspective",
    "RandomElasticTransform", "AutoContrast", "Solarization", "MixUp", "CutMix", "AugMix",
    "RandAugment")) if c is not None)
_FREE_MIXING = tuple(c for c in (getattr(L, n, None) for n in
                     ("Flatten", "Reshape", "Permute", "RepeatVector")) if c is not None)
_ELEMENTWISE_OPS = {"Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum",
                    "Power", "Relu", "Relu6", "Sigmoid", "HardSigmoid", "Tanh", "Silu", "Gelu",
                    "Swish", "HardSwish", "HardSilu", "Elu", "Selu", "Softplus", "LeakyRelu",
                    "Exp", "Log", "Sqrt", "Square", "Abs", "Negative", "Clip", "Mish"}
_FREE_OPS = {"Reshape", "Transpose", "Squeeze", "ExpandDims", "Concatenate", "Cast",
             "Identity", "StopGradient", "ConvertToTensor"}


def _is_linear(act) -> bool:
    if act is None:
        return True
    name = getattr(act, "__name__", str(act))
    return name in ("linear", "identity")


def _dtype_bytes(dtype: str) -> int:
    d = str(dtype)
    for key, size in (("float64", 8), ("int64", 8), ("uint64", 8), ("complex64", 8),
                      ("bfloat16", 2), ("float16", 2), ("int16", 2), ("uint16", 2),
                      ("float32", 4), ("int32", 4), ("uint32", 4), ("int8", 1), ("uint8", 1),
                      ("bool", 1), ("float8", 1)):
        if key in d:
            return size
    return 4


class _Profiler:
    def __init__(self) -> None:
        self.rows: list[LayerProfile] = []
        self.unknown: list[str] = []
        self._seen_weights: set[int] = set()
        self._keep: list[Any] = []  # keep infos alive

    # -- parameters: every weight counted once, where it is first met (shared layers!)
    def _params(self, op) -> tuple[int, int]:
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

    # -- graph walk
    def walk(self, model, in_infos: list[_TInfo], prefix: str) -> list[_TInfo]:
        fn = model
        if isinstance(model, keras.Sequential):
            fn = getattr(model, "_functional", None)
            if fn is None:
                raise ValueError(
                    f"Sequential model {model.name!r} is not built: give it an Input (e.g. "
                    f"keras.Sequential([keras.Input((32, 32, 3)), ...])) or call it on data first. "
                    f"Received: model={model.name!r} (built={model.built})"
                )
        tdict: dict[int, _TInfo] = {id(x): i for x, i in zip(fn.inputs, in_infos)}
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

    def visit(self, op, node, ins: list[_TInfo], prefix: str) -> list[_TInfo]:
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
        row = LayerProfile(
            name=name,
            type=type(op).__name__,
            output_shape=outs_shape[0] if len(outs_shape) == 1 else outs_shape,
            trainable_params=tr,
            non_trainable_params=nt,
            activation_bytes=sum(_elems(s) * _dtype_bytes(str(kt.dtype))
                                 for s, kt in zip(outs_shape, out_kts)),
        )
        x = ins[0] if ins else _TInfo((), out_dtype, [])
        out_elems = _elems(outs_shape[0]) if outs_shape else 0
        self._pad_macs = 0
        macs, other, rf, note = self.cost(op, node, ins, x, outs_shape, channels_first)
        row.macs, row.other_ops, row.note = int(macs), int(other), note
        row.padding_macs = int(self._pad_macs)
        if note.startswith("unknown"):
            self.unknown.append(f"{name} ({row.type})")
        if rf is not None and len(rf) > 0:
            row.rf_size = tuple(r.size for r in rf)
            row.rf_jump = tuple(r.jump for r in rf)
            row.rf_start = tuple(r.start for r in rf)
            row.rf_size = tuple(int(v) if v.denominator == 1 else float(v) for v in row.rf_size)
            row.rf_start = tuple(int(v) if v.denominator == 1 else float(v) for v in row.rf_start)
            row.rf_jump = tuple(None if v is None else (int(v) if v.denominator == 1 else float(v))
                                for v in row.rf_jump)
        self.rows.append(row)
        del out_elems
        return [_TInfo(s, str(kt.dtype), rf, channels_first) for s, kt in zip(outs_shape, out_kts)]

    # -- cost and receptive field of one call
    def cost(self, op, node, ins, x: _TInfo, outs_shape, cf) -> tuple[int, int, Any, str]:
        out = outs_shape[0] if outs_shape else ()
        out_elems = _elems(out)
        in_shape = x.shape
        nsp = len(x.rf) if x.rf is not None else None

        def act_ops():
            return out_elems if not _is_linear(getattr(op, "activation", None)) else 0

        def bias_ops():
            return out_elems if getattr(op, "use_bias", False) else 0

        def spatial_of(shape):
            if len(shape) < 2:
                return ()
            return tuple(shape[1:]) if cf else tuple(shape[:-1])

        def channels_of(shape):
            return shape[0] if cf else shape[-1]

        def pads(k, s, d):
            sp = spatial_of(in_shape)
            k, s, d = _as_tuple(k, len(sp)), _as_tuple(s, len(sp)), _as_tuple(d, len(sp))
            return tuple(padding_amounts(op.padding, n, ki, si, di)[0]
                         for n, ki, si, di in zip(sp, k, s, d))

        def frac(k, s, d):
            return _valid_fraction(spatial_of(in_shape), spatial_of(out), k, s, pads(k, s, d), d)

        # 1) the custom-layer protocol comes first
        if hasattr(op, "count_macs") and callable(op.count_macs):
            shapes = [t.shape for t in node.input_tensors]
            arg = shapes[0] if len(shapes) == 1 else shapes
            macs = int(op.count_macs(arg))
            other = int(op.count_other_ops(arg)) if hasattr(op, "count_other_ops") else 0
            rf, note = self._custom_rf(op, x, out)
            return macs, other, rf, note
        if isinstance(op, _TRANSPOSE):
            k, s, d = op.kernel_size, op.strides, op.dilation_rate
            macs = _elems(spatial_of(in_shape)) * channels_of(in_shape) * math.prod(k) * op.filters
            rf = None
            if x.rf is not None:
                rf = []
                for r, ki, si, di in zip(x.rf, k, s, _as_tuple(d, len(k))):
                    if r.jump is None:
                        rf.append(r)
                        continue
                    k_eff = int(di) * (int(ki) - 1) + 1
                    taps = -(-k_eff // int(si))
                    pad = (k_eff - int(si)) // 2 if op.padding == "same" else 0
                    first = Fraction(-((k_eff - 1 - pad) // int(si)))
                    rf.append(_RF1(r.size + (taps - 1) * r.jump, r.jump / int(si),
                                   r.start + first * r.jump))
            return macs, bias_ops() + act_ops(), rf, "~RF (upper bound)"
        if isinstance(op, _SEPARABLE):
            k, s, d = op.kernel_size, op.strides, op.dilation_rate
            cin, m = channels_of(in_shape), op.depth_multiplier
            pos = _elems(spatial_of(out))
            dw = pos * cin * m * math.prod(k)
            macs = dw + pos * cin * m * op.filters
            self._pad_macs = dw - int(dw * frac(k, s, d))
            return macs, bias_ops() + act_ops(), _window_rf(x.rf, k, s, pads(k, s, d), d), ""
        if isinstance(op, _DEPTHWISE):
            k, s, d = op.kernel_size, op.strides, op.dilation_rate
            macs = out_elems * math.prod(k)
            self._pad_macs = macs - int(macs * frac(k, s, d))
            return macs, bias_ops() + act_ops(), _window_rf(x.rf, k, s, pads(k, s, d), d), ""
        if isinstance(op, _CONV):
            k, s, d = op.kernel_size, op.strides, op.dilation_rate
            cin = channels_of(in_shape)
            macs = out_elems * math.prod(k) * (cin // op.groups)
            self._pad_macs = macs - int(macs * frac(k, s, d))
            return macs, bias_ops() + act_ops(), _window_rf(x.rf, k, s, pads(k, s, d), d), ""
        if isinstance(op, L.Dense):
            macs = _elems(in_shape) * op.units
            rf = x.rf if len(in_shape) >= 2 else _globalize(x)
            return macs, bias_ops() + act_ops(), rf, ""
        if isinstance(op, L.EinsumDense):
            macs = self._einsum_macs(op, in_shape)
            if macs is None:
                return 0, 0, None, "unknown: EinsumDense equation with '...'"
            return macs, bias_ops() + act_ops(), _globalize(x), ""
        if isinstance(op, L.BatchNormalization):
            return 0, 2 * out_elems, x.rf, ""
        if _NORM5 and isinstance(op, _NORM5):
            return 0, 5 * out_elems, x.rf, ""
        if _ACT and isinstance(op, _ACT):
            per = 3 if type(op).__name__ == "Softmax" or getattr(
                getattr(op, "activation", None), "__name__", "") == "softmax" else 1
            if _is_linear(getattr(op, "activation", "x")) and type(op).__name__ == "Activation":
                per = 0
            return 0, per * out_elems, x.rf, ""
        if isinstance(op, _POOL):
            k, s = op.pool_size, op.strides
            return 0, out_elems * math.prod(k), _window_rf(x.rf, k, s, pads(k, s, 1)), ""
        if isinstance(op, _GPOOL):
            return 0, _elems(in_shape), _globalize(x), ""
        if isinstance(op, _MERGE):
            n = len(ins)
            other = out_elems * (n - 1) + (out_elems if isinstance(op, L.Average) else 0)
            return 0, other, self._merge_rf(ins, out), ""
        if isinstance(op, (L.Rescaling, L.Normalization)):
            return 0, 2 * out_elems, x.rf, ""
        if isinstance(op, (L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D)):
            padding = op.padding  # ((top, bottom), (left, right)) or (left, right) in 1-D
            if isinstance(op, L.ZeroPadding1D):
                left = (padding[0],)
            else:
                left = tuple(p[0] for p in padding)
            return 0, 0, _window_rf(x.rf, 1, 1, left), ""
        if isinstance(op, (L.Cropping1D, L.Cropping2D, L.Cropping3D)):
            c = op.cropping
            left = (c[0],) if isinstance(op, L.Cropping1D) else tuple(p[0] for p in c)
            return 0, 0, _window_rf(x.rf, 1, 1, tuple(-v for v in left)), ""
        if isinstance(op, (L.UpSampling1D, L.UpSampling2D, L.UpSampling3D)):
            size = _as_tuple(getattr(op, "size", 2), nsp or 1)
            rf = None
            if x.rf is not None:
                extra = 0 if getattr(op, "interpolation", "nearest") == "nearest" else 1
                rf = [r if r.jump is None else _RF1(r.size + extra * r.jump, r.jump / int(si),
                                                    r.start)
                      for r, si in zip(x.rf, size)]
            other = 0 if getattr(op, "interpolation", "nearest") == "nearest" else 4 * out_elems
            return 0, other, rf, "~RF (upper bound)"
        if isinstance(op, L.Concatenate):
            return 0, 0, self._merge_rf(ins, out), ""
        if _FREE_SAME_RF and isinstance(op, _FREE_SAME_RF):
            return 0, 0, x.rf, ""
        if _FREE_MIXING and isinstance(op, _FREE_MIXING):
            keep = len(out) == len(in_shape) and spatial_of(out) == spatial_of(in_shape) \
                and isinstance(op, L.Reshape)
            return 0, 0, (x.rf if keep else _globalize(x)), ""
        if isinstance(op, L.Embedding):
            return 0, 0, None, ""
        if isinstance(op, L.InputLayer):
            return 0, 0, x.rf, ""
        # keras.ops called on symbolic tensors in a functional graph
        cls = type(op).__name__
        if not isinstance(op, keras.layers.Layer):
            if cls in _ELEMENTWISE_OPS:
                return 0, out_elems, self._merge_rf(ins, out), ""
            if cls in _FREE_OPS:
                return 0, 0, self._merge_rf(ins, out), ""
        # unknown: never silently zero
        rf, _ = self._custom_rf(op, x, out)
        has_w = bool(getattr(op, "weights", []))
        why = "unknown layer with weights" if has_w else "unknown operation"
        return 0, 0, rf, f"{why}: MACs not counted"

    def _merge_rf(self, ins, out):
        # Inputs whose spatial shape differs from the output (broadcast, e.g. SE scales
        # of shape 1x1xC) make every unit depend on their whole (global) field.
        fixed = []
        for t in ins:
            if t.rf is not None and len(t.shape) == len(out) and t.spatial() != tuple(
                    (out[1:] if t.channels_first else out[:-1])) and all(
                    n == 1 for n in t.spatial()):
                fixed.append(_TInfo(t.shape, t.dtype, _globalize(t), t.channels_first))
            else:
                fixed.append(t)
        return _union(fixed)

    def _custom_rf(self, op, x: _TInfo, out):
        if x.rf is None:
            return None, ""
        if hasattr(op, "receptive_field") and callable(op.receptive_field):
            try:  # kerascnn.layers accept the input shape ('same' padding depends on it)
                k, s, p = op.receptive_field((None,) + tuple(x.shape))
            except TypeError:
                k, s, p = op.receptive_field()
            return _window_rf(x.rf, k, s, p), ""
        return None, ""  # unknown inside: the receptive field is unknown from here on

    @staticmethod
    def _einsum_macs(op, in_shape):
        eq = op.equation
        if "..." in eq:
            return None
        lhs, out_spec = eq.split("->")
        a, b = lhs.split(",")
        sizes = {}
        for ch, n in zip(a, (1,) + tuple(in_shape)):
            sizes[ch] = n
        kshape = tuple(op.kernel.shape)
        for ch, n in zip(b, kshape):
            sizes[ch] = n
        return int(math.prod(v or 1 for v in sizes.values()))


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
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"profile() needs a keras.Model. Received: {type(model).__name__}")
    if input_shape is not None:
        shape = tuple(int(d) for d in input_shape)
        if not shape or any(d < 1 for d in shape):
            raise ValueError(f"input_shape must be positive integers. Received: input_shape={input_shape!r}")
        try:
            model = keras.models.clone_model(
                model, input_tensors=keras.Input(shape=shape, batch_size=None))
        except Exception as exc:  # noqa: BLE001 - report what Keras said, for people
            raise ValueError(
                f"Could not rebuild the model at input_shape={shape}: {exc}. Received: "
                f"input_shape={input_shape!r}"
            ) from None
    fn = model
    if isinstance(model, keras.Sequential):
        fn = getattr(model, "_functional", None)
    if fn is None or not hasattr(fn, "_nodes_by_depth"):
        raise ValueError(
            "profile() walks the layer graph of functional and Sequential models; a subclassed "
            "model has no graph to walk. Wrap it: keras.Model(inp, MyModel()(inp)) still hides "
            f"its inside, so build it functionally. Received: {type(model).__name__} {model.name!r}"
        )
    prof = _Profiler()
    in_infos = []
    for t in fn.inputs:
        shape = tuple(t.shape[1:])
        nsp = len(shape) - 1 if len(shape) >= 2 else 0  # channels-last: all but the last axis
        if any(d is None for d in shape):
            raise ValueError(
                f"profile() needs a fixed input shape but {model.name!r} has {shape}; pass "
                f"input_shape=(224, 224, 3) or build the model with a fixed shape. "
                f"Received: input shape {shape}"
            )
        rf = [_RF1(Fraction(1), Fraction(1), Fraction(0)) for _ in range(nsp)]
        info = _TInfo(shape, str(t.dtype), rf)
        in_infos.append(info)
        prof.rows.append(LayerProfile(
            name=t._keras_history.operation.name if getattr(t, "_keras_history", None) and
            t._keras_history.operation is not None else "input",
            type="InputLayer", output_shape=shape,
            rf_size=(1,) * nsp or None, rf_jump=(1,) * nsp or None, rf_start=(0,) * nsp or None,
            activation_bytes=_elems(shape) * _dtype_bytes(str(t.dtype)),
        ))
    prof.walk(model, in_infos, "")
    shapes = [r.output_shape for r in prof.rows if r.type == "InputLayer"]
    dtype = str(getattr(model, "dtype_policy", None).compute_dtype) if getattr(
        model, "dtype_policy", None) is not None else "float32"
    return ModelProfile(
        name=model.name,
        input_shape=shapes[0] if len(shapes) == 1 else shapes,
        dtype=dtype,
        rows=prof.rows,
        unknown_layers=prof.unknown,
    )
