"""kerascnn.catalog: the rows behind `kerascnn models`, usable by a program."""

import doctest

import kerascnn.catalog
from kerascnn.catalog import SMALL_INPUT, CatalogRow, catalog_markdown, model_catalog
from kerascnn.registry import list_models, model_info


def test_rows_without_params_cover_the_registry_at_once():
    rows = model_catalog(params=False)
    assert [row.model for row in rows] == list_models()
    assert all(row.params_canonical is None and row.params_small is None for row in rows)
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


def test_params_counted_at_canonical_and_small_input_with_progress():
    seen = []
    (row,) = model_catalog("lenet", progress=lambda k, n, name: seen.append((k, n, name)))
    assert seen == [(1, 1, "lenet")]
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
    )
    assert SMALL_INPUT == ((32, 32, 3), 10) and row.params_small > row.params_canonical
    table = catalog_markdown([row])
    assert "params (32x32x3/10)" in table and "61,706" in table and f"{row.params_small:,}" in table


def test_no_match_is_an_empty_list_and_the_doctest_holds():
    assert model_catalog("nosuch*", params=False) == []
    result = doctest.testmod(kerascnn.catalog)
    assert result.attempted >= 2 and result.failed == 0
