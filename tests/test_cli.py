"""The small CLI commands (models, datasets, --help) and the CLI's error contract."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from kerascnn.cli import main
from kerascnn.cli._base import EXIT_BUG
from kerascnn.errors import ArgumentError, ConfigError, CorruptDataError

# `kerascnn models`: tests/test_cli_models.py


def test_datasets_and_help():
    res = CliRunner().invoke(main, ["datasets"])
    assert res.exit_code == 0 and "fashion_mnist_mini" in res.output and "npz:PATH" in res.output
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0
    for cmd in ("bench", "report", "summary", "models", "viz", "experiment", "datasets"):
        assert cmd in res.output
    res = CliRunner().invoke(main, ["bench", "--help"])
    assert res.exit_code == 0 and "--distribute" in res.output and "--backend" in res.output


# --------------------------------------------------------------------------- the error contract


def _one_paragraph_error(result, *words):
    assert result.exit_code == 1, result.output
    text = result.output.strip()
    assert text.startswith("Error: ") and "\n" not in text and "Traceback" not in text, text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize(
    "args, words",
    [
        (["viz", "kernels", "--models", "nosuchnet", "--epochs", "0"], ["nosuchnet", "Received"]),
        (["viz", "padding", "--dataset", "nosuchdata"], ["Unknown dataset 'nosuchdata'"]),
        (["viz", "padding", "--index", "5000"], ["--index must be in [0, 1000)", "index=5000"]),
        (["viz", "dilation", "--rates", "0"], ["--rates takes", "Received: --rates 0"]),
        (["viz", "dilation", "--rates", "1,x"], ["positive integers", "Received: --rates 1,x"]),
    ],
)
def test_user_errors_are_one_paragraph_exit_1(tmp_path, args, words):
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "x.png")])
    _one_paragraph_error(result, *words)
    assert "dilation_footprints" not in result.output  # the flag, not a function of ours
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "args, flag",
    [
        (["viz", "padding", "--pad", "-1"], "--pad"),
        (["viz", "dilation", "--kernel-size", "0"], "--kernel-size"),
        (["viz", "kernels", "--epochs", "-1"], "--epochs"),
        (["viz", "feature-maps", "--epochs", "0", "--max-channels", "0"], "--max-channels"),
        (["viz", "kernels", "--models", "lenet,vgg"], "--models"),
        (["experiment", "init", "--seed", "-3"], "--seed"),
        (["throughput", "--image-size", "0"], "--image-size"),
    ],
)
def test_numbers_out_of_range_are_usage_errors_naming_the_flag(tmp_path, args, flag):
    """Ranges are click's to check (exit code 2): the message names the option as typed."""
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{flag}'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()


def test_an_image_size_of_zero_says_what_to_type():
    result = CliRunner().invoke(main, ["bench", "--image-size", "0"])
    assert result.exit_code == 2 and "must be None" not in result.output
    assert "a positive size H or H,W" in result.output and "Received: '0'" in result.output


@pytest.mark.parametrize(
    "typed, meant", [("profile", "summary"), ("train", "bench"), ("Profile", "summary")]
)
def test_a_command_word_that_means_one_of_ours_names_it(typed, meant):
    result = CliRunner().invoke(main, [typed, "lenet"])
    assert result.exit_code == 2
    assert f"No such command {typed!r}. Did you mean {meant!r}?" in result.output
    other = CliRunner().invoke(main, ["summray"])  # click's own suggestion still comes
    assert other.exit_code == 2 and "Did you mean 'summary'?" in other.output
    assert "Did you mean" not in CliRunner().invoke(main, ["frobnicate"]).output


def test_report_of_a_file_says_to_pass_its_folder(tmp_path):
    (tmp_path / "results.csv").write_text("model\n")
    result = CliRunner().invoke(main, ["report", str(tmp_path / "results.csv")])
    _one_paragraph_error(result, "is a file", f"pass its folder, {tmp_path}")
    assert "does not exist" not in result.output


def test_a_flag_value_the_config_refuses_is_named_as_typed(tmp_path):
    """--lr sets learning_rate: the error says --lr, as the user typed it."""
    args = ["bench", "--models", "lenet", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, [*args, "--lr", "-0.1"])
    _one_paragraph_error(result, "Invalid --lr: a positive number", "Received: --lr -0.1")
    assert "learning_rate" not in result.output
    result = CliRunner().invoke(main, [*args, "--seed", "1", "--seed", "1"])
    _one_paragraph_error(result, "Invalid --seed: distinct seeds", "Received: --seed 1 --seed 1")
    suite = tmp_path / "s.toml"
    suite.write_text("models = ['lenet']\nlearning_rate = -1.0\n")
    result = CliRunner().invoke(main, ["bench", "--suite", str(suite), "--out", str(tmp_path)])
    _one_paragraph_error(result, "Invalid learning_rate", "learning_rate=-1.0")  # the file's key
    assert not (tmp_path / "o").exists()


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc

    return fail


def test_a_non_kerascnn_exception_is_reported_as_a_bug(monkeypatch, tmp_path):
    import kerascnn.data

    monkeypatch.setattr(kerascnn.data, "load_dataset", _raise(RuntimeError("boom\n  second line")))
    args = ["viz", "padding", "--out", str(tmp_path / "p.png")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_BUG == 3, result.output
    assert result.stderr.strip() == (
        "kerascnn: internal error (a bug in kerascnn, please report it): RuntimeError: boom "
        "second line; rerun with --debug for the traceback"
    )
    assert "Traceback" not in result.output and result.stdout == ""
    for debug in (
        CliRunner().invoke(main, ["--debug", *args]),
        CliRunner(env={"KERASCNN_DEBUG": "1"}).invoke(main, args),
    ):
        assert debug.exit_code == 3, debug.output
        err = debug.stderr
        assert err.startswith("Traceback (most recent call last):") and "raise exc" in err
        assert (
            err.strip().splitlines()[-1].endswith("RuntimeError: boom second line; traceback above")
        )


def test_only_the_kerascnn_family_counts_as_a_user_error(monkeypatch, tmp_path):
    """A bare ValueError is a bug (exit 3); any KerasCNNError subclass is a user error (exit 1)."""
    import kerascnn.data

    args = ["viz", "padding", "--out", str(tmp_path / "p.png")]
    monkeypatch.setattr(kerascnn.data, "load_dataset", _raise(ValueError("not ours")))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3 and "internal error" in result.stderr
    monkeypatch.setattr(kerascnn.data, "load_dataset", _raise(ConfigError("Bad.\nReceived: x")))
    _one_paragraph_error(CliRunner().invoke(main, args), "Error: Bad. Received: x")


def test_ctrl_c_keeps_clicks_abort(monkeypatch, tmp_path):
    import kerascnn.data

    monkeypatch.setattr(kerascnn.data, "load_dataset", _raise(KeyboardInterrupt()))
    result = CliRunner().invoke(main, ["viz", "padding", "--out", str(tmp_path / "p.png")])
    assert result.exit_code == 1 and "Aborted!" in result.output
    assert "internal error" not in result.output


def test_missing_weights_file_is_a_user_error(tmp_path):
    from kerascnn.viz import train_quick

    with pytest.raises(ArgumentError, match="does not exist"):
        train_quick(weights=str(tmp_path / "none.keras"))
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(CorruptDataError, match=r"bad.keras could not be loaded as a Keras model"):
        train_quick(weights=str(bad))
    result = CliRunner().invoke(
        main, ["viz", "kernels", "--weights", str(bad), "--out", str(tmp_path / "k.png")]
    )
    _one_paragraph_error(result, "could not be loaded", "Received: weights=")
    result = CliRunner().invoke(main, ["viz", "kernels", "--weights", str(tmp_path / "none.keras")])
    assert result.exit_code == 2 and "does not exist" in result.output  # click's own check


def test_help_imports_no_keras_and_module_entry_point_works():
    """`kerascnn --help` (and every command's) answers without importing Keras or TensorFlow."""
    code = (
        "import sys\n"
        "from kerascnn.cli import main\n"
        "for args in (['--help'], ['bench', '--help'], ['viz', '--help'], ['viz', 'kernels', "
        "'--help'], ['experiment', '--help'], ['models', '--help'], ['summary', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (args, e.code)\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    mod = subprocess.run(
        [sys.executable, "-m", "kerascnn.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert mod.returncode == 0 and "Exit codes:" in mod.stdout and "--debug" in mod.stdout


# --------------------------------------------------------------------------- options declared once


def test_options_several_commands_share_are_declared_once():
    """--out, --seed, --dataset, ... are spelled in kerascnn/cli/_options.py alone; a command
    words its own help or default with ``.but(...)``. Only bench's repeatable --seed (seeds) and
    its list --dataset/--datasets are other options, and declared in bench.py."""
    from pathlib import Path

    from kerascnn.cli import _options

    shared = [o for o in vars(_options).values() if isinstance(o, _options.Option)]
    assert {o.decls[0] for o in shared} == {
        "--models", "--dataset", "--data-dir", "--seed", "--out", "--backend", "--format",
        "--compare", "--image-size", "--batch-size", "--jit/--no-jit", "--precision",
        "--optimizer", "--train-limit", "--test-limit",
    }  # fmt: skip
    folder = Path(_options.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "_options.py":
            continue
        text = path.read_text()
        for o in shared:
            allowed = {("bench.py", "--dataset"), ("bench.py", "--seed")}
            expected = 1 if (path.name, o.decls[0]) in allowed else 0
            assert text.count(f'"{o.decls[0]}"') == expected, (path.name, o.decls[0])
    out = {}
    for name, cmd in [*main.commands.items(), *main.commands["viz"].commands.items()]:
        for param in cmd.params:
            if "--out" in param.opts:
                out[name] = param.name
    assert set(out.values()) == {"out"} and len(out) == 11


def test_an_option_table_makes_clicks_options_in_its_order():
    import click

    from kerascnn.cli._options import OUT, SEED, fields, option, options

    table = (option("--lr", "learning_rate", field="rate", type=float), SEED, OUT.but(help="H."))
    cmd = click.command("x")(options(*table)(lambda **kw: None))
    assert [p.name for p in cmd.params] == ["learning_rate", "seed", "out"]
    assert cmd.params[2].help == "H." and OUT.attrs == {"default": None}
    assert fields(table, {"learning_rate": 0.1, "seed": 1, "out": None}) == {"rate": 0.1}


# --------------------------------------------------------------------------- a full disk

_TWO_RUNS = """
models = ["lenet"]
seeds = [0, 1]
steps = 2
batch_size = 32
train_limit = 64
test_limit = 64
latency_seconds = 0.05
latency_batch = 8
eval_points = 1
precise_bn = false
"""


def _disk_full_at(monkeypatch, name_end: str):
    """os.replace (the last step of kerascnn's atomic writer) fails with ENOSPC for a file whose
    name ends with ``name_end``; every other file is written."""
    import errno
    import os

    real_replace = os.replace

    def full_disk(src, dst, *args, **kwargs):
        if str(dst).endswith(name_end):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_disk)
    return lambda: monkeypatch.setattr(os, "replace", real_replace)


def test_a_full_disk_is_a_user_error_that_keeps_the_finished_results(monkeypatch, tmp_path):
    """ENOSPC storing the second run, then writing the report: exit 1 (not a bug) each time,
    the file named, the finished runs intact, and --resume goes on once there is space."""
    import json

    suite, out = tmp_path / "two.toml", tmp_path / "run"
    suite.write_text(_TWO_RUNS)
    args = ["bench", "--suite", str(suite), "--out", str(out)]
    space_again = _disk_full_at(monkeypatch, "__s1.json")
    _one_paragraph_error_last(
        CliRunner().invoke(main, args), "__s1.json", "No space left on device", "--resume"
    )
    (first,) = (out / "results").glob("*.json")
    assert first.name.endswith("__s0.json") and json.loads(first.read_text())["status"] == "ok"
    assert not list((out / "results").glob(".*.tmp"))  # no half-written file left behind
    space_again()
    space_again = _disk_full_at(monkeypatch, "README.md")
    error = _one_paragraph_error_last(
        CliRunner().invoke(main, [*args, "--resume"]),
        f"kerascnn could not write {out / 'README.md'}: no space is left on the device",
        "The results finished before it are intact",
        "rerun the same command with --resume to go on",
        "Received: OSError: [Errno 28] No space left on device",
    )
    assert "internal error" not in error and len(list((out / "results").glob("*.json"))) == 2
    space_again()
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert "0 ok, 0 failed, 2 skipped" in again.output and (out / "README.md").is_file()


def _one_paragraph_error_last(result, *words):
    """The command's last line is a one-paragraph error with ``words`` (progress lines before)."""
    assert result.exit_code == 1, result.output
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: ") and "Traceback" not in result.output, result.output
    assert "internal error" not in result.output
    for word in words:
        assert word in error, error
    return error


def test_a_full_disk_mid_sweep_keeps_the_points_measured(monkeypatch, tmp_path):
    import json

    import kerascnn.record.throughput as record

    out = tmp_path / "sweep"
    real_write, writes = record.write_json_atomic, []

    def second_fails(path, doc):
        writes.append(len(doc["rows"]))
        if len(writes) == 2:
            import errno

            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, doc)

    monkeypatch.setattr(record, "write_json_atomic", second_fails)
    args = ["throughput", "--models", "lenet", "--image-size", "28", "--batch-sizes", "1,2"]
    args += ["--mode", "infer", "--steps", "1", "--windows", "1", "--warmup", "0"]
    _one_paragraph_error_last(
        CliRunner().invoke(main, [*args, "--out", str(out)]),
        "no space is left on the device",
        "run the command again",
    )
    assert len(json.loads((out / "results.json").read_text())["rows"]) == 1  # the first point


@pytest.mark.parametrize("code", ["EDQUOT", "EROFS"])
def test_a_quota_or_read_only_disk_is_a_user_error_too(monkeypatch, tmp_path, code):
    import errno

    import kerascnn.data

    monkeypatch.setattr(
        kerascnn.data, "load_dataset", _raise(OSError(getattr(errno, code), "refused", "f.png"))
    )
    result = CliRunner().invoke(main, ["viz", "padding", "--out", str(tmp_path / "p.png")])
    _one_paragraph_error(result, "could not write f.png", "run the command again")
    other = _raise(OSError(errno.EACCES, "Permission denied"))  # not the disk's: still a bug
    monkeypatch.setattr(kerascnn.data, "load_dataset", other)
    assert CliRunner().invoke(main, ["viz", "padding"]).exit_code == EXIT_BUG


# --------------------------------------------------------------------------- help


def _commands(group, path=("kerascnn",)):
    """(command path, command) of every command under ``group``, the group itself first."""
    import click

    yield " ".join(path), group
    for name, cmd in getattr(group, "commands", {}).items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))
        else:
            yield " ".join((*path, name)), cmd


def test_every_option_of_every_command_has_help_text():
    import click

    missing = [
        f"{where} {'/'.join(p.opts)}"
        for where, cmd in _commands(main)
        for p in cmd.params
        if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert missing == []


def test_defaults_are_shown_and_the_quick_start_saves_the_models_deploy_reads():
    text = CliRunner().invoke(main, ["bench", "--help"]).output
    for flag in ("--warmup-epochs", "--weight-decay", "--label-smoothing"):
        assert "[default: " in " ".join(text.split(flag, 1)[1].split("--", 1)[0].split()), flag
    quick = CliRunner().invoke(main, ["--help"]).output
    bench_line = next(line for line in quick.splitlines() if "kerascnn bench" in line)
    assert "--save-models" in bench_line and "kerascnn deploy" in quick
