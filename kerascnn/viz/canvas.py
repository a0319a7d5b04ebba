"""The figure helpers every picture of :mod:`kerascnn.viz` shares.

A figure is a :class:`matplotlib.figure.Figure` on the Agg canvas (no display needed, nothing
global touched); matplotlib is imported lazily, inside the functions.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from kerascnn.errors import ArgumentError

__all__ = ["new_figure", "save_figure", "finish"]


def new_figure(figsize=(6, 4)):
    """A Figure on the Agg canvas (works headless; not registered with pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG at ``path`` (parent folders are created). Returns the path.

    Inside a Jupyter kernel (a notebook, or the book's build) the PNG is also shown inline, as
    the cell's output; as a script nothing is shown.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ArgumentError(
            f"Figures are saved as PNG; the path must end in '.png'. Received: path={str(path)!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    if in_jupyter_kernel():
        from IPython.display import Image, display

        display(Image(data=path.read_bytes(), format="png"))
    return path


def in_jupyter_kernel() -> bool:
    """True when running inside a Jupyter (IPython) kernel; False in a script or a terminal IPython.

    IPython is looked up in ``sys.modules``, never imported: a script that did not load it is not
    in a kernel, and pays nothing.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def finish(fig, path=None):
    """Save ``fig`` when a ``path`` is given; return the figure (the end of every plot_*)."""
    if path is not None:
        save_figure(fig, path)
    return fig


def grid(n: int, max_cols: int = 8) -> tuple[int, int]:
    """(rows, cols) of a grid of ``n`` panels at most ``max_cols`` wide."""
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def image2d(img: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An HxW (grey) or HxWx3 (RGB) float image in [0, 1] for imshow, plus a colormap."""
    img = np.asarray(img, dtype="float32")
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.max() > 1.0:
        img = img / 255.0
    return np.clip(img, 0.0, 1.0), ("gray" if img.ndim == 2 else None)


def axis_off(ax) -> None:
    """No ticks on ``ax`` (an image panel)."""
    ax.set_xticks([])
    ax.set_yticks([])


def float_batch(images) -> np.ndarray:
    """HxW, HxWxC or NxHxW[xC] images (uint8 or float) -> an NHWC float32 batch in [0, 1]."""
    x = np.asarray(images)
    if x.ndim == 2:
        x = x[None, ..., None]
    elif x.ndim == 3:
        x = x[None] if x.shape[-1] in (1, 3) else x[..., None]
    x = x.astype("float32")
    return x / 255.0 if x.max() > 1.0 else x
