"""VGG fidelity: canonical parameter counts, keras.applications weights, small inputs, learning."""

import keras
import numpy as np
import pytest
from _random_weights import randomize
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn import create_model, model_info
from kerascnn.models import vgg
from kerascnn.models.vgg import REFERENCE_PARAMS

# The classifier at 224x224x3/1000: flatten 7x7x512 -> 4096 -> 4096 -> 1000.
HEAD_224 = (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
SPEC_CHANNELS = {k: sum(n * f for n, f in spec) for k, spec in vgg.SPECS.items()}


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def _non_trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)


@pytest.mark.parametrize("name, app", [("vgg16", "VGG16"), ("vgg19", "VGG19")])
def test_canonical_count_equals_keras_applications(name, app):
    ours = create_model(name).count_params()
    keras.backend.clear_session()
    theirs = getattr(keras.applications, app)(weights=None).count_params()
    assert ours == theirs == REFERENCE_PARAMS[name]
    assert {"vgg16": 138_357_544, "vgg19": 143_667_240}[name] == ours
    assert f"{ours:,}" in model_info(name).reference and app in model_info(name).reference


def test_canonical_vgg16_bn_matches_torchvision_trainable_count():
    model = create_model("vgg16_bn")
    assert _trainable(model) == 138_365_992 == REFERENCE_PARAMS["vgg16_bn"]
    # BN moving mean + variance: 2 per conv channel, outside torchvision's parameters()
    assert _non_trainable(model) == 2 * SPEC_CHANNELS["vgg16"] == 8_448
    assert model.count_params() == 138_374_440


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_canonical_counts_all_variants(name):
    """Every variant at 224: the conv stack built for real, plus the 224 head (whose formula the
    full builds of vgg16/vgg19 above confirm); *_bn: torchvision's counts for trainable weights."""
    family = name.removesuffix("_bn")
    features = create_model(name, include_top=False)
    assert features.output_shape == (None, 7, 7, 512)
    trainable = _trainable(features) + HEAD_224
    assert trainable == REFERENCE_PARAMS[name]
    assert f"{REFERENCE_PARAMS[name]:,}" in model_info(name).reference
    if name.endswith("_bn"):
        assert _non_trainable(features) == 2 * SPEC_CHANNELS[family]
        assert REFERENCE_PARAMS[name] == REFERENCE_PARAMS[family] + 2 * SPEC_CHANNELS[family]
    else:
        assert _non_trainable(features) == 0


def test_head_formula_matches_a_full_build():
    model = create_model("vgg11")
    features = create_model("vgg11", include_top=False)
    assert model.count_params() - features.count_params() == HEAD_224


@pytest.mark.parametrize("include_top", [False, True])
def test_keras_applications_vgg16_weights_load_and_match(include_top):
    shape = (32, 32, 3)
    theirs = keras.applications.VGG16(
        weights=None,
        include_top=include_top,
        input_shape=shape,
        classes=10,
        classifier_activation="softmax",
    )
    ours = vgg.vgg16(input_shape=shape, num_classes=10, include_top=include_top, fc_units=4096)
    randomize(theirs)
    src = [layer for layer in theirs.layers if layer.weights]
    dst = [layer for layer in ours.layers if layer.weights]
    assert len(src) == len(dst) == (16 if include_top else 13)
    for a, b in zip(src, dst):
        assert b.name == f"vgg16_{a.name}"  # same keras.applications layer names, prefixed
        b.set_weights(a.get_weights())
    x = np.random.default_rng(1).uniform(0, 255, (2, *shape)).astype("float32")
    expected = np.asarray(theirs(x, training=False))
    got = np.asarray(ours(x, training=False))
    assert got.shape == expected.shape == ((2, 10) if include_top else (2, 1, 1, 512))
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_alias_and_spec_string_width():
    assert model_info("vgg").name == "vgg11"
    model = create_model("vgg(width=0.25)", input_shape=(32, 32, 3), num_classes=10)
    assert model.name == "vgg11"
    convs = [lay for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [16, 32, 64, 64, 128, 128, 128, 128]
    assert model.get_layer("vgg11_fc1").units == 128  # min(4096 * 0.25, 1x1x128 features)


def test_small_input_adaptation_28x28():
    model = create_model("vgg16", input_shape=(28, 28, 1), num_classes=10)
    pools = [lay for lay in model.layers if isinstance(lay, keras.layers.MaxPooling2D)]
    assert [p.output.shape[1] for p in pools] == [14, 7, 3, 1]  # the fifth pool is skipped
    assert model.get_layer("vgg16_flatten").output.shape[-1] == 512
    assert model.get_layer("vgg16_fc1").units == 512  # classifier sized for the 1x1x512 map
    full = create_model("vgg16", input_shape=(32, 32, 3), num_classes=10)
    assert len([lay for lay in full.layers if isinstance(lay, keras.layers.MaxPooling2D)]) == 5
    assert create_model("vgg16", input_shape=(64, 64, 3)).get_layer("vgg16_fc1").units == 2048


@settings(max_examples=6, deadline=None)
@given(
    h=st.integers(vgg.MIN_INPUT_SIZE, 80),
    w=st.integers(vgg.MIN_INPUT_SIZE, 80),
    bn=st.booleans(),
)
def test_any_size_from_minimum_builds_and_runs(h, w, bn):
    model = vgg.vgg11(input_shape=(h, w, 3), num_classes=7, width=0.125, batch_norm=bn)
    y = np.asarray(model(np.zeros((1, h, w, 3), "float32"), training=False))
    assert y.shape == (1, 7) and np.isfinite(y).all()
    keras.backend.clear_session()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"width": 0}, "width"),
        ({"width": "wide"}, "width"),
        ({"dropout": 1.0}, "dropout"),
        ({"fc_units": 0}, "fc_units"),
        ({"batch_norm": "yes"}, "batch_norm"),
        ({"input_shape": (15, 15, 3)}, "at least 16x16"),
        ({"pooling": "sum", "include_top": False}, "pooling"),
    ],
)
def test_bad_arguments_raise(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        create_model("vgg11_bn", **kwargs)
    assert "Received: " in str(info.value)


def test_unknown_keyword_is_a_value_error():
    with pytest.raises(ValueError, match="Received"):
        create_model("vgg11", depth=3)
