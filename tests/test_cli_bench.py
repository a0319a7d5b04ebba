"""`kerascnn bench` and `kerascnn report` through click's CliRunner, including the user errors."""

import gzip
import json
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from kerascnn.cli import main

TINY_SUITE = """
name = "cli-tiny"
models = ["lenet"]
epochs = 1
batch_size = 64
train_limit = 256
test_limit = 128
latency_seconds = 0.05
latency_batch = 16
warmup_epochs = 0.0
"""


def _invoke(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result


def _assert_friendly(result, *words):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    text = result.output.strip()
    assert text.startswith("Error: ") and "\n" not in text  # one paragraph
    for w in words:
        assert w in text, text


def test_bench_writes_results_and_report_then_report_rebuilds(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_SUITE)
    out = tmp_path / "run"
    result = _invoke(["bench", "--suite", str(suite), "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "[1/1] lenet on fashion_mnist_mini (seed 3)" in result.output
    (path,) = (out / "results").glob("*.json")
    data = json.loads(path.read_text())
    assert data["status"] == "ok" and data["seed"] == 3 and path.name.endswith("__s3.json")
    assert data["environment"]["command"].startswith("kerascnn")
    readme = (out / "README.md").read_text()
    assert "| lenet | 61,706 |" in readme and (out / "accuracy_vs_macs.png").is_file()
    (out / "README.md").unlink()
    again = _invoke(["report", str(out), "--compare", str(out)])
    assert again.exit_code == 0, again.output
    text = (out / "README.md").read_text()
    assert "| lenet | 61,706 |" in text and "+0.0000" in text  # compared with itself


def test_resume_flag_skips_finished(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_SUITE)
    out = tmp_path / "run"
    assert (
        _invoke(["bench", "--suite", str(suite), "--out", str(out), "--no-report"]).exit_code == 0
    )
    result = _invoke(["bench", "--suite", str(suite), "--out", str(out), "--resume"])
    assert result.exit_code == 0 and "already finished (ok), skipped" in result.output
    assert len(list((out / "results").glob("*.json"))) == 1


def test_unknown_model(tmp_path):
    _assert_friendly(
        _invoke(["bench", "--models", "nosuchnet", "--out", str(tmp_path / "x")]),
        "Unknown model 'nosuchnet'",
        "Received",
    )
    assert not (tmp_path / "x").exists()  # nothing trained, nothing written


def test_unknown_dataset(tmp_path):
    _assert_friendly(
        _invoke(
            ["bench", "--models", "lenet", "--dataset", "nosuchdata", "--out", str(tmp_path / "x")]
        ),
        "Unknown dataset 'nosuchdata'",
        "fashion_mnist",
    )


def test_missing_data_dir(tmp_path):
    _assert_friendly(
        _invoke(
            [
                "bench",
                "--models",
                "lenet",
                "--dataset",
                "fashion_mnist",
                "--data-dir",
                str(tmp_path / "nowhere"),
                "--out",
                str(tmp_path / "x"),
            ]
        ),
        "does not exist",
        "nowhere",
    )


def test_corrupt_idx_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()

    def idx(path, arr, magic):
        header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in arr.shape)
        path.write_bytes(gzip.compress(header + arr.tobytes()))

    imgs = np.zeros((20, 28, 28), np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 10
    idx(data / "train-images-idx3-ubyte.gz", imgs, 0x803)
    idx(data / "train-labels-idx1-ubyte.gz", labels, 0x801)
    idx(data / "t10k-labels-idx1-ubyte.gz", labels, 0x801)
    (data / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03garbage"))
    _assert_friendly(
        _invoke(
            [
                "bench",
                "--models",
                "lenet",
                "--dataset",
                "fashion_mnist",
                "--data-dir",
                str(data),
                "--out",
                str(tmp_path / "x"),
            ]
        ),
        "t10k-images-idx3-ubyte.gz",
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["--augment", "flip,rotate"], ["augment", "rotate"]),
        (["--budget", "5", "--steps", "3"], ["one of --epochs, --budget and --steps"]),
    ],
)
def test_bad_flags(tmp_path, args, words):
    _assert_friendly(
        _invoke(["bench", "--models", "lenet", "--out", str(tmp_path / "x"), *args]), *words
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["--optimizer", "rmsprop"], ["--optimizer", "'rmsprop' is not one of", "'sgd'"]),
        (["--epochs", "-2"], ["--epochs", "-2 is not in the range x>=1"]),
        (["--budget", "0"], ["--budget", "0.0 is not in the range x>0"]),
        (["--precision", "float8"], ["--precision", "'float8' is not one of"]),
    ],
)
def test_flag_values_of_the_wrong_kind_are_usage_errors(tmp_path, args, words):
    """Fixed choices and ranges are checked by click (exit code 2, the choices listed)."""
    result = _invoke(["bench", "--models", "lenet", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    for w in words:
        assert w in result.output, result.output
    assert not (tmp_path / "x").exists()


def test_bad_suite_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("models = [")
    _assert_friendly(_invoke(["bench", "--suite", str(bad)]), "not valid TOML")


def test_report_of_missing_folder(tmp_path):
    _assert_friendly(_invoke(["report", str(tmp_path / "none")]), "does not exist")


# --------------------------------------------------------------------------- options declared once


def test_each_bench_option_is_declared_once_and_sets_a_real_config_field():
    """BENCH_OPTIONS is the one declaration: click's options are made from it, in its order,
    each option string appears once, and every field it names is one BenchConfig takes."""
    from pathlib import Path

    from kerascnn.bench.config import BenchConfig
    from kerascnn.cli import bench

    table = bench.BENCH_OPTIONS
    assert [p.name for p in bench.bench_cmd.params] == [o.name for o in table]
    flags = [f for p in bench.bench_cmd.params for f in (*p.opts, *p.secondary_opts)]
    assert len(flags) == len(set(flags))
    fields = [o.field for o in table if o.field]
    assert len(fields) == len(set(fields)) and len(fields) == 33
    # "repeats" is from_dict's convenience key (seeds start..start+N-1), not a dataclass field
    assert set(fields) <= set(BenchConfig.field_names()) | {"repeats"}
    own = {o.name for o in table if not o.field}
    assert own == {"suite", "backend", "out", "resume", "retry_failed", "report"} | {
        "coordinator", "num_processes", "process_id", "cluster_timeout"
    }  # fmt: skip
    from kerascnn.cli import _options

    here = "".join(
        Path(bench.__file__).with_name(n).read_text() for n in ("bench.py", "_cluster.py")
    )
    shared = {o.decls for o in vars(_options).values() if isinstance(o, _options.Option)}
    for o in table:  # its first string is spelled once: here, or in _options.py when shared
        assert here.count(f'"{o.decls[0]}"') == (o.decls not in shared), o.decls
    assert {o.name for o in table if o.decls in shared} == {
        "models", "backend", "data_dir", "out", "batch_size", "optimizer", "precision", "jit",
        "train_limit", "test_limit", "image_size",
    }  # fmt: skip


def test_bench_flags_reach_the_config_they_name(monkeypatch, tmp_path):
    """Every flag lands in its BenchConfig field (run_suite is replaced: nothing trains)."""
    from types import SimpleNamespace

    import kerascnn.bench
    from kerascnn.bench.presets import main_job

    seen = {}

    def fake_run_suite(cfg, **kwargs):
        seen.update(cfg=cfg, **kwargs)
        return SimpleNamespace(
            cluster_failure=None, ok=["r"], failed=[], skipped=[], skipped_failed=[],
            run_dir=tmp_path, wall_seconds=0.0, exit_code=0, interrupted=False,
        )  # fmt: skip

    monkeypatch.setattr(kerascnn.bench, "run_suite", fake_run_suite)
    args = [
        "bench", "--models", "lenet,vgg", "--dataset", "fashion_mnist_mini", "--steps", "7",
        "--batch-size", "32", "--optimizer", "adam", "--lr", "0.01", "--no-jit",
        "--no-precise-bn", "--seed", "3", "--seed", "4", "--augment", "flip",
        "--image-size", "32", "--distribute", "--save-models", "--out", str(tmp_path / "o"),
        "--resume", "--no-report",
    ]  # fmt: skip
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    cfg = seen["cfg"]
    assert cfg.models == ["lenet", "vgg"] and cfg.datasets == ["fashion_mnist_mini"]
    assert (cfg.steps, cfg.budget, cfg.batch_size) == (7, None, 32)
    assert (cfg.optimizer, cfg.learning_rate, cfg.jit, cfg.precise_bn) == (
        "adam",
        0.01,
        False,
        False,
    )
    assert (cfg.seeds, cfg.augment, cfg.image_size) == ([3, 4], ["flip"], [32, 32])
    assert cfg.distribute is True and cfg.save_models is True
    assert seen["out"] == str(tmp_path / "o") and seen["resume"] and not seen["retry_failed"]
    assert seen["cluster"] is None and "Report:" not in result.output

    assert _invoke(["bench", "--repeats", "2", "--seed", "5", "--no-report"]).exit_code == 0
    assert seen["cfg"].seeds == [5, 6]
    assert (
        _invoke(["bench", "--no-report"]).exit_code == 0
    )  # no other flag given: the main job as it is
    assert seen["cfg"] == main_job({}) and seen["cfg"].seeds == [0]
