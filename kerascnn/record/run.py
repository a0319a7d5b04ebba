"""The stored result of one benchmark run: a typed record that bench writes and report reads.

One JSON file per run (``RUN_DIR/results/<key>.json``) holds one :class:`RunRecord`. Its layout
is schema version :data:`SCHEMA_VERSION`; every reader checks it: :func:`read_record` raises
:class:`~kerascnn.errors.SchemaVersionError` for another version (naming the file and both
versions), :func:`read_record_reason` gives the reason a file cannot be read, that one included.

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
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerascnn.errors import CorruptDataError, SchemaVersionError
from kerascnn.record.parts import (
    Calibration,
    CurvePoint,
    DataParallelUse,
    DatasetInfo,
    DeviceThroughput,
    Environment,
    EvalMetrics,
    GitInfo,
    InferenceTimings,
    Latency,
    ModelSize,
    PreciseBN,
    ProtocolInfo,
    RunError,
    TrainStats,
    later,
)
from kerascnn.record.typed_json import parse

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed")
CLUSTER_FAILURE = "ClusterFailure"
"""Error type of a run whose processes could not finish together (a peer died, hung or never
joined): not the model's failure, so ``--resume`` runs it again."""


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
    fused_train: bool | None = later()
    """Trained through TensorFlow's fused kernels (kerascnn.accel.fused_train)."""
    history: dict[str, list[float | None]] | None = None
    """Keras' per-epoch logs (``loss``, ``acc``, ``top5``, ``val_*``); NaN is stored as None."""
    epochs_completed: int | None = None
    protocol: ProtocolInfo | None = None
    curve: list[CurvePoint] | None = None
    """Test accuracy along training (the accuracy-vs-training-time plot); the last point is the
    final evaluation."""
    train: TrainStats | None = None
    inference_jit: bool | None = None
    precise_bn: PreciseBN | None = None
    """How the BatchNorm statistics were recomputed before the test evaluations (None: they
    were not, the run predates it or turned it off)."""
    test: EvalMetrics | None = None
    eval_seconds: float | None = None
    """Test evaluations along and after training, BatchNorm recomputation included (outside
    the training time and budget)."""
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
    """The resolved training config of the run plus ``latency_batch`` and ``latency_seconds``,
    and ``recipe`` when the optimizer came from the model's recipe (name, optimizer,
    learning_rate, why: :func:`kerascnn.bench.recipes.recipe_for`)."""
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

    @property
    def finished_run(self) -> bool:
        """Whether resuming the suite skips this run: all but cluster failures."""
        return self.error is None or self.error.type != CLUSTER_FAILURE

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout: identity and status first, measurements, then finish time."""
        out = {}
        for name in RECORD_ORDER:
            value = getattr(self, name)
            if value is not None:
                out[name] = _plain(value)
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


def _plain(value: Any) -> Any:
    """Dataclasses (also inside lists and dicts) as dicts, for JSON; a field added after schema
    1 (``result_parts.later()``) is left out while it is None, so older layouts stay."""
    if dataclasses.is_dataclass(value):
        return {
            f.name: _plain(v)
            for f in dataclasses.fields(value)
            if (v := getattr(value, f.name)) is not None or not f.metadata.get("omit_when_none")
        }
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


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


def _load_record(path: Path) -> RunRecord:
    """The one reading path. Raises SchemaVersionError for another schema version, else
    CorruptDataError whose message is the reason alone (the caller names the file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorruptDataError("not UTF-8 text (damaged, or not a result)") from None
    except OSError as exc:
        raise CorruptDataError(f"cannot be read ({exc.strerror or exc})") from None
    if not text.strip():
        raise CorruptDataError(f"empty ({len(text.encode())} bytes)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        at = f"{exc.msg.removesuffix(' at')} at line {exc.lineno} column {exc.colno}"
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise CorruptDataError(f"truncated: the JSON ends early ({at})") from None
        raise CorruptDataError(f"not valid JSON ({at})") from None
    if not isinstance(data, dict):
        raise CorruptDataError(f"a JSON {type(data).__name__}, not a result object")
    if "schema" not in data:
        raise CorruptDataError("no 'schema' key: not a kerascnn result")
    try:
        record = RunRecord.from_dict(data, source=str(path))
    except CorruptDataError as exc:  # the reason, without the path the caller already names
        reason = str(exc).replace(f"{path}.", "").replace(str(path), "the record")
        raise CorruptDataError(reason) from None
    if record.key is None:
        record.key = path.stem
    return record


def schema_reason(exc: SchemaVersionError) -> str:
    """Another schema version in a few words: "schema 2, this kerascnn reads schema 1 (...)"."""
    found, expected = exc.found, exc.expected
    hint = "its schema version is not a number"
    if isinstance(found, int) and not isinstance(found, bool):
        hint = "written by a newer kerascnn: upgrade kerascnn to read it"
        if found < expected:
            hint = "written by an older kerascnn: rerun that benchmark"
    return f"schema {found!r}, this kerascnn reads schema {expected} ({hint})"


def read_record_reason(path: str | Path) -> tuple[RunRecord | None, str | None]:
    """``(record, None)``, or ``(None, reason)`` when ``path`` is not a result this kerascnn
    reads: truncated, not JSON, not an object, not a valid record (wrong status, missing or
    unknown fields, wrong types) or of another schema version (see :func:`schema_reason`).
    Never raises; the reason names what is wrong, not the file (the caller does)."""
    try:
        return _load_record(Path(path)), None
    except SchemaVersionError as exc:
        return None, schema_reason(exc)
    except CorruptDataError as exc:
        return None, str(exc)


def read_record(path: str | Path) -> RunRecord | None:
    """The record stored in ``path``, or None when the file is not a complete result.

    Junk (see :func:`read_record_reason`) gives None, so a folder with a stray file still
    reads. A record of another schema version raises :class:`SchemaVersionError`: it is a
    result, but one this version of kerascnn cannot read.
    """
    try:
        return _load_record(Path(path))
    except CorruptDataError:
        return None


__all__ = [
    "SCHEMA_VERSION",
    "Calibration",
    "CurvePoint",
    "CLUSTER_FAILURE",
    "DataParallelUse",
    "DatasetInfo",
    "DeviceThroughput",
    "Environment",
    "GitInfo",
    "InferenceTimings",
    "Latency",
    "Measurements",
    "ModelSize",
    "PreciseBN",
    "ProtocolInfo",
    "RunError",
    "RunRecord",
    "EvalMetrics",
    "TrainStats",
    "check_schema",
    "parse",
    "read_record",
    "read_record_reason",
    "schema_reason",
]
