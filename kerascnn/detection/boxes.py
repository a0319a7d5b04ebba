"""Bounding boxes in NumPy: format conversion, areas and vectorized pairwise IoU.

Formats (the names ``keras.utils.bounding_boxes`` uses):

- ``"xyxy"``: ``(x_min, y_min, x_max, y_max)`` corners;
- ``"xywh"``: ``(x_min, y_min, width, height)``, top-left corner plus size (COCO);
- ``"center_xywh"``: ``(x_center, y_center, width, height)`` (YOLO-style).

Boxes are arrays whose last axis has 4 entries. A box with zero width or height is allowed
(area 0, IoU 0 with everything, itself included); a box with ``x_max < x_min`` or
``y_max < y_min`` (negative size) is almost always a format mix-up and raises
:class:`kerascnn.errors.ArgumentError` (a ValueError).
"""

from __future__ import annotations

import numpy as np

from kerascnn.errors import ArgumentError

__all__ = [
    "BOX_FORMATS",
    "convert_boxes",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
    "center_xywh_to_xyxy",
    "xyxy_to_center_xywh",
    "box_area",
    "pairwise_iou",
    "as_boxes",
]

BOX_FORMATS = ("xyxy", "xywh", "center_xywh")


def as_boxes(boxes, name: str = "boxes", fmt: str = "xyxy") -> np.ndarray:
    """Validate and return ``boxes`` as a float64 array of shape ``(..., 4)`` in ``fmt``."""
    if fmt not in BOX_FORMATS:
        raise ArgumentError(f"box format must be one of {BOX_FORMATS}. Received: fmt={fmt!r}")
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.shape[-1:] != (4,):
        raise ArgumentError(f"{name} must have shape (..., 4). Received: {name}.shape={arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(f"{name} must be finite numbers. Received: {name} with NaN or inf")
    if fmt == "xyxy":
        bad = (arr[..., 2] < arr[..., 0]) | (arr[..., 3] < arr[..., 1])
        what = "x_max >= x_min and y_max >= y_min"
    else:
        bad = (arr[..., 2] < 0) | (arr[..., 3] < 0)
        what = "width >= 0 and height >= 0"
    if np.any(bad):
        first = arr.reshape(-1, 4)[np.flatnonzero(bad.ravel())[0]]
        raise ArgumentError(
            f"{name} in {fmt!r} format need {what} (is the format right?). Received: box {first.tolist()}"
        )
    return arr


def xywh_to_xyxy(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([b[..., :2], b[..., :2] + b[..., 2:]], axis=-1)


def xyxy_to_xywh(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([b[..., :2], b[..., 2:] - b[..., :2]], axis=-1)


def center_xywh_to_xyxy(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    half = b[..., 2:] / 2.0
    return np.concatenate([b[..., :2] - half, b[..., :2] + half], axis=-1)


def xyxy_to_center_xywh(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([(b[..., :2] + b[..., 2:]) / 2.0, b[..., 2:] - b[..., :2]], axis=-1)


_TO_XYXY = {"xyxy": lambda b: b, "xywh": xywh_to_xyxy, "center_xywh": center_xywh_to_xyxy}
_FROM_XYXY = {"xyxy": lambda b: b, "xywh": xyxy_to_xywh, "center_xywh": xyxy_to_center_xywh}


def convert_boxes(boxes, source: str, target: str) -> np.ndarray:
    """Convert ``(..., 4)`` boxes between ``"xyxy"``, ``"xywh"`` and ``"center_xywh"``."""
    for label, fmt in (("source", source), ("target", target)):
        if fmt not in BOX_FORMATS:
            raise ArgumentError(f"{label} must be one of {BOX_FORMATS}. Received: {label}={fmt!r}")
    return _FROM_XYXY[target](_TO_XYXY[source](as_boxes(boxes, fmt=source)))


def box_area(boxes, fmt: str = "xyxy") -> np.ndarray:
    b = convert_boxes(boxes, fmt, "xyxy")
    return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def pairwise_iou(boxes1, boxes2=None, fmt: str = "xyxy") -> np.ndarray:
    """Intersection over union of every pair: ``(N, 4), (M, 4) -> (N, M)``, vectorized.

    ``boxes2=None`` compares ``boxes1`` with itself. A pair whose union is empty (two
    zero-area boxes) has IoU 0.
    """
    a = convert_boxes(boxes1, fmt, "xyxy").reshape(-1, 4)
    b = a if boxes2 is None else convert_boxes(boxes2, fmt, "xyxy").reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return iou
