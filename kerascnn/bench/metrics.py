"""Test-set metrics of a classifier's probabilities (top-1, top-k, loss, confusion matrix)."""

from __future__ import annotations

import math

import numpy as np

from kerascnn.record.run import EvalMetrics


def classification_metrics(probs: np.ndarray, y: np.ndarray, num_classes: int) -> EvalMetrics:
    """Top-1, top-5 (top-k for fewer classes), cross-entropy and the confusion matrix."""
    probs = probs.astype(np.float64)
    pred = probs.argmax(axis=1)
    k = min(5, num_classes)
    topk = np.argpartition(-probs, kth=k - 1, axis=1)[:, :k]
    conf = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    loss = float(-np.log(p_true).mean())
    return EvalMetrics(
        top1=float((pred == y).mean()),
        top5=float((topk == y[:, None]).any(axis=1).mean()),
        loss=loss if math.isfinite(loss) else None,
        confusion=conf.tolist(),
        n=int(len(y)),
    )
