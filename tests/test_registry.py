import pytest

from kerascnn import create_model, list_models, model_info, parse_spec
from kerascnn.models import register_alias, register_model
from kerascnn.models._registry import matches_pattern, natural_key


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
    assert "lenet" in names and len(names) == len(set(names))
    assert list_models("len*") == ["lenet"]
    assert list_models("nothing-matches-*") == []


def test_list_models_sorts_naturally():
    # timm's habit: the digits in a name compare as numbers (it was resnet101 before resnet18)
    assert list_models("resnet*") == ["resnet18", "resnet34", "resnet50", "resnet101"]
    assert list_models("vgg*")[:3] == ["vgg11", "vgg11_bn", "vgg13"]
    names = list_models()
    assert names.index("mobilenet") < names.index("mobilenetv2") < names.index("nin")
    assert names == sorted(names, key=natural_key)


def test_a_bare_word_is_a_prefix_a_wildcard_a_shell_pattern():
    # one rule for list_models and `kerascnn models PATTERN` (timm's fnmatch, plus word = word*)
    assert list_models("vgg") == list_models("vgg*") and len(list_models("vgg")) == 8
    assert list_models("resnet") == ["resnet18", "resnet34", "resnet50", "resnet101"]
    assert "seresnet18" in list_models("*resnet*") and "seresnet18" not in list_models("resnet")
    assert list_models("VGG1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]  # case-insensitive
    assert list_models("vgg1[36]") == ["vgg13", "vgg16"]
    assert list_models("lenet*") == list_models("lenet") == ["lenet"]
    assert list_models(["lenet", "vgg*_bn"]) == [
        "lenet",
        "vgg11_bn",
        "vgg13_bn",
        "vgg16_bn",
        "vgg19_bn",
    ]
    assert list_models("vgg1", aliases=True) == list_models("vgg1")  # the alias is "vgg"
    assert list_models("vgg", aliases=True)[0] == "vgg"
    assert matches_pattern("resnet18", None) and matches_pattern("resnet18", "")
    assert matches_pattern("resnet18", "resnet1") and not matches_pattern("seresnet18", "resnet")


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
    # num_classes=0 is accepted now (timm: no classifier; tests/test_models.py); below 0 is not
    with pytest.raises(ValueError, match="num_classes"):
        create_model("lenet", num_classes=-1)
    with pytest.raises(ValueError, match="num_classes"):
        create_model("lenet", num_classes=2.5)


def test_num_classes_0_is_the_top_without_a_classifier():
    from kerascnn.models.keywords import _as_built

    model = create_model("lenet", num_classes=0)  # LeNet's flatten-dense head goes too
    assert model.output_shape == (None, 16) and model.layers[-1].name == "lenet_avg_pool"
    assert create_model("lenet", num_classes=0, pooling="max").layers[-1].name == "lenet_max_pool"
    # weights="imagenet" picks keras.applications' notop file for it
    assert _as_built({"include_top": True, "num_classes": 0, "pooling": None}) == {
        "include_top": False,
        "num_classes": 0,
        "pooling": "avg",
    }
    assert _as_built({"include_top": True, "num_classes": 10})["include_top"] is True
    with pytest.raises(ValueError, match="num_classes=0 returns pooled features"):
        create_model("googlenet", num_classes=0, aux_logits=True)  # aux heads are classifiers
