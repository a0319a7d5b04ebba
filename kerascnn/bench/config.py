"""``BenchConfig``: what a benchmark suite trains and measures, from CLI flags or a TOML file.

A suite file is flat TOML whose keys are the field names below (``benchmarks/main-job.toml``)::

    name = "main-job"
    models = ["lenet", "vgg", "mobilenetv2"]
    datasets = ["fashion_mnist_mini"]
    budget = 30.0

Every value is checked by :meth:`BenchConfig.validate` before anything trains (a ConfigError
names what was received and what is accepted), model names by the registry, dataset names by
``load_dataset`` (the runner loads every dataset, builds every model before the first epoch).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn._utils import slug, split_list
from kerascnn.bench import config_checks
from kerascnn.bench.recipes import recipe_for, with_recipe
from kerascnn.errors import ConfigError

# The accepted choices live with the rules (config_checks.RULES); importable from here too.
OPTIMIZERS, SCHEDULES = config_checks.OPTIMIZERS, config_checks.SCHEDULES
NORMALIZATIONS, AUGMENTATIONS = config_checks.NORMALIZATIONS, config_checks.AUGMENTATIONS
PRECISIONS = config_checks.PRECISIONS

# Training fields a suite may set per model ([overrides]).
OVERRIDABLE = tuple(
    "epochs budget steps batch_size optimizer learning_rate momentum schedule warmup_epochs "
    "weight_decay label_smoothing augment precision jit time_budget".split()
)
PRECISE_BN_BATCHES = 20  # measured: reports/main-job (README.md there says why)
PROTOCOLS = ("epochs", "budget", "steps")
"""How long a run trains: a number of epochs, an equal wall-clock budget (steps calibrated on
this machine), or a fixed number of optimizer steps (a budget run repeated elsewhere)."""
LENGTH_KEYS = ("epochs", "budget", "steps")
"""The settings that say how long a run trains; the one given last (a flag over the suite
file) decides, the others are cleared."""
DEFAULT_LR = {"sgd": 0.05, "momentum": 0.05, "adam": 1e-3, "adamw": 1e-3}
"""Each optimizer's learning rate when none is given (``--lr``)."""
DATA_DEFAULTS = {
    "image_size": None,
    "aspect": "squash",
    "test_fraction": 0.2,
    "skip_bad_images": False,
    "splits": None,
    "normalize": "none",
}
"""How data is read and sized; at these values a field stays out of the config hash (older hashes hold)."""
DATA_FIELDS = tuple(DATA_DEFAULTS)
# Fields that change what a run computes: they make up the run's config hash. Output and
# bookkeeping fields (name, models/datasets lists, seeds) are not part of it.
TRAINING_FIELDS = (
    *OVERRIDABLE,
    *"train_limit test_limit data_dir eval_every_epoch steps_per_execution distribute".split(),
    *"eval_points precise_bn precise_bn_batches".split(),
    *DATA_FIELDS,
)


@dataclass
class BenchConfig:
    """A benchmark suite: every (model, dataset, seed) combination is one run.

    The defaults are the main job's (``kerascnn bench --models lenet,vgg,mobilenetv2``), chosen
    so that the three models train on the embedded Fashion-MNIST subset in a few minutes on
    two CPU cores; ``benchmarks/main-job.toml`` spells out the same values.
    """

    models: list[str] = field(default_factory=lambda: ["lenet"])
    """Model spec strings: ``"lenet"``, ``"vgg11(width=0.25)"``."""
    datasets: list[str] = field(default_factory=lambda: ["fashion_mnist_mini"])
    name: str = "bench"
    description: str = ""
    data_dir: str | None = None
    image_size: list[int] | None = None
    """[height, width] the models see: folders/TFDS are resized at load, arrays by a Resizing
    layer at the model's input (no memory cost: 224 px Fashion-MNIST as d2l feeds AlexNet)."""
    aspect: str = "squash"  # how a resize treats the aspect ratio: squash, crop or pad
    normalize: str = "none"  # "per_channel": (x - mean) / std per channel, a layer at the input
    test_fraction: float = 0.2  # held out (stratified, first seed) where a source has no test split
    skip_bad_images: bool = False  # skip and count unreadable files of a folder instead of stopping
    splits: list[str] | None = None  # TFDS split names: training, test ("train[:90%]", ...)
    epochs: int = 3
    """Epochs per run under the epoch protocol (ignored when ``budget`` or ``steps`` is set)."""
    budget: float | None = None
    """Equal-budget protocol: seconds of training per run. A short timed calibration of the
    compiled training step (undone afterwards) measures the step time; the run then trains
    ``floor(budget / step time)`` optimizer steps with its schedule sized to them, and that
    number is stored so ``steps`` can repeat the run on another machine."""
    steps: int | None = None
    """Fixed-steps protocol: exactly this many optimizer steps per run (schedule sized to them)."""
    eval_points: int = 4
    """Test-set evaluations along a budget/steps run (the last is the final evaluation): the
    points of the accuracy-vs-training-time curve."""
    batch_size: int = 128
    optimizer: str | None = None
    """None: each model's recipe (:mod:`kerascnn.bench.recipes`); a name: for every model."""
    learning_rate: float | None = None
    """Peak learning rate; None = the recipe's when the optimizer is the model's recipe, else
    the optimizer's own default (:data:`DEFAULT_LR`: sgd/momentum 0.05, adam/adamw 1e-3).
    Changing the optimizer (``--optimizer``) without ``--lr`` resets it."""
    momentum: float = 0.9
    """Used by ``momentum`` (Nesterov SGD) only."""
    schedule: str = "cosine"
    warmup_epochs: float = 0.5
    """Linear warm-up from lr/10 (cosine) or lr/25 (one-cycle) before the decay; 0 = none.
    Under the budget/steps protocols it is capped at a fifth of the run's steps."""
    weight_decay: float = 0.0  # decoupled (adamw, and Keras' weight_decay of the others)
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
    precise_bn: bool = True
    """Recompute the BatchNorm statistics for the current weights before every test evaluation
    (:mod:`kerascnn.bench.precise_bn`); its time is evaluation time, outside the budget."""
    precise_bn_batches: int = PRECISE_BN_BATCHES
    """Un-augmented training batches (of ``batch_size``) averaged for those statistics."""
    latency_batch: int = 64
    """N of the batch-N latency and of the device-throughput measurement."""
    latency_seconds: float = 1.0
    """Measuring time per latency/throughput figure (after warm-up); at least 10 calls each."""
    steps_per_execution: int = 1
    """Training steps per compiled call (Keras ``compile(steps_per_execution=)``): fewer host
    round trips per step, which keeps a fast GPU fed on small images."""
    distribute: bool = False
    """Data parallelism over all local devices (kerascnn.distributed.data_parallel: Keras
    DataParallel on JAX, MirroredStrategy on TensorFlow); batch_size is the global batch."""
    save_models: bool = False
    """Keep each trained model as ``models/<run>.keras`` in the run folder."""
    tensorboard: bool = False
    """Write Keras TensorBoard logs to ``tensorboard/<run>`` in the run folder."""
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
        for key in ("models", "datasets", "augment", "seeds", "splits"):
            if isinstance(data.get(key), str):
                data[key] = split_list(data[key])
        if data.get("image_size") is not None:
            data["image_size"] = config_checks.image_size_list(data["image_size"], source)
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
                f"benchmarks/main-job.toml. Received: --suite {str(path)!r}"
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
        per-model ``[overrides]`` (``--epochs 1`` means one epoch for LeNet too). One of
        ``epochs``/``budget``/``steps`` picks the protocol and clears the other two (suite and
        overrides); ``optimizer`` without ``learning_rate`` resets the rate to the new
        optimizer's default.
        """
        clean = {k: v for k, v in overrides.items() if v is not None}
        base = self.to_dict()
        given = [k for k in LENGTH_KEYS if k in clean]
        if len(given) > 1:
            raise ConfigError(
                "Give one of --epochs, --budget and --steps: each says how long a run trains. "
                f"Received: {', '.join(f'{k}={clean[k]!r}' for k in given)}"
            )
        replaced = set(clean)
        if given:  # the flag decides the protocol: the suite's other length keys are cleared
            replaced |= set(LENGTH_KEYS)
            for other in ("budget", "steps"):
                if other not in clean:
                    base[other] = None
        if "optimizer" in clean and "learning_rate" not in clean:
            base["learning_rate"] = None  # the new optimizer's own default, not the old rate
            replaced.add("learning_rate")
        if "overrides" not in clean:
            base["overrides"] = {
                model: kept
                for model, per in base["overrides"].items()
                if (kept := {k: v for k, v in per.items() if k not in replaced})
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
        config_checks.validate_environment(vars(self))
        return self._validate_models()

    def bad(self, key: str, accepted: str) -> ConfigError:
        """The error for the value of ``key``: what is accepted and what was received."""
        return config_checks.invalid(key, accepted, getattr(self, key))

    def validate_values(self) -> BenchConfig:
        """Check the types and ranges of the plain values (:data:`config_checks.RULES`).
        Raises ConfigError."""
        config_checks.validate_values(vars(self))
        return self

    def _validate_models(self) -> BenchConfig:
        from kerascnn.models import model_info

        bad = self.bad

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
        """The config one model trains with: this one, with its ``overrides`` applied and,
        when no optimizer is named, the model's recipe (:mod:`kerascnn.bench.recipes`)."""
        return with_recipe(self.overridden(spec), spec)

    def overridden(self, spec: str) -> BenchConfig:
        """This config with ``spec``'s ``overrides`` applied."""
        from kerascnn.models import parse_spec

        table = self.overrides.get(spec.strip())
        if table is None:
            table = self.overrides.get(parse_spec(spec)[0])
        if table and any(k in table for k in LENGTH_KEYS):  # its own length, its own protocol
            table = {"budget": None, "steps": None, **table}
        return dataclasses.replace(self, **table, overrides={}) if table else self

    # ------------------------------------------------------------------ derived values

    @property
    def protocol(self) -> str:
        """``"steps"``, ``"budget"`` or ``"epochs"`` (see :data:`PROTOCOLS`)."""
        if self.steps is not None:
            return "steps"
        return "budget" if self.budget is not None else "epochs"

    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return DEFAULT_LR.get(self.optimizer, 1e-3)

    def training_dict(self) -> dict[str, Any]:
        """The fields that change what one run computes (input of the config hash)."""
        out = {k: getattr(self, k) for k in TRAINING_FIELDS}
        out["learning_rate"] = self.resolved_learning_rate()
        for key, default in DATA_DEFAULTS.items():  # not in older hashes at their defaults
            if out[key] == default:
                out.pop(key)
        if self.protocol == "epochs":  # fields of the other protocols: not in older hashes
            for key in ("budget", "steps", "eval_points"):
                out.pop(key)
        else:
            out.pop("epochs")
        if not self.precise_bn:  # evaluated as before it existed: the older hashes hold
            out.pop("precise_bn")
            out.pop("precise_bn_batches")
        return out

    def runs(self) -> list[RunSpec]:
        """Every (dataset, model, seed) combination, in suite order (dataset-major)."""
        return [
            RunSpec(
                model=m.strip(),
                dataset=d.strip(),
                seed=s,
                config=self.for_model(m),
                recipe=recipe_for(self.overridden(m), m),
            )
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
    recipe: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """The registry recipe ``config`` took its optimizer from (``recipes.recipe_for``)."""

    @property
    def config_hash(self) -> str:
        payload = {"model": self.model, "dataset": self.dataset, **self.config.training_dict()}
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    @property
    def key(self) -> str:
        """File stem of the run's JSON: dataset, model slug, config hash, seed."""
        return f"{slug(self.dataset)}__{slug(self.model)}__{self.config_hash}__s{self.seed}"
