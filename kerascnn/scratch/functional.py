"""im2col / col2im and padding arithmetic for the NumPy reference (channels-last, NHWC).

``im2col`` turns every receptive field of a batch of images into one row of a matrix, so a
convolution becomes a single matrix product::

    x (N, H, W, C)  --im2col-->  col (N*OH*OW, KH*KW*C)
    kernel (KH, KW, C, F)  --reshape-->  (KH*KW*C, F)        # Keras' HWIO layout
    y = col @ kernel  --reshape-->  (N, OH, OW, F)

``col2im`` is its adjoint: it adds every row back onto the pixels it came from (overlapping
windows accumulate), which is exactly what the backward pass of a convolution needs.

Padding is given as an int, ``(pad_h, pad_w)``, ``((top, bottom), (left, right))``, or Keras'
``"valid"`` / ``"same"`` (``"same"`` puts the odd extra pixel at the bottom/right, as
TensorFlow does). NumPy only: no Keras, no TensorFlow here.
"""

from __future__ import annotations

import numbers

import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.geometry import same_padding

__all__ = ["pair", "fraction", "resolve_padding", "im2col", "col2im"]


def pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(2, 1) -> (2, 1)``; positive integers only."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value), int(value))
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            out = ()
        if len(out) != 2:
            raise ArgumentError(
                f"{name} must be a positive int or a pair of them. Received: {name}={value!r}"
            )
    if out[0] < 1 or out[1] < 1:
        raise ArgumentError(
            f"{name} must be a positive int or a pair of them. Received: {name}={value!r}"
        )
    return out


def fraction(name: str, value) -> float:
    """A number in ``[0, 1)``, e.g. a dropout rate or a momentum."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 <= value < 1.0
    if not ok:
        raise ArgumentError(f"{name} must be a number in [0, 1). Received: {name}={value!r}")
    return float(value)


def resolve_padding(
    padding, in_hw, kernel_hw, strides_hw
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit ``((top, bottom), (left, right))`` zero-padding for a window op."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return (
                same_padding(in_hw[0], kernel_hw[0], strides_hw[0]),
                same_padding(in_hw[1], kernel_hw[1], strides_hw[1]),
            )
        raise ArgumentError(
            f"padding must be 'valid', 'same', an int or pairs of ints. Received: padding={padding!r}"
        )
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p = int(padding)
        pads = ((p, p), (p, p))
    else:
        try:
            items = tuple(padding)
            if len(items) != 2:
                raise TypeError
            pads = tuple(
                (int(it), int(it)) if np.isscalar(it) else tuple(int(v) for v in it) for it in items
            )
            if any(len(p) != 2 for p in pads):
                raise TypeError
        except (TypeError, ValueError):
            raise ArgumentError(
                "padding must be 'valid', 'same', an int, (pad_h, pad_w) or ((top, bottom), (left, right)). "
                f"Received: padding={padding!r}"
            ) from None
    if min(pads[0] + pads[1]) < 0:
        raise ArgumentError(f"padding must not be negative. Received: padding={padding!r}")
    return pads  # type: ignore[return-value]


def _geometry(x_shape, kernel_hw, stride, pad):
    n, h, w, c = x_shape
    kh, kw = pair(kernel_hw, "kernel_size")
    sh, sw = pair(stride, "strides")
    (pt, pb), (pl, pr) = resolve_padding(pad, (h, w), (kh, kw), (sh, sw))
    oh = (h + pt + pb - kh) // sh + 1
    ow = (w + pl + pr - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise ArgumentError(
            f"a {kh}x{kw} window with stride {(sh, sw)} and padding {((pt, pb), (pl, pr))} does not fit "
            f"a {h}x{w} input. Received: input shape={tuple(x_shape)}, kernel_size={(kh, kw)}"
        )
    return (n, h, w, c), (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (oh, ow)


def im2col(x, kernel_size, stride=1, pad=0, pad_value=0.0) -> np.ndarray:
    """Rows of receptive fields: ``(N, H, W, C) -> (N*OH*OW, KH*KW*C)``, order (kh, kw, c)."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ArgumentError(f"im2col expects NHWC images (4 dims). Received: shape={x.shape}")
    (n, _, _, c), (kh, kw), (sh, sw), pads, (oh, ow) = _geometry(x.shape, kernel_size, stride, pad)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=pad_value)
    col = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            col[:, :, :, i, j, :] = xp[:, i : i + sh * oh : sh, j : j + sw * ow : sw, :]
    return col.reshape(n * oh * ow, kh * kw * c)


def col2im(col, x_shape, kernel_size, stride=1, pad=0) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add rows back to an ``x_shape`` image batch."""
    (n, h, w, c), (kh, kw), (sh, sw), pads, (oh, ow) = _geometry(
        tuple(x_shape), kernel_size, stride, pad
    )
    col = np.asarray(col).reshape(n, oh, ow, kh, kw, c)
    (pt, pb), (pl, pr) = pads
    xp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, i : i + sh * oh : sh, j : j + sw * ow : sw, :] += col[:, :, :, i, j, :]
    return xp[:, pt : pt + h, pl : pl + w, :]
