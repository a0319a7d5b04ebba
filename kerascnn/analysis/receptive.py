"""The receptive-field walk: what each tensor of a layer graph sees of the model input.

Every tensor met while walking the graph carries a :class:`TensorInfo`: its shape and, per
spatial dimension, a :class:`Field` (size, jump, start as :class:`fractions.Fraction`, exact
through transposed convolutions and upsampling). The functions here turn the fields of a
layer's inputs into the fields of its output; every formula is :mod:`kerascnn.geometry`'s
(``rf_step``, ``rf_union``, ``conv_transpose_window``, ``upsampling_window``).

A field with ``jump`` None is global: after global pooling, Flatten or a Dense layer on
flattened features every unit sees the same union of the input, whatever its position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from kerascnn.geometry import conv_transpose_window, rf_step, rf_union, upsampling_window

__all__ = [
    "Field",
    "TensorInfo",
    "spatial_of",
    "per_dim",
    "input_fields",
    "window",
    "globalize",
    "union",
    "merge",
    "transposed",
    "upsampled",
    "protocol",
    "row_values",
]


@dataclass(frozen=True)
class Field:
    """Receptive field along one dimension (Fractions); ``jump`` None: global (whole input)."""

    size: Fraction
    jump: Fraction | None
    start: Fraction


@dataclass
class TensorInfo:
    """A tensor of the walked graph: per-sample shape, dtype, field per spatial dimension."""

    shape: tuple  # without batch
    dtype: str
    rf: list[Field] | None  # one per spatial dimension; None: unknown
    channels_first: bool = False

    def spatial(self) -> tuple:
        return spatial_of(self.shape, self.channels_first)


def spatial_of(shape: tuple, channels_first: bool = False) -> tuple:
    """The spatial axes of a per-sample shape (all but the channel axis; none for a vector)."""
    if len(shape) < 2:
        return ()
    return tuple(shape[1:]) if channels_first else tuple(shape[:-1])


def per_dim(v, n: int) -> tuple:
    """A Keras int-or-tuple argument (kernel_size, strides, ...) as one value per dimension."""
    if isinstance(v, (list, tuple)):
        v = tuple(v)
        if len(v) == 1 and n > 1:
            v = v * n
        return v
    return (v,) * n


def input_fields(nsp: int) -> list[Field]:
    """The model input: each pixel sees itself."""
    return [Field(Fraction(1), Fraction(1), Fraction(0)) for _ in range(nsp)]


def _step(rf: list[Field] | None, windows) -> list[Field] | None:
    """``rf_step`` on each dimension with its ``(k, s, d, left)``; global fields stay as they are."""
    if rf is None:
        return None
    out = []
    for r, (k, s, d, left) in zip(rf, windows):
        out.append(r if r.jump is None else Field(*rf_step(r.size, r.jump, r.start, k, s, d, left)))
    return out


def window(rf: list[Field] | None, k, s, pad_left, d=1) -> list[Field] | None:
    """Through a conv/pool window (``k``, ``s``, ``pad_left``, ``d``: ints or per dimension)."""
    if rf is None:
        return None
    n = len(rf)
    params = zip(*(per_dim(v, n) for v in (k, s, d, pad_left)))
    return _step(rf, [(int(ki), int(si), int(di), int(pi)) for ki, si, di, pi in params])


def globalize(info: TensorInfo) -> list[Field] | None:
    """The union over all positions: what one unit sees after the spatial axes are mixed."""
    if info.rf is None:
        return None
    sp = info.spatial()
    sizes = sp if len(sp) == len(info.rf) else [1] * len(info.rf)
    # one window over the whole map (k = its size), then no position is left: jump None
    spanned = _step(info.rf, [(n or 1, 1, 1, 0) for n in sizes])
    return [r if r.jump is None else Field(r.size, None, r.start) for r in spanned]


def union(rfs: Sequence[list[Field] | None]) -> list[Field] | None:
    """The field of a merge of branches: per dimension, the union of their windows.

    Unknown in any branch is unknown. Branches without spatial dimensions are left out; a
    global branch (broadcast) widens the window while the spatial branches' jump says how
    units are spaced.
    """
    if any(r is None for r in rfs):
        return None
    rfs = [r for r in rfs if len(r) > 0]
    if not rfs:
        return []
    ndim = max(len(r) for r in rfs)
    rfs = [r for r in rfs if len(r) == ndim]
    out = []
    for d in range(ndim):
        parts = [r[d] for r in rfs]
        size, start = rf_union((p.size, p.start) for p in parts)
        jumps = [p.jump for p in parts if p.jump is not None]
        out.append(Field(size, max(jumps) if jumps else None, start))
    return out


def merge(ins: Sequence[TensorInfo], out: tuple) -> list[Field] | None:
    """Field of an Add/Multiply/Concatenate/... of ``ins`` producing shape ``out``.

    Inputs whose spatial shape differs from the output's and is all ones (broadcast, e.g. SE
    scales of shape 1x1xC) make every unit depend on their whole (global) field.
    """
    rfs = []
    for t in ins:
        broadcast = (
            t.rf is not None
            and len(t.shape) == len(out)
            and t.spatial() != spatial_of(out, t.channels_first)
            and all(n == 1 for n in t.spatial())
        )
        rfs.append(globalize(t) if broadcast else t.rf)
    return union(rfs)


def transposed(rf: list[Field] | None, k, s, d, padding: str) -> list[Field] | None:
    """Through a transposed convolution (an upper bound of the field)."""
    if rf is None:
        return None
    n = len(rf)
    params = zip(*(per_dim(v, n) for v in (k, s, d)))
    windows = []
    for ki, si, di in params:
        taps, stride, left = conv_transpose_window(int(ki), int(si), int(di), padding)
        windows.append((taps, stride, 1, left))
    return _step(rf, windows)


def upsampled(rf: list[Field] | None, size, interpolation: str) -> list[Field] | None:
    """Through an UpSampling layer (an upper bound of the field unless nearest)."""
    if rf is None:
        return None
    windows = []
    for si in per_dim(size, len(rf)):
        k, s, left = upsampling_window(int(si), interpolation)
        windows.append((k, s, 1, left))
    return _step(rf, windows)


def protocol(op, x: TensorInfo) -> list[Field] | None:
    """The custom-layer protocol: ``op.receptive_field(input_shape) -> (kernel, stride, left)``.

    ints or per-dimension tuples; ``input_shape`` has the batch axis (a layer without the
    argument is called without it). Without the method the field is unknown from here on.
    """
    if x.rf is None or not callable(getattr(op, "receptive_field", None)):
        return None
    try:  # kerascnn.layers accept the input shape ('same' padding depends on it)
        k, s, p = op.receptive_field((None,) + tuple(x.shape))
    except TypeError:
        k, s, p = op.receptive_field()
    return window(x.rf, k, s, p)


def _number(v: Fraction) -> int | float:
    return int(v) if v.denominator == 1 else float(v)


def row_values(rf: list[Field]) -> tuple[tuple, tuple, tuple]:
    """``(rf_size, rf_jump, rf_start)`` of a profile row: ints where exact, else floats."""
    size = tuple(_number(r.size) for r in rf)
    jump = tuple(None if r.jump is None else _number(r.jump) for r in rf)
    start = tuple(_number(r.start) for r in rf)
    return size, jump, start
