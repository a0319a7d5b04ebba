# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 12 · Detection basics: IoU and non-maximum suppression
#
# A detector outputs many overlapping candidate boxes per object, each with a score. Two
# tools turn that into one box per object:
#
# * **IoU** (intersection over union) measures how much two boxes overlap, from 0 (disjoint)
#   to 1 (identical):
#
# $$
# \operatorname{IoU}(A, B) = \frac{\lvert A \cap B \rvert}{\lvert A \cup B \rvert} = \frac{\lvert A \cap B \rvert}{\lvert A \rvert + \lvert B \rvert - \lvert A \cap B \rvert} ;
# $$
#
# * **NMS** keeps the best-scoring box and removes every other box that overlaps it by more
#   than a threshold, then repeats. **Soft-NMS** lowers the neighbours' scores instead of
#   removing them, which helps when two real objects overlap.
#
# `kerascnn.detection` implements both in vectorized NumPy, tested against TensorFlow's
# `tf.image.non_max_suppression`. Here we use them on a scene made of real Fashion-MNIST
# images.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
from pathlib import Path

import numpy as np

import kerascnn
from kerascnn.detection import convert_boxes, nms, pairwise_iou, soft_nms
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "12_detection_basics"
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. IoU by hand
#
# Boxes are `(x_min, y_min, x_max, y_max)` ("xyxy"). A = (0, 0, 4, 4) and B = (2, 2, 6, 6)
# overlap in a 2x2 square: $\operatorname{IoU} = \frac{4}{16 + 16 - 4} = \frac{1}{7}$. The
# intersection of two boxes is a box again, from the larger of the two minima to the smaller
# of the two maxima, $w_{\cap} = \max(0, \min(x_1^A, x_1^B) - \max(x_0^A, x_0^B))$ and the
# same for the height.

# %%
A, B = [0, 0, 4, 4], [2, 2, 6, 6]
iou_ab = pairwise_iou([A], [B])[0, 0]
print(f"IoU(A, B) = {iou_ab:.4f}  (1/7 = {1 / 7:.4f})")
assert np.isclose(iou_ab, 1 / 7)

# the same boxes as (x, y, width, height) and as (center x, center y, width, height)
print("xywh:", convert_boxes([A, B], "xyxy", "xywh").tolist())
print("center_xywh:", convert_boxes([A, B], "xyxy", "center_xywh").tolist())
assert np.isclose(
    pairwise_iou(
        convert_boxes([A], "xyxy", "xywh"), convert_boxes([B], "xyxy", "xywh"), fmt="xywh"
    )[0, 0],
    1 / 7,
)

# pairwise: every box against every box in one vectorized call
grid = np.array([[0, 0, 4, 4], [1, 0, 5, 4], [2, 0, 6, 4], [4, 0, 8, 4]], dtype=float)
M = pairwise_iou(grid)
print("pairwise IoU of a box sliding right by 0, 1, 2, 4 pixels:\n", M.round(3))
assert np.allclose(np.diag(M), 1) and np.allclose(M, M.T)
assert np.isclose(M[0, 1], 12 / 20) and np.isclose(M[0, 2], 8 / 24) and M[0, 3] == 0  # touching = 0

# %% [markdown]
# ## 2. A scene and a noisy "detector"
#
# We paste real Fashion-MNIST images onto a 112x112 canvas; each object's ground-truth box
# is the bounding box of its non-zero pixels. A stand-in detector then proposes many
# jittered boxes around each object, scored higher the better they fit (plus noise), and a
# few random false positives with low scores.

# %%
ds = kerascnn.load_dataset("fashion_mnist_mini")
canvas = np.zeros((112, 112), dtype=np.float32)
positions = [(4, 6), (10, 70), (62, 20), (70, 78)]  # top-left (row, col) of each 28x28 item
picks = rng.choice(len(ds.x_test), len(positions), replace=False)
gt = []
for (r, c), i in zip(positions, picks):
    item = ds.x_test[i, :, :, 0].astype(np.float32) / 255.0
    canvas[r : r + 28, c : c + 28] = np.maximum(canvas[r : r + 28, c : c + 28], item)
    rows, cols = np.nonzero(item > 0.1)
    gt.append([c + cols.min(), r + rows.min(), c + cols.max() + 1, r + rows.max() + 1])
gt = np.array(gt, dtype=float)
print("ground truth boxes (xyxy):\n", gt)
assert pairwise_iou(gt).max() <= 1.0 and np.allclose(np.diag(pairwise_iou(gt)), 1)

per_object = 20  # cheap either way: no separate fast mode needed
cands, scores = [], []
for box in gt:
    wh = box[2:] - box[:2]
    for _ in range(per_object):
        jitter = rng.normal(0, 0.08, 4) * np.concatenate([wh, wh])
        cand = box + jitter
        cand[2:] = np.maximum(cand[2:], cand[:2] + 1)
        cands.append(cand)
        scores.append(pairwise_iou([cand], [box])[0, 0] * 0.9 + rng.uniform(0, 0.1))
for _ in range(5):  # background false positives
    xy = rng.uniform(0, 90, 2)
    cands.append(np.concatenate([xy, xy + rng.uniform(8, 20, 2)]))
    scores.append(rng.uniform(0.05, 0.3))
cands, scores = np.array(cands), np.array(scores)
print(f"{len(cands)} candidate boxes for {len(gt)} objects")

# %% [markdown]
# ## 3. Greedy NMS
#
# Keep the top box, drop everything overlapping it by more than IoU 0.5, repeat; also drop
# boxes scoring 0.5 or less. Then check the result: exactly one box per object, each close
# to its ground truth.

# %%
keep = nms(cands, scores, iou_threshold=0.5, score_threshold=0.5)
print("kept indices:", keep.tolist(), "scores:", scores[keep].round(2).tolist())
match = pairwise_iou(cands[keep], gt)
print("IoU of each kept box with its best ground truth:", match.max(axis=1).round(2).tolist())
assert len(keep) == len(gt)  # one box per object
assert sorted(match.argmax(axis=1).tolist()) == list(range(len(gt)))  # every object found once
assert match.max(axis=1).min() > 0.6

# TensorFlow agrees (it expects float32 and calls the threshold the same way)
import tensorflow as tf  # noqa: E402

tf_keep = tf.image.non_max_suppression(
    cands.astype("float32"),
    scores.astype("float32"),
    len(cands),
    iou_threshold=0.5,
    score_threshold=0.5,
).numpy()
print("tf.image.non_max_suppression:", tf_keep.tolist())
assert tf_keep.tolist() == keep.tolist()

# %% [markdown]
# The IoU threshold is a trade-off: too low merges neighbouring objects, too high leaves
# duplicates.

# %%
counts = {
    t: len(nms(cands, scores, iou_threshold=t, score_threshold=0.5))
    for t in (0.1, 0.3, 0.5, 0.7, 0.9)
}
print("boxes kept per IoU threshold:", counts)
assert counts[0.9] > counts[0.5] and all(
    counts[a] <= counts[b] for a, b in zip(list(counts), list(counts)[1:])
)

# %% [markdown]
# ## 4. Overlapping objects: NMS vs soft-NMS
#
# Two real objects whose boxes overlap with IoU 0.6 (a crowd). Greedy NMS at 0.5 deletes
# the second object's box; soft-NMS only lowers its score, so it survives. After keeping the
# top box $M$, soft-NMS rescales every other score $s_i$ by a decay of its overlap with $M$,
# either Gaussian or linear (above a threshold $N_t$):
#
# $$
# s_i \leftarrow s_i \, e^{-\operatorname{IoU}(M, b_i)^2 / \sigma} \qquad \text{or} \qquad s_i \leftarrow s_i \left(1 - \operatorname{IoU}(M, b_i)\right) \text{ if } \operatorname{IoU}(M, b_i) > N_t .
# $$

# %%
crowd = np.array([[10, 10, 50, 50], [20, 10, 60, 50]], dtype=float)
crowd_scores = np.array([0.95, 0.9])
overlap = pairwise_iou(crowd)[0, 1]
print(f"IoU of the two objects: {overlap:.2f}")
hard = nms(crowd, crowd_scores, iou_threshold=0.5)
soft_idx, soft_scores = soft_nms(
    crowd, crowd_scores, method="gaussian", sigma=0.5, score_threshold=0.3
)
print(
    "NMS keeps",
    hard.tolist(),
    "| soft-NMS keeps",
    soft_idx.tolist(),
    "with scores",
    soft_scores.round(3).tolist(),
)
assert np.isclose(overlap, 0.6) and hard.tolist() == [0]
assert soft_idx.tolist() == [0, 1]
assert np.isclose(soft_scores[1], 0.9 * np.exp(-(overlap**2) / 0.5))  # Gaussian decay

# linear soft-NMS: score * (1 - IoU) above the threshold
lin_idx, lin_scores = soft_nms(
    crowd, crowd_scores, method="linear", iou_threshold=0.5, score_threshold=0.3
)
assert lin_idx.tolist() == [0, 1] and np.isclose(lin_scores[1], 0.9 * (1 - overlap))

# On the scene, soft-NMS still ranks one box per object on top
s_idx, s_scores = soft_nms(cands, scores, method="gaussian", sigma=0.5, score_threshold=0.5)
top = s_idx[: len(gt)]
assert sorted(pairwise_iou(cands[top], gt).argmax(axis=1).tolist()) == list(range(len(gt)))
print(
    f"soft-NMS on the scene: {len(s_idx)} boxes above 0.5, top {len(gt)} cover the {len(gt)} objects"
)

# %%
from matplotlib.patches import Rectangle  # noqa: E402

fig = new_figure((10, 5))
for k, (title, idx) in enumerate(
    [
        (f"{len(cands)} candidates", np.arange(len(cands))),
        (f"after NMS (IoU 0.5): {len(keep)}", keep),
    ]
):
    ax = fig.add_subplot(1, 2, k + 1)
    ax.imshow(canvas, cmap="gray")
    for i in idx:
        x0, y0, x1, y1 = cands[i]
        ax.add_patch(
            Rectangle(
                (x0 - 0.5, y0 - 0.5),
                x1 - x0,
                y1 - y0,
                fill=False,
                lw=0.8 if k == 0 else 2,
                color="orange" if k == 0 else "lime",
                alpha=0.5 if k == 0 else 1.0,
            )
        )
    for x0, y0, x1, y1 in gt:
        ax.add_patch(
            Rectangle(
                (x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=1, ls="--", color="red"
            )
        )
    ax.set_title(title + " (red dashed: ground truth)", fontsize=9)
    ax.axis("off")
print("saved", save_figure(fig, OUT / "nms.png"))

# %% [markdown]
# Takeaway: IoU is a ratio of areas, computed for all pairs at once by broadcasting; NMS is a
# short greedy loop over it. Real detectors (SSD, YOLO, Faster R-CNN) end with exactly this
# step, usually per class.

# %% [markdown]
# ## Exercises
#
# 1. **Sliding squares.** Two $s \times s$ boxes, one shifted right by $d$ pixels. Derive their
#    IoU as a function of $d / s$, and the shift at which it falls to 0.5 (the usual "is this
#    a hit" threshold). Check with `pairwise_iou`.
# 2. **Small objects are hard.** A predicted box that lies 2 pixels inside the true box on
#    every side, for a 10x10 box and for a 100x100 box: what are the two IoUs? Which one
#    still counts as a detection at an IoU threshold of 0.5, or of 0.75?
# 3. **NMS in ten lines.** Write greedy NMS yourself with `pairwise_iou` and an
#    `argsort`, and check it keeps the same boxes as `kerascnn.detection.nms` on the scene.
# 4. **Where soft-NMS halves a score.** For Gaussian soft-NMS with $\sigma = 0.5$, at which IoU
#    with the top box is a neighbour's score halved? Build two boxes with exactly that IoU
#    and check with `soft_nms`.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Sliding squares
# Intersection $(s - d) s$, union $2s^2 - (s - d)s = (s + d)s$.

# %% tags=["solution", "hide-cell"]
# IoU = (s - d) / (s + d), the same for every size s at the same d / s. IoU = 0.5 when
# s - d = (s + d) / 2, i.e. d = s / 3: a third of the box's width is enough to miss.
s_box = 30.0
for d in (0.0, 5.0, 10.0, 15.0, 30.0):
    got = pairwise_iou([[0, 0, s_box, s_box]], [[d, 0, d + s_box, s_box]])[0, 0]
    assert np.isclose(got, (s_box - d) / (s_box + d)), d
d_half = s_box / 3
iou_half = pairwise_iou([[0, 0, s_box, s_box]], [[d_half, 0, d_half + s_box, s_box]])[0, 0]
print(f"shift by s/3 = {d_half:g} px of a {s_box:g} px box: IoU {iou_half:.3f}")
assert np.isclose(iou_half, 0.5)

# %% [markdown]
# ### Exercise 2 · Small objects are hard
# The same 2-pixel error on every side, at two sizes.

# %% tags=["solution", "hide-cell"]
# A box inset by e on every side: IoU = (s - 2e)^2 / s^2, the inner box lying inside the outer.
# 10 px: (6/10)^2 = 0.36, a miss at 0.5; 100 px: (96/100)^2 = 0.92, a hit even at 0.75.
ious_small = {}
for size in (10.0, 100.0):
    truth = [0, 0, size, size]
    guess = [2, 2, size - 2, size - 2]
    ious_small[size] = pairwise_iou([truth], [guess])[0, 0]
    print(f"{size:g} px box, 2 px off at every side: IoU {ious_small[size]:.3f}")
assert np.isclose(ious_small[10.0], 0.36) and np.isclose(ious_small[100.0], 0.9216)
assert ious_small[10.0] < 0.5 < 0.75 < ious_small[100.0]

# %% [markdown]
# ### Exercise 3 · NMS in ten lines
# Sort by score, keep the first, drop its overlaps, repeat.


# %% tags=["solution", "hide-cell"]
def my_nms(boxes, box_scores, iou_threshold=0.5, score_threshold=0.5):
    order = np.argsort(-box_scores, kind="stable")
    order = order[box_scores[order] > score_threshold]
    kept = []
    while len(order):
        top, order = order[0], order[1:]
        kept.append(int(top))
        order = order[pairwise_iou(boxes[[top]], boxes[order])[0] <= iou_threshold]
    return np.array(kept)


mine = my_nms(cands, scores)
print("my NMS keeps", mine.tolist(), "| kerascnn's:", keep.tolist())
assert mine.tolist() == keep.tolist()
for t in (0.3, 0.7):
    assert my_nms(cands, scores, t).tolist() == nms(cands, scores, t, score_threshold=0.5).tolist()

# %% [markdown]
# ### Exercise 4 · Where soft-NMS halves a score
# $e^{-u^2/\sigma} = \frac{1}{2}$ gives $u = \sqrt{\sigma \ln 2}$.

# %% tags=["solution", "hide-cell"]
# sigma = 0.5: u = sqrt(0.5 ln 2) = 0.589. Two s x s boxes shifted by d have IoU (s-d)/(s+d)
# (exercise 1), so d = s (1 - u) / (1 + u) builds the pair.
u_half = np.sqrt(0.5 * np.log(2))
d_u = 40.0 * (1 - u_half) / (1 + u_half)
pair = np.array([[0, 0, 40, 40], [d_u, 0, d_u + 40, 40]])
assert np.isclose(pairwise_iou(pair)[0, 1], u_half)
idx_pair, scores_pair = soft_nms(pair, np.array([0.9, 0.8]), method="gaussian", sigma=0.5)
print(f"IoU {u_half:.3f}: the second score goes 0.8 -> {scores_pair[1]:.3f}")
assert idx_pair.tolist() == [0, 1] and np.isclose(scores_pair[1], 0.4)
