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
    of shape (kh, kw, in_channels, filters). With 3 input channels a kernel is drawn as RGB,
    each min-max scaled on its own, as in Krizhevsky et al. (2012), figure 3. Otherwise the
    channels are averaged and the weights shown as they are, signed: one diverging colormap
    centred at 0 shared by every kernel (``vmin=-m, vmax=m``, ``m`` the largest absolute
    weight) with a colorbar, so that sign and size compare across kernels.
    Panels: ``min(filters, max_filters)``, plus the colorbar when the kernels are not RGB.
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
    rgb = kernel.shape[2] == 3
    signed = None if rgb else kernel[..., :n].mean(axis=2)
    m = float(np.abs(signed).max()) if signed is not None else 0.0
    m = m if m > 0 else 1.0
    fig = new_figure((1.1 * cols + (0.4 if rgb else 1.2), 1.1 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    im, shown = None, []
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.remove()
            continue
        shown.append(ax)
        if rgb:
            k = kernel[..., i]
            lo, hi = float(k.min()), float(k.max())
            k = (k - lo) / (hi - lo) if hi > lo else np.zeros_like(k)
            ax.imshow(k, interpolation="nearest")
        else:
            im = ax.imshow(signed[..., i], cmap="RdBu_r", vmin=-m, vmax=m, interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
        axis_off(ax)
    if im is not None:
        bar = fig.colorbar(im, ax=shown, shrink=0.8)
        bar.set_label("weight", fontsize=7)
        bar.ax.tick_params(labelsize=7)
    fig.suptitle(title or label)
    return finish(fig, path)


def plot_feature_maps(model, image, *, max_channels: int = 8, path=None, title: str | None = None):
    """Feature maps of every conv layer for one image: one row per layer.

    Row ``i`` shows the first ``max_channels`` channels of conv layer ``i``'s output (after
    its activation, if the layer has one) for ``image`` (HxW, HxWxC, uint8 or float in
    [0, 1]), on one colour scale per row with its colorbar: a diverging colormap centred at
    0 (``vmin=-m, vmax=m``) when the row has negative values (a conv without activation, as
    in the zoo's conv -> BN -> ReLU), viridis from 0 otherwise. Panels: the sum over conv
    layers of ``min(channels, max_channels)``, plus one for the input image, plus one
    colorbar per conv layer.
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
    fig = new_figure((1.15 * cols + 1.6, 1.2 * rows + 0.5))
    # a narrow last column holds each row's colorbar, at the right edge of the figure
    grid_axes = fig.subplots(
        rows, cols + 1, squeeze=False, gridspec_kw={"width_ratios": [1] * cols + [0.07]}
    )
    axes, bars = grid_axes[:, :cols], grid_axes[:, cols]
    bars[0].remove()
    img, cmap = image2d(x[0])
    axes[0, 0].imshow(img, cmap=cmap)
    axes[0, 0].set_title("input", fontsize=8)
    axis_off(axes[0, 0])
    for ax in axes[0, 1:]:
        ax.remove()
    for r, (layer, out, n) in enumerate(zip(layers, outputs, counts), start=1):
        maps = np.asarray(out[0, :, :, :n], dtype="float32")
        lo, hi = float(maps.min()), float(maps.max())
        if lo < 0:
            m = max(-lo, hi) or 1.0
            scale = {"cmap": "RdBu_r", "vmin": -m, "vmax": m}
        else:
            scale = {"cmap": "viridis", "vmin": 0.0, "vmax": hi if hi > 0 else 1.0}
        for c in range(cols):
            ax = axes[r, c]
            if c >= n:
                ax.remove()
                continue
            im = ax.imshow(maps[:, :, c], interpolation="nearest", **scale)
            axis_off(ax)
            if c == 0:
                h, w, ch = out.shape[1:]
                ax.set_ylabel(f"{layer.name}\n{h}x{w}x{ch}", fontsize=7)
        fig.colorbar(im, cax=bars[r]).ax.tick_params(labelsize=6)
    fig.suptitle(title or f"Feature maps of {model.name}")
    return finish(fig, path)
