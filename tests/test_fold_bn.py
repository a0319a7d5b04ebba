"""kerascnn.accel.fold_bn: BatchNorm folded into the layer before it equals the unfolded model
(``training=False``) within float32 rounding, on every model of the zoo that has a BN, on a
hand-built model of every foldable kind and of the kinds that must stay, and (hypothesis) on
random Conv2D+BN and DepthwiseConv2D+BN against the real Keras layers."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn import create_model, list_models
from kerascnn.accel.fold_bn import FOLDABLE, fold_batchnorm

BN = keras.layers.BatchNormalization


def _random_statistics(model, seed=0):
    """Non-trivial BN statistics and affine terms, so that a wrong fold shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, BN):
            n = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0.0, 1.0, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
            if layer.scale:
                layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            if layer.center:
                layer.beta.assign(rng.normal(0.0, 0.5, n).astype("float32"))


def _outputs(model, x):
    return np.asarray(model(x, training=False))


def _assert_close(folded, reference):
    scale = float(np.abs(reference).max())
    np.testing.assert_allclose(folded, reference, rtol=1e-4, atol=1e-5 * max(scale, 1e-6))


def _producer(bn):
    return bn._inbound_nodes[0].input_tensors[0]._keras_history.operation


def _foldable_by_structure(model, bn) -> bool:
    """Independent of the module: ``bn`` directly follows a linear layer of FOLDABLE whose
    output only it reads."""
    producer = _producer(bn)
    return (
        type(producer) in FOLDABLE
        and producer.activation is keras.activations.linear
        and len(producer._outbound_nodes) == 1
        and bn.axis in (-1, len(producer.output.shape) - 1)
    )


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_folds_exactly(name):
    model = create_model(name, input_shape=(32, 32, 3), num_classes=10, classifier_activation=None)
    bns = [layer for layer in model.layers if isinstance(layer, BN)]
    _random_statistics(model)
    result = fold_batchnorm(model)
    if not bns:  # nothing to fold: the same model back
        assert result.model is model and result.folded == 0 and not result.kept
        return
    x = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    _assert_close(_outputs(result.model, x), _outputs(model, x))
    assert result.folded >= 1 and result.folded + len(result.kept) == len(bns)
    left = {layer.name for layer in result.model.layers if isinstance(layer, BN)}
    assert left == set(result.kept)
    for bn in bns:  # folded exactly the BNs that follow a linear conv/Dense read by them alone
        assert _foldable_by_structure(model, bn) is (bn.name in result.folded_names), bn.name


def _hand_built():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(6, 3, groups=2, padding="same", name="grouped")(inputs)
    x = keras.layers.ReLU()(BN(name="bn_grouped")(x))
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False, name="dw")(x)
    x = BN(center=False, epsilon=1e-5, name="bn_dw")(x)  # 12 channels: c * 2 + m
    x = keras.layers.SeparableConv2D(5, 3, depth_multiplier=2, padding="same", name="sep")(x)
    x = keras.layers.ReLU()(BN(scale=False, name="bn_sep")(x))
    shared = keras.layers.Conv2D(5, 1, name="shared")(x)  # feeds a BN and the Add: stays
    x = keras.layers.Add()([BN(name="bn_shared")(shared), shared])
    x = keras.layers.Conv2D(4, 1, activation="relu", name="relu_conv")(x)
    x = BN(name="bn_after_relu")(x)  # the conv has its own activation: stays
    x = BN(name="bn_preact")(keras.layers.Add()([x, x]))  # after Add: stays
    x = keras.layers.Conv2D(3, 1, name="last_conv")(keras.layers.ReLU()(x))
    x = BN(axis=1, name="bn_rows")(x)  # a spatial axis, not the channels: stays
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = BN(name="bn_dense")(keras.layers.Dense(7, name="dense")(x))
    return keras.Model(inputs, x)


FOLDED = {"bn_grouped", "bn_dw", "bn_sep", "bn_dense"}
KEPT = {"bn_shared", "bn_after_relu", "bn_preact", "bn_rows"}


def test_every_foldable_kind_folds_and_the_others_stay():
    model = _hand_built()
    _random_statistics(model, seed=3)
    before = [w.copy() for w in model.get_weights()]
    result = fold_batchnorm(model)
    assert set(result.folded_names) == FOLDED and result.folded == 4
    assert set(result.kept) == KEPT
    assert "other layers" in result.kept["bn_shared"]
    assert "activation" in result.kept["bn_after_relu"]
    assert "Add" in result.kept["bn_preact"] and "axis 1" in result.kept["bn_rows"]
    x = np.random.default_rng(2).normal(0, 1, (3, 8, 8, 4)).astype("float32")
    _assert_close(_outputs(result.model, x), _outputs(model, x))
    new = {layer.name: layer for layer in result.model.layers}
    assert all(isinstance(new[n], keras.layers.Identity) for n in FOLDED)
    assert new["dw"].use_bias and new["dw"].bias.shape == (12,)
    # the original is untouched: same weights, its layers still in one graph only
    after = model.get_weights()
    assert len(after) == len(before) and all(np.array_equal(a, b) for a, b in zip(after, before))
    assert not model.get_layer("dw").use_bias
    assert all(len(layer._inbound_nodes) <= 1 for layer in model.layers)
    assert not set(map(id, model.weights)) & set(map(id, result.model.weights))


def test_folded_model_saves_and_loads(tmp_path):
    model = _hand_built()
    _random_statistics(model, seed=4)
    folded = fold_batchnorm(model).model
    x = np.random.default_rng(5).normal(0, 1, (2, 8, 8, 4)).astype("float32")
    path = tmp_path / "folded.keras"
    folded.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_outputs(loaded, x), _outputs(folded, x), rtol=1e-6, atol=1e-6)
    _assert_close(_outputs(loaded, x), _outputs(model, x))


def test_model_without_bn_or_not_a_graph_comes_back_unchanged():
    inputs = keras.Input((6, 6, 2))
    plain = keras.Model(inputs, keras.layers.Conv2D(3, 3)(inputs))
    result = fold_batchnorm(plain)
    assert result.model is plain and result.folded == 0 and result.kept == {}

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = keras.layers.Conv2D(3, 3), BN()

        def call(self, x, training=False):
            return self.bn(self.conv(x), training=training)

    sub = Subclassed()
    sub(np.zeros((1, 6, 6, 2), "float32"))
    result = fold_batchnorm(sub)
    assert result.model is sub and result.folded == 0
    assert list(result.kept.values()) == ["the model is not a functional graph"]


def test_nested_model_bns_are_kept_and_reported():
    inner_in = keras.Input((6, 6, 2))
    inner = keras.Model(inner_in, BN(name="inner_bn")(keras.layers.Conv2D(3, 1)(inner_in)))
    inputs = keras.Input((6, 6, 2))
    x = BN(name="outer_bn")(keras.layers.Conv2D(2, 1)(inputs))
    model = keras.Model(inputs, inner(x))
    _random_statistics(model)
    _random_statistics(inner, seed=1)
    result = fold_batchnorm(model)
    assert result.folded_names == ("outer_bn",) and list(result.kept) == [f"{inner.name}/inner_bn"]
    x = np.random.default_rng(0).normal(0, 1, (2, 6, 6, 2)).astype("float32")
    _assert_close(_outputs(result.model, x), _outputs(model, x))


def _pair_matches(layer, x, bn_kwargs, seed):
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, BN(**bn_kwargs)(layer(inputs)))
    _random_statistics(model, seed)
    result = fold_batchnorm(model)
    assert result.folded == 1
    _assert_close(_outputs(result.model, x), _outputs(model, x))


_BN_KWARGS = st.fixed_dictionaries(
    {"center": st.booleans(), "scale": st.booleans(), "epsilon": st.sampled_from([1e-5, 1e-3])}
)


@settings(max_examples=8, deadline=None)
@given(
    cin=st.integers(1, 6),
    cout=st.integers(1, 8),
    k=st.integers(1, 4),
    s=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same"]),
    bias=st.booleans(),
    bn=_BN_KWARGS,
)
def test_conv2d_bn_folds_exactly(cin, cout, k, s, padding, bias, bn):
    x = np.random.default_rng(cin * 31 + k).normal(0, 1, (2, 7, 7, cin)).astype("float32")
    conv = keras.layers.Conv2D(cout, k, strides=s, padding=padding, use_bias=bias)
    _pair_matches(conv, x, bn, seed=cout)


@settings(max_examples=8, deadline=None)
@given(
    cin=st.integers(1, 6),
    mult=st.integers(1, 3),
    k=st.integers(1, 4),
    s=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same"]),
    bias=st.booleans(),
    bn=_BN_KWARGS,
)
def test_depthwise_bn_folds_exactly(cin, mult, k, s, padding, bias, bn):
    x = np.random.default_rng(cin * 17 + k).normal(0, 1, (2, 7, 7, cin)).astype("float32")
    conv = keras.layers.DepthwiseConv2D(
        k, strides=s, padding=padding, depth_multiplier=mult, use_bias=bias
    )
    _pair_matches(conv, x, bn, seed=mult)
