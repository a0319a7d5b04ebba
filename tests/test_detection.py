"""Detection basics: IoU vs a brute-force loop and Keras, NMS / soft-NMS vs TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kerascnn.detection import (
    box_area,
    convert_boxes,
    nms,
    pairwise_iou,
    soft_nms,
    xywh_to_xyxy,
    xyxy_to_xywh,
)
from kerascnn.errors import ArgumentError


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides conftest's per-test clear_session(): no Keras models are built here."""
    yield


def random_xyxy(rng, n, size=10.0, max_wh=6.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(0.1, max_wh, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def brute_iou(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = iw * ih
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


# --------------------------------------------------------------------------- IoU


def test_iou_hand_example():
    a = [[0, 0, 2, 2]]
    b = [[1, 1, 3, 3], [0, 0, 2, 2], [2, 2, 4, 4], [0, 0, 1, 1]]
    np.testing.assert_allclose(pairwise_iou(a, b), [[1 / 7, 1.0, 0.0, 0.25]])


@given(n=st.integers(0, 12), m=st.integers(0, 12), seed=st.integers(0, 2**16))
def test_pairwise_iou_matches_brute_force(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = random_xyxy(rng, n), random_xyxy(rng, m)
    iou = pairwise_iou(a, b)
    assert iou.shape == (n, m)
    np.testing.assert_allclose(iou, brute_iou(a, b), rtol=1e-12, atol=1e-12)
    assert np.all((iou >= 0) & (iou <= 1))
    np.testing.assert_allclose(pairwise_iou(b, a), iou.T)


@given(seed=st.integers(0, 2**16), fmt=st.sampled_from(["xywh", "center_xywh"]))
def test_iou_is_the_same_in_every_format(seed, fmt):
    rng = np.random.default_rng(seed)
    a, b = random_xyxy(rng, 5), random_xyxy(rng, 4)
    np.testing.assert_allclose(
        pairwise_iou(convert_boxes(a, "xyxy", fmt), convert_boxes(b, "xyxy", fmt), fmt=fmt),
        pairwise_iou(a, b),
        rtol=1e-12,
        atol=1e-12,
    )


def test_conversions_round_trip_and_match_keras():
    from keras.utils import bounding_boxes as kbb

    rng = np.random.default_rng(0)
    boxes = random_xyxy(rng, 7)
    for fmt in ("xywh", "center_xywh"):
        there = convert_boxes(boxes, "xyxy", fmt)
        np.testing.assert_allclose(convert_boxes(there, fmt, "xyxy"), boxes, rtol=1e-12)
        np.testing.assert_allclose(
            there, np.asarray(kbb.convert_format(boxes, source="xyxy", target=fmt)), rtol=1e-5
        )
    np.testing.assert_allclose(xywh_to_xyxy([1, 2, 3, 4]), [1, 2, 4, 6])
    np.testing.assert_allclose(xyxy_to_xywh([1, 2, 4, 6]), [1, 2, 3, 4])
    np.testing.assert_allclose(box_area([[1, 2, 3, 4]], fmt="xywh"), [12.0])


def test_iou_matches_keras_compute_iou():
    from keras.utils import bounding_boxes as kbb

    rng = np.random.default_rng(1)
    a, b = random_xyxy(rng, 6), random_xyxy(rng, 5)
    theirs = np.asarray(
        kbb.compute_iou(a.astype("float32"), b.astype("float32"), bounding_box_format="xyxy")
    )
    np.testing.assert_allclose(pairwise_iou(a, b), theirs, atol=1e-5)


def test_iou_edge_cases():
    assert pairwise_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    assert pairwise_iou([]).shape == (0, 0)
    # degenerate (zero-area) boxes: IoU 0 with everything, themselves included
    degenerate = [[1, 1, 1, 3], [2, 2, 2, 2]]
    np.testing.assert_array_equal(
        pairwise_iou(degenerate, [[0, 0, 4, 4], [1, 1, 1, 3]]), np.zeros((2, 2))
    )
    # identical boxes: IoU exactly 1
    assert pairwise_iou([[0.5, 0.5, 2.5, 3.0]] * 3).tolist() == [[1.0] * 3] * 3
    # touching edges: no overlap
    assert pairwise_iou([[0, 0, 1, 1]], [[1, 0, 2, 1]])[0, 0] == 0.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: pairwise_iou([[2, 0, 1, 1]]),  # x_max < x_min
        lambda: pairwise_iou([[0, 0, -1, 1]], fmt="xywh"),  # negative width
        lambda: pairwise_iou([[0, 0, 1]]),  # not 4 numbers
        lambda: pairwise_iou([[0, 0, np.nan, 1]]),
        lambda: convert_boxes([[0, 0, 1, 1]], "xyxy", "yxyx"),
        lambda: nms([[0, 0, 1, 1]], [0.5, 0.4]),
        lambda: nms([[0, 0, 1, 1]], [0.5], iou_threshold=1.5),
        lambda: nms([[0, 0, 1, 1]], [np.nan]),
        lambda: nms([[0, 0, 1, 1]], [0.5], max_output_size=-1),
        lambda: soft_nms([[0, 0, 1, 1]], [0.5], method="hard"),
        lambda: soft_nms([[0, 0, 1, 1]], [0.5], sigma=0),
    ],
)
def test_errors_say_what_was_received(call):
    with pytest.raises(ArgumentError, match=r"Received: .+"):
        call()


# --------------------------------------------------------------------------- NMS


def test_nms_hand_example():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]]
    scores = [0.9, 0.8, 0.7, 0.95]
    # box 3 (0.95) suppresses 0 (IoU 0.9) and 1 (IoU ~0.63); box 2 is far away
    assert nms(boxes, scores, iou_threshold=0.5).tolist() == [3, 2]
    assert nms(boxes, scores, iou_threshold=0.95).tolist() == [3, 0, 1, 2]
    assert nms(boxes, scores, iou_threshold=0.5, max_output_size=1).tolist() == [3]
    # a score of 0.8 is not > 0.8, so score_threshold=0.8 drops it
    assert nms(boxes, scores, iou_threshold=0.95, score_threshold=0.8).tolist() == [3, 0]


def tf_nms(boxes, scores, iou, score_threshold, max_out):
    import tensorflow as tf

    return tf.image.non_max_suppression(
        boxes.astype(np.float32),
        scores.astype(np.float32),
        max_out,
        iou_threshold=iou,
        score_threshold=score_threshold,
    ).numpy()


def _far_from_threshold(boxes, thr, margin=1e-4):
    iou = pairwise_iou(boxes)
    return not np.any(np.abs(iou - thr) < margin)


@settings(max_examples=30)
@given(
    n=st.integers(0, 25),
    seed=st.integers(0, 2**16),
    iou=st.floats(0.05, 0.95),
    score_threshold=st.sampled_from([float("-inf"), 0.2, 0.5]),
    max_out=st.integers(0, 30),
)
def test_nms_matches_tensorflow_on_random_boxes(n, seed, iou, score_threshold, max_out):
    rng = np.random.default_rng(seed)
    # float32-representable inputs, so both sides see exactly the same numbers
    boxes = random_xyxy(rng, n).astype(np.float32).astype(np.float64)
    scores = rng.uniform(0, 1, n).astype(np.float32).astype(np.float64)
    assume(_far_from_threshold(boxes, iou) and len(np.unique(scores)) == n)
    ours = nms(boxes, scores, iou, score_threshold, max_out)
    np.testing.assert_array_equal(ours, tf_nms(boxes, scores, iou, score_threshold, max_out))


def test_nms_edge_cases_agree_with_tensorflow():
    empty = nms(np.zeros((0, 4)), np.zeros(0))
    assert empty.shape == (0,) and empty.dtype == np.int64
    # identical boxes with equal scores: one survives, the lowest index (TensorFlow's tie rule)
    same = np.array([[1, 1, 4, 4]] * 4, dtype=np.float64)
    tied = np.array([0.3, 0.7, 0.7, 0.1])
    assert (
        nms(same, tied, 0.5).tolist() == [1] == tf_nms(same, tied, 0.5, float("-inf"), 10).tolist()
    )
    # IoU exactly at the threshold is kept (suppression needs IoU > threshold), as in TensorFlow
    half = np.array([[0, 0, 1, 1], [0, 0, 1, 0.5]])
    s = np.array([0.9, 0.8])
    assert nms(half, s, 0.5).tolist() == [0, 1] == tf_nms(half, s, 0.5, float("-inf"), 10).tolist()
    # degenerate boxes never suppress anything and are never suppressed
    deg = np.array([[0, 0, 0, 2], [0, 0, 0, 2], [0, 0, 3, 3]])
    assert nms(deg, [0.9, 0.8, 0.7], 0.1).tolist() == [0, 1, 2]
    # all scores under the threshold: nothing
    assert nms(same, tied, 0.5, score_threshold=0.9).size == 0


# --------------------------------------------------------------------------- soft-NMS


def test_soft_nms_linear_hand_example():
    boxes = [[0, 0, 10, 10], [0, 0, 10, 5], [50, 50, 60, 60]]
    idx, sc = soft_nms(
        boxes, [0.9, 0.8, 0.6], method="linear", iou_threshold=0.3, score_threshold=0.0
    )
    # box 1 overlaps box 0 with IoU 0.5 > 0.3: its score becomes 0.8 * (1 - 0.5) = 0.4
    assert idx.tolist() == [0, 2, 1]
    np.testing.assert_allclose(sc, [0.9, 0.6, 0.4])
    # below the IoU threshold the linear rule leaves scores alone
    idx, sc = soft_nms(
        boxes, [0.9, 0.8, 0.6], method="linear", iou_threshold=0.6, score_threshold=0.0
    )
    np.testing.assert_allclose(sc, [0.9, 0.8, 0.6])


@settings(max_examples=25)
@given(
    n=st.integers(0, 20),
    seed=st.integers(0, 2**16),
    sigma=st.floats(0.1, 1.0),
    score_threshold=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_gaussian_soft_nms_matches_tensorflow(n, seed, sigma, score_threshold):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    boxes = random_xyxy(rng, n).astype(np.float32).astype(np.float64)
    scores = rng.uniform(0, 1, n).astype(np.float32).astype(np.float64)
    assume(len(np.unique(scores)) == n)
    idx, sc = soft_nms(
        boxes, scores, sigma=sigma, method="gaussian", score_threshold=score_threshold
    )
    # TensorFlow: exp(-0.5 iou^2 / soft_nms_sigma) -> soft_nms_sigma = sigma / 2; iou_threshold=1 disables
    # its extra hard cut-off
    tf_idx, tf_sc = tf.image.non_max_suppression_with_scores(
        boxes.astype(np.float32),
        scores.astype(np.float32),
        max_output_size=max(n, 1),
        iou_threshold=1.0,
        score_threshold=score_threshold,
        soft_nms_sigma=sigma / 2,
    )
    tf_idx, tf_sc = tf_idx.numpy(), tf_sc.numpy()
    # decayed scores can come within float32 noise of each other or of the threshold; compare
    # the confidently separated part: same picks while scores stay clearly apart
    gaps = np.diff(sc)
    k = len(sc)
    close = np.flatnonzero(np.abs(gaps) < 1e-4)
    if close.size:
        k = int(close[0]) + 1
    assert idx[:k].tolist() == tf_idx[:k].tolist()
    np.testing.assert_allclose(sc[:k], tf_sc[:k], rtol=1e-4, atol=1e-6)
    if not close.size and not np.any(np.abs(sc - score_threshold) < 1e-4):
        assert len(idx) == len(tf_idx)


def test_soft_nms_keeps_overlapping_boxes_that_nms_drops():
    boxes = [[0, 0, 10, 10], [1, 0, 11, 10], [0, 1, 10, 11]]
    scores = [0.9, 0.85, 0.8]
    assert nms(boxes, scores, 0.5).tolist() == [0]
    idx, sc = soft_nms(boxes, scores, method="gaussian", sigma=0.5)
    assert sorted(idx.tolist()) == [0, 1, 2]
    assert np.all(np.diff(sc) <= 0) and sc[0] == 0.9 and np.all(sc[1:] < np.array(scores[1:]))
