"""Resizing images to a fixed ``(height, width)``: the one truth for load-time and on-the-fly
resizing.

:func:`resize_images` (numpy, at load time: ``load_dataset(..., image_size=...)``) runs the very
layer :func:`resizing_layer` builds (``keras.layers.Resizing``, bilinear, inside a model or a
training step), so the two cannot drift apart. ``aspect`` says what happens when the target's
aspect ratio differs from the image's:

* ``"squash"``: plain resize (the image is stretched);
* ``"crop"``: centre crop to the target aspect ratio, then resize;
* ``"pad"``: pad with zeros (black) to the target aspect ratio, then resize.

Only keras and numpy here, imported lazily: ``kerascnn.data`` imports without a backend, and on
JAX without TensorFlow.
"""

from __future__ import annotations

import numbers
import re

import numpy as np

from kerascnn.errors import ArgumentError

ASPECT_MODES = ("squash", "crop", "pad")

_CHUNK_FLOATS = 16 * 1024**2  # float32 values resized per call (64 MB): bounds the memory used


def _positive_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) > 0


def check_image_size(value, *, source: str = "image_size") -> tuple[int, int] | None:
    """``value`` as ``(height, width)``, or None: accepts None, a positive int ``n`` (``(n, n)``),
    a ``(height, width)`` pair of positive ints, or a string ``"n"`` / ``"HxW"`` (as typed on a
    command line). ArgumentError otherwise, naming ``source``."""
    if value is None:
        return None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*(?:[x,]\s*(\d+)\s*)?", value)
        if m and int(m[1]) > 0 and (m[2] is None or int(m[2]) > 0):
            return (int(m[1]), int(m[2] or m[1]))
    elif _positive_int(value):
        return (int(value), int(value))
    elif isinstance(value, list | tuple | np.ndarray) and len(value) == 2:
        if all(_positive_int(v) for v in value):
            return (int(value[0]), int(value[1]))
    raise ArgumentError(
        f"{source} must be None, a positive int n (meaning n x n) or a (height, width) pair of "
        f"positive ints. Received: {source}={value!r}"
    )


def check_aspect(aspect) -> str:
    """``aspect`` if it is one of :data:`ASPECT_MODES`; ArgumentError otherwise."""
    if aspect not in ASPECT_MODES:
        raise ArgumentError(
            "aspect must be one of 'squash' (plain resize), 'crop' (centre crop to the target "
            "aspect ratio, then resize) or 'pad' (pad with zeros to the target aspect ratio, then "
            f"resize). Received: aspect={aspect!r}"
        )
    return aspect


def resizing_layer(size, aspect: str = "squash", name: str | None = None, **kwargs):
    """A ``keras.layers.Resizing`` to ``size`` (``(height, width)`` or ``n``), bilinear, channels
    last; ``aspect`` ``"crop"``/``"pad"`` set ``crop_to_aspect_ratio``/``pad_to_aspect_ratio``
    (padding with zeros). ``kwargs`` go to the layer (e.g. ``dtype``)."""
    import keras

    height, width = check_image_size(size, source="size") or (None, None)
    if height is None:
        raise ArgumentError("resizing_layer needs a size. Received: size=None")
    check_aspect(aspect)
    return keras.layers.Resizing(
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=aspect == "crop",
        pad_to_aspect_ratio=aspect == "pad",
        fill_mode="constant",
        fill_value=0.0,
        data_format="channels_last",
        name=name,
        **kwargs,
    )


def resize_images(images: np.ndarray, size, aspect: str = "squash") -> np.ndarray:
    """``images`` (NHWC, uint8) resized to ``size`` with :func:`resizing_layer`: uint8 out, rounded
    and clipped. Runs in chunks to bound the memory; images already at ``size`` come back as is."""
    import keras

    height, width = check_image_size(size, source="size") or (None, None)
    if height is None:
        raise ArgumentError("resize_images needs a size. Received: size=None")
    check_aspect(aspect)
    images = np.asarray(images)
    if images.ndim != 4:
        raise ArgumentError(
            f"resize_images takes a batch of images (N, height, width, channels). "
            f"Received: an array of shape {images.shape}"
        )
    n, h, w, c = images.shape
    if (h, w) == (height, width):
        return images.astype(np.uint8, copy=False)
    out = np.empty((n, height, width, c), np.uint8)
    if n == 0:
        return out
    layer = resizing_layer((height, width), aspect, dtype="float32")
    step = max(1, _CHUNK_FLOATS // (max(h * w, height * width) * c))
    for start in range(0, n, step):
        chunk = keras.ops.convert_to_tensor(images[start : start + step].astype(np.float32))
        # the layer's own transform (what its __call__ runs), minus the tf.data plumbing
        resized = keras.ops.convert_to_numpy(layer.transform_images(chunk))
        out[start : start + step] = np.clip(np.rint(resized), 0, 255).astype(np.uint8)
    return out


class BatchResizer:
    """Fills ``out[i]`` with image ``i`` resized to ``out``'s size, batching images of equal size
    into one :func:`resize_images` call (far faster than one call per image).

    ``add(i, image)`` takes an HWC uint8 image with ``out``'s channels; call :meth:`flush` at the
    end (images already at the target size are copied at once).
    """

    def __init__(self, out: np.ndarray, aspect: str = "squash", max_bytes: int = 32 * 1024**2):
        self.out, self.aspect, self.max_bytes = out, check_aspect(aspect), max_bytes
        self._pending: dict[tuple[int, ...], tuple[list[int], list[np.ndarray]]] = {}

    def add(self, index: int, image: np.ndarray) -> None:
        if image.shape == self.out.shape[1:]:
            self.out[index] = image
            return
        indices, images = self._pending.setdefault(image.shape, ([], []))
        indices.append(index)
        images.append(image)
        if len(images) * image.size >= self.max_bytes:
            self._flush(image.shape)

    def _flush(self, shape) -> None:
        indices, images = self._pending.pop(shape)
        self.out[indices] = resize_images(np.stack(images), self.out.shape[1:3], self.aspect)

    def flush(self) -> np.ndarray:
        for shape in list(self._pending):
            self._flush(shape)
        return self.out
