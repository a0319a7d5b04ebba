"""The value checks of a :class:`~kerascnn.bench.config.BenchConfig`: a table of field rules.

:data:`RULES` holds one :class:`Rule` per checked field, in the order the fields are checked
(the first bad one is reported); :data:`RELATIONS` holds the checks that read another field
too, each run right after its field's own rule. :func:`validate_values` applies both with
:mod:`kerascnn.checks`' validators::

    Invalid epochs: a positive integer. Received: epochs=0

This module never imports :mod:`kerascnn.bench.config` (config imports it): it reads the
values as a mapping of field name -> value.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from kerascnn import checks
from kerascnn.data.resize import ASPECT_MODES, check_image_size
from kerascnn.errors import ArgumentError, ConfigError, install_hint

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "one-cycle")
NORMALIZATIONS = ("none", "per_channel")
AUGMENTATIONS = ("flip", "translate", "crop", "erasing", "mixup", "cutmix")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
PRECISION_POLICIES = {
    "float32": "float32",
    "mixed_float16": "mixed_float16",
    "mixed_bfloat16": "mixed_bfloat16",
    "bfloat16": "mixed_bfloat16",
}
"""The precision names every command accepts -> the Keras dtype policy each stands for
(``bfloat16`` is short for ``mixed_bfloat16``); a config holds the policy (:data:`PRECISIONS`)."""
JIT_CHOICES = ("auto", True, False)
IMAGE_SIZE_ACCEPTED = "a positive size H or H,W in pixels (96 means 96x96; 96,128 is height,width)"
"""What ``image_size`` (``--image-size``) accepts, as typed."""


class Rule(NamedTuple):
    """What one field accepts: ``check``, a :mod:`kerascnn.checks` validator (used as a
    predicate), and ``accepted``, the words of the error message when it refuses a value."""

    check: checks.Validator
    accepted: str


_COUNT = Rule(checks.positive_int, "a positive integer")
_FLAG = Rule(checks.boolean, "true or false")
_SHARE = Rule(checks.rate, "a number in [0, 1)")
_LIMIT = Rule(
    checks.optional(checks.positive_int), "a positive integer, or None for the whole split"
)
_NAMES = checks.list_of(checks.string())


def _one_of(choices: tuple[str, ...], more: str = "") -> Rule:
    return Rule(checks.choice(*choices), f"one of {', '.join(choices)}{more}")


RULES: dict[str, Rule] = {
    "models": Rule(
        _NAMES, "a non-empty list of model spec strings, e.g. ['lenet', 'vgg11(width=0.25)']"
    ),
    "datasets": Rule(_NAMES, "a non-empty list of dataset names (kerascnn datasets lists them)"),
    "name": Rule(checks.string(), "a non-empty string"),
    "data_dir": Rule(checks.optional(checks.string(blank=True)), "a folder path or None"),
    "epochs": _COUNT,
    "budget": Rule(
        checks.optional(checks.positive_number),
        "a positive number of seconds of training per run, or None",
    ),
    "steps": Rule(
        checks.optional(checks.positive_int),
        "a positive integer number of optimizer steps, or None",
    ),
    "eval_points": _COUNT,
    "batch_size": _COUNT,
    "optimizer": Rule(
        checks.optional(checks.choice(*OPTIMIZERS)),
        f"one of {', '.join(OPTIMIZERS)}, or None for each model's recipe",
    ),
    "learning_rate": Rule(
        checks.optional(checks.positive_number),
        "a positive number (or omit it for the optimizer's default)",
    ),
    "momentum": _SHARE,
    "schedule": _one_of(SCHEDULES),
    "warmup_epochs": Rule(checks.number(0.0), "a number >= 0"),
    "weight_decay": _SHARE,
    "label_smoothing": _SHARE,
    "augment": Rule(
        checks.list_of(checks.choice(*AUGMENTATIONS), allow_empty=True),
        f"a list drawn from {', '.join(AUGMENTATIONS)} (empty = none)",
    ),
    "precision": _one_of(PRECISIONS),
    "jit": Rule(checks.choice(*JIT_CHOICES), 'true, false or "auto"'),
    "seeds": Rule(
        checks.list_of(checks.non_negative_int), "a non-empty list of non-negative integers"
    ),
    "time_budget": Rule(
        checks.optional(checks.positive_number),
        "a positive number of seconds, or None for no limit",
    ),
    "train_limit": _LIMIT,
    "test_limit": _LIMIT,
    "eval_every_epoch": _FLAG,
    "precise_bn": _FLAG,
    "precise_bn_batches": Rule(
        checks.positive_int, "a positive integer number of training batches"
    ),
    "latency_batch": _COUNT,
    "latency_seconds": Rule(checks.positive_number, "a positive number of seconds"),
    "save_models": _FLAG,
    "tensorboard": _FLAG,
    "steps_per_execution": _COUNT,
    "distribute": _FLAG,
    "image_size": Rule(
        checks.optional(checks.list_of(checks.positive_int, length=2)),
        "a size in pixels (96) or height,width (96,128), or None",
    ),
    "aspect": _one_of(ASPECT_MODES),
    "normalize": _one_of(NORMALIZATIONS),
    "test_fraction": Rule(
        checks.number(0.0, 1.0, low_open=True, high_open=True),
        "a number between 0 and 1 (the share held out for testing)",
    ),
    "skip_bad_images": _FLAG,
    "splits": Rule(
        checks.optional(checks.list_of(checks.string(blank=True), length=2)),
        "two TFDS split names, training then test (train,test), or None",
    ),
}
"""Field name -> its rule, in the order the fields are checked."""

NOT_RULED = {
    "description": "free text, not checked",
    "overrides": "checked with the models (BenchConfig.validate)",
    "targets": "checked with the models (BenchConfig.validate)",
}
"""The fields without a rule here, and why."""


def _length_given_once(v: Mapping[str, Any]) -> str | None:
    if v["budget"] is not None and v["steps"] is not None:
        return "None when budget is set (give one of epochs, budget, steps)"
    return None


def _warmup_below_epochs(v: Mapping[str, Any]) -> str | None:
    epoch_protocol = v["budget"] is None and v["steps"] is None
    if epoch_protocol and v["warmup_epochs"] >= v["epochs"]:
        return f"a number >= 0 and below epochs ({v['epochs']!r})"
    return None


def _one_mix(v: Mapping[str, Any]) -> str | None:
    return "at most one of mixup and cutmix" if {"mixup", "cutmix"} <= set(v["augment"]) else None


def _distinct_seeds(v: Mapping[str, Any]) -> str | None:
    return "distinct seeds" if len(set(v["seeds"])) != len(v["seeds"]) else None


def _splits_for_tfds(v: Mapping[str, Any]) -> str | None:
    if v["splits"] is not None and not all(d.startswith("tfds:") for d in v["datasets"]):
        return "TFDS split names: only for tfds:NAME datasets"
    return None


RELATIONS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "steps": _length_given_once,
    "warmup_epochs": _warmup_below_epochs,
    "augment": _one_mix,
    "seeds": _distinct_seeds,
    "splits": _splits_for_tfds,
}
"""Field name -> a check of its value against other fields (run once its own rule passed, and
every field before it): what is accepted when the value does not fit, else None."""


def invalid(key: str, accepted: str, value: Any, source: str | None = None) -> ConfigError:
    """The error for the value of ``key``: what is accepted and what was received (after
    ``source``, the suite file or "command line", when given). The error keeps ``key``,
    ``accepted`` and ``value``, so the command line can name its own option instead
    (``--lr`` for learning_rate)."""
    where = f"{source}: " if source else ""
    error = ConfigError(f"{where}Invalid {key}: {accepted}. Received: {key}={value!r}")
    error.key, error.accepted, error.value = key, accepted, value
    return error


def validate_values(values: Mapping[str, Any]) -> None:
    """Check the plain values (field name -> value); raise ConfigError naming the first bad one."""
    for key, rule in RULES.items():
        value = values[key]
        accepted = None if checks.accepts(rule.check, value) else rule.accepted
        if accepted is None and key in RELATIONS:
            accepted = RELATIONS[key](values)
        if accepted is not None:
            raise invalid(key, accepted, value)


def image_size_list(value: Any, source: str) -> list[int]:
    """``96``, ``"96"``, ``"96,128"``, ``[96]``, ``[96, 128]`` -> ``[h, w]`` (the data module's
    :func:`~kerascnn.data.resize.check_image_size`, as a ConfigError naming ``source``)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    try:
        return list(check_image_size(value))
    except ArgumentError:
        raise invalid("image_size", IMAGE_SIZE_ACCEPTED, value, source) from None


def validate_environment(values: Mapping[str, Any]) -> None:
    """What the settings need installed (checked before anything trains)."""
    if values["tensorboard"] and importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            f"tensorboard logs need the tensorboard package ({install_hint('tensorboard')}). "
            "Received: tensorboard=True"
        )
