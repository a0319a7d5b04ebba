"""Tests parametrized over every registered model: a new model is covered without new code.

At 32x32x3 and 28x28x1 (small inputs, so the suite stays fast): builds, forward pass has the
right shape and finite values, a .keras save/load round trip and keras.applications' weights=
give identical outputs; num_classes=0 gives pooled features (timm). include_top=False, None
sizes and features_only: test_applications_keywords.py.
"""

import math

import keras
import numpy as np
import pytest
from _random_weights import randomize

from kerascnn import create_model, list_models, model_info
from kerascnn.catalog import stored_counts

MODELS = list_models()


def _x(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (2, *shape)).astype("float32")


@pytest.mark.parametrize("name", MODELS)
def test_metadata(name):
    info = model_info(name)
    assert info.family and info.paper and 1980 < info.year < 2030 and info.reference
    assert len(info.input_shape) == 3 and info.num_classes > 0


@pytest.mark.parametrize("name", MODELS)
def test_forward_and_round_trip_32x32x3(name, tmp_path):
    model = create_model(name, input_shape=(32, 32, 3), classes=10)  # keras.applications' name
    # the count `kerascnn models` shows (tests/test_catalog.py checks the canonical one)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert (model.count_params(), trainable) == (
        stored_counts()[name]["params_small"],
        stored_counts()[name]["trainable_small"],
    ), f"{name}: regenerate kerascnn/models/param_counts.json with `python -m kerascnn.catalog`"
    x = _x((32, 32, 3))
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, 10)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-4)  # softmax head
    randomize(model)  # BN statistics too: a load that misses one shows
    y = np.asarray(model(x, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), y, rtol=1e-5, atol=1e-6)
    # weights=: built again on a given tensor under another name, the file still fits (Keras keys
    # by layer class); both formats across the zoo, one per model
    if MODELS.index(name) % 2:
        path = tmp_path / f"{name}.weights.h5"
        model.save_weights(path)
    tensor = keras.Input((32, 32, 3))
    again = create_model(name, input_tensor=tensor, classes=10, weights=str(path), name="again")
    assert again.inputs[0] is tensor
    np.testing.assert_allclose(np.asarray(again(x, training=False)), y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_forward_28x28x1(name):
    model = create_model(name, input_shape=(28, 28, 1), num_classes=10)
    y = np.asarray(model(_x((28, 28, 1)), training=False))
    assert y.shape == (2, 10) and np.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_num_classes_0_gives_pooled_features(name):
    # timm's habit: no classifier, the global-average-pooled features of the last map
    model = create_model(name, input_shape=(32, 32, 3), num_classes=0)
    features = create_model(name, input_shape=(32, 32, 3), features_only=True).feature_info
    channels = features.channels()[-1]  # the model's feature channels (timm's num_features)
    assert model.output_shape == (None, channels)
    assert not any(isinstance(layer, keras.layers.Dense) for layer in model.layers)
    unpooled = create_model(name, input_shape=(32, 32, 3), include_top=False)
    assert unpooled.output_shape[-1] == channels  # include_top=False keeps keras' meaning: a map
    assert len(unpooled.output_shape) == 4 and model.count_params() == unpooled.count_params()
    y = np.asarray(model(_x((32, 32, 3)), training=False))
    assert y.shape == (2, channels) and np.isfinite(y).all()
    assert create_model(name, input_shape=(32, 32, 3), classes=0).output_shape == (None, channels)


@pytest.mark.parametrize("name", MODELS)
def test_below_minimum_raises(name):
    info = model_info(name)
    if info.min_input_size <= 1:
        pytest.skip("accepts any size")
    small = info.min_input_size - 1
    with pytest.raises(ValueError, match=f"at least {info.min_input_size}x{info.min_input_size}"):
        create_model(name, input_shape=(small, small, 3), num_classes=10)


COMMON_KEYWORDS = {
    "input_shape",
    "num_classes",
    "include_top",
    "pooling",
    "classifier_activation",
    "name",
}


@pytest.mark.parametrize("name", MODELS)
def test_real_signature_and_keyword_check(name):
    import inspect

    import kerascnn.models
    from kerascnn.errors import ArgumentError

    builder = model_info(name).builder
    params = inspect.signature(builder).parameters
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert COMMON_KEYWORDS <= set(params) and params["name"].default == name
    assert getattr(kerascnn.models, name) is builder  # from kerascnn.models import <name>
    with pytest.raises(ArgumentError, match=f"Model '{name}' does not accept nosuchknob"):
        create_model(name, nosuchknob=1)
    with pytest.raises(ArgumentError, match="does not accept nosuchknob"):
        builder(nosuchknob=1)  # called directly, too


def test_feature_info_has_timms_accessors_and_stays_a_sequence():
    from kerascnn.models.features import FeatureInfo, FeatureMap

    model = create_model("resnet18", input_shape=(64, 64, 3), features_only=True)
    info = model.feature_info
    assert isinstance(info, FeatureInfo)  # Keras did not turn it into its own tracked list
    assert info.channels() == [64, 64, 128, 256, 512]  # timm's resnet18 feature_info
    assert info.reduction() == [2, 4, 8, 16, 32]
    assert info.module_name()[1] == "resnet18_conv2_block2_out" == info[1].layer
    assert info.channels(-1) == 512 and info.reduction([0, 2]) == [2, 8]
    assert info.get_dicts()[0] == {"module": "resnet18_conv1_relu", "num_chs": 64, "reduction": 2}
    # the list habits that code written for the plain list keeps using
    assert len(info) == 5 and [f.channels for f in info] == info.channels()
    assert info == list(info) and isinstance(info[0], FeatureMap)
    assert info[-2:].reduction() == [16, 32] and info[-2:].out_indices == (3, 4)
    assert repr(info).startswith("FeatureInfo([FeatureMap(layer='resnet18_conv1_relu'")
    picked = create_model(
        "resnet18", input_shape=(None, None, 3), features_only=True, out_indices=[1, -1]
    ).feature_info
    assert picked.out_indices == (1, 4) and picked.channels() == [64, 512]
