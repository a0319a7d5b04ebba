"""The row of one (model, target) deployment measurement: ``deploy.csv``'s columns.

Plain Python, no Keras: the deploy runner writes these rows, the report reads them back.
"""

from __future__ import annotations

DEPLOY_CSV = "deploy.csv"
DEPLOY_MD = "DEPLOY.md"
DEPLOY_DIR = "deploy"
"""Under a run folder: one JSON per (model, target) and the exported artifacts."""

COLUMNS = (
    "model",
    "target",
    "status",
    "top1",
    "top1_drop",
    "agreement",
    "max_rel_diff",
    "size_bytes",
    "latency_b1_p50_ms",
    "latency_b1_p95_ms",
    "images_per_s",
    "batch",
    "threads",
    "format",
    "quantize",
    "runtime",
    "runtime_version",
    "calibration_images",
    "test_images",
    "key",
    "artifact",
    "error",
)
"""``top1`` on the test images through the runtime; ``top1_drop`` = the Keras model's top-1
minus it (a fraction: 0.004 is 0.4 points); ``agreement``: share of test images whose top-1
class equals the Keras model's; ``max_rel_diff``: max |runtime - Keras| / max |Keras| over the
outputs of the test images; ``images_per_s`` at batch ``batch``; ``threads``: the runtime's
thread setting (None: the runtime's own choice)."""

STATUSES = ("ok", "failed", "skipped")
