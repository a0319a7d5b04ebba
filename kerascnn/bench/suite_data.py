"""A suite's data before anything trains: every dataset loaded with the suite's data settings,
every model built once on it, and what a run's record says about its data."""

from __future__ import annotations

from typing import Any

from kerascnn.bench.config import BenchConfig
from kerascnn.errors import ConfigError
from kerascnn.record.parts import DatasetInfo

DECODED_SOURCES = ("folder:", "tfds:")
"""Datasets read from image files: resized once at load (their images must share a size to be
stacked). The others are arrays already, resized on the fly at the model's input."""


def load_datasets(cfg: BenchConfig) -> dict[str, Any]:
    from kerascnn.data import load_dataset

    def load(name: str):
        decoded = name.startswith(DECODED_SOURCES)
        return load_dataset(
            name,
            data_dir=cfg.data_dir,
            image_size=tuple(cfg.image_size) if decoded and cfg.image_size else None,
            aspect=cfg.aspect,
            test_fraction=cfg.test_fraction,
            seed=cfg.seeds[0],
            skip_bad=cfg.skip_bad_images,
            splits=tuple(cfg.splits) if cfg.splits else None,
        )

    return {name: load(name) for name in dict.fromkeys(cfg.datasets)}


def check_models_build(cfg: BenchConfig, datasets: dict[str, Any]) -> None:
    """Build every model at every dataset's shape once; a ValueError becomes a ConfigError."""
    import keras

    from kerascnn.bench.training import build_for_precision

    for name, ds in datasets.items():
        for spec in dict.fromkeys(cfg.models):
            try:
                build_for_precision(
                    spec, ds.input_shape, ds.num_classes, "float32", cfg.image_size, cfg.aspect
                )
            except ValueError as exc:
                raise ConfigError(
                    f"Model {spec!r} cannot be built for dataset {name!r} (input {ds.input_shape}, "
                    f"{ds.num_classes} classes): {exc}"
                ) from None
            except Exception:
                pass  # not a configuration problem: the run itself will record the error
            finally:
                keras.backend.clear_session()


def dataset_meta(ds, cfg: BenchConfig) -> DatasetInfo:
    n_train = len(ds.x_train) if cfg.train_limit is None else min(cfg.train_limit, len(ds.x_train))
    n_test = len(ds.x_test) if cfg.test_limit is None else min(cfg.test_limit, len(ds.x_test))
    return DatasetInfo(
        name=ds.name,
        source=str(ds.source),
        input_shape=list(ds.input_shape),
        num_classes=int(ds.num_classes),
        class_names=list(ds.class_names),
        train_images=n_train,
        test_images=n_test,
        full_train_images=len(ds.x_train),
        full_test_images=len(ds.x_test),
        image_size=list(cfg.image_size) if cfg.image_size else None,
        aspect=cfg.aspect if cfg.image_size else None,
        split=ds.split or None,
        skipped_files=list(ds.skipped) if ds.skipped else None,
        normalization=_normalization(ds) if cfg.normalize == "per_channel" else None,
    )


def _normalization(ds) -> dict[str, list[float]]:
    mean, std = ds.channel_stats
    return {"mean": [round(m, 6) for m in mean], "std": [round(s, 6) for s in std]}
