"""The run folder's layout: the one place its file and folder names are spelled.

A ``kerascnn bench`` run folder::

    RUN_DIR/suite.json            the resolved config, command and environment of the suite
    RUN_DIR/results/<key>.json    one per (dataset, model, config hash, seed) run
    RUN_DIR/logs/<key>.csv        per-epoch training log (keras CSVLogger)
    RUN_DIR/tensorboard/<key>/    TensorBoard logs (--tensorboard)
    RUN_DIR/models/<key>.keras    the trained models (--save-models)
    RUN_DIR/results.csv           one flat row per run (:mod:`kerascnn.record.flat`)
    RUN_DIR/README.md             the report (:mod:`kerascnn.report`)
    RUN_DIR/bench.lock            held while a suite runs (:mod:`kerascnn.bench.lock`)

``kerascnn deploy`` adds ``RUN_DIR/deploy/``, ``RUN_DIR/deploy.csv`` and ``RUN_DIR/DEPLOY.md``
(read and written by :mod:`kerascnn.record.deploy`); a ``kerascnn throughput`` folder holds
``results.json``, ``results.csv`` and ``README.md`` (:mod:`kerascnn.record.throughput`). Every
name is defined here, once.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

RESULTS = "results"
LOGS = "logs"
TENSORBOARD = "tensorboard"
MODELS = "models"
SUITE_JSON = "suite.json"
RESULTS_CSV = "results.csv"
README = "README.md"
LOCK_NAME = "bench.lock"
DEPLOY_DIR = "deploy"
"""``kerascnn deploy``: one JSON per (model, target), environment.json and the artifacts."""
DEPLOY_CSV = "deploy.csv"
DEPLOY_MD = "DEPLOY.md"
DEPLOY_ENVIRONMENT = "environment.json"
THROUGHPUT_JSON = "results.json"
"""``kerascnn throughput``: the sweep's record (beside RESULTS_CSV and README)."""
DEFAULT_ROOT = "reports/runs"
"""Where a suite without ``--out`` gets a new time-stamped folder."""


def result_path(run_dir: str | os.PathLike, key: str) -> Path:
    """The stored result of run ``key``."""
    return Path(run_dir) / RESULTS / f"{key}.json"


def results_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / RESULTS


def log_path(run_dir: str | os.PathLike, key: str) -> Path:
    """The per-epoch training log of run ``key`` (keras CSVLogger)."""
    return Path(run_dir) / LOGS / f"{key}.csv"


def tensorboard_dir(run_dir: str | os.PathLike, key: str) -> Path:
    """The TensorBoard logs of run ``key`` (``--tensorboard``)."""
    return Path(run_dir) / TENSORBOARD / key


def models_dir(run_dir: str | os.PathLike) -> Path:
    """Where ``--save-models`` stores the trained models."""
    return Path(run_dir) / MODELS


def model_path(run_dir: str | os.PathLike, key: str) -> Path:
    """The saved model of run ``key``."""
    return models_dir(run_dir) / f"{key}.keras"


def suite_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / SUITE_JSON


def results_csv_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / RESULTS_CSV


def readme_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / README


def lock_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / LOCK_NAME


def default_run_dir(root: str | os.PathLike = DEFAULT_ROOT) -> Path:
    """A new time-stamped folder under ``root``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / stamp


def latest_run_dir(root: str | os.PathLike = DEFAULT_ROOT) -> Path | None:
    """The newest run folder under ``root`` (one holding a suite.json), or None."""
    root = Path(root)
    if not root.is_dir():
        return None
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and suite_path(d).is_file())
    return dirs[-1] if dirs else None
