"""kerascnn.record: the one atomic writer, the one run-folder layout, and readers that name
what they cannot read (run results, deploy records, throughput sweeps)."""

import ast
import json
import os
from pathlib import Path

import pytest

from kerascnn.errors import CorruptDataError, ReportError, SchemaVersionError
from kerascnn.record import deploy, files, layout, store, throughput

PACKAGE = Path(__file__).resolve().parents[1] / "kerascnn"


def _row(**values):
    row = dict.fromkeys(deploy.COLUMNS)
    row.update(model="lenet", key="k1", target="keras", status="ok", top1=0.8, batch=32)
    row.update(values)
    return row


# --------------------------------------------------------------------------- the atomic writer


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = files.write_json_atomic(tmp_path / "r.json", {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        files.write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_json_is_made_safe_nan_to_null_numpy_to_python(tmp_path):
    import numpy as np

    path = files.write_json_atomic(tmp_path / "x.json", {"v": float("nan"), "n": np.int64(3)})
    assert json.loads(path.read_text()) == {"v": None, "n": 3}
    assert files.read_json(tmp_path / "missing.json") is None
    (tmp_path / "junk.json").write_text("{not json")
    assert files.read_json(tmp_path / "junk.json") is None


def _calls(tree: ast.AST, attribute: str) -> int:
    return sum(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == attribute
        for n in ast.walk(tree)
    )


# A file written outside the atomic writer, and why it may be.
PLAIN_WRITES = {
    "kerascnn/bench/lock.py": "the lock is created exclusively (O_EXCL), not replaced",
    "kerascnn/models/weights.py": "a weight file unpacked into the Keras cache",
}


def test_every_file_is_written_by_the_one_atomic_writer():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel.startswith("kerascnn/record/files.py") or rel in PLAIN_WRITES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _calls(tree, "write_text") or _calls(tree, "write_bytes") or _calls(tree, "dump"):
            offenders.append(rel)
    assert not offenders
    assert all((PACKAGE.parent / p).is_file() for p in PLAIN_WRITES)


# --------------------------------------------------------------------------- the layout


# Another folder called "models", and which.
OTHER_MODELS_FOLDERS = {
    "kerascnn/catalog.py": "the package's own kerascnn/models/",
    "kerascnn/models/weights.py": "Keras' cache, ~/.keras/models",
}


def test_the_run_folder_layout_is_spelled_once():
    names = [f'"{layout.SUITE_JSON}"', f'"{layout.LOCK_NAME}"', '/ "results"', '/ "models"']
    names += ['/ "logs"', f'"{layout.DEPLOY_CSV}"']
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel.startswith("kerascnn/record/"):
            continue
        code = path.read_text(encoding="utf-8")
        found += [f"{rel}: {n}" for n in names if n in code]
    assert found == [f'{rel}: / "models"' for rel in OTHER_MODELS_FOLDERS]


def test_layout_paths(tmp_path):
    assert layout.result_path(tmp_path, "k") == tmp_path / "results" / "k.json"
    assert layout.model_path(tmp_path, "k") == tmp_path / "models" / "k.keras"
    assert layout.lock_path(tmp_path).name == "bench.lock"
    assert layout.latest_run_dir(tmp_path) is None
    for stamp in ("20260101T000000Z", "20260102T000000Z"):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / layout.SUITE_JSON).write_text("{}")
    assert layout.latest_run_dir(tmp_path).name == "20260102T000000Z"


def test_suite_json_keeps_every_session(tmp_path):
    store.write_suite(tmp_path, {"name": "a"}, command="kerascnn bench", resume=False)
    store.write_suite(tmp_path, {"name": "a"}, command="kerascnn bench --resume", resume=True)
    suite = store.read_suite(tmp_path)
    assert [s["resume"] for s in suite["sessions"]] == [False, True]
    assert suite["name"] == "a" and suite["schema"] == 1
    layout.suite_path(tmp_path).write_text(json.dumps({"schema": 99}))
    with pytest.raises(SchemaVersionError):
        store.read_suite(tmp_path)


# --------------------------------------------------------------------------- deploy records


def test_deploy_records_round_trip_and_unreadable_ones_are_named(tmp_path):
    folder = deploy.deploy_dir(tmp_path)
    deploy.write_row(folder, _row())
    deploy.write_row(folder, _row(target="litert", top1="high"))  # a number that is text
    deploy.write_environment(folder, {"device": "CPU: test"})
    (folder / "k2__onnx.json").write_text("{truncated")
    (folder / "k3__onnx.json").write_text(json.dumps({"model": "x", "target": "onnx"}))
    records = deploy.read_deploy(tmp_path)
    assert [r["target"] for r in records.rows] == ["keras"]
    assert records.environment == {"device": "CPU: test"}
    reasons = dict(records.unreadable)
    assert reasons["k1__litert.json"] == "not a number: top1"
    assert reasons["k2__onnx.json"].startswith("not JSON")
    assert reasons["k3__onnx.json"] == "no status, key"


def test_the_deploy_report_names_what_it_cannot_read(tmp_path):
    from kerascnn.report.deploy import load_deploy, write_deploy_report

    folder = deploy.deploy_dir(tmp_path)
    (folder).mkdir()
    (folder / "k__keras.json").write_text(json.dumps(_row(status="done")))
    with pytest.raises(ReportError, match=r"k__keras\.json \(status 'done'"):
        load_deploy(tmp_path)
    deploy.write_row(folder, _row(key="k0"))
    text = write_deploy_report(tmp_path, plots=False).read_text()
    assert "Records that cannot be read (not shown): k__keras.json (status 'done'" in text


# --------------------------------------------------------------------------- throughput records


def _sweep(tmp_path, **changes):
    doc = throughput.new_document(created="2026-12-07T00:00:00+00:00", config={}, environment={})
    doc["rows"].append({"model": "lenet", "mode": "infer", "batch_size": 8, "status": "ok"})
    doc.update(changes)
    files.write_json_atomic(tmp_path / layout.THROUGHPUT_JSON, doc)
    return doc


def test_a_throughput_record_round_trips(tmp_path):
    doc = _sweep(tmp_path)
    throughput.write_throughput(tmp_path, doc)
    assert throughput.read_throughput(tmp_path) == doc
    assert (tmp_path / "results.csv").read_text().splitlines()[0].startswith("model,mode,")


@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"kind": "other"}, ReportError, "not a 'kerascnn throughput' result"),
        ({"schema": 2}, SchemaVersionError, "schema"),
        ({"rows": [{"model": "lenet"}]}, ReportError, "point 0 has no mode, batch_size, status"),
        ({"rows": "x"}, ReportError, "'rows' is not a list"),
    ],
)
def test_an_unreadable_throughput_record_says_why(tmp_path, changes, error, match):
    _sweep(tmp_path, **changes)
    with pytest.raises(error, match=match):
        throughput.read_throughput(tmp_path)


def test_a_throughput_record_that_is_not_json(tmp_path):
    (tmp_path / "results.json").write_text("{")
    with pytest.raises(CorruptDataError, match="not valid JSON"):
        throughput.read_throughput(tmp_path)
    with pytest.raises(ReportError, match="does not exist"):
        throughput.read_throughput(tmp_path / "none")
