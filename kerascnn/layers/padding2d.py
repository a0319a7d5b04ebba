"""Padding2D: pad height and width like ``np.pad`` (zero, constant, reflect, symmetric, replicate, wrap)."""

from __future__ import annotations

import numbers

import keras
import numpy as np

from kerascnn.errors import ArgumentError

MODES = ("zero", "constant", "reflect", "symmetric", "replicate", "wrap")
NUMPY_MODE = {
    "zero": "constant",
    "constant": "constant",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "replicate": "edge",
    "wrap": "wrap",
}


def _normalize_padding(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """int | (h, w) | ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""

    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0

    if is_int(padding):
        p = int(padding)
        return (p, p), (p, p)
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(is_int(v) for v in padding):
            return (int(padding[0]),) * 2, (int(padding[1]),) * 2
        if all(
            isinstance(v, (tuple, list)) and len(v) == 2 and all(is_int(u) for u in v)
            for v in padding
        ):
            return tuple(int(u) for u in padding[0]), tuple(int(u) for u in padding[1])
    raise ArgumentError(
        "Padding2D: `padding` must be a non-negative int, a pair (height_pad, width_pad) or "
        "((top, bottom), (left, right)) of non-negative ints. "
        f"Received: padding={padding!r}"
    )


def pad_indices(size, before: int, after: int, mode: str, xp=np):
    """Source index of every output position along one axis for an index-copying pad mode.

    These closed forms equal ``np.pad(np.arange(size), (before, after), mode)`` for every
    size >= 1 and pad width, including pads wider than the axis (NumPy then keeps
    reflecting / wrapping): "edge" clips, "wrap" is periodic with period n, "symmetric"
    reflects with the edge repeated (period 2n), "reflect" without it (period 2n - 2; an
    axis of length 1 repeats its single value). ``xp`` is ``numpy`` for a static ``size``
    or ``keras.ops`` for a symbolic one.
    """
    if xp is np:
        i = np.arange(-before, size + after)
        mod, where, clip = np.mod, np.where, np.clip
        maximum = np.maximum
    else:
        i = xp.arange(-before, size + after, dtype="int32")
        mod, where, clip, maximum = xp.mod, xp.where, xp.clip, xp.maximum
    if mode == "edge":
        return clip(i, 0, size - 1)
    if mode == "wrap":
        return mod(i, size)
    if mode == "symmetric":
        j = mod(i, 2 * size)
        return where(j < size, j, 2 * size - 1 - j)
    if mode == "reflect":
        period = maximum(2 * size - 2, 1)
        j = mod(i, period)
        return where(j < size, j, period - j)
    raise ArgumentError(f"pad_indices: unknown mode. Received: mode={mode!r}")


@keras.saving.register_keras_serializable(package="kerascnn")
class Padding2D(keras.layers.Layer):
    """Pad the height and width axes (NHWC) with any of NumPy's image-padding rules.

    Padding decides what a convolution sees beyond the border; Dumoulin & Visin, "A guide to
    convolution arithmetic for deep learning" (2016) treat the zero case, and reflection
    padding is the choice of Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style
    Transfer and Super-Resolution" (2016). Each mode matches ``np.pad`` exactly, on every
    backend, for any pad width (also wider than the image):

    ========== ====================== =====================================
    mode       np.pad mode            row ``a b c d`` padded by 2 on the left
    ========== ====================== =====================================
    zero       constant, value 0      ``0 0 | a b c d``
    constant   constant, value v      ``v v | a b c d``
    reflect    reflect                ``c b | a b c d``
    symmetric  symmetric              ``b a | a b c d``
    replicate  edge                   ``a a | a b c d``
    wrap       wrap                   ``c d | a b c d``
    ========== ====================== =====================================

    ``keras.ops.pad`` alone is not enough: the TensorFlow backend accepts only constant,
    reflect and symmetric (and those only for pads narrower than the axis), so the copying
    modes are implemented here as a gather with closed-form indices (``pad_indices``), the
    same on TensorFlow, JAX and PyTorch.

    Args:
        padding: int (all four sides), (height_pad, width_pad), or
            ((top, bottom), (left, right)).
        mode: "zero", "constant", "reflect", "symmetric", "replicate" or "wrap".
        constant_value: the fill value for mode "constant" (must be 0 for other modes).

    A primitive layer, not a block: its ``count_macs`` is 0 and its ``receptive_field()`` is
    ``((1, 1), (1, 1), (top, left))``.

    Example::

        >>> import numpy as np
        >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
        >>> y = Padding2D(((0, 0), (2, 0)), mode="reflect")(x)
        >>> keras.ops.convert_to_numpy(y)[0, 0, :, 0].tolist()
        [2.0, 1.0, 0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, padding=1, mode="zero", constant_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.padding = _normalize_padding(padding)
        if mode not in MODES:
            raise ArgumentError(
                f"Padding2D: `mode` must be one of {', '.join(repr(m) for m in MODES)}. "
                f"Received: mode={mode!r}"
            )
        self.mode = mode
        if isinstance(constant_value, bool) or not isinstance(constant_value, numbers.Real):
            raise ArgumentError(
                f"Padding2D: `constant_value` must be a real number. "
                f"Received: constant_value={constant_value!r}"
            )
        if mode != "constant" and constant_value != 0:
            raise ArgumentError(
                f"Padding2D: `constant_value` applies to mode='constant' only (mode={mode!r} "
                f"does not use it; leave it 0). Received: constant_value={constant_value!r}"
            )
        self.constant_value = float(constant_value)

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ArgumentError(
                "Padding2D expects 4D channels-last input (batch, height, width, channels). "
                f"Received: input_shape={shape}"
            )
        self._check_sizes(shape)

    def _check_sizes(self, shape):
        if self.mode in ("zero", "constant"):
            return
        for axis, pads in ((1, self.padding[0]), (2, self.padding[1])):
            if shape[axis] is not None and shape[axis] < 1 and sum(pads) > 0:
                raise ArgumentError(
                    f"Padding2D: mode={self.mode!r} copies pixels from the image, so a padded "
                    f"axis must not be empty. Received: input_shape={tuple(shape)}"
                )

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        if self.mode in ("zero", "constant"):
            value = 0.0 if self.mode == "zero" else self.constant_value
            return keras.ops.pad(
                inputs,
                [[0, 0], [top, bottom], [left, right], [0, 0]],
                mode="constant",
                constant_values=value,
            )
        np_mode = NUMPY_MODE[self.mode]
        x = inputs
        for axis, (before, after) in ((1, (top, bottom)), (2, (left, right))):
            if before == 0 and after == 0:
                continue
            size = x.shape[axis]
            if size is None:  # symbolic size (e.g. TF graph with an unknown height)
                size = keras.ops.shape(x)[axis]
                index = pad_indices(size, before, after, np_mode, xp=keras.ops)
            else:
                index = pad_indices(int(size), before, after, np_mode).astype("int32")
            x = keras.ops.take(x, index, axis=axis)
        return x

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, pads in ((1, self.padding[0]), (2, self.padding[1])):
            if shape[axis] is not None:
                shape[axis] = shape[axis] + sum(pads)
        return tuple(shape)

    def count_macs(self, input_shape) -> int:
        """No multiply-accumulates: padding only copies or fills."""
        return 0

    def receptive_field(self, input_shape=None):
        """``((1, 1), (1, 1), (top, left))``: each output pixel sees one input pixel, shifted by
        the padding (per axis, as Keras writes ``kernel_size``)."""
        (top, _), (left, _) = self.padding
        return (1, 1), (1, 1), (top, left)

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, mode=self.mode, constant_value=self.constant_value)
        return config
