"""What a trained conv net holds: its learned kernels and the feature maps of one image.

Each ``plot_*`` returns a Figure (see :mod:`kerascnn.viz.canvas`) and, given ``path``, saves
it as PNG; its panels are ``fig.axes``, counted in each docstring.
"""

from __future__ import annotations

import numpy as np

from kerascnn import checks
from kerascnn.errors import ArgumentError
from kerascnn.viz.canvas import axis_off, finish, float_batch, grid, image2d, new_figure

__all__ = ["conv_layers", "first_conv_layer", "plot_kernels", "plot_feature_maps"]


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
    """The first Conv2D-family layer of ``model``; ArgumentError if it has none."""
    layers = conv_layers(model)
    if not layers:
        kinds = [layer.__class__.__name__ for layer in model.layers][:12]
        raise ArgumentError(
            f"Model {model.name!r} has no Conv2D layer to show. Received: layers={kinds}"
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
        raise ArgumentError(
            "plot_kernels needs a model or a kernel of shape (kh, kw, in_channels, filters). "
            f"Received: shape={kernel.shape}"
        )
    n = min(kernel.shape[-1], checks.positive_int("plot_kernels", "max_filters", max_filters))
    rows, cols = grid(n)
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
        axis_off(ax)
    fig.suptitle(title or label)
    return finish(fig, path)


def plot_feature_maps(model, image, *, max_channels: int = 8, path=None, title: str | None = None):
    """Feature maps of every conv layer for one image: one row per layer.

    Row ``i`` shows the first ``max_channels`` channels of conv layer ``i``'s output (after
    its activation, if the layer has one) for ``image`` (HxW, HxWxC, uint8 or float in
    [0, 1]). Panels: the sum over conv layers of ``min(channels, max_channels)``, plus one
    for the input image.
    """
    import keras

    max_channels = checks.positive_int("plot_feature_maps", "max_channels", max_channels)
    layers = conv_layers(model)
    if not layers:
        raise ArgumentError(
            f"Model {model.name!r} has no conv layer. Received: model={model.name!r}"
        )
    try:
        probe = keras.Model(model.inputs, [layer.output for layer in layers])
    except Exception as exc:  # a nested or not-yet-built model has no symbolic outputs
        raise ArgumentError(
            "plot_feature_maps needs a built functional or Sequential model whose conv layers are "
            f"reachable from its inputs. Received: model={model.name!r} ({exc.__class__.__name__})"
        ) from None
    x = float_batch(image)
    outputs = probe.predict(x, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    counts = [min(int(o.shape[-1]), max_channels) for o in outputs]
    rows, cols = len(outputs) + 1, max(counts)
    fig = new_figure((1.15 * cols + 1.2, 1.2 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False)
    img, cmap = image2d(x[0])
    axes[0, 0].imshow(img, cmap=cmap)
    axes[0, 0].set_title("input", fontsize=8)
    axis_off(axes[0, 0])
    for ax in axes[0, 1:]:
        ax.remove()
    for r, (layer, out, n) in enumerate(zip(layers, outputs, counts), start=1):
        for c in range(cols):
            ax = axes[r, c]
            if c >= n:
                ax.remove()
                continue
            ax.imshow(out[0, :, :, c], cmap="viridis", interpolation="nearest")
            axis_off(ax)
            if c == 0:
                h, w, ch = out.shape[1:]
                ax.set_ylabel(f"{layer.name}\n{h}x{w}x{ch}", fontsize=7)
    fig.suptitle(title or f"Feature maps of {model.name}")
    return finish(fig, path)
