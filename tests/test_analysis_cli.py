"""`kerascnn summary`: the per-layer table and totals from the command line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kerascnn.analysis.summary import build, parse_input_shape, summarize
from kerascnn.cli import main
from kerascnn.errors import ArgumentError


def test_summary_lenet_table():
    result = CliRunner().invoke(main, ["summary", "lenet"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "lenet_conv2" in out and "Params: 61,706" in out
    assert "MACs: 416,520 (416.52K)" in out and "Receptive field" in out
    assert max(len(line) for line in out.splitlines()) < 140  # fits a wide terminal


def test_summary_formats_and_options():
    runner = CliRunner()
    md = runner.invoke(
        main, ["summary", "lenet", "--input-shape", "32,32,3", "--classes", "5", "--format", "md"]
    )
    assert md.exit_code == 0, md.output
    assert md.output.startswith("| name") and "32x32x3" in md.output
    assert "| lenet_predictions | Dense" in md.output and " 5 " in md.output
    csv = runner.invoke(main, ["summary", "lenet", "--input-shape", "28x28x1", "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    header = csv.output.splitlines()[0]
    assert header.startswith("name,type,output_shape,params") and "macs" in header


def test_summary_json_has_layer_rows_and_totals():
    import json

    res = CliRunner().invoke(main, ["summary", "lenet", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    totals, layers = data["totals"], data["layers"]
    assert totals["model"] == "lenet" and totals["input_shape"] == [28, 28, 1]
    assert totals["total_params"] == 61_706 and totals["total_macs"] == 416_520
    assert totals["total_flops"] == 2 * totals["total_macs"] and totals["layers"] == len(layers)
    assert totals["receptive_field"] and all(isinstance(v, int) for v in totals["receptive_field"])
    assert sum(r["params"] for r in layers) == 61_706
    assert sum(r["macs"] for r in layers) == totals["total_macs"]
    conv = next(r for r in layers if r["name"] == "lenet_conv1")
    assert conv["type"] == "Conv2D" and isinstance(conv["output_shape"], list)
    assert conv["flops"] == 2 * conv["macs"] and conv["params"] == conv["trainable_params"]
    assert summarize("lenet", fmt="json") == res.stdout


def test_summary_keras_applications():
    result = CliRunner().invoke(
        main, ["summary", "keras:MobileNetV2", "--input-shape", "96,96,3", "--classes", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "Params: 2,270,794" in result.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["summary", "lenet", "--input-shape", "32,abc,3"], "Received: '32,abc,3'"),
        (["summary", "lenet", "--input-shape", "0,32,3"], "Received: '0,32,3'"),
        (["summary", "lenet", "--classes", "0"], "Received: 0"),
        (["summary", "no_such_model"], "Unknown model"),
        (["summary", "keras:NoSuchNet"], "Received: 'keras:NoSuchNet'"),
    ],
)
def test_summary_errors_are_friendly(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_parse_input_shape():
    assert parse_input_shape("224,224,3") == (224, 224, 3)
    assert parse_input_shape(" (32x32x1) ") == (32, 32, 1)
    assert parse_input_shape(None) is None
    with pytest.raises(ArgumentError, match=r"Received: '3'"):
        parse_input_shape("3")
    with pytest.raises(ArgumentError, match=r"Received: '5'"):
        build("lenet", classes="5")
    with pytest.raises(ArgumentError, match=r"Received: 'tsv'"):
        summarize("lenet", fmt="tsv")
