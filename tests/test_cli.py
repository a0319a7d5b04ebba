"""The small CLI commands: models, datasets, --help."""

from click.testing import CliRunner

from kerascnn.cli import main


def test_models_lists_params_at_canonical_and_32px():
    res = CliRunner().invoke(main, ["models", "lenet"])
    assert res.exit_code == 0, res.output
    assert "| lenet " in res.output and "61,706" in res.output  # 28x28x1/10 canonical
    assert "params (32x32x3/10)" in res.output


def test_models_without_params_lists_every_family():
    res = CliRunner().invoke(main, ["models", "--no-params"])
    assert res.exit_code == 0
    for name in ("lenet", "vgg16", "resnet50", "mobilenetv2", "densenet121", "googlenet", "simple_cnn"):
        assert f"| {name} " in res.output
    assert "params (canonical)" not in res.output


def test_models_unknown_pattern_is_a_clear_error():
    res = CliRunner().invoke(main, ["models", "nosuch*", "--no-params"])
    assert res.exit_code != 0 and "No model matches 'nosuch*'" in res.output


def test_datasets_and_help():
    res = CliRunner().invoke(main, ["datasets"])
    assert res.exit_code == 0 and "fashion_mnist_mini" in res.output and "npz:PATH" in res.output
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0
    for cmd in ("bench", "report", "summary", "models", "viz", "experiment", "datasets"):
        assert cmd in res.output
    res = CliRunner().invoke(main, ["bench", "--help"])
    assert res.exit_code == 0 and "--distribute" in res.output and "--backend" in res.output
