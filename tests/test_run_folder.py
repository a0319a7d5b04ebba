"""The run folder's reliability: unreadable results named, one suite per folder (the lock), an
unwritable --out or a full disk said clearly, no partial log or temp file after an interrupt.

Training is replaced by a stand-in measurement (``execute_run`` monkeypatched) wherever the
runner's control flow is under test, so these tests never train.
"""

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report import _result, _write_run

from kerascnn.bench import BenchConfig, run_suite
from kerascnn.bench.lock import RunLock
from kerascnn.cli import main
from kerascnn.errors import ConfigError, ReportError
from kerascnn.record import layout, store
from kerascnn.record.layout import LOCK_NAME
from kerascnn.record.run import EvalMetrics, Measurements, read_record, read_record_reason
from kerascnn.report import build_report, load_run

TINY = dict(
    datasets=["fashion_mnist_mini"],
    epochs=1,
    batch_size=64,
    train_limit=200,
    test_limit=64,
    latency_seconds=0.05,
    latency_batch=16,
    warmup_epochs=0.0,
)
THREE = ["lenet", "lenet(activation='tanh')", "lenet(activation='sigmoid')"]


def _quiet(_msg):
    pass


def _stand_in(calls, *, interrupt_at=None, write_log=False):
    """An execute_run that measures nothing (optionally writes a log, or raises Ctrl-C)."""

    def execute_run(run, *args, log_path=None, **kwargs):
        calls.append(run.model)
        if write_log and log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text("epoch,loss\n0,2.3\n")
        if interrupt_at is not None and len(calls) == interrupt_at:
            raise KeyboardInterrupt
        return Measurements(
            params=1, test=EvalMetrics(top1=0.5, top5=0.9, loss=1.0, confusion=[[1]], n=1)
        )

    return execute_run


@pytest.fixture
def stand_in(monkeypatch):
    import kerascnn.bench.training as training

    def install(**kwargs):
        calls: list[str] = []
        monkeypatch.setattr(training, "execute_run", _stand_in(calls, **kwargs))
        return calls

    return install


def _no_data_load(monkeypatch):
    import kerascnn.bench.runner as runner

    def fail(cfg):
        raise AssertionError("datasets were loaded before the run folder was checked")

    monkeypatch.setattr(runner, "load_datasets", fail)


# --------------------------------------------------------------------------- unreadable results

JUNK = {
    "truncated.json": ('{"schema": 1, "model": "x", "dat', "truncated: the JSON ends early"),
    "garbage.json": ("\x00\x01garbage", "not valid JSON"),
    "empty.json": ("", "empty (0 bytes)"),
    "list.json": ("[1, 2]", "a JSON list, not a result object"),
    "no_schema.json": ('{"model": "x"}', "no 'schema' key"),
    "fields.json": ('{"schema": 1, "model": "x"}', "the record must be an object with the field"),
    "newer.json": ('{"schema": 2, "model": "x"}', "schema 2, this kerascnn reads schema 1"),
}


@pytest.mark.parametrize("name", sorted(JUNK))
def test_each_unreadable_file_has_a_reason(tmp_path, name):
    text, reason = JUNK[name]
    path = tmp_path / name
    path.write_text(text)
    record, why = read_record_reason(path)
    assert record is None and reason in why and str(path) not in why
    if name != "newer.json":
        assert read_record(path) is None  # the same reading path: junk is None


def test_readme_names_each_unreadable_file_and_why(tmp_path):
    folder = _write_run(tmp_path / "r", [_result("good", 0.8)])
    for name in ("truncated.json", "newer.json"):
        (folder / "results" / name).write_text(JUNK[name][0])
    data = load_run(folder)
    assert [n for n, _ in data.unreadable] == ["newer.json", "truncated.json"]
    text = build_report(folder, plots=False).read_text()
    section = text.split("## Unreadable result files")[1]
    assert "- `truncated.json`: truncated: the JSON ends early" in section
    assert "- `newer.json`: schema 2, this kerascnn reads schema 1 (written by a newer" in section
    assert "| good |" in text  # the readable result is reported as usual


def test_report_cli_on_only_unreadable_results_names_each_file(tmp_path):
    folder = tmp_path / "r"
    (folder / "results").mkdir(parents=True)
    for name in ("truncated.json", "newer.json"):
        (folder / "results" / name).write_text(JUNK[name][0])
    with pytest.raises(ReportError, match="holds no readable result"):
        load_run(folder)
    res = CliRunner().invoke(main, ["report", str(folder), "--no-plots"])
    assert res.exit_code == 1, res.output
    message = " ".join(res.output.split())
    assert "holds no readable result" in message and "holds no results" not in message
    assert "truncated.json (truncated: the JSON ends early" in message
    assert "newer.json (schema 2, this kerascnn reads schema 1" in message
    assert "Received: " in message and not (folder / "README.md").exists()


def test_report_cli_with_good_and_bad_results_warns_on_stderr(tmp_path):
    folder = _write_run(tmp_path / "r", [_result("good", 0.8)])
    (folder / "results" / "broken.json").write_text("{not json")
    res = CliRunner().invoke(main, ["report", str(folder), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert "Report: " in res.stdout and "Warning" not in res.stdout
    assert "Warning: 1 result file(s)" in res.stderr and "broken.json (not valid JSON" in res.stderr
    assert "`broken.json`: not valid JSON" in (folder / "README.md").read_text()


def test_resume_reruns_a_corrupt_result_and_says_so(tmp_path, stand_in):
    calls = stand_in()
    cfg = BenchConfig(models=THREE[:2], **TINY)
    assert run_suite(cfg, out=tmp_path / "run", echo=_quiet).exit_code == 0
    first, second = sorted((tmp_path / "run" / "results").glob("*.json"))
    second.write_text(second.read_text()[:50])  # truncated
    lines: list[str] = []
    calls.clear()
    outcome = run_suite(cfg, out=tmp_path / "run", resume=True, echo=lines.append)
    assert outcome.exit_code == 0 and len(outcome.ok) == 1 and len(outcome.skipped) == 1
    said = [line for line in lines if second.name in line]
    assert said == [
        f"results/{second.name} cannot be read: truncated: the JSON ends early "
        f"{said[0].split('early ')[1].split('. Not')[0]}. Not a finished run; it runs again."
    ]
    assert len(calls) == 1 and read_record(second) is not None  # run again, file replaced


def test_resume_refuses_to_overwrite_a_result_of_another_schema(tmp_path, stand_in):
    from kerascnn.errors import SchemaVersionError

    stand_in()
    cfg = BenchConfig(models=["lenet"], **TINY)
    run_suite(cfg, out=tmp_path / "run", echo=_quiet)
    (path,) = (tmp_path / "run" / "results").glob("*.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema": 2}))
    with pytest.raises(SchemaVersionError, match="newer kerascnn: upgrade"):
        run_suite(cfg, out=tmp_path / "run", resume=True, echo=_quiet)
    assert json.loads(path.read_text())["schema"] == 2
    assert not (tmp_path / "run" / LOCK_NAME).exists()


# --------------------------------------------------------------------------- the lock


def test_second_suite_on_a_locked_folder_is_refused_before_loading_data(tmp_path, monkeypatch):
    _no_data_load(monkeypatch)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with RunLock(run_dir, command="kerascnn bench --out run", echo=_quiet) as held:
        with pytest.raises(ConfigError) as info:
            run_suite(BenchConfig(models=["lenet"], **TINY), out=run_dir, echo=_quiet)
        message = str(info.value)
        assert f"process {os.getpid()} on host {socket.gethostname()!r}" in message
        assert (
            f"started {held.info['started']}" in message and "kerascnn bench --out run" in message
        )
        assert str(run_dir / LOCK_NAME) in message and "Received: --out" in message
        assert (run_dir / LOCK_NAME).exists()  # the refused suite leaves the holder's lock alone
    assert not (run_dir / LOCK_NAME).exists()


def test_lock_file_holds_pid_host_start_and_command(tmp_path):
    with RunLock(tmp_path, command="kerascnn bench"):
        info = json.loads((tmp_path / LOCK_NAME).read_text())
        assert set(info) == {"pid", "host", "started", "command"}
        assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
        with pytest.raises(ConfigError, match="Another suite is running"):
            RunLock(tmp_path).acquire()


def test_a_lock_held_by_another_process_is_refused(tmp_path, monkeypatch):
    _no_data_load(monkeypatch)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from kerascnn.bench.lock import RunLock\n"
            "with RunLock(sys.argv[1], command='holder'):\n"
            "    print('locked', flush=True); sys.stdin.read()",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=f"process {holder.pid} on host .*'holder'"):
            run_suite(BenchConfig(models=["lenet"], **TINY), out=tmp_path, echo=_quiet)
    finally:
        holder.communicate("", timeout=30)  # end of stdin: the holder releases and exits
    assert holder.returncode == 0 and not (tmp_path / LOCK_NAME).exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, stand_in):
    stand_in()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pid = _dead_pid()
    stale = {"pid": pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00Z"}
    (run_dir / LOCK_NAME).write_text(json.dumps({**stale, "command": "kerascnn bench"}))
    lines: list[str] = []
    outcome = run_suite(BenchConfig(models=["lenet"], **TINY), out=run_dir, echo=lines.append)
    assert outcome.exit_code == 0
    taken = [line for line in lines if "stale lock" in line]
    assert len(taken) == 1 and f"process {pid} is no longer running" in taken[0]
    assert not (run_dir / LOCK_NAME).exists()  # released at the end


def test_a_lock_of_another_host_is_not_taken_over(tmp_path, monkeypatch):
    _no_data_load(monkeypatch)
    other = {"pid": 1, "host": "elsewhere.example", "started": "2026-01-01T00:00:00Z"}
    (tmp_path / LOCK_NAME).write_text(json.dumps({**other, "command": None}))
    with pytest.raises(ConfigError, match="another host") as info:
        run_suite(BenchConfig(models=["lenet"], **TINY), out=tmp_path, echo=_quiet)
    assert "'elsewhere.example'" in str(info.value) and f"delete {tmp_path / LOCK_NAME}" in str(
        info.value
    )
    assert json.loads((tmp_path / LOCK_NAME).read_text())["host"] == "elsewhere.example"


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_the_lock_is_released_after_an_exception_or_ctrl_c(tmp_path, monkeypatch, error):
    import kerascnn.bench.runner as runner

    def boom(cfg):
        assert (tmp_path / "run" / LOCK_NAME).exists()  # held while the suite works
        raise error("while loading")

    monkeypatch.setattr(runner, "load_datasets", boom)
    with pytest.raises(error):
        run_suite(BenchConfig(models=["lenet"], **TINY), out=tmp_path / "run", echo=_quiet)
    assert not (tmp_path / "run").exists()  # released, and the empty folder it made removed


# --------------------------------------------------------------------------- unwritable --out


def test_out_below_a_file_is_refused_before_loading_data(tmp_path, monkeypatch):
    _no_data_load(monkeypatch)
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "run"
    with pytest.raises(ConfigError) as info:
        run_suite(BenchConfig(models=["lenet"], **TINY), out=out, echo=_quiet)
    assert str(info.value) == (
        f"Cannot write the run folder {out}: {tmp_path / 'afile'} is a file. Choose another "
        f"--out. Received: --out {str(out)!r}"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_parent_is_refused(tmp_path, monkeypatch):
    _no_data_load(monkeypatch)
    parent = tmp_path / "ro"
    parent.mkdir(mode=0o500)
    try:
        with pytest.raises(ConfigError, match=r"parent .*ro is not writable \(Permission denied\)"):
            run_suite(BenchConfig(models=["lenet"], **TINY), out=parent / "run", echo=_quiet)
    finally:
        parent.chmod(0o700)


def test_permission_denied_names_the_folder(tmp_path, monkeypatch):
    """The read-only case as root sees it too: the probe write is refused (simulated)."""
    _no_data_load(monkeypatch)

    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(Path(dir) / ".probe"))

    monkeypatch.setattr(store.tempfile, "mkstemp", refuse)
    out = tmp_path / "run"
    with pytest.raises(ConfigError) as info:
        run_suite(BenchConfig(models=["lenet"], **TINY), out=out, echo=_quiet)
    assert str(info.value) == (
        f"Cannot write the run folder {out}: {out / 'results'} is not writable (Permission "
        f"denied). Choose another --out. Received: --out {str(out)!r}"
    )


def test_a_full_disk_names_the_file_and_leaves_no_partial_file(tmp_path, monkeypatch, stand_in):
    stand_in()
    real_replace = os.replace
    writes: list[str] = []

    def replace(src, dst):
        if Path(dst).parent.name == "results":
            writes.append(str(dst))
            if len(writes) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError) as info:
        run_suite(BenchConfig(models=THREE, **TINY), out=run_dir, echo=_quiet)
    message = str(info.value)
    assert f"writing {writes[1]} failed: No space left on device" in message
    assert "Nothing partial was left" in message and "--resume" in message
    assert [p.name for p in (run_dir / "results").iterdir()] == [Path(writes[0]).name]
    assert not list(run_dir.rglob("*.tmp")) and not (run_dir / LOCK_NAME).exists()


# --------------------------------------------------------------------------- logs of unfinished runs


def test_an_interrupted_run_leaves_no_log_and_resume_starts_clean(tmp_path, monkeypatch, stand_in):
    calls = stand_in(interrupt_at=2, write_log=True)
    run_dir = tmp_path / "run"
    cfg = BenchConfig(models=THREE, **TINY)
    outcome = run_suite(cfg, out=run_dir, echo=_quiet)
    assert outcome.interrupted and calls == THREE[:2]
    (done,) = store.load_results(run_dir)
    assert [p.stem for p in (run_dir / "logs").iterdir()] == [done.key]  # the partial one is gone
    assert not (run_dir / LOCK_NAME).exists()

    stray = layout.log_path(run_dir, cfg.runs()[2].key)  # as a kill -9 would leave it
    stray.write_text("epoch,loss\n0,9.9\n")
    seen: list[bool] = []
    import kerascnn.bench.training as training

    def execute_run(run, *args, log_path=None, **kwargs):
        seen.append(log_path.exists())
        return Measurements(
            params=1, test=EvalMetrics(top1=0.5, top5=0.9, loss=1.0, confusion=[[1]], n=1)
        )

    monkeypatch.setattr(training, "execute_run", execute_run)
    outcome = run_suite(cfg, out=run_dir, resume=True, echo=_quiet)
    assert outcome.exit_code == 0 and len(outcome.ok) == 2 and seen == [False, False]
