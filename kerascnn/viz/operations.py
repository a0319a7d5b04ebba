"""What an operation does to an image: padding modes, dilated receptive fields, augmentations.

Each picture is computed by the real layers (:class:`kerascnn.layers.Padding2D`, Keras
``Conv2D(dilation_rate=)``, Keras preprocessing layers), not by a re-implementation. Each
``plot_*`` returns a Figure (see :mod:`kerascnn.viz.canvas`) and, given ``path``, saves it as
PNG; its panels are ``fig.axes``, counted in each docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from kerascnn import checks
from kerascnn.errors import ArgumentError
from kerascnn.geometry import receptive_field
from kerascnn.layers.padding2d import MODES as PADDING_MODES
from kerascnn.viz.canvas import axis_off, finish, float_batch, image2d, new_figure

__all__ = [
    "PADDING_MODES",
    "pad_image",
    "plot_padding_modes",
    "dilation_footprints",
    "plot_dilation",
    "default_augmentations",
    "plot_augmentations",
]


def pad_image(image, pad: int, mode: str, *, value: float = 0.5) -> np.ndarray:
    """Pad an HxW or HxWxC image by ``pad`` pixels on each side with ``mode``.

    Runs :class:`kerascnn.layers.Padding2D` (which matches ``np.pad``: zero/constant ->
    constant, replicate -> edge, reflect, symmetric, wrap). ``value`` is the fill of the
    ``constant`` mode.
    """
    import keras

    from kerascnn.layers.padding2d import Padding2D

    mode = checks.choice(*PADDING_MODES)("pad_image", "mode", mode)
    pad = checks.non_negative_int("pad_image", "pad", pad)
    img = np.asarray(image, dtype="float32")
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    layer = Padding2D(pad, mode, float(value) if mode == "constant" else 0.0)
    out = keras.ops.convert_to_numpy(layer(img[None]))[0]
    return out[..., 0] if squeeze else out


def plot_padding_modes(image, *, pad: int = 6, modes: Iterable[str] = PADDING_MODES, path=None):
    """The same image padded with each mode, side by side, the original border outlined.

    Panels: ``1 + len(modes)`` (the original first).
    """
    from matplotlib.patches import Rectangle

    modes = list(modes)
    img, cmap = image2d(image)
    fig = new_figure((2.0 * (len(modes) + 1), 2.5))
    axes = fig.subplots(1, len(modes) + 1, squeeze=False)[0]
    axes[0].imshow(img, cmap=cmap, vmin=0, vmax=1)
    axes[0].set_title(f"original {img.shape[0]}x{img.shape[1]}", fontsize=9)
    axis_off(axes[0])
    for ax, mode in zip(axes[1:], modes):
        ax.imshow(pad_image(img, pad, mode), cmap=cmap, vmin=0, vmax=1)
        box = Rectangle(
            (pad - 0.5, pad - 0.5),
            img.shape[1],
            img.shape[0],
            fill=False,
            edgecolor="red",
            linewidth=1,
        )
        ax.add_patch(box)
        ax.set_title(f"{mode} (+{pad})", fontsize=9)
        axis_off(ax)
    fig.suptitle("Padding modes (red box: the original image)")
    return finish(fig, path)


def _ones_conv(rate: int, kernel_size: int):
    import keras

    return keras.layers.Conv2D(
        1,
        kernel_size,
        dilation_rate=rate,
        padding="same",
        use_bias=False,
        kernel_initializer="ones",
    )


def dilation_footprints(
    rates: Sequence[int] = (1, 2, 4), kernel_size: int = 3
) -> dict[str, np.ndarray]:
    """Receptive-field footprints measured on real Keras ``Conv2D(dilation_rate=r)`` layers.

    Each layer has an all-ones kernel and no bias; a unit impulse goes in and the output
    shows, for the centre output pixel, which input pixels it sees (and how many paths reach
    each). Keys: ``"rate r"`` for a single layer per rate, and ``"stack r1,r2,..."`` for the
    layers applied one after another. The footprint of a single layer spans
    ``r * (k - 1) + 1`` pixels; a stack spans ``1 + sum(r_i * (k - 1))``.
    """
    import keras

    rates = checks.int_sequence(minimum=1)("dilation_footprints", "rates", tuple(rates))
    kernel_size = checks.positive_int("dilation_footprints", "kernel_size", kernel_size)
    span = receptive_field([(kernel_size, 1, r) for r in rates]).size  # the stack's field
    size = span + 2 * 2  # a margin so the whole footprint fits
    impulse = np.zeros((1, size, size, 1), dtype="float32")
    impulse[0, size // 2, size // 2, 0] = 1.0
    out: dict[str, np.ndarray] = {}
    for r in rates:
        out[f"rate {r}"] = keras.ops.convert_to_numpy(_ones_conv(r, kernel_size)(impulse))[
            0, :, :, 0
        ]
    x = impulse
    for r in rates:
        x = _ones_conv(r, kernel_size)(x)
    out["stack " + ",".join(map(str, rates))] = keras.ops.convert_to_numpy(x)[0, :, :, 0]
    return out


def plot_dilation(rates: Sequence[int] = (1, 2, 4), *, kernel_size: int = 3, path=None):
    """Receptive fields of 3x3 convolutions with dilation rates 1, 2, 4 and of their stack.

    Panels: ``len(rates) + 1``. Each title gives the measured footprint extent.
    """
    fps = dilation_footprints(rates, kernel_size)
    fig = new_figure((2.6 * len(fps), 3.0))
    axes = fig.subplots(1, len(fps), squeeze=False)[0]
    for ax, (label, fp) in zip(axes, fps.items()):
        rows, _ = np.nonzero(fp)
        extent = (rows.max() - rows.min() + 1) if len(rows) else 0
        ax.imshow(fp > 0 if label.startswith("rate") else fp, cmap="magma", interpolation="nearest")
        ax.set_title(f"{label}: {extent}x{extent}", fontsize=9)
        axis_off(ax)
    k = kernel_size
    fig.suptitle(f"Receptive field of {k}x{k} convolutions (Conv2D dilation_rate)")
    return finish(fig, path)


def default_augmentations(seed: int = 0) -> dict[str, Any]:
    """Named Keras preprocessing layers used for the previews (and the lessons)."""
    import keras

    L = keras.layers
    return {
        "flip": L.RandomFlip("horizontal", seed=seed),
        "translate": L.RandomTranslation(0.15, 0.15, fill_mode="constant", seed=seed),
        "rotate": L.RandomRotation(0.08, fill_mode="constant", seed=seed),
        "zoom": L.RandomZoom(0.2, fill_mode="constant", seed=seed),
        "contrast": L.RandomContrast(0.5, seed=seed),
        "erase": L.RandomErasing(factor=1.0, scale=(0.05, 0.2), seed=seed),
    }


def plot_augmentations(
    images, augmentations: Mapping[str, Any] | None = None, *, seed: int = 0, path=None
):
    """Each image (row) next to its augmented versions (one column per augmentation).

    ``images``: a batch (N, H, W[, C]), uint8 or float in [0, 1]. ``augmentations``: name ->
    Keras preprocessing layer (default: :func:`default_augmentations`). The layers run in
    training mode. Panels: ``N * (1 + len(augmentations))``.
    """
    import keras

    x = np.asarray(images)
    if x.ndim == 3 and x.shape[-1] not in (1, 3):
        x = x[..., None]
    if x.ndim != 4:
        raise ArgumentError(
            f"plot_augmentations needs a batch of images (N, H, W[, C]). Received: shape={x.shape}"
        )
    x = float_batch(x)
    augs = dict(augmentations) if augmentations is not None else default_augmentations(seed)
    results = {
        name: keras.ops.convert_to_numpy(layer(x, training=True)) for name, layer in augs.items()
    }
    n, cols = len(x), 1 + len(augs)
    fig = new_figure((1.5 * cols, 1.5 * n + 0.4))
    axes = fig.subplots(n, cols, squeeze=False)
    for i in range(n):
        for j, (name, batch) in enumerate([("original", x), *results.items()]):
            img, cmap = image2d(np.clip(batch[i], 0, 1))
            axes[i, j].imshow(img, cmap=cmap, vmin=0, vmax=1)
            if i == 0:
                axes[i, j].set_title(name, fontsize=9)
            axis_off(axes[i, j])
    fig.suptitle("Augmentations (Keras preprocessing layers, training=True)")
    return finish(fig, path)
