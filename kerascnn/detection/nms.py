"""Non-maximum suppression in NumPy: greedy NMS and soft-NMS (linear and gaussian).

Greedy NMS, with TensorFlow's conventions (``tf.image.non_max_suppression``):

1. keep only boxes whose score is strictly above ``score_threshold``;
2. repeatedly pick the highest-scoring remaining box (ties: the lower index first) and drop
   every remaining box whose IoU with it is strictly above ``iou_threshold``;
3. stop after ``max_output_size`` picks. Returns the picked indices, in pick order.

Soft-NMS (Bodla et al., 2017, "Improving Object Detection With One Line of Code") decays
scores instead of dropping boxes. When box ``M`` is picked, every remaining box ``b`` gets

- ``"linear"``:   ``s_b *= 1 - IoU(M, b)`` if ``IoU(M, b) > iou_threshold`` (else unchanged);
- ``"gaussian"``: ``s_b *= exp(-IoU(M, b)**2 / sigma)`` (the paper's eq. 3; TensorFlow's
  ``soft_nms_sigma`` uses ``exp(-0.5 IoU**2 / soft_nms_sigma)``, i.e. ``sigma = 2 * soft_nms_sigma``);

boxes whose decayed score drops to ``score_threshold`` or below are discarded.
"""

from __future__ import annotations

import numpy as np

from kerascnn.detection.boxes import convert_boxes, pairwise_iou
from kerascnn.errors import ArgumentError

__all__ = ["nms", "soft_nms"]


def _prepare(boxes, scores, fmt, iou_threshold, max_output_size):
    xyxy = convert_boxes(boxes, fmt, "xyxy")
    if xyxy.ndim != 2:
        raise ArgumentError(f"boxes must have shape (N, 4). Received: boxes.shape={xyxy.shape}")
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (len(xyxy),):
        raise ArgumentError(
            f"scores must have shape (N,) = ({len(xyxy)},). Received: scores.shape={s.shape}"
        )
    if np.any(np.isnan(s)):
        raise ArgumentError("scores must not be NaN. Received: scores with NaN")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ArgumentError(
            f"iou_threshold must lie in [0, 1]. Received: iou_threshold={iou_threshold!r}"
        )
    if max_output_size is None:
        max_output_size = len(xyxy)
    if int(max_output_size) != max_output_size or max_output_size < 0:
        raise ArgumentError(
            f"max_output_size must be a non-negative int. Received: max_output_size={max_output_size!r}"
        )
    return xyxy, s, int(max_output_size)


def nms(
    boxes,
    scores,
    iou_threshold: float = 0.5,
    score_threshold: float = -np.inf,
    max_output_size: int | None = None,
    fmt: str = "xyxy",
) -> np.ndarray:
    """Greedy NMS; returns int64 indices into ``boxes`` in the order they were picked."""
    xyxy, s, limit = _prepare(boxes, scores, fmt, iou_threshold, max_output_size)
    order = np.flatnonzero(s > score_threshold)
    order = order[np.argsort(-s[order], kind="stable")]  # descending, lower index first on ties
    keep: list[int] = []
    while order.size and len(keep) < limit:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        if rest.size:
            order = rest[pairwise_iou(xyxy[best : best + 1], xyxy[rest])[0] <= iou_threshold]
        else:
            order = rest
    return np.asarray(keep, dtype=np.int64)


def soft_nms(
    boxes,
    scores,
    iou_threshold: float = 0.3,
    sigma: float = 0.5,
    method: str = "gaussian",
    score_threshold: float = 0.001,
    max_output_size: int | None = None,
    fmt: str = "xyxy",
):
    """Soft-NMS; returns ``(indices, decayed_scores)`` in pick order (scores non-increasing).

    ``iou_threshold`` is used by ``method="linear"`` only; ``sigma`` by ``"gaussian"`` only.
    """
    if method not in ("linear", "gaussian"):
        raise ArgumentError(f"method must be 'linear' or 'gaussian'. Received: method={method!r}")
    if not sigma > 0:
        raise ArgumentError(f"sigma must be positive. Received: sigma={sigma!r}")
    xyxy, s, limit = _prepare(boxes, scores, fmt, iou_threshold, max_output_size)
    s = s.copy()
    alive = np.flatnonzero(s > score_threshold)
    keep, kept_scores = [], []
    while alive.size and len(keep) < limit:
        # highest current score; ties go to the lower index
        j = int(np.lexsort((alive, -s[alive]))[0])
        best = alive[j]
        keep.append(int(best))
        kept_scores.append(float(s[best]))
        alive = np.delete(alive, j)
        if not alive.size:
            break
        iou = pairwise_iou(xyxy[best : best + 1], xyxy[alive])[0]
        if method == "linear":
            decay = np.where(iou > iou_threshold, 1.0 - iou, 1.0)
        else:
            decay = np.exp(-(iou * iou) / sigma)
        s[alive] *= decay
        alive = alive[s[alive] > score_threshold]
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=np.float64)
