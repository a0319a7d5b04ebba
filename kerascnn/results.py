"""The stored result of one benchmark run: a typed record that bench writes and report reads.

One JSON file per run (``RUN_DIR/results/<key>.json``) holds one :class:`RunRecord`. Its layout
is schema version :data:`SCHEMA_VERSION`; every reader checks it, and a record of another
version raises :class:`~kerascnn.errors.SchemaVersionError` naming the file and both versions.

Layout (schema 1): the run's identity (key, model, dataset, seed, config hash, suite, resolved
config, dataset facts, environment), its status ("ok" or "failed", with the error), then the
measurements (:class:`Measurements`: model facts, training curves and throughput, test metrics,
inference timings, file size, memory), flat at the top level; ``test``, ``train``,
``inference``, ``size``, ``dataset_info``, ``environment`` and ``error`` are nested objects.
A top-level value that is None is left out of the file; a missing key reads as None.

This module is neutral ground: it imports neither :mod:`kerascnn.bench` nor
:mod:`kerascnn.report`, nor Keras.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from kerascnn.errors import CorruptDataError, SchemaVersionError

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed")


# --------------------------------------------------------------------------- parts


@dataclass
class GitInfo:
    commit: str | None
    dirty: bool | None


@dataclass
class Environment:
    """Where the numbers came from: backend, versions, device, CPUs, commit, command line."""

    backend: str
    versions: dict[str, str]
    device: str
    """``"CPU: <model>"`` or ``"GPU: <name> (xN)"`` (see ``kerascnn.bench.environment.device_name``)."""
    cpu: str | None = None
    logical_cpus: int | None = None
    usable_cpus: int | None = None
    platform: str | None = None
    hostname: str | None = None
    git: GitInfo | None = None
    command: str | None = None
    load_average_at_start: list[float] | None = None


@dataclass
class DatasetInfo:
    name: str
    source: str
    input_shape: list[int]
    num_classes: int
    class_names: list[str]
    train_images: int
    """Images used (after ``train_limit``)."""
    test_images: int
    full_train_images: int | None = None
    full_test_images: int | None = None


@dataclass
class RunError:
    type: str
    """``NaNLoss``, ``NaNOutput``, ``TimeBudgetExceeded``, ``OutOfMemory ...`` or an exception name."""
    message: str
    traceback: str | None = None


@dataclass
class DataParallelUse:
    engine: str
    replicas: int
    devices: list[str]


@dataclass
class TrainStats:
    seconds: float
    images: int
    steps_per_epoch: int
    epoch_seconds: list[float]
    first_step_seconds: float | None
    """From the start of training to the end of the first step (tracing and compilation)."""
    warmup_seconds: float | None
    images_per_s: float | None
    """Steady state: the first steps excluded."""
    steps_timed: int
    step_p50_ms: float | None


@dataclass
class EvalMetrics:
    top1: float
    top5: float
    loss: float | None
    """Cross-entropy of the test set; None when the outputs were not finite (run failed)."""
    confusion: list[list[int]]
    """Rows: true class, columns: predicted class."""
    n: int


@dataclass
class Latency:
    """Host numpy input to numpy output, one call at a time, warm-up excluded (milliseconds)."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    std_ms: float
    min_ms: float
    n: int
    batch: int


@dataclass
class DeviceThroughput:
    """Device-resident input, calls back to back, synchronized every few calls."""

    images_per_s: float
    batch: int
    calls: int
    seconds: float


@dataclass
class InferenceTimings:
    first_call_seconds: dict[str, float]
    """Tracing + compilation + one call, per input shape: ``eval_batch``, ``batch_1``, ``batch_N``."""
    latency_b1: Latency
    latency_bN: Latency
    device_throughput: DeviceThroughput


@dataclass
class ModelSize:
    keras_file_bytes: int
    saved_to: str | None


@dataclass(kw_only=True)
class Measurements:
    """What one run measured; every field is None until its phase has run."""

    load_average_before: list[float] | None = None
    rss_before_mib: float | None = None
    data_parallel: DataParallelUse | None = None
    model_name: str | None = None
    params: int | None = None
    trainable_params: int | None = None
    macs: int | None = None
    """Multiply-accumulates of one forward pass per image, from ``kerascnn.analysis.profile``."""
    profile_params: int | None = None
    macs_error: str | None = None
    """Why ``macs`` is None: the profiler's error on this model."""
    loss_scaling: bool | None = None
    jit_compile: bool | None = None
    history: dict[str, list[float | None]] | None = None
    """Keras' per-epoch logs (``loss``, ``acc``, ``top5``, ``val_*``); NaN is stored as None."""
    epochs_completed: int | None = None
    train: TrainStats | None = None
    inference_jit: bool | None = None
    test: EvalMetrics | None = None
    inference: InferenceTimings | None = None
    size: ModelSize | None = None
    peak_rss_mib: float | None = None
    load_average_after: list[float] | None = None

    def fields_dict(self) -> dict[str, Any]:
        """The measurement fields as keywords (for building a :class:`RunRecord`)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Measurements)}

    def merged(self, other: Measurements | None) -> Measurements:
        """A copy of these measurements with every field that ``other`` has (not None) taken from it."""
        if other is None:
            return dataclasses.replace(self)
        taken = {k: v for k, v in other.fields_dict().items() if v is not None}
        return dataclasses.replace(self, **taken)


@dataclass(kw_only=True)
class RunRecord(Measurements):
    """One stored run: its identity, status and :class:`Measurements`."""

    model: str
    dataset: str
    seed: int
    config_hash: str
    status: str
    """``"ok"`` or ``"failed"`` (then ``error`` says why)."""
    key: str | None = None
    suite: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    """The resolved training config of the run plus ``latency_batch`` and ``latency_seconds``."""
    dataset_info: DatasetInfo | None = None
    environment: Environment | None = None
    started: str | None = None
    error: RunError | None = None
    finished: str | None = None
    wall_seconds: float | None = None
    schema: int = SCHEMA_VERSION

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout: identity and status first, measurements, then finish time."""
        out = {}
        for name in RECORD_ORDER:
            value = getattr(self, name)
            if value is not None:
                out[name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "<record>") -> RunRecord:
        """Parse a stored record; raises SchemaVersionError or CorruptDataError (never KeyError)."""
        if not isinstance(data, dict):
            raise CorruptDataError(
                f"{source} is not a kerascnn result: expected a JSON object. "
                f"Received: {type(data).__name__}"
            )
        check_schema(data, source)
        record = parse(cls, data, source)
        if record.status not in STATUSES:
            raise CorruptDataError(
                f"{source}: status must be one of {list(STATUSES)}. Received: status={record.status!r}"
            )
        if record.ok and record.test is None:
            raise CorruptDataError(
                f"{source}: an 'ok' run must hold its test metrics. Received: no 'test'"
            )
        if not record.ok and record.error is None:
            raise CorruptDataError(
                f"{source}: a 'failed' run must hold its error. Received: no 'error'"
            )
        return record


RECORD_ORDER = (
    *("schema", "key", "model", "dataset", "seed", "config_hash", "suite", "config"),
    *("dataset_info", "environment", "started", "status", "error"),
    *(f.name for f in dataclasses.fields(Measurements)),
    *("finished", "wall_seconds"),
)
"""The order of the keys in a stored record (every field of :class:`RunRecord` once)."""


# --------------------------------------------------------------------------- reading


def check_schema(data: dict[str, Any], source: str) -> None:
    """Raise SchemaVersionError unless ``data['schema']`` is :data:`SCHEMA_VERSION`."""
    found = data.get("schema")
    if found != SCHEMA_VERSION or isinstance(found, bool):
        raise SchemaVersionError(source, found, SCHEMA_VERSION)


def read_record(path: str | Path) -> RunRecord | None:
    """The record stored in ``path``, or None when the file is not a complete result.

    Junk (unreadable, not JSON, truncated, no ``schema`` key, or not a valid record: wrong
    status, missing or unknown fields, wrong types) gives None, so a folder with a stray file
    still reads.
    A record of another schema version raises :class:`SchemaVersionError`: it is a result,
    but one this version of kerascnn cannot read.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "schema" not in data:
        return None
    try:
        record = RunRecord.from_dict(data, source=str(path))
    except CorruptDataError:
        return None
    if record.key is None:
        record.key = path.stem
    return record


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _bad(where: str, expected: str, value: Any) -> CorruptDataError:
    return CorruptDataError(f"{where} must be {expected}. Received: {value!r:.80}")


def parse(tp: Any, value: Any, where: str) -> Any:
    """``value`` (parsed JSON) as type ``tp`` (a dataclass, ``X | None``, ``list[X]``, ``dict[str, X]``,
    a scalar or Any), checked against the type hints; raises CorruptDataError naming ``where``."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return parse(inner, value, where)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _bad(where, f"an object ({tp.__name__})", value)
        known = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise _bad(where, f"an object with the fields of {tp.__name__}", f"unknown {unknown}")
        kwargs = {}
        for name, f in known.items():
            if name in value:
                kwargs[name] = parse(_hints(tp)[name], value[name], f"{where}.{name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _bad(where, f"an object with the field {name!r}", sorted(value))
        return tp(**kwargs)
    if origin is list:
        if not isinstance(value, list):
            raise _bad(where, "a list", value)
        (item,) = typing.get_args(tp)
        return [parse(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _bad(where, "an object", value)
        _, item = typing.get_args(tp)
        return {k: parse(item, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(where, "a number", value)
        return float(value)
    if tp is int and isinstance(value, bool):
        raise _bad(where, "an integer", value)
    if not isinstance(value, tp):
        raise _bad(where, f"of type {tp.__name__}", value)
    return value


__all__ = [
    "SCHEMA_VERSION",
    "DataParallelUse",
    "DatasetInfo",
    "DeviceThroughput",
    "Environment",
    "GitInfo",
    "InferenceTimings",
    "Latency",
    "Measurements",
    "ModelSize",
    "RunError",
    "RunRecord",
    "EvalMetrics",
    "TrainStats",
    "check_schema",
    "parse",
    "read_record",
]
