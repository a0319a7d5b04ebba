"""Tests parametrized over every registered model: a new model is covered without new code.

At 32x32x3 and 28x28x1 (small inputs, so the suite stays fast): builds, forward pass has the
right shape and finite values, a .keras save/load round trip and keras.applications' weights=
give identical outputs. include_top=False, None sizes and features_only:
test_applications_keywords.py.
"""

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
    assert model.count_params() == stored_counts()[name]["params_small"], (
        f"{name}: regenerate kerascnn/models/param_counts.json with `python -m kerascnn.catalog`"
    )
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
