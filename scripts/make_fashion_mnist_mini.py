"""Build kerascnn/data/embedded/fashion_mnist_mini.npz from the real Fashion-MNIST IDX files.

A stratified random subset: 600 training and 100 test images per class (6,000 / 1,000),
drawn with a fixed seed from the official train and test splits, so the embedded set is
reproducible byte for byte:

    apt-get install dataset-fashion-mnist
    python scripts/make_fashion_mnist_mini.py [--source /usr/share/datasets/fashion-mnist]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kerascnn.data.datasets import EMBEDDED_DIR, FASHION_MNIST_CLASSES, load_dataset

TRAIN_PER_CLASS = 600
TEST_PER_CLASS = 100
SEED = 2017  # Fashion-MNIST was published in 2017; any fixed seed would do


def stratified(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in np.unique(y)]
    )
    return np.sort(idx)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--source", default=None, help="folder with the four Fashion-MNIST IDX .gz files"
    )
    ap.add_argument("--out", default=str(EMBEDDED_DIR / "fashion_mnist_mini.npz"))
    args = ap.parse_args()
    full = load_dataset("fashion_mnist", data_dir=args.source)
    rng = np.random.default_rng(SEED)
    tr = stratified(full.y_train, TRAIN_PER_CLASS, rng)
    te = stratified(full.y_test, TEST_PER_CLASS, rng)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        x_train=full.x_train[tr, :, :, 0],
        y_train=full.y_train[tr].astype(np.uint8),
        x_test=full.x_test[te, :, :, 0],
        y_test=full.y_test[te].astype(np.uint8),
        class_names=np.array(FASHION_MNIST_CLASSES),
        train_index=tr.astype(np.int32),
        test_index=te.astype(np.int32),
    )
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {len(tr)} train, {len(te)} test from {full.source}"
    )


if __name__ == "__main__":
    main()
