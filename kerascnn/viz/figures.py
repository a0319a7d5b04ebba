"""Pictures for the lessons: kernels, feature maps, confusion matrix, padding, dilation,
augmentation previews and training curves.

Every function returns a :class:`matplotlib.figure.Figure` built with the Agg canvas (no
display needed, nothing global touched) and, given ``path``, also saves it as PNG. The panels
of a figure are its ``fig.axes``; the docstring of each function says how many there are.

matplotlib is imported lazily inside the functions (``import kerascnn`` does not need it).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "new_figure",
    "save_figure",
    "first_conv_layer",
    "conv_layers",
    "plot_kernels",
    "plot_feature_maps",
    "confusion_matrix",
    "plot_confusion_matrix",
    "pad_image",
    "plot_padding_modes",
    "dilation_footprints",
    "plot_dilation",
    "default_augmentations",
    "plot_augmentations",
    "plot_training_curves",
    "PADDING_MODES",
]

PADDING_MODES = ("zero", "constant", "reflect", "symmetric", "replicate", "wrap")
# np.pad names for our mode names (used when kerascnn.layers.Padding2D is not available).
_NP_PAD_MODES = {"zero": "constant", "constant": "constant", "reflect": "reflect",
                 "symmetric": "symmetric", "replicate": "edge", "wrap": "wrap"}


# --------------------------------------------------------------------------- helpers


def new_figure(figsize=(6, 4)):
    """A Figure on the Agg canvas (works headless; not registered with pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG at ``path`` (parent folders are created). Returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"Figures are saved as PNG; the path must end in '.png'. Received: path={str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _grid(n: int, max_cols: int = 8) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _image2d(img: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An HxW (grey) or HxWx3 (RGB) float image in [0, 1] for imshow, plus a colormap."""
    img = np.asarray(img, dtype="float32")
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.max() > 1.0:
        img = img / 255.0
    return np.clip(img, 0.0, 1.0), ("gray" if img.ndim == 2 else None)


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _as_float_batch(images) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 2:
        x = x[None, ..., None]
    elif x.ndim == 3:
        x = x[None] if x.shape[-1] in (1, 3) else x[..., None]
    x = x.astype("float32")
    return x / 255.0 if x.max() > 1.0 else x


# --------------------------------------------------------------------------- kernels


def conv_layers(model) -> list:
    """The model's 2-D convolution layers (Conv2D, DepthwiseConv2D, SeparableConv2D), in order."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    found = []

    def walk(layer):
        for sub in getattr(layer, "layers", []):
            if isinstance(sub, kinds):
                found.append(sub)
            else:
                walk(sub)

    walk(model)
    return found


def first_conv_layer(model):
    """The first Conv2D-family layer of ``model``; ValueError if it has none."""
    layers = conv_layers(model)
    if not layers:
        raise ValueError(
            f"Model {model.name!r} has no Conv2D layer to show. "
            f"Received: layers={[l.__class__.__name__ for l in model.layers][:12]}"
        )
    return layers[0]


def plot_kernels(model_or_kernel, *, max_filters: int = 64, path=None, title: str | None = None):
    """Learned kernels of the first conv layer: one panel per output filter.

    ``model_or_kernel`` is a Keras model (its first Conv2D layer is shown) or a kernel array
    of shape (kh, kw, in_channels, filters). With 3 input channels a kernel is drawn as RGB;
    otherwise the channels are averaged. Each kernel is min-max scaled on its own, as in
    Krizhevsky et al. (2012), figure 3. Panels: ``min(filters, max_filters)``.
    """
    if hasattr(model_or_kernel, "layers"):
        layer = first_conv_layer(model_or_kernel)
        kernel = np.asarray(layer.get_weights()[0])
        label = f"{layer.name}: {kernel.shape[0]}x{kernel.shape[1]} kernels"
    else:
        kernel = np.asarray(model_or_kernel)
        label = f"{kernel.shape[0]}x{kernel.shape[1]} kernels" if kernel.ndim == 4 else ""
    if kernel.ndim != 4:
        raise ValueError(
            "plot_kernels needs a model or a kernel of shape (kh, kw, in_channels, filters). "
            f"Received: shape={kernel.shape}"
        )
    n = min(kernel.shape[-1], int(max_filters))
    rows, cols = _grid(n)
    fig = new_figure((1.1 * cols + 0.4, 1.1 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()
            continue
        k = kernel[..., i]
        k = k if k.shape[-1] == 3 else k.mean(axis=-1)
        lo, hi = float(k.min()), float(k.max())
        k = (k - lo) / (hi - lo) if hi > lo else np.zeros_like(k)
        ax.imshow(k, cmap=None if k.ndim == 3 else "gray", interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
        _off(ax)
    fig.suptitle(title or label)
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- feature maps


def plot_feature_maps(model, image, *, max_channels: int = 8, path=None, title: str | None = None):
    """Feature maps of every conv layer for one image: one row per layer.

    Row ``i`` shows the first ``max_channels`` channels of conv layer ``i``'s output (after
    its activation, if the layer has one) for ``image`` (HxW, HxWxC, uint8 or float in
    [0, 1]). Panels: the sum over conv layers of ``min(channels, max_channels)``, plus one
    for the input image.
    """
    import keras

    layers = conv_layers(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no conv layer. Received: model={model.name!r}")
    try:
        probe = keras.Model(model.inputs, [layer.output for layer in layers])
    except Exception as exc:  # a nested or not-yet-built model has no symbolic outputs
        raise ValueError(
            "plot_feature_maps needs a built functional or Sequential model whose conv layers are "
            f"reachable from its inputs. Received: model={model.name!r} ({exc.__class__.__name__})"
        ) from None
    x = _as_float_batch(image)
    outputs = probe.predict(x, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    counts = [min(int(o.shape[-1]), int(max_channels)) for o in outputs]
    rows, cols = len(outputs) + 1, max(counts)
    fig = new_figure((1.15 * cols + 1.2, 1.2 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False)
    img, cmap = _image2d(x[0])
    axes[0, 0].imshow(img, cmap=cmap)
    axes[0, 0].set_title("input", fontsize=8)
    _off(axes[0, 0])
    for ax in axes[0, 1:]:
        ax.remove()
    for r, (layer, out, n) in enumerate(zip(layers, outputs, counts), start=1):
        for c in range(cols):
            ax = axes[r, c]
            if c >= n:
                ax.remove()
                continue
            ax.imshow(out[0, :, :, c], cmap="viridis", interpolation="nearest")
            _off(ax)
            if c == 0:
                h, w, ch = out.shape[1:]
                ax.set_ylabel(f"{layer.name}\n{h}x{w}x{ch}", fontsize=7)
    fig.suptitle(title or f"Feature maps of {model.name}")
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- confusion


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``cm[i, j]`` = number of samples of true class i predicted as class j.

    ``y_pred`` may be labels (N,) or scores (N, classes) (argmax is taken).
    """
    y_true = np.asarray(y_true).astype("int64").reshape(-1)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=-1)
    y_pred = y_pred.astype("int64").reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must hold the same number of samples. "
            f"Received: y_true={y_true.shape[0]} samples, y_pred={y_pred.shape[0]} samples"
        )
    k = int(num_classes) if num_classes else int(max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k):
        raise ValueError(f"Labels must lie in [0, {k}). Received: range [{min(y_true.min(), y_pred.min())}, "
                         f"{max(y_true.max(), y_pred.max())}]")
    cm = np.zeros((k, k), dtype="int64")
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def plot_confusion_matrix(y_true, y_pred, class_names: Sequence[str] | None = None, *,
                          normalize: bool = False, path=None, title: str | None = None):
    """Confusion matrix as a heat map with counts (or row fractions with ``normalize``).

    Panels: 1 (plus matplotlib's colorbar axis, so ``len(fig.axes) == 2``).
    """
    k = len(class_names) if class_names else None
    cm = confusion_matrix(y_true, y_pred, k)
    k = cm.shape[0]
    names = list(class_names) if class_names else [str(i) for i in range(k)]
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig = new_figure((0.55 * k + 2.6, 0.5 * k + 2.0))
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = shown.max() if shown.size else 1
    for i in range(k):
        for j in range(k):
            v = shown[i, j]
            ax.text(j, i, f"{v:.2f}" if normalize else str(int(v)), ha="center", va="center",
                    fontsize=7, color="white" if v > 0.6 * top else "black")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {acc:.3f}, n={cm.sum()})")
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- padding


def pad_image(image, pad: int, mode: str, *, value: float = 0.5) -> np.ndarray:
    """Pad an HxW or HxWxC image by ``pad`` pixels on each side with ``mode``.

    Uses :class:`kerascnn.layers.Padding2D` when the package has it, else ``np.pad`` with the
    equivalent mode (zero/constant -> constant, replicate -> edge, reflect, symmetric, wrap).
    ``value`` is the fill of the ``constant`` mode.
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"Unknown padding mode. Accepted: {', '.join(PADDING_MODES)}. Received: mode={mode!r}")
    img = np.asarray(image, dtype="float32")
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    try:
        from kerascnn.layers import Padding2D  # written by another area; optional here
    except Exception:  # noqa: BLE001 - any import problem means: fall back to numpy
        Padding2D = None
    out = None
    if Padding2D is not None:
        try:
            kwargs = {"padding": int(pad), "mode": mode}
            if mode == "constant":
                kwargs["constant_value"] = float(value)
            out = np.asarray(Padding2D(**kwargs)(img[None]))[0]
        except TypeError:  # a different constructor signature: use numpy
            out = None
    if out is None:
        widths = ((pad, pad), (pad, pad), (0, 0))
        np_mode = _NP_PAD_MODES[mode]
        if np_mode == "constant":
            out = np.pad(img, widths, mode="constant", constant_values=0.0 if mode == "zero" else value)
        else:
            out = np.pad(img, widths, mode=np_mode)
    return out[..., 0] if squeeze else out


def plot_padding_modes(image, *, pad: int = 6, modes: Iterable[str] = PADDING_MODES, path=None):
    """The same image padded with each mode, side by side, the original border outlined.

    Panels: ``1 + len(modes)`` (the original first).
    """
    modes = list(modes)
    img, cmap = _image2d(image)
    fig = new_figure((2.0 * (len(modes) + 1), 2.5))
    axes = fig.subplots(1, len(modes) + 1, squeeze=False)[0]
    axes[0].imshow(img, cmap=cmap, vmin=0, vmax=1)
    axes[0].set_title(f"original {img.shape[0]}x{img.shape[1]}", fontsize=9)
    _off(axes[0])
    from matplotlib.patches import Rectangle

    for ax, mode in zip(axes[1:], modes):
        padded = pad_image(img, pad, mode)
        ax.imshow(padded, cmap=cmap, vmin=0, vmax=1)
        ax.add_patch(Rectangle((pad - 0.5, pad - 0.5), img.shape[1], img.shape[0],
                               fill=False, edgecolor="red", linewidth=1))
        ax.set_title(f"{mode} (+{pad})", fontsize=9)
        _off(ax)
    fig.suptitle("Padding modes (red box: the original image)")
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- dilation


def dilation_footprints(rates: Sequence[int] = (1, 2, 4), kernel_size: int = 3) -> dict[str, np.ndarray]:
    """Receptive-field footprints measured on real Keras ``Conv2D(dilation_rate=r)`` layers.

    Each layer has an all-ones kernel and no bias; a unit impulse goes in and the output
    shows, for the centre output pixel, which input pixels it sees (and how many paths reach
    each). Keys: ``"rate r"`` for a single layer per rate, and ``"stack r1,r2,..."`` for the
    layers applied one after another. The footprint of a single layer spans
    ``r * (k - 1) + 1`` pixels; a stack spans ``1 + sum(r_i * (k - 1))``.
    """
    import keras

    rates = [int(r) for r in rates]
    if not rates or any(r < 1 for r in rates):
        raise ValueError(f"Dilation rates must be positive integers. Received: rates={rates}")
    span = 1 + sum(r * (kernel_size - 1) for r in rates)
    size = span + 2 * 2  # a margin so the whole footprint fits
    impulse = np.zeros((1, size, size, 1), dtype="float32")
    impulse[0, size // 2, size // 2, 0] = 1.0

    def conv(r):
        layer = keras.layers.Conv2D(1, kernel_size, dilation_rate=r, padding="same", use_bias=False,
                                    kernel_initializer="ones")
        return layer

    out: dict[str, np.ndarray] = {}
    for r in rates:
        out[f"rate {r}"] = np.asarray(conv(r)(impulse))[0, :, :, 0]
    x = impulse
    for r in rates:
        x = conv(r)(x)
    out["stack " + ",".join(map(str, rates))] = np.asarray(x)[0, :, :, 0]
    return out


def plot_dilation(rates: Sequence[int] = (1, 2, 4), *, kernel_size: int = 3, path=None):
    """Receptive fields of 3x3 convolutions with dilation rates 1, 2, 4 and of their stack.

    Panels: ``len(rates) + 1``. Each title gives the measured footprint extent.
    """
    fps = dilation_footprints(rates, kernel_size)
    fig = new_figure((2.6 * len(fps), 3.0))
    axes = fig.subplots(1, len(fps), squeeze=False)[0]
    for ax, (label, fp) in zip(axes, fps.items()):
        rows, cols = np.nonzero(fp)
        extent = (rows.max() - rows.min() + 1) if len(rows) else 0
        ax.imshow(fp > 0 if label.startswith("rate") else fp, cmap="magma", interpolation="nearest")
        ax.set_title(f"{label}: {extent}x{extent}", fontsize=9)
        _off(ax)
    fig.suptitle(f"Receptive field of {kernel_size}x{kernel_size} convolutions (Conv2D dilation_rate)")
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- augmentation


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


def plot_augmentations(images, augmentations: Mapping[str, Any] | None = None, *, seed: int = 0, path=None):
    """Each image (row) next to its augmented versions (one column per augmentation).

    ``images``: a batch (N, H, W[, C]), uint8 or float in [0, 1]. ``augmentations``: name ->
    Keras preprocessing layer (default: :func:`default_augmentations`). The layers run in
    training mode. Panels: ``N * (1 + len(augmentations))``.
    """
    x = np.asarray(images)
    if x.ndim == 3 and x.shape[-1] not in (1, 3):
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"plot_augmentations needs a batch of images (N, H, W[, C]). Received: shape={x.shape}")
    x = x.astype("float32")
    x = x / 255.0 if x.max() > 1.0 else x
    augs = dict(augmentations) if augmentations is not None else default_augmentations(seed)
    results = {name: np.asarray(layer(x, training=True)) for name, layer in augs.items()}
    n, cols = len(x), 1 + len(augs)
    fig = new_figure((1.5 * cols, 1.5 * n + 0.4))
    axes = fig.subplots(n, cols, squeeze=False)
    for i in range(n):
        for j, (name, batch) in enumerate([("original", x)] + list(results.items())):
            img, cmap = _image2d(np.clip(batch[i], 0, 1))
            axes[i, j].imshow(img, cmap=cmap, vmin=0, vmax=1)
            if i == 0:
                axes[i, j].set_title(name, fontsize=9)
            _off(axes[i, j])
    fig.suptitle("Augmentations (Keras preprocessing layers, training=True)")
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- curves


def plot_training_curves(history, *, path=None, title: str | None = None):
    """Training curves from a ``keras.callbacks.History`` or a dict of lists.

    One panel per metric (``loss``, ``accuracy``, ...), its ``val_`` counterpart drawn in the
    same panel. A dict of histories (``{"adam": history, "sgd": {...}}``) overlays runs.
    Panels: the number of distinct metric names without the ``val_`` prefix.
    """
    def as_dict(h):
        h = getattr(h, "history", h)
        if not isinstance(h, Mapping):
            raise ValueError(f"Expected a keras History or a dict of lists. Received: {type(h).__name__}")
        return {k: [float(v) for v in vals] for k, vals in h.items()}

    if isinstance(history, Mapping) and history and all(
        hasattr(v, "history") or isinstance(v, Mapping) for v in history.values()
    ):
        runs = {name: as_dict(h) for name, h in history.items()}
    else:
        runs = {"": as_dict(history)}
    metrics: list[str] = []
    for h in runs.values():
        for key in h:
            base = key[4:] if key.startswith("val_") else key
            if base not in metrics and base not in ("learning_rate", "lr"):
                metrics.append(base)
    if not metrics:
        raise ValueError(f"The history has no metrics to plot. Received: keys={[list(h) for h in runs.values()]}")
    fig = new_figure((4.2 * len(metrics), 3.3))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    colors = [f"C{i}" for i in range(10)]
    for ax, metric in zip(axes, metrics):
        for i, (run, h) in enumerate(runs.items()):
            color = colors[i % 10]
            for key, style, suffix in ((metric, "-", "train"), (f"val_{metric}", "--", "val")):
                if key in h:
                    ys = h[key]
                    label = f"{run} {suffix}".strip()
                    ax.plot(range(1, len(ys) + 1), ys, style, color=color, label=label, marker=".")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    if path is not None:
        save_figure(fig, path)
    return fig
