"""`kerascnn models`: stored counts at once, --params to count for real, aliases, --format."""

import csv
import io
import json

from click.testing import CliRunner

import kerascnn.catalog
from kerascnn.catalog import stored_counts
from kerascnn.cli import main


def _no_build(*args, **kwargs):
    raise AssertionError("the default listing must not build models")


def test_default_lists_stored_counts_without_building(monkeypatch):
    monkeypatch.setattr(kerascnn.catalog, "count_params", _no_build)
    res = CliRunner().invoke(main, ["models"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["model", "aliases", "family", "year", "input"] + [
        "params", "(total)", "total", "at", "32x32x3/10",
    ]  # fmt: skip
    assert max(map(len, lines)) <= 100
    for name in ("lenet", "vgg16", "resnet50", "mobilenetv2", "densenet121", "simple_cnn"):
        assert any(line.startswith(f"{name} ") for line in lines), name
    assert any(line.split()[:3] == ["vgg11", "vgg", "vgg"] for line in lines)  # the alias
    assert "61,706" in res.stdout and "138,357,544" in res.stdout


def test_alias_is_found_and_no_params_drops_the_columns(monkeypatch):
    monkeypatch.setattr(kerascnn.catalog, "count_params", _no_build)
    res = CliRunner().invoke(main, ["models", "vgg", "--no-params"])
    assert res.exit_code == 0, res.output
    rows = res.stdout.splitlines()[2:]
    assert rows[0].split()[:2] == ["vgg11", "vgg"] and len(rows) == 8
    assert "params" not in res.stdout


def test_params_counts_for_real():
    res = CliRunner().invoke(main, ["models", "lenet", "--params", "--format", "csv"])
    assert res.exit_code == 0, res.output
    (row,) = csv.DictReader(io.StringIO(res.stdout))
    assert row["model"] == "lenet" and row["params_canonical"] == "61706"
    assert row["params_small"] == str(stored_counts()["lenet"]["params_small"])
    assert "building lenet" in res.stderr  # progress goes to stderr, the table to stdout


def test_formats_md_and_json(monkeypatch):
    monkeypatch.setattr(kerascnn.catalog, "count_params", _no_build)
    md = CliRunner().invoke(main, ["models", "lenet", "--format", "md"])
    assert md.exit_code == 0, md.output
    assert (
        md.stdout.startswith("| model | aliases |") and "| lenet |  | lenet | 1998 |" in md.stdout
    )
    js = CliRunner().invoke(main, ["models", "resnet*", "--format", "json"])
    data = json.loads(js.stdout)
    assert [r["model"] for r in data] == ["resnet18", "resnet34", "resnet50", "resnet101"]
    assert data[2]["params_canonical"] == 25_610_152 and data[2]["input_shape"] == [224, 224, 3]


def test_a_spec_is_counted():
    res = CliRunner().invoke(main, ["models", "lenet(num_classes=5)", "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["model"] == "lenet(num_classes=5)" and row["params_canonical"] == 61_706 - 5 * 85


def test_unknown_pattern_is_a_clear_error():
    res = CliRunner().invoke(main, ["models", "nosuch*", "--no-params"])
    assert res.exit_code == 1
    assert (
        "No model or alias matches 'nosuch*'" in res.output and "Received: 'nosuch*'" in res.output
    )
    res = CliRunner().invoke(main, ["models", "--format", "xml"])
    assert res.exit_code == 2 and "table" in res.output
