"""What one layer call costs: MACs, other ops, padding MACs and its receptive field.

:data:`COSTS` is the table from Keras layer class to cost function; :func:`cost` looks a layer
up along its class's MRO (a subclass of Conv2D costs what a Conv2D costs), after the
custom-layer protocol (``count_macs``) and before the ``keras.ops`` operations of a functional
graph (:data:`OPS`, by class name). Each cost function takes a :class:`LayerCall` and returns
a :class:`Cost`; the counting rules are in :mod:`kerascnn.analysis.profile`'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import keras

from kerascnn.analysis import receptive as rfw
from kerascnn.analysis.receptive import Field, TensorInfo, per_dim, spatial_of
from kerascnn.geometry import padding_amounts, valid_taps

__all__ = ["LayerCall", "Cost", "COSTS", "OPS", "cost", "cost_function", "elements"]


def elements(shape) -> int:
    """Number of elements of a per-sample shape (None dimensions count as 1)."""
    return int(math.prod(d or 1 for d in shape))


def _is_linear(act) -> bool:
    if act is None:
        return True
    return getattr(act, "__name__", str(act)) in ("linear", "identity")


@dataclass
class LayerCall:
    """One call of one layer in the walked graph: the layer, its inputs, its output shapes."""

    op: Any
    node: Any
    ins: list[TensorInfo]
    x: TensorInfo  # the first input
    outs: list[tuple]  # output shapes without batch
    channels_first: bool = False

    @property
    def out(self) -> tuple:
        return self.outs[0] if self.outs else ()

    @property
    def out_elems(self) -> int:
        return elements(self.out)

    def spatial(self, shape) -> tuple:
        return spatial_of(shape, self.channels_first)

    def channels(self, shape) -> int:
        return shape[0] if self.channels_first else shape[-1]

    def act_ops(self) -> int:
        """One op per output element for a fused activation."""
        return 0 if _is_linear(getattr(self.op, "activation", None)) else self.out_elems

    def bias_ops(self) -> int:
        return self.out_elems if getattr(self.op, "use_bias", False) else 0

    def pads(self, k, s, d) -> tuple:
        """Left padding per spatial dimension of the layer's ``padding`` on this input."""
        sp = self.spatial(self.x.shape)
        k, s, d = per_dim(k, len(sp)), per_dim(s, len(sp)), per_dim(d, len(sp))
        return tuple(
            padding_amounts(self.op.padding, n, ki, si, di)[0] for n, ki, si, di in zip(sp, k, s, d)
        )

    def window_rf(self, k, s, d=1) -> list[Field] | None:
        """The field through this layer's conv/pool window."""
        return rfw.window(self.x.rf, k, s, self.pads(k, s, d), d)

    def padding_macs(self, macs: int, k, s, d) -> int:
        """The part of ``macs`` whose kernel taps land on zero padding."""
        in_sp, out_sp = self.spatial(self.x.shape), self.spatial(self.out)
        n = len(in_sp)
        frac = Fraction(1)
        params = zip(in_sp, out_sp, per_dim(k, n), per_dim(s, n), self.pads(k, s, d), per_dim(d, n))
        for size, out, ki, si, pi, di in params:
            frac *= Fraction(valid_taps(size, out, int(ki), int(si), int(di), int(pi)), out * ki)
        return macs - int(macs * frac)


@dataclass
class Cost:
    macs: int = 0
    other_ops: int = 0
    rf: list[Field] | None = None
    note: str = ""
    padding_macs: int = 0


CostFn = Callable[[LayerCall], Cost]
UPPER_BOUND = "~RF (upper bound)"


# ------------------------------------------------------------------- one function per kind


def _windowed(c: LayerCall, macs: int, tapped: int | None = None) -> Cost:
    """A conv-like layer: bias and activation ops, the field through its window, and the part
    of ``tapped`` (the windowed MACs; default all of ``macs``) that multiplies zero padding."""
    k, s, d = c.op.kernel_size, c.op.strides, c.op.dilation_rate
    pad_macs = c.padding_macs(macs if tapped is None else tapped, k, s, d)
    return Cost(macs, c.bias_ops() + c.act_ops(), c.window_rf(k, s, d), padding_macs=pad_macs)


def _conv(c: LayerCall) -> Cost:
    taps = math.prod(c.op.kernel_size) * (c.channels(c.x.shape) // c.op.groups)
    return _windowed(c, c.out_elems * taps)


def _depthwise(c: LayerCall) -> Cost:
    return _windowed(c, c.out_elems * math.prod(c.op.kernel_size))


def _separable(c: LayerCall) -> Cost:
    op = c.op
    per_channel = elements(c.spatial(c.out)) * c.channels(c.x.shape) * op.depth_multiplier
    depthwise = per_channel * math.prod(op.kernel_size)
    return _windowed(c, depthwise + per_channel * op.filters, tapped=depthwise)


def _transposed(c: LayerCall) -> Cost:
    op, sp = c.op, c.spatial(c.x.shape)
    macs = elements(sp) * c.channels(c.x.shape) * math.prod(op.kernel_size) * op.filters
    rf = rfw.transposed(c.x.rf, op.kernel_size, op.strides, op.dilation_rate, op.padding)
    return Cost(macs, c.bias_ops() + c.act_ops(), rf, UPPER_BOUND)


def _dense(c: LayerCall) -> Cost:
    in_shape = c.x.shape
    rf = c.x.rf if len(in_shape) >= 2 else rfw.globalize(c.x)
    return Cost(elements(in_shape) * c.op.units, c.bias_ops() + c.act_ops(), rf)


def _einsum_dense(c: LayerCall) -> Cost:
    if "..." in c.op.equation:
        return Cost(note="unknown: EinsumDense equation with '...'")
    a, b = c.op.equation.split("->")[0].split(",")
    sizes = dict(zip(a, (1,) + tuple(c.x.shape)))
    sizes.update(zip(b, tuple(c.op.kernel.shape)))
    macs = int(math.prod(v or 1 for v in sizes.values()))
    return Cost(macs, c.bias_ops() + c.act_ops(), rfw.globalize(c.x))


def _scale_shift(c: LayerCall) -> Cost:
    """BatchNorm at inference (folded), Rescaling, Normalization: 2 ops per element."""
    return Cost(0, 2 * c.out_elems, c.x.rf)


def _normalize(c: LayerCall) -> Cost:
    """Layer/Group/Unit/RMS normalisation: statistics and scaling, 5 ops per element."""
    return Cost(0, 5 * c.out_elems, c.x.rf)


def _activation(c: LayerCall) -> Cost:
    op, name = c.op, type(c.op).__name__
    act = getattr(op, "activation", None)
    per = 3 if name == "Softmax" or getattr(act, "__name__", "") == "softmax" else 1
    if name == "Activation" and _is_linear(getattr(op, "activation", "x")):
        per = 0
    return Cost(0, per * c.out_elems, c.x.rf)


def _pool(c: LayerCall) -> Cost:
    k, s = c.op.pool_size, c.op.strides
    return Cost(0, c.out_elems * math.prod(k), c.window_rf(k, s))


def _global_pool(c: LayerCall) -> Cost:
    return Cost(0, elements(c.x.shape), rfw.globalize(c.x))


def _merge(c: LayerCall) -> Cost:
    other = c.out_elems * (len(c.ins) - 1)
    if isinstance(c.op, keras.layers.Average):
        other += c.out_elems
    return Cost(0, other, rfw.merge(c.ins, c.out))


def _free_merge(c: LayerCall) -> Cost:
    return Cost(0, 0, rfw.merge(c.ins, c.out))


def _leading(amounts, one_d: bool) -> tuple:
    """Top/left amount per dimension of ZeroPadding/Cropping's ((top, bottom), ...) or 1-D pair."""
    return (amounts[0],) if one_d else tuple(p[0] for p in amounts)


def _zero_padding(c: LayerCall) -> Cost:
    left = _leading(c.op.padding, isinstance(c.op, keras.layers.ZeroPadding1D))
    return Cost(0, 0, rfw.window(c.x.rf, 1, 1, left))


def _cropping(c: LayerCall) -> Cost:
    crop = _leading(c.op.cropping, isinstance(c.op, keras.layers.Cropping1D))
    return Cost(0, 0, rfw.window(c.x.rf, 1, 1, tuple(-v for v in crop)))


def _upsampling(c: LayerCall) -> Cost:
    interpolation = getattr(c.op, "interpolation", "nearest")
    size = per_dim(getattr(c.op, "size", 2), len(c.x.rf) if c.x.rf is not None else 1)
    other = 0 if interpolation == "nearest" else 4 * c.out_elems
    return Cost(0, other, rfw.upsampled(c.x.rf, size, interpolation), UPPER_BOUND)


def _free(c: LayerCall) -> Cost:
    return Cost(0, 0, c.x.rf)


def _free_mixing(c: LayerCall) -> Cost:
    in_shape, out = c.x.shape, c.out
    keep = (
        isinstance(c.op, keras.layers.Reshape)
        and len(out) == len(in_shape)
        and c.spatial(out) == c.spatial(in_shape)
    )
    return Cost(0, 0, c.x.rf if keep else rfw.globalize(c.x))


def _no_field(c: LayerCall) -> Cost:
    return Cost(0, 0, None)


def _elementwise_op(c: LayerCall) -> Cost:
    return Cost(0, c.out_elems, rfw.merge(c.ins, c.out))


# ---------------------------------------------------------------------------------- tables

# fmt: off
_KINDS: tuple[tuple[tuple[str, ...], CostFn], ...] = (
    (("Conv1D", "Conv2D", "Conv3D"), _conv),
    (("DepthwiseConv1D", "DepthwiseConv2D"), _depthwise),
    (("SeparableConv1D", "SeparableConv2D"), _separable),
    (("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"), _transposed),
    (("Dense",), _dense),
    (("EinsumDense",), _einsum_dense),
    (("BatchNormalization", "Rescaling", "Normalization"), _scale_shift),
    (("LayerNormalization", "GroupNormalization", "UnitNormalization", "RMSNormalization"),
     _normalize),
    (("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"), _activation),
    (("MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
      "AveragePooling1D", "AveragePooling2D", "AveragePooling3D"), _pool),
    (("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
      "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D"), _global_pool),
    (("Add", "Subtract", "Multiply", "Maximum", "Minimum", "Average"), _merge),
    (("Concatenate",), _free_merge),
    (("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"), _zero_padding),
    (("Cropping1D", "Cropping2D", "Cropping3D"), _cropping),
    (("UpSampling1D", "UpSampling2D", "UpSampling3D"), _upsampling),
    (("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
      "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity", "Masking",
      "InputLayer", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
      "RandomContrast", "RandomBrightness", "RandomCrop", "RandomErasing", "RandomGaussianBlur",
      "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness", "RandomShear",
      "RandomColorJitter", "RandomInvert", "RandomPosterization", "RandomPerspective",
      "RandomElasticTransform", "AutoContrast", "Solarization", "MixUp", "CutMix", "AugMix",
      "RandAugment"), _free),
    (("Flatten", "Reshape", "Permute", "RepeatVector"), _free_mixing),
    (("Embedding",), _no_field),
)
# fmt: on

COSTS: dict[type, CostFn] = {
    cls: fn
    for names, fn in _KINDS
    for cls in (getattr(keras.layers, n, None) for n in names)
    if cls is not None
}
"""Keras layer class -> cost function (classes this Keras version lacks are left out)."""

# fmt: off
OPS: dict[str, CostFn] = {
    **dict.fromkeys(
        ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Power",
         "Relu", "Relu6", "Sigmoid", "HardSigmoid", "Tanh", "Silu", "Gelu", "Swish", "HardSwish",
         "HardSilu", "Elu", "Selu", "Softplus", "LeakyRelu", "Exp", "Log", "Sqrt", "Square",
         "Abs", "Negative", "Clip", "Mish"),
        _elementwise_op,
    ),
    **dict.fromkeys(
        ("Reshape", "Transpose", "Squeeze", "ExpandDims", "Concatenate", "Cast", "Identity",
         "StopGradient", "ConvertToTensor"),
        _free_merge,
    ),
}
# fmt: on
"""keras.ops operation class name -> cost function (one op per element or free)."""


def _protocol(c: LayerCall) -> Cost:
    """A custom layer's ``count_macs`` (and optional ``count_other_ops``) are trusted."""
    shapes = [t.shape for t in c.node.input_tensors]
    arg = shapes[0] if len(shapes) == 1 else shapes
    macs = int(c.op.count_macs(arg))
    other = int(c.op.count_other_ops(arg)) if hasattr(c.op, "count_other_ops") else 0
    return Cost(macs, other, rfw.protocol(c.op, c.x))


def _unknown(c: LayerCall) -> Cost:
    """Never silently zero: the row says what was not counted."""
    has_weights = bool(getattr(c.op, "weights", []))
    why = "unknown layer with weights" if has_weights else "unknown operation"
    return Cost(0, 0, rfw.protocol(c.op, c.x), f"{why}: MACs not counted")


def cost_function(op) -> CostFn:
    """The cost function of ``op``: protocol, then :data:`COSTS` by MRO, then :data:`OPS`."""
    if callable(getattr(op, "count_macs", None)):
        return _protocol
    for cls in type(op).__mro__:
        if cls in COSTS:
            return COSTS[cls]
    if not isinstance(op, keras.layers.Layer) and type(op).__name__ in OPS:
        return OPS[type(op).__name__]
    return _unknown


def cost(c: LayerCall) -> Cost:
    """What the call ``c`` costs (see :func:`cost_function`)."""
    return cost_function(c.op)(c)
