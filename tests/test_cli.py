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
        (["viz", "kernels", "--model", "nosuchnet", "--epochs", "0"], ["nosuchnet", "Received"]),
        (["viz", "padding", "--dataset", "nosuchdata"], ["Unknown dataset 'nosuchdata'"]),
        (["viz", "padding", "--index", "5000"], ["--index must be in [0, 1000)", "index=5000"]),
        (["viz", "padding", "--pad", "-1"], ["pad_image", "Received: pad=-1"]),
        (["viz", "dilation", "--kernel-size", "0"], ["kernel_size", "Received: kernel_size=0"]),
        (["viz", "kernels", "--epochs", "-1"], ["epochs", "Received: epochs=-1"]),
        (["viz", "feature-maps", "--epochs", "0", "--max-channels", "0"], ["max_channels=0"]),
        (["experiment", "init", "--seed", "-3"], ["seed", "Received: seed=-3"]),
    ],
)
def test_user_errors_are_one_paragraph_exit_1(tmp_path, args, words):
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "x.png")])
    _one_paragraph_error(result, *words)
    assert not (tmp_path / "x.png").exists()


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
        "--compare",
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
