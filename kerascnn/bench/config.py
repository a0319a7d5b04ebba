"""``BenchConfig``: what a benchmark suite trains and measures, from CLI flags or a TOML file.

A suite file is flat TOML whose keys are the field names below (``benchmarks/quick.toml``)::

    name = "quick"
    models = ["lenet", "vgg", "mobilenetv2"]
    datasets = ["fashion_mnist_mini"]
    epochs = 3
    optimizer = "adam"

Every value is checked by :meth:`BenchConfig.validate` before anything trains; a bad value
raises :class:`~kerascnn.errors.ConfigError` naming what was received and what is accepted.
Model names are checked by the registry and dataset names by ``load_dataset`` (the runner
loads every dataset and builds every model once before the first epoch).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn.errors import ConfigError

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "one-cycle")
AUGMENTATIONS = ("flip", "translate", "crop", "erasing", "mixup", "cutmix")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
JIT_CHOICES = ("auto", True, False)

# Training fields a suite may set per model ([overrides]).
OVERRIDABLE = tuple(
    "epochs batch_size optimizer learning_rate momentum schedule warmup_epochs weight_decay "
    "label_smoothing augment precision jit time_budget".split()
)
# Fields that change what a run computes: they make up the run's config hash. Output and
# bookkeeping fields (name, models/datasets lists, seeds) are not part of it.
TRAINING_FIELDS = (
    *OVERRIDABLE,
    *"train_limit test_limit data_dir eval_every_epoch steps_per_execution distribute".split(),
)


@dataclass
class BenchConfig:
    """A benchmark suite: every (model, dataset, seed) combination is one run.

    The defaults are the main job's (``kerascnn bench --models lenet,vgg,mobilenetv2``), chosen
    so that the three models train on the embedded Fashion-MNIST subset in a few minutes on
    two CPU cores; ``benchmarks/quick.toml`` spells out the same values.
    """

    models: list[str] = field(default_factory=lambda: ["lenet"])
    """Model spec strings: ``"lenet"``, ``"vgg11(width=0.25)"``."""
    datasets: list[str] = field(default_factory=lambda: ["fashion_mnist_mini"])
    name: str = "bench"
    description: str = ""
    data_dir: str | None = None
    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float | None = None
    """Peak learning rate; None = the optimizer's usual default (sgd/momentum 0.05, adam/adamw 1e-3)."""
    momentum: float = 0.9
    """Used by ``momentum`` (Nesterov SGD) only."""
    schedule: str = "cosine"
    warmup_epochs: float = 0.5
    """Linear warm-up from lr/10 (cosine) or lr/25 (one-cycle) before the decay; 0 = none."""
    weight_decay: float = 0.0
    """Decoupled for adamw, otherwise the optimizer's ``weight_decay`` (Keras applies it decoupled too)."""
    label_smoothing: float = 0.0
    augment: list[str] = field(default_factory=list)
    precision: str = "float32"
    jit: Any = "auto"
    """XLA for training and inference: True, False or "auto" (Keras' choice: off for TF on CPU)."""
    seeds: list[int] = field(default_factory=lambda: [0])
    time_budget: float | None = None
    """Seconds of training allowed per run; a run that goes over is stopped and recorded as failed."""
    train_limit: int | None = None
    """Train on a seeded random subset of this many images (None = all)."""
    test_limit: int | None = None
    eval_every_epoch: bool = True
    """Evaluate on the test split after every epoch for the curves (never used for selection)."""
    latency_batch: int = 64
    """N of the batch-N latency and of the device-throughput measurement."""
    latency_seconds: float = 1.0
    """Measuring time per latency/throughput figure (after warm-up); at least 10 calls each."""
    steps_per_execution: int = 1
    """Training steps per compiled call (Keras ``compile(steps_per_execution=)``): fewer host
    round trips per step, which keeps a fast GPU fed on small images."""
    distribute: bool = False
    """Data parallelism over all local devices (kerascnn.accel.data_parallel: Keras
    DataParallel on JAX, MirroredStrategy on TensorFlow); batch_size is the global batch."""
    save_models: bool = False
    """Keep each trained model as ``models/<run>.keras`` in the run folder."""
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per-model training settings, keyed by model spec or name: ``{"lenet": {"epochs": 10}}``.
    Keys allowed inside: the training fields of OVERRIDABLE. A cheap model can train longer
    than an expensive one in the same time; the report shows each run's epochs."""
    targets: dict[str, float] = field(default_factory=dict)
    """Top-1 accuracy a model is expected to reach (the report says met or missed)."""

    # ------------------------------------------------------------------ construction

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> BenchConfig:
        data = dict(data)
        # convenience: repeats = N means seeds 0..N-1 (from "seed", default 0)
        if "repeats" in data:
            repeats, start = data.pop("repeats"), data.pop("seed", 0)
            if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
                raise ConfigError(
                    f"{source}: repeats must be a positive integer. Received: repeats={repeats!r}"
                )
            data["seeds"] = [int(start) + i for i in range(repeats)]
        elif "seed" in data:
            data["seeds"] = [data.pop("seed")]
        known = set(cls.field_names())
        unknown = sorted(k for k in data if k not in known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown key(s) {', '.join(unknown)}. Accepted keys: "
                f"{', '.join(sorted(known | {'repeats', 'seed'}))}. Received: {unknown}"
            )
        for key in ("models", "datasets", "augment", "seeds"):
            if isinstance(data.get(key), str):
                data[key] = split_list(data[key])
        if isinstance(data.get("seeds"), list):
            try:
                data["seeds"] = [int(s) if isinstance(s, str) else s for s in data["seeds"]]
            except ValueError:
                raise ConfigError(
                    f"{source}: seeds must be integers. Received: seeds={data['seeds']!r}"
                ) from None
        return cls(**data)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> BenchConfig:
        import tomllib

        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"Suite file {path} does not exist. Pass a TOML file such as "
                f"benchmarks/quick.toml. Received: --suite {str(path)!r}"
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"Suite file {path} is not valid TOML ({exc}). Received: {str(path)!r}"
            ) from None
        data.setdefault("name", path.stem)
        return cls.from_dict(data, source=str(path))

    def updated(self, **overrides: Any) -> BenchConfig:
        """A copy with the non-None ``overrides`` applied (CLI flags over suite-file values).

        A value given here applies to every model: it also replaces that key in the suite's
        per-model ``[overrides]`` (``--epochs 1`` means one epoch for LeNet too).
        """
        clean = {k: v for k, v in overrides.items() if v is not None}
        base = self.to_dict()
        if "overrides" not in clean:
            base["overrides"] = {
                model: kept
                for model, per in base["overrides"].items()
                if (kept := {k: v for k, v in per.items() if k not in clean})
            }
        # repeats N: seeds start.. start+N-1 (start = the first --seed, else 0)
        if "repeats" in clean:
            base.pop("seeds")
            clean["seed"] = (clean.pop("seeds", None) or [0])[0]
        return BenchConfig.from_dict({**base, **clean}, source="command line")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------ validation

    def validate(self) -> BenchConfig:
        """Check every value (types and ranges), model names and overrides; return self."""
        self.validate_values()
        return self._validate_models()

    def _bad(self, key: str, accepted: str) -> ConfigError:
        return ConfigError(f"Invalid {key}: {accepted}. Received: {key}={getattr(self, key)!r}")

    def validate_values(self) -> BenchConfig:
        """Check the types and ranges of the plain values. Raises ConfigError."""
        bad = self._bad

        def is_names(v: Any) -> bool:
            return (
                isinstance(v, list) and bool(v) and all(isinstance(x, str) and x.strip() for x in v)
            )

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        if not is_names(self.models):
            raise bad(
                "models",
                "a non-empty list of model spec strings, e.g. ['lenet', 'vgg11(width=0.25)']",
            )
        if not is_names(self.datasets):
            raise bad(
                "datasets", "a non-empty list of dataset names (kerascnn datasets lists them)"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise bad("name", "a non-empty string")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise bad("data_dir", "a folder path or None")
        if not is_int(self.epochs) or self.epochs < 1:
            raise bad("epochs", "a positive integer")
        if not is_int(self.batch_size) or self.batch_size < 1:
            raise bad("batch_size", "a positive integer")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", f"one of {', '.join(OPTIMIZERS)}")
        if self.learning_rate is not None and (
            not is_num(self.learning_rate) or self.learning_rate <= 0
        ):
            raise bad("learning_rate", "a positive number (or omit it for the optimizer's default)")
        if not is_num(self.momentum) or not 0 <= self.momentum < 1:
            raise bad("momentum", "a number in [0, 1)")
        if self.schedule not in SCHEDULES:
            raise bad("schedule", f"one of {', '.join(SCHEDULES)}")
        if (
            not is_num(self.warmup_epochs)
            or self.warmup_epochs < 0
            or self.warmup_epochs >= self.epochs
        ):
            raise bad("warmup_epochs", f"a number >= 0 and below epochs ({self.epochs!r})")
        if not is_num(self.weight_decay) or not 0 <= self.weight_decay < 1:
            raise bad("weight_decay", "a number in [0, 1)")
        if not is_num(self.label_smoothing) or not 0 <= self.label_smoothing < 1:
            raise bad("label_smoothing", "a number in [0, 1)")
        if not isinstance(self.augment, list) or any(a not in AUGMENTATIONS for a in self.augment):
            raise bad("augment", f"a list drawn from {', '.join(AUGMENTATIONS)} (empty = none)")
        if "mixup" in self.augment and "cutmix" in self.augment:
            raise bad("augment", "at most one of mixup and cutmix")
        if self.precision not in PRECISIONS:
            raise bad("precision", f"one of {', '.join(PRECISIONS)}")
        if self.jit not in JIT_CHOICES or (self.jit != "auto" and not isinstance(self.jit, bool)):
            raise bad("jit", 'true, false or "auto"')
        if (
            not isinstance(self.seeds, list)
            or not self.seeds
            or not all(is_int(s) and s >= 0 for s in self.seeds)
        ):
            raise bad("seeds", "a non-empty list of non-negative integers")
        if len(set(self.seeds)) != len(self.seeds):
            raise bad("seeds", "distinct seeds")
        if self.time_budget is not None and (not is_num(self.time_budget) or self.time_budget <= 0):
            raise bad("time_budget", "a positive number of seconds, or None for no limit")
        for key in ("train_limit", "test_limit"):
            value = getattr(self, key)
            if value is not None and (not is_int(value) or value < 1):
                raise bad(key, "a positive integer, or None for the whole split")
        if not isinstance(self.eval_every_epoch, bool):
            raise bad("eval_every_epoch", "true or false")
        if not is_int(self.latency_batch) or self.latency_batch < 1:
            raise bad("latency_batch", "a positive integer")
        if not is_num(self.latency_seconds) or self.latency_seconds <= 0:
            raise bad("latency_seconds", "a positive number of seconds")
        if not isinstance(self.save_models, bool):
            raise bad("save_models", "true or false")
        if not is_int(self.steps_per_execution) or self.steps_per_execution < 1:
            raise bad("steps_per_execution", "a positive integer")
        if not isinstance(self.distribute, bool):
            raise bad("distribute", "true or false")
        return self

    def _validate_models(self) -> BenchConfig:
        from kerascnn.registry import model_info

        bad = self._bad

        for spec in self.models:
            model_info(spec)  # unknown names: the registry's error (close matches, known list)
        if not isinstance(self.overrides, dict):
            raise bad("overrides", "a table of model name -> {setting = value}")
        for key, table in self.overrides.items():
            # Keys name models; one that matches no model of this suite is ignored (a suite file
            # may hold settings for models that are left out with --models).
            if not isinstance(table, dict):
                raise ConfigError(
                    f"Invalid overrides.{key}: a table of settings such as {{epochs = 10}}. "
                    f"Received: overrides.{key}={table!r}"
                )
            unknown = sorted(k for k in table if k not in OVERRIDABLE)
            if unknown:
                raise ConfigError(
                    f"Invalid overrides.{key}: unknown setting(s) {', '.join(unknown)}. Accepted: "
                    f"{', '.join(OVERRIDABLE)}. Received: {unknown}"
                )
        if not isinstance(self.targets, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
            for v in self.targets.values()
        ):
            raise bad("targets", "a table of model name -> top-1 accuracy in [0, 1]")
        for spec in self.models:
            eff = self.for_model(spec)
            if eff is not self:
                try:
                    eff.validate_values()
                except ConfigError as exc:
                    raise ConfigError(f"overrides for {spec!r}: {exc}") from None
        return self

    def for_model(self, spec: str) -> BenchConfig:
        """The config one model trains with: this one, with its ``overrides`` applied."""
        from kerascnn.registry import parse_spec

        table = self.overrides.get(spec.strip())
        if table is None:
            table = self.overrides.get(parse_spec(spec)[0])
        if not table:
            return self
        return dataclasses.replace(self, **table, overrides={})

    # ------------------------------------------------------------------ derived values

    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return 0.05 if self.optimizer in ("sgd", "momentum") else 1e-3

    def training_dict(self) -> dict[str, Any]:
        """The fields that change what one run computes (input of the config hash)."""
        out = {k: getattr(self, k) for k in TRAINING_FIELDS}
        out["learning_rate"] = self.resolved_learning_rate()
        return out

    def runs(self) -> list[RunSpec]:
        """Every (dataset, model, seed) combination, in suite order (dataset-major)."""
        return [
            RunSpec(model=m.strip(), dataset=d.strip(), seed=s, config=self.for_model(m))
            for d in self.datasets
            for m in self.models
            for s in self.seeds
        ]


@dataclass(frozen=True)
class RunSpec:
    """One run of a suite: a model spec trained on a dataset with a seed."""

    model: str
    dataset: str
    seed: int
    config: BenchConfig = field(compare=False, repr=False)

    @property
    def config_hash(self) -> str:
        payload = {"model": self.model, "dataset": self.dataset, **self.config.training_dict()}
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    @property
    def key(self) -> str:
        """File stem of the run's JSON: dataset, model slug, config hash, seed."""
        return f"{slug(self.dataset)}__{slug(self.model)}__{self.config_hash}__s{self.seed}"


def slug(text: str) -> str:
    """A file-name-safe form of a model spec or dataset name."""
    out = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.strip())
    return "-".join(p for p in out.split("-") if p) or "x"


def split_list(text: str) -> list[str]:
    """Split a comma-separated list, keeping commas inside parentheses: 'a,vgg11(width=0.5,x=1)'."""
    items, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur).strip())
    return [i for i in items if i]
