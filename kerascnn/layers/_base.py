"""Private helpers shared by the public layers: argument checks, geometry, MACs, the base class.

Geometry conventions (channels-last, NHWC; one spatial axis, the height, describes a layer):

- ``effective_kernel(k, d) = k + (k - 1) * (d - 1)``: the span of a dilated kernel.
- ``"same"`` padding (Keras/TensorFlow/XLA rule): ``total = max((ceil(n / s) - 1) * s + k_eff - n, 0)``
  with ``total // 2`` on the left/top and the rest on the right/bottom. Without a known input
  size ``n`` we assume ``n`` divisible by ``s``, so ``total = max(k_eff - s, 0)``.
- A chain of ops ``(k_i, s_i, p_i)`` is one composite op ``(k, s, p)`` with
  ``k = 1 + sum (k_i - 1) * S_{i-1}``, ``s = S_n`` and ``p = sum p_i * S_{i-1}`` where
  ``S_i = s_1 * ... * s_i`` (the receptive-field recursion of Araujo et al., "Computing
  Receptive Fields of Convolutional Neural Networks", Distill, 2019).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

import keras

PADDINGS = ("same", "valid")


# --------------------------------------------------------------------------- argument checks


def check_positive_int(layer: str, name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"{layer}: `{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return int(value)


def check_choice(layer: str, name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        accepted = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"{layer}: `{name}` must be one of {accepted}. Received: {name}={value!r}"
        )
    return value


def check_pair(layer: str, name: str, value: Any, *, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints (each >= ``minimum``) as a pair, like Keras' kernel_size."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        items: tuple[Any, ...] = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        items = tuple(value)
    else:
        raise ValueError(
            f"{layer}: `{name}` must be an integer or a pair of integers >= {minimum}. "
            f"Received: {name}={value!r}"
        )
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
            raise ValueError(
                f"{layer}: `{name}` must be an integer or a pair of integers >= {minimum}. "
                f"Received: {name}={value!r}"
            )
    return int(items[0]), int(items[1])


def check_activation(layer: str, name: str, value: Any) -> Any:
    """``None`` (linear) or anything ``keras.activations.get`` accepts."""
    if value is None:
        return None
    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"{layer}: `{name}` must be None or a Keras activation name such as 'relu', "
            f"'relu6', 'swish', 'sigmoid', 'hard_sigmoid'. Received: {name}={value!r}"
        ) from None
    return value


def check_ratio(layer: str, name: str, value: Any, *, allow_none: bool = True) -> float | None:
    """A float in (0, 1] (or None when allowed)."""
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (0.0 < float(value) <= 1.0)
    ):
        accepted = "None or a number" if allow_none else "a number"
        raise ValueError(
            f"{layer}: `{name}` must be {accepted} in (0, 1]. Received: {name}={value!r}"
        )
    return float(value)


def check_float(layer: str, name: str, value: Any, *, low: float, high: float | None = None,
                low_inclusive: bool = True) -> float:
    """A real number in [low, high] (or (low, high] when ``low_inclusive`` is False)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (v >= low if low_inclusive else v > low) and (high is None or v <= high)
    if not ok:
        lo = "[" if low_inclusive else "("
        hi = f"{high}]" if high is not None else "inf)"
        raise ValueError(
            f"{layer}: `{name}` must be a number in {lo}{low}, {hi}. Received: {name}={value!r}"
        )
    return float(value)


# --------------------------------------------------------------------------- geometry


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: ``k + (k - 1) * (d - 1)``."""
    return kernel + (kernel - 1) * (dilation - 1)


def same_pad(size: int | None, k_eff: int, stride: int) -> tuple[int, int]:
    """(left, right) padding of Keras ``padding="same"`` along one axis."""
    if size is None:
        total = max(k_eff - stride, 0)
    else:
        total = max((math.ceil(size / stride) - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def out_size(size: int | None, k_eff: int, stride: int, padding) -> int | None:
    """Output length along one axis for ``padding`` "same", "valid" or an explicit (l, r)."""
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    if padding == "valid":
        return (size - k_eff) // stride + 1
    left, right = padding
    return (size + left + right - k_eff) // stride + 1


def compose_rf(stages: Iterable[tuple[int, int, Any]], size: int | None = None) -> tuple[int, int, int]:
    """Compose ``(k_eff, stride, padding)`` stages (padding "same", "valid" or (l, r)).

    ``size`` is the input length along the axis (None: assume it divisible by the strides).
    Returns the composite ``(kernel, stride, left padding)``.
    """
    k_tot, s_tot, p_tot = 1, 1, 0
    for k, s, padding in stages:
        if padding == "same":
            left = same_pad(size, k, s)[0]
        elif padding == "valid":
            left = 0
        else:
            left = int(padding[0])
        k_tot += (k - 1) * s_tot
        p_tot += left * s_tot
        s_tot *= s
        size = out_size(size, k, s, padding)
    return k_tot, s_tot, p_tot


def conv_macs(conv, input_shape) -> int:
    """Multiply-accumulates per sample of a built-or-not Conv2D / DepthwiseConv2D on input_shape.

    Conv2D: ``H_out * W_out * C_out * k_h * k_w * C_in / groups``;
    DepthwiseConv2D: ``H_out * W_out * (C_in * depth_multiplier) * k_h * k_w``.
    """
    out = conv.compute_output_shape(tuple(input_shape))
    kh, kw = conv.kernel_size
    if isinstance(conv, keras.layers.DepthwiseConv2D):
        return int(out[1] * out[2] * out[3] * kh * kw)
    return int(out[1] * out[2] * out[3] * kh * kw * (input_shape[-1] // conv.groups))


# --------------------------------------------------------------------------- base class


class CNNLayer(keras.layers.Layer):
    """Base of kerascnn's layers: NHWC input checks and the analysis protocol.

    Subclasses implement ``_rf_stages()`` (the longest path as ``(k_eff, stride, padding)``
    stages), ``_macs(input_shape)`` and ``compute_output_shape``.
    """

    def _check_input_shape(self, input_shape, *, need_spatial: bool = False) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(
                f"{type(self).__name__} expects 4D channels-last input (batch, height, width, "
                f"channels). Received: input_shape={shape}"
            )
        if shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} needs a known number of channels (last axis). "
                f"Received: input_shape={shape}"
            )
        if need_spatial and (shape[1] is None or shape[2] is None):
            raise ValueError(
                f"{type(self).__name__}: height and width must be known to count MACs. "
                f"Received: input_shape={shape}"
            )
        return shape

    def _remember_input_shape(self, input_shape) -> tuple:
        shape = self._check_input_shape(input_shape)
        self._input_height = shape[1]
        return shape

    # ---- analysis protocol

    def count_macs(self, input_shape) -> int:
        """Multiply-accumulates per sample (conv/dense/depthwise work; batch excluded).

        ``input_shape`` includes the batch axis, e.g. ``(None, 32, 32, 3)``.
        """
        shape = self._check_input_shape(input_shape, need_spatial=True)
        return int(self._macs(shape))

    def receptive_field(self, input_shape=None) -> tuple[int, int, int]:
        """``(kernel, stride, left padding)`` of the whole layer as one op along the height axis.

        The left padding of a strided ``"same"`` op depends on the input size: it is taken from
        ``input_shape`` if given, else from the shape the layer was built with, else the input
        is assumed divisible by the stride.
        """
        size = None
        if input_shape is not None:
            size = self._check_input_shape(input_shape)[1]
        else:
            size = getattr(self, "_input_height", None)
        return compose_rf(self._rf_stages(), size)

    def _rf_stages(self) -> list[tuple[int, int, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _macs(self, input_shape: tuple) -> int:  # pragma: no cover - abstract
        raise NotImplementedError
