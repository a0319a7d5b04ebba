"""kerascnn.catalog: the rows behind `kerascnn models`, usable by a program.

The stored counts (kerascnn/models/param_counts.json) are held equal to real builds here at the
canonical input, and at 32x32x3/10 in tests/test_models.py (whose round-trip test builds every
model at that size anyway), so no second zoo build at 32 px is needed.
"""

import csv
import doctest
import io
import json
import math
from pathlib import Path

import keras
import pytest

import kerascnn.catalog
from kerascnn import create_model
from kerascnn.catalog import (
    PARAMS_LABELS,
    SMALL_INPUT,
    CatalogRow,
    catalog_markdown,
    catalog_table,
    match_models,
    model_catalog,
    stored_counts,
)
from kerascnn.errors import ArgumentError
from kerascnn.models import list_models, model_info


def _no_build(*args, **kwargs):
    raise AssertionError(f"built a model: {args} {kwargs}")


def test_rows_without_params_cover_the_registry_at_once():
    rows = model_catalog(params="none")
    assert [row.model for row in rows] == list_models()
    assert all(row.params_canonical is None and row.params_small is None for row in rows)
    assert model_catalog(params=False) == rows  # the old boolean still works
    vgg = next(row for row in rows if row.model == "vgg16")
    info = model_info("vgg16")
    assert (vgg.family, vgg.year, vgg.input_shape, vgg.num_classes) == (
        info.family,
        info.year,
        (224, 224, 3),
        1000,
    )
    table = catalog_markdown(rows)
    assert "| vgg16 " in table and "224x224x3/1000" in table and "params" not in table


@pytest.mark.parametrize("name", list_models())
def test_stored_canonical_count_equals_a_real_build(name):
    stored = stored_counts()[name]
    info = model_info(name)
    assert (tuple(stored["input_shape"]), stored["num_classes"]) == (
        info.input_shape,
        info.num_classes,
    ), f"{name}: regenerate kerascnn/models/param_counts.json with `python -m kerascnn.catalog`"
    counts = kerascnn.catalog.count_weights(name)
    assert (counts.total, counts.trainable) == (
        stored["params_canonical"],
        stored["trainable_canonical"],
    ), f"{name}: regenerate kerascnn/models/param_counts.json with `python -m kerascnn.catalog`"


def test_the_store_covers_the_registry_and_the_lazy_count_is_the_real_one():
    assert sorted(stored_counts()) == sorted(list_models())
    real = create_model("lenet").count_params()  # weights drawn, as a user builds it
    keras.backend.clear_session()
    assert real == kerascnn.catalog.count_params("lenet") == 61_706
    model = create_model("resnet18", input_shape=(32, 32, 3), num_classes=10)
    small, trainable = (
        model.count_params(),
        sum(math.prod(w.shape) for w in model.trainable_weights),
    )
    keras.backend.clear_session()  # BatchNorm's non-trainable statistics are counted alike
    stored = stored_counts()["resnet18"]
    assert (small, trainable) == (stored["params_small"], stored["trainable_small"])
    assert small - trainable == 9_600  # 2 x 4,800 BatchNorm channels: moving mean and variance


def test_stored_counts_are_read_without_building(monkeypatch):
    monkeypatch.setattr(kerascnn.catalog, "count_weights", _no_build)
    rows = model_catalog()
    assert [row.model for row in rows] == list_models()
    assert all(row.params_canonical and row.params_small for row in rows)
    (row,) = model_catalog("lenet")
    assert row == CatalogRow(
        model="lenet",
        family=row.family,
        year=row.year,
        paper=row.paper,
        input_shape=(28, 28, 1),
        num_classes=10,
        min_input_size=row.min_input_size,
        params_canonical=61_706,
        params_small=row.params_small,
        trainable_canonical=61_706,
        trainable_small=row.params_small,  # no BatchNorm: trainable = total
    )
    assert SMALL_INPUT == ((32, 32, 3), 10) and row.params_small > row.params_canonical


def test_count_mode_builds_with_progress():
    seen = []
    (row,) = model_catalog(
        "lenet", params="count", progress=lambda k, n, name: seen.append((k, n, name))
    )
    assert seen == [(1, 1, "lenet")]
    stored = stored_counts()["lenet"]
    assert (row.params_canonical, row.params_small) == (61_706, stored["params_small"])
    assert model_catalog("lenet", params=True) == [row]
    with pytest.raises(ArgumentError, match=r"Received: params='all'"):
        model_catalog(params="all")


def test_a_model_missing_from_the_store_is_counted(monkeypatch):
    monkeypatch.setattr(kerascnn.catalog, "stored_counts", lambda: {})
    monkeypatch.setattr(
        kerascnn.catalog,
        "count_weights",
        lambda spec, **kw: kerascnn.catalog.Counts(6, 7) if kw else kerascnn.catalog.Counts(4, 5),
    )
    seen = []
    rows = model_catalog("vgg1?", progress=lambda k, n, name: seen.append(name))
    assert [(r.params_canonical, r.params_small) for r in rows] == [(5, 7)] * 4
    assert [(r.trainable_canonical, r.trainable_small) for r in rows] == [(4, 6)] * 4
    assert seen == ["vgg11", "vgg13", "vgg16", "vgg19"]


def test_a_spec_with_keywords_is_counted():
    (row,) = model_catalog("lenet(num_classes=5)")
    assert row.model == "lenet(num_classes=5)" and row.num_classes == 5
    assert row.params_canonical == 61_706 - 5 * 85  # the 84 -> 10 classifier now 84 -> 5
    assert row.params_small == stored_counts()["lenet"]["params_small"]  # 32x32x3/10 again
    (row,) = model_catalog("lenet(num_classes=5)", params="none")
    assert row.params_canonical is None


def test_patterns_match_names_and_aliases():
    assert match_models("lenet") == ["lenet"]  # a plain word: names that start with it
    vgg = match_models("vgg")
    assert vgg[0] == "vgg11" and len(vgg) == 8 and all(n.startswith("vgg") for n in vgg)
    assert model_catalog("vgg", params="none")[0].aliases == ("vgg",)
    assert match_models("VGG1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]  # case-insensitive
    assert match_models("vgg*_bn") == ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]
    assert "seresnet18" not in match_models("resnet") and "resnet18" in match_models("resnet")
    assert match_models() == list_models() and match_models("nosuch*") == []


def test_the_cli_and_list_models_share_one_pattern_rule_and_the_natural_order():
    # kerascnn models PATTERN filters through list_models(PATTERN): the same names, plus the
    # models an alias matching PATTERN points to
    for pattern in ("vgg", "vgg*", "resnet", "res*", "VGG1?", "*_bn", "lenet", "nosuch"):
        assert match_models(pattern) == list_models(pattern), pattern
    assert match_models("resnet") == ["resnet18", "resnet34", "resnet50", "resnet101"]
    assert [r.model for r in model_catalog("resnet*", params="none")] == match_models("resnet")


README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_zoo_table() -> dict[str, dict[str, str]]:
    """The README's zoo table (the first table after '### The zoo'): name -> {label: cell}."""
    lines = README.read_text(encoding="utf-8").split("\n### The zoo\n", 1)[1].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| model |"))
    block = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        block.append([c.strip() for c in line.strip().strip("|").split("|")])
    header, rows = block[0], block[2:]
    return {row[0].strip("`"): dict(zip(header, row)) for row in rows}


def test_the_readme_zoo_table_says_what_the_catalog_says():
    table = _readme_zoo_table()
    assert sorted(table) == sorted(list_models()), "one README row per registered model"
    trainable, total = PARAMS_LABELS["trainable"], PARAMS_LABELS["total"]
    for row in model_catalog():
        cells = table[row.model]
        shape = "x".join(map(str, row.input_shape)) + f"/{row.num_classes}"
        assert cells["input"] == shape, row.model
        assert cells[trainable] == f"{row.trainable_canonical:,}", (row.model, trainable)
        assert cells[total] == f"{row.params_canonical:,}", (row.model, total)
    # the two numbers for one model, each under its label
    assert (table["resnet18"][trainable], table["resnet18"][total]) == ("11,689,512", "11,699,112")
    assert (table["simple_cnn"][trainable], table["simple_cnn"][total]) == ("373,130", "374,026")
    # `kerascnn models --format md` labels them alike
    md_header = catalog_table(model_catalog("lenet"), "md").splitlines()[0]
    assert f"| {trainable} | {total} |" in md_header


def test_formats(monkeypatch):
    monkeypatch.setattr(kerascnn.catalog, "count_weights", _no_build)
    rows = model_catalog()
    table = catalog_table(rows)
    assert max(map(len, table.splitlines())) <= 100  # a terminal, not a spreadsheet
    header = table.splitlines()[0].split()
    assert header[:5] == ["model", "aliases", "family", "year", "input"]
    assert "paper" not in header and " 2014 " in table and "138,357,544" in table
    first = table.splitlines()[0]
    assert "params (total)" in first and "total at 32x32x3/10" in first  # named counts
    assert "params (trainable)" not in first and "11,689,512" not in table
    md = catalog_table(rows, "md")
    assert "| vgg11 | vgg | vgg | 2014 | 224x224x3/1000 |" in md and "| paper |" in md
    assert "| params (trainable) | params (total) | trainable at 32x32x3/10 |" in md
    assert "| 11,689,512 | 11,699,112 |" in md  # resnet18: torchvision's count, then Keras'

    records = list(csv.DictReader(io.StringIO(catalog_table(rows, "csv"))))
    vgg16 = next(r for r in records if r["model"] == "vgg16")
    assert vgg16["params_canonical"] == "138357544" and vgg16["input_shape"] == "224x224x3"
    resnet18 = next(r for r in records if r["model"] == "resnet18")
    assert (resnet18["trainable_canonical"], resnet18["params_canonical"]) == (
        "11689512",
        "11699112",
    )
    data = json.loads(catalog_table(rows, "json"))
    assert data[[r["model"] for r in data].index("vgg11")]["aliases"] == ["vgg"]
    assert {r["model"]: r["params_small"] for r in data}["lenet"] == stored_counts()["lenet"][
        "params_small"
    ]
    bare = json.loads(catalog_table(model_catalog("lenet", params="none"), "json"))
    assert "params_canonical" not in bare[0] and "trainable_small" not in bare[0]


def test_no_match_is_an_empty_list_and_the_doctest_holds():
    assert model_catalog("nosuch*", params=False) == []
    result = doctest.testmod(kerascnn.catalog)
    assert result.attempted >= 3 and result.failed == 0


def test_the_fashion_cpu_count_is_simple_cnn_without_conv_bias_with_its_bn_statistics():
    # reports/fashion-cpu shows 373,578 for simple_cnn: params (total) of conv_bias=False at the
    # canonical 28x28x1/10 (the input size does not explain it: GAP head)
    counts = kerascnn.catalog.count_weights("simple_cnn(conv_bias=False)")
    assert (counts.trainable, counts.total) == (372_682, 373_578)
    assert counts.total - counts.trainable == 2 * (64 + 128 + 256)  # BN moving mean + variance
    results = Path(__file__).resolve().parents[1] / "reports" / "fashion-cpu" / "results"
    records = [json.loads(p.read_text()) for p in results.glob("*simple_cnn*.json")]
    assert (
        any(
            (r.get("trainable_params"), r.get("params")) == (counts.trainable, counts.total)
            for r in records
        )
        or not records
    )
