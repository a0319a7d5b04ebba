import pytest

from kerascnn import create_model, list_models, model_info, parse_spec
from kerascnn.models import register_alias, register_model


def test_parse_plain_name():
    assert parse_spec("resnet18") == ("resnet18", {})
    assert parse_spec("  lenet ") == ("lenet", {})


def test_parse_literal_kwargs():
    name, kw = parse_spec(
        "vgg11(width=0.25, include_top=False, input_shape=(32, 32, 3), pooling='avg')"
    )
    assert name == "vgg11"
    assert kw == {"width": 0.25, "include_top": False, "input_shape": (32, 32, 3), "pooling": "avg"}
    assert parse_spec("x(a=-1, b=None, c=[1, 2])")[1] == {"a": -1, "b": None, "c": [1, 2]}


@pytest.mark.parametrize(
    "spec",
    [
        "vgg11(width=__import__('os').system('true'))",  # a call
        "vgg11(width=os.sep)",  # attribute access
        "vgg11(width=x)",  # a name
        "vgg11(width=1+2)",  # arithmetic
        "vgg11(0.25)",  # positional
        "vgg11(**{'width': 1})",  # unpacking
        "os.system('true')",  # not a plain name
        "vgg11(width=0.25",  # syntax
        "",
        "lambda: 1",
    ],
)
def test_parse_rejects_non_literals(spec):
    with pytest.raises(ValueError, match="Received"):
        parse_spec(spec)


def test_unknown_model_lists_close_matches():
    with pytest.raises(ValueError) as err:
        create_model("lenett")
    msg = str(err.value)
    assert "Unknown model 'lenett'" in msg and "lenet" in msg and "Received" in msg


def test_unknown_keyword_is_a_clear_error():
    with pytest.raises(ValueError, match="does not accept"):
        create_model("lenet(nosuchknob=3)")


def test_list_models_and_pattern():
    names = list_models()
    assert names == sorted(names) and "lenet" in names
    assert list_models("len*") == ["lenet"]
    assert list_models("nothing-matches-*") == []


def test_model_info_metadata():
    info = model_info("lenet")
    assert info.family == "lenet" and info.year == 1998
    assert info.input_shape == (28, 28, 1) and info.num_classes == 10
    assert info.as_dict()["reference"]


def test_spec_kwargs_and_explicit_kwargs_merge():
    m = create_model("lenet(num_classes=7)", input_shape=(32, 32, 3))
    assert m.output_shape == (None, 7) and m.input_shape == (None, 32, 32, 3)
    m = create_model("lenet(num_classes=7)", num_classes=5)  # explicit wins
    assert m.output_shape == (None, 5)


def test_duplicate_registration_rejected():
    with pytest.raises(ValueError, match="registered twice"):

        @register_model(family="x", paper="p", year=2000, reference="r")
        def lenet(**kw):  # noqa: F811
            return None

    with pytest.raises(ValueError, match="registered twice"):
        register_alias("lenet", "lenet")


@pytest.mark.parametrize("bad", [(4, 4, 1), (28, 28), (0, 28, 1), "28x28"])
def test_impossible_input_shape(bad):
    with pytest.raises(ValueError, match="Received: input_shape"):
        create_model("lenet", input_shape=bad)


def test_bad_common_keywords():
    with pytest.raises(ValueError, match="pooling"):
        create_model("lenet", include_top=False, pooling="median")
    with pytest.raises(ValueError, match="num_classes"):
        create_model("lenet", num_classes=0)
