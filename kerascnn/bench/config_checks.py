"""The value checks of a :class:`~kerascnn.bench.config.BenchConfig` (types and ranges)."""

from __future__ import annotations

import math
from typing import Any

from kerascnn.bench.config import (
    AUGMENTATIONS,
    JIT_CHOICES,
    NORMALIZATIONS,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULES,
    BenchConfig,
)
from kerascnn.errors import ConfigError


def validate_values(cfg: BenchConfig) -> BenchConfig:
    """Check the plain values of ``cfg``; raise ConfigError naming the first bad one."""
    bad = cfg.bad

    def is_names(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, str) and x.strip() for x in v)

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def is_num(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if not is_names(cfg.models):
        raise bad(
            "models",
            "a non-empty list of model spec strings, e.g. ['lenet', 'vgg11(width=0.25)']",
        )
    if not is_names(cfg.datasets):
        raise bad("datasets", "a non-empty list of dataset names (kerascnn datasets lists them)")
    if not isinstance(cfg.name, str) or not cfg.name.strip():
        raise bad("name", "a non-empty string")
    if cfg.data_dir is not None and not isinstance(cfg.data_dir, str):
        raise bad("data_dir", "a folder path or None")
    if not is_int(cfg.epochs) or cfg.epochs < 1:
        raise bad("epochs", "a positive integer")
    if cfg.budget is not None and (not is_num(cfg.budget) or cfg.budget <= 0):
        raise bad("budget", "a positive number of seconds of training per run, or None")
    if cfg.steps is not None and (not is_int(cfg.steps) or cfg.steps < 1):
        raise bad("steps", "a positive integer number of optimizer steps, or None")
    if cfg.budget is not None and cfg.steps is not None:
        raise bad("steps", "None when budget is set (give one of epochs, budget, steps)")
    if not is_int(cfg.eval_points) or cfg.eval_points < 1:
        raise bad("eval_points", "a positive integer")
    if not is_int(cfg.batch_size) or cfg.batch_size < 1:
        raise bad("batch_size", "a positive integer")
    if cfg.optimizer is not None and cfg.optimizer not in OPTIMIZERS:
        raise bad("optimizer", f"one of {', '.join(OPTIMIZERS)}, or None for each model's recipe")
    if cfg.learning_rate is not None and (not is_num(cfg.learning_rate) or cfg.learning_rate <= 0):
        raise bad("learning_rate", "a positive number (or omit it for the optimizer's default)")
    if not is_num(cfg.momentum) or not 0 <= cfg.momentum < 1:
        raise bad("momentum", "a number in [0, 1)")
    if cfg.schedule not in SCHEDULES:
        raise bad("schedule", f"one of {', '.join(SCHEDULES)}")
    if not is_num(cfg.warmup_epochs) or cfg.warmup_epochs < 0:
        raise bad("warmup_epochs", "a number >= 0")
    if cfg.protocol == "epochs" and cfg.warmup_epochs >= cfg.epochs:
        raise bad("warmup_epochs", f"a number >= 0 and below epochs ({cfg.epochs!r})")
    if not is_num(cfg.weight_decay) or not 0 <= cfg.weight_decay < 1:
        raise bad("weight_decay", "a number in [0, 1)")
    if not is_num(cfg.label_smoothing) or not 0 <= cfg.label_smoothing < 1:
        raise bad("label_smoothing", "a number in [0, 1)")
    if not isinstance(cfg.augment, list) or any(a not in AUGMENTATIONS for a in cfg.augment):
        raise bad("augment", f"a list drawn from {', '.join(AUGMENTATIONS)} (empty = none)")
    if "mixup" in cfg.augment and "cutmix" in cfg.augment:
        raise bad("augment", "at most one of mixup and cutmix")
    if cfg.precision not in PRECISIONS:
        raise bad("precision", f"one of {', '.join(PRECISIONS)}")
    if cfg.jit not in JIT_CHOICES or (cfg.jit != "auto" and not isinstance(cfg.jit, bool)):
        raise bad("jit", 'true, false or "auto"')
    if (
        not isinstance(cfg.seeds, list)
        or not cfg.seeds
        or not all(is_int(s) and s >= 0 for s in cfg.seeds)
    ):
        raise bad("seeds", "a non-empty list of non-negative integers")
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise bad("seeds", "distinct seeds")
    if cfg.time_budget is not None and (not is_num(cfg.time_budget) or cfg.time_budget <= 0):
        raise bad("time_budget", "a positive number of seconds, or None for no limit")
    for key in ("train_limit", "test_limit"):
        value = getattr(cfg, key)
        if value is not None and (not is_int(value) or value < 1):
            raise bad(key, "a positive integer, or None for the whole split")
    if not isinstance(cfg.eval_every_epoch, bool):
        raise bad("eval_every_epoch", "true or false")
    if not isinstance(cfg.precise_bn, bool):
        raise bad("precise_bn", "true or false")
    if not is_int(cfg.precise_bn_batches) or cfg.precise_bn_batches < 1:
        raise bad("precise_bn_batches", "a positive integer number of training batches")
    if not is_int(cfg.latency_batch) or cfg.latency_batch < 1:
        raise bad("latency_batch", "a positive integer")
    if not is_num(cfg.latency_seconds) or cfg.latency_seconds <= 0:
        raise bad("latency_seconds", "a positive number of seconds")
    if not isinstance(cfg.save_models, bool):
        raise bad("save_models", "true or false")
    if not isinstance(cfg.tensorboard, bool):
        raise bad("tensorboard", "true or false")
    if not is_int(cfg.steps_per_execution) or cfg.steps_per_execution < 1:
        raise bad("steps_per_execution", "a positive integer")
    if not isinstance(cfg.distribute, bool):
        raise bad("distribute", "true or false")
    return _validate_data_values(cfg, is_int, is_num)


def image_size_list(value: Any, source: str) -> list[int]:
    """``96``, ``"96"``, ``"96,128"``, ``[96]``, ``[96, 128]`` -> ``[h, w]`` (the data module's
    :func:`~kerascnn.data.resize.check_image_size`, as a ConfigError naming ``source``)."""
    from kerascnn.data.resize import check_image_size
    from kerascnn.errors import ArgumentError

    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    try:
        return list(check_image_size(value))
    except ArgumentError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _validate_data_values(cfg: BenchConfig, is_int, is_num) -> BenchConfig:
    from kerascnn.data.resize import ASPECT_MODES

    bad = cfg.bad
    size = cfg.image_size
    if size is not None and not (
        isinstance(size, list) and len(size) == 2 and all(is_int(d) and d >= 1 for d in size)
    ):
        raise bad("image_size", "a size in pixels (96) or height,width (96,128), or None")
    if cfg.aspect not in ASPECT_MODES:
        raise bad("aspect", f"one of {', '.join(ASPECT_MODES)}")
    if cfg.normalize not in NORMALIZATIONS:
        raise bad("normalize", f"one of {', '.join(NORMALIZATIONS)}")
    if not is_num(cfg.test_fraction) or not 0 < cfg.test_fraction < 1:
        raise bad("test_fraction", "a number between 0 and 1 (the share held out for testing)")
    if not isinstance(cfg.skip_bad_images, bool):
        raise bad("skip_bad_images", "true or false")
    splits = cfg.splits
    if splits is not None and not (
        isinstance(splits, list) and len(splits) == 2 and all(isinstance(x, str) for x in splits)
    ):
        raise bad("splits", "two TFDS split names, training then test (train,test), or None")
    if splits is not None and not all(d.startswith("tfds:") for d in cfg.datasets):
        raise bad("splits", "TFDS split names: only for tfds:NAME datasets")
    return cfg


def validate_environment(cfg: BenchConfig) -> None:
    """What the settings need installed (checked before anything trains)."""
    import importlib.util

    if cfg.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "tensorboard logs need the tensorboard package: pip install "
            "'kerascnn[tensorboard]' (or pip install tensorboard). Received: tensorboard=True"
        )
