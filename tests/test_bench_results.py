"""The typed result record (kerascnn.record.run): round trip, schema check, junk, published results."""

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

from kerascnn.errors import KerasCNNError, ReportError, SchemaVersionError
from kerascnn.record import store
from kerascnn.record.run import (
    RECORD_ORDER,
    SCHEMA_VERSION,
    DatasetInfo,
    DeviceThroughput,
    Environment,
    EvalMetrics,
    GitInfo,
    InferenceTimings,
    Latency,
    Measurements,
    ModelSize,
    RunError,
    RunRecord,
    TrainStats,
    read_record,
)
from kerascnn.report import build_report, load_run

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = sorted(ROOT.glob("reports/**/results/*.json"))


def _latency(p50, batch):
    return Latency(
        p50_ms=p50,
        p95_ms=2 * p50,
        mean_ms=1.2 * p50,
        std_ms=0.1,
        min_ms=0.5 * p50,
        n=50,
        batch=batch,
    )


def _record(model="lenet", seed=0, **changes) -> RunRecord:
    record = RunRecord(
        key=f"mini__{model}__abc__s{seed}",
        model=model,
        dataset="mini",
        seed=seed,
        config_hash="abcdef0123",
        suite="fixture",
        config={"epochs": 2, "batch_size": 64, "augment": [], "latency_batch": 16},
        dataset_info=DatasetInfo(
            name="mini",
            source="fixture",
            input_shape=[28, 28, 1],
            num_classes=2,
            class_names=["a", "b"],
            train_images=8,
            test_images=4,
        ),
        environment=Environment(
            backend="tensorflow",
            versions={"keras": "3"},
            device="CPU: fixture",
            usable_cpus=2,
            git=GitInfo(commit="0123456789abcdef", dirty=False),
        ),
        started="2026-01-01T00:00:00Z",
        status="ok",
        load_average_before=[1.0, 1.0, 1.0],
        params=100,
        macs=1000,
        epochs_completed=2,
        history={"loss": [1.0, float("nan")], "acc": [0.5, 0.75]},
        train=TrainStats(
            seconds=3.0,
            images=8,
            steps_per_epoch=1,
            epoch_seconds=[2.0, 1.0],
            first_step_seconds=1.5,
            warmup_seconds=1.0,
            images_per_s=None,
            steps_timed=0,
            step_p50_ms=None,
        ),
        test=EvalMetrics(top1=0.75, top5=1.0, loss=float("inf"), confusion=[[2, 0], [1, 1]], n=4),
        inference=InferenceTimings(
            first_call_seconds={"eval_batch": 0.3, "batch_1": 0.2, "batch_4": 0.1},
            latency_b1=_latency(1.0, 1),
            latency_bN=_latency(3.0, 4),
            device_throughput=DeviceThroughput(images_per_s=900.0, batch=4, calls=10, seconds=0.05),
            bn_folded=3,
            fold_seconds=0.4,
        ),
        size=ModelSize(keras_file_bytes=5000, saved_to=None),
        finished="2026-01-01T00:01:00Z",
        wall_seconds=60.0,
    )
    return dataclasses.replace(record, **changes)


def _write(folder: Path, record: RunRecord) -> Path:
    return store.write_result(folder, record)


def test_round_trip_through_the_store(tmp_path):
    record = _record()
    path = _write(tmp_path, record)
    assert path == tmp_path / "results" / f"{record.key}.json"
    back = store.read_result(path)
    # JSON has no NaN/inf: they are stored as null and read back as None
    assert back.history["loss"] == [1.0, None] and back.test.loss is None
    expected = dataclasses.replace(
        record,
        history={"loss": [1.0, None], "acc": [0.5, 0.75]},
        test=dataclasses.replace(record.test, loss=None),
    )
    assert back == expected
    assert (
        isinstance(back.inference.latency_bN, Latency)
        and back.environment.git.commit == "0123456789abcdef"
    )
    assert store.load_results(tmp_path) == [back] and store.finished_keys(tmp_path) == {record.key}


def test_stored_layout_order_and_none_fields(tmp_path):
    names = [f.name for f in dataclasses.fields(RunRecord)]
    assert sorted(RECORD_ORDER) == sorted(names) and len(set(RECORD_ORDER)) == len(names)
    data = json.loads(_write(tmp_path, _record()).read_text())
    assert list(data)[:6] == ["schema", "key", "model", "dataset", "seed", "config_hash"]
    assert list(data)[-2:] == ["finished", "wall_seconds"]
    assert data["schema"] == SCHEMA_VERSION == 1
    assert "error" not in data and "macs_error" not in data  # a None at the top level is left out
    assert data["train"]["images_per_s"] is None  # nested objects keep every key


def test_failed_record_keeps_partial_measurements(tmp_path):
    failed = RunRecord(
        model="x",
        dataset="mini",
        seed=1,
        config_hash="h",
        key="k",
        status="failed",
        error=RunError(type="NaNLoss", message="The loss became nan"),
        **Measurements(params=7).fields_dict(),
    )
    back = store.read_result(_write(tmp_path, failed))
    assert back == failed and not back.ok and back.test is None
    assert Measurements(params=7, macs=1).merged(
        Measurements(macs=2, epochs_completed=3)
    ) == Measurements(params=7, macs=2, epochs_completed=3)


@pytest.mark.parametrize("version, word", [(0, "older"), (2, "newer"), ("1", "not a number")])
def test_other_schema_versions_give_a_clear_error(tmp_path, version, word):
    path = _write(tmp_path, _record())
    data = json.loads(path.read_text())
    data["schema"] = version
    if version == 2:
        data["test"] = {
            "top1_accuracy": 0.75
        }  # a newer layout: would be a KeyError for a naive reader
    path.write_text(json.dumps(data))
    for read in (
        lambda: read_record(path),
        lambda: store.finished_keys(tmp_path),  # resume never overwrites such a result
        lambda: store.unreadable_results(tmp_path),
    ):
        with pytest.raises(SchemaVersionError) as info:
            read()
        message = str(info.value)
        assert str(path) in message and f"schema version {version!r}" in message
        assert "reads schema version 1" in message and word in message and "Received: " in message
    err = info.value
    assert isinstance(err, KerasCNNError) and (err.source, err.found, err.expected) == (
        str(path),
        version,
        1,
    )
    assert str(pickle.loads(pickle.dumps(err))) == message
    # the report lists it as unreadable, with why; being the only result, that is an error
    with pytest.raises(ReportError, match="holds no readable result") as info:
        load_run(tmp_path)
    assert f"{path.name} (schema {version!r}, this kerascnn reads schema 1 (" in str(info.value)
    assert word in str(info.value)


def test_suite_file_of_another_version_gives_a_clear_error(tmp_path):
    _write(tmp_path, _record())
    (tmp_path / "suite.json").write_text(json.dumps({"schema": 3, "name": "x"}))
    with pytest.raises(SchemaVersionError, match="suite.json was written in schema version 3"):
        load_run(tmp_path)


JUNK = {
    "truncated.json": lambda text: text[: len(text) // 2],
    "garbage.json": lambda text: "\x00\x01garbage",
    "empty.json": lambda text: "",
    "list.json": lambda text: "[1, 2]",
    "no_schema.json": lambda text: json.dumps(
        {k: v for k, v in json.loads(text).items() if k != "schema"}
    ),
    "bad_status.json": lambda text: text.replace('"status": "ok"', '"status": "running"'),
    "unknown_field.json": lambda text: json.dumps({**json.loads(text), "surprise": 1}),
    "missing_model.json": lambda text: json.dumps(
        {k: v for k, v in json.loads(text).items() if k != "model"}
    ),
    "wrong_type.json": lambda text: text.replace('"top1": 0.75', '"top1": "high"'),
    "ok_without_test.json": lambda text: json.dumps(
        {k: v for k, v in json.loads(text).items() if k != "test"}
    ),
    "nested_unknown.json": lambda text: text.replace('"p50_ms": 1.0', '"p50": 1.0'),
}


@pytest.mark.parametrize("name", sorted(JUNK))
def test_junk_is_skipped_by_the_store_and_listed_by_the_report(tmp_path, name):
    good = _write(tmp_path, _record())
    text = good.read_text()
    junk = tmp_path / "results" / name
    junk.write_text(JUNK[name](text))
    assert junk.read_text() != text
    assert read_record(junk) is None
    assert [r.key for r in store.load_results(tmp_path)] == [_record().key]
    assert store.finished_keys(tmp_path) == {_record().key}
    data = load_run(tmp_path)
    assert [n for n, _ in data.unreadable] == [name] and len(data.results) == 1
    (reason,) = [why for _, why in data.unreadable]
    assert reason and str(tmp_path) not in reason
    text = build_report(tmp_path, plots=False).read_text()
    assert "## Unreadable result files" in text and f"- `{name}`: {reason}" in text


def test_missing_key_is_taken_from_the_file_name(tmp_path):
    path = _write(tmp_path, _record())
    data = json.loads(path.read_text())
    del data["key"]
    path.write_text(json.dumps(data))
    assert read_record(path).key == path.stem


@pytest.mark.skipif(not PUBLISHED, reason="no published results in this checkout")
@pytest.mark.parametrize("path", PUBLISHED, ids=[str(p.relative_to(ROOT)) for p in PUBLISHED])
def test_every_published_result_loads_and_keeps_its_layout(path):
    record = read_record(path)
    assert record is not None, f"{path} does not read as a schema-1 record"
    assert (
        record.schema == 1
        and record.ok
        and record.test.n > 0
        and record.inference.latency_b1.p50_ms > 0
    )
    assert record.environment.device.startswith(("CPU: ", "GPU: "))
    assert record.to_dict() == json.loads(
        path.read_text()
    )  # the typed record writes the same file back


def test_published_folders_report_without_unreadable_files():
    folders = sorted({p.parent.parent for p in PUBLISHED})
    assert folders, "expected published run folders under reports/"
    for folder in folders:
        data = load_run(folder)
        assert data.unreadable == [] and len(data.results) == len(
            list((folder / "results").glob("*.json"))
        )
        assert data.environment().device.startswith(("CPU: ", "GPU: "))
