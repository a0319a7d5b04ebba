"""The NumPy BatchNormalization, Dropout, weight decay and MultiLayerNet: gradient checks,
agreement with Keras given the same state, and learning on real images."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kerascnn.scratch as S
from kerascnn.errors import ArgumentError
from kerascnn.scratch import (
    DROPOUT_MODES,
    BatchNormalization,
    Dropout,
    MultiLayerNet,
    numerical_gradient,
)

RNG = np.random.default_rng(2024)
SHAPES = [(6, 5), (3, 4, 5, 2)]  # (N, D) and (N, H, W, C)


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides conftest's per-test clear_session(): only a few small Keras layers are built."""
    yield


def rel_error(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def flat(grads: dict) -> np.ndarray:
    return np.concatenate([np.ravel(grads[k]) for k in sorted(grads)])


# --------------------------------------------------------------------------- BatchNormalization


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_gradients(shape, training):
    c = shape[-1]
    x = 1.5 + 2.0 * RNG.standard_normal(shape)
    bn = BatchNormalization(
        RNG.standard_normal(c),
        RNG.standard_normal(c),
        RNG.standard_normal(c),
        RNG.uniform(0.5, 2.0, c),
    )
    out = bn.forward(x, training)
    r = RNG.standard_normal(out.shape)
    dx = bn.backward(r)
    grads = dict(bn.grads)

    def f():
        return float(np.sum(bn.forward(x, training) * r))

    errors = {"x": rel_error(dx, numerical_gradient(f, x))}
    errors |= {k: rel_error(grads[k], numerical_gradient(f, p)) for k, p in bn.params.items()}
    assert max(errors.values()) < 1e-6, errors


def test_batchnorm_training_output_is_standardised_per_feature():
    x = 3.0 + 5.0 * RNG.standard_normal((64, 4, 4, 3))
    y = BatchNormalization.initial(3, np.float64, epsilon=1e-8).forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1.0, atol=1e-6)


def test_batchnorm_defaults_are_keras_defaults():
    import keras

    ours, theirs = BatchNormalization.initial(4), keras.layers.BatchNormalization()
    assert (ours.momentum, ours.epsilon) == (theirs.momentum, theirs.epsilon) == (0.99, 1e-3)
    theirs.build((None, 4))
    for a, b in zip(
        [ours.params["gamma"], ours.params["beta"], ours.moving_mean, ours.moving_variance],
        theirs.get_weights(),
    ):
        np.testing.assert_array_equal(a, b)


def _keras_bn(state, momentum, epsilon, shape):
    import keras

    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build(shape)
    layer.set_weights([s.astype("float32") for s in state])
    return layer


@settings(max_examples=15, deadline=None)
@given(
    rank4=st.booleans(),
    dims=st.tuples(st.integers(2, 6), st.integers(1, 4), st.integers(1, 4), st.integers(1, 5)),
    momentum=st.floats(0.0, 0.999),
    epsilon=st.sampled_from([1e-3, 1e-5, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_batchnorm_matches_keras(rank4, dims, momentum, epsilon, seed):
    """Same gamma, beta, moving statistics, momentum and epsilon: same outputs in training and
    inference mode, and the same moving statistics after a training step."""
    n, h, w, c = dims
    shape = (n, h, w, c) if rank4 else (n, c)
    rng = np.random.default_rng(seed)
    x = (rng.uniform(-2, 2, c) + rng.uniform(0.2, 3, c) * rng.standard_normal(shape)).astype(
        "float32"
    )
    state = [
        rng.standard_normal(c),
        rng.standard_normal(c),
        rng.standard_normal(c),
        rng.uniform(0.1, 3.0, c),
    ]
    ours = BatchNormalization(
        *[s.astype("float32") for s in state], momentum=momentum, epsilon=epsilon
    )
    theirs = _keras_bn(state, momentum, epsilon, shape)
    for training in (False, True, False):  # inference, a training step, inference again
        y_ours = ours.forward(x, training=training)
        y_keras = np.asarray(theirs(x, training=training))
        np.testing.assert_allclose(y_ours, y_keras, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            ours.moving_mean, np.asarray(theirs.moving_mean), rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            ours.moving_variance, np.asarray(theirs.moving_variance), rtol=1e-4, atol=1e-5
        )


def test_batchnorm_moving_statistics_follow_the_momentum_rule():
    x = RNG.standard_normal((10, 3))
    bn = BatchNormalization.initial(3, np.float64, momentum=0.9)
    bn.forward(x, training=True)
    np.testing.assert_allclose(bn.moving_mean, 0.1 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance, 0.9 + 0.1 * x.var(0), rtol=1e-12)
    before = bn.moving_mean.copy()
    bn.forward(x, training=False)  # inference never moves them
    np.testing.assert_array_equal(bn.moving_mean, before)


# --------------------------------------------------------------------------- Dropout


@pytest.mark.parametrize("mode", DROPOUT_MODES)
def test_dropout_gradients(mode):
    x = RNG.standard_normal((5, 3, 3, 2))
    layer = Dropout(0.4, mode, seed=7)
    out = layer.forward(x, training=True)
    r = RNG.standard_normal(out.shape)
    dx = layer.backward(r)

    def f():  # a fresh layer with the same seed draws the same mask
        return float(np.sum(Dropout(0.4, mode, seed=7).forward(x, training=True) * r))

    assert rel_error(dx, numerical_gradient(f, x)) < 1e-6


def test_inverted_dropout_preserves_the_expectation():
    p, x = 0.3, np.full((400, 500), 2.0)
    layer = Dropout(p, "inverted", seed=0)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) == {0.0, 2.0 / (1 - p)}
    assert abs((y == 0).mean() - p) < 0.01
    assert abs(y.mean() - 2.0) < 0.02  # E[y] = x: 200,000 units, std of the mean ~0.002
    np.testing.assert_array_equal(layer.forward(x, training=False), x)  # identity at inference


def test_original_dropout_scales_at_inference():
    p, x = 0.3, np.full((400, 500), 2.0)
    layer = Dropout(p, "original", seed=0)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) == {0.0, 2.0}  # kept units are not rescaled in training
    y_test = layer.forward(x, training=False)
    np.testing.assert_allclose(y_test, x * (1 - p), rtol=1e-15)
    assert abs(y.mean() - y_test.mean()) < 0.02  # training's expectation is inference's output


@pytest.mark.parametrize("mode", DROPOUT_MODES)
def test_dropout_backward_uses_the_forward_mask(mode):
    x = RNG.standard_normal((50, 40)) + 5.0  # no zeros in x: zeros in y are dropped units
    layer = Dropout(0.5, mode, seed=3)
    y = layer.forward(x, training=True)
    dout = RNG.standard_normal(x.shape)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(layer.mask, y != 0)
    np.testing.assert_array_equal(dx == 0, y == 0)
    np.testing.assert_allclose(dx, dout * y / x, rtol=1e-12)  # the factor of the forward pass
    layer.forward(x, training=True)  # a new mask: backward follows it
    assert not np.array_equal(layer.backward(dout) == 0, dx == 0)
    assert np.all(x.dtype == y.dtype)


def test_dropout_keeps_float32():
    x = np.ones((3, 4), np.float32)
    for training in (True, False):
        for mode in DROPOUT_MODES:
            assert Dropout(0.5, mode, seed=0).forward(x, training).dtype == np.float32


# --------------------------------------------------------------------------- weight decay


@pytest.mark.parametrize("name", sorted(S.OPTIMIZERS))
def test_weight_decay_adds_exactly_wd_times_w_to_the_gradient(name):
    wd = 0.05
    params = {"W1": RNG.standard_normal((3, 4)), "b1": RNG.standard_normal(4)}
    grads = [{k: RNG.standard_normal(v.shape) for k, v in params.items()} for _ in range(3)]
    with_decay = {k: v.copy() for k, v in params.items()}
    by_hand = {k: v.copy() for k, v in params.items()}
    opt, ref = S.get_optimizer(name, lr=0.1, weight_decay=wd), S.get_optimizer(name, lr=0.1)
    for g in grads:
        opt.update(with_decay, g)
        ref.update(by_hand, {"W1": g["W1"] + wd * by_hand["W1"], "b1": g["b1"]})  # not the bias
    for k in params:
        np.testing.assert_array_equal(with_decay[k], by_hand[k])


def test_weight_decay_changes_the_sgd_step_by_exactly_lr_wd_w():
    wd, lr = 0.01, 1.0
    w = RNG.standard_normal((5, 5))
    g = RNG.standard_normal((5, 5))
    plain, decayed = {"W": w.copy()}, {"W": w.copy()}
    S.SGD(lr).update(plain, {"W": g})
    S.SGD(lr, weight_decay=wd).update(decayed, {"W": g})
    np.testing.assert_allclose(plain["W"] - decayed["W"], lr * wd * w, rtol=1e-12, atol=1e-15)


def test_sgd_weight_decay_equals_keras_sgd_weight_decay():
    """Keras decays decoupled (w -= lr * wd * w); for plain SGD that is the same update."""
    import keras

    w0 = RNG.standard_normal((4, 3)).astype("float32")
    grads = [RNG.standard_normal(w0.shape).astype("float32") for _ in range(3)]
    var = keras.Variable(w0)
    opt = keras.optimizers.SGD(0.1, weight_decay=0.2)
    ours = {"W": w0.copy()}
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        S.SGD(0.1, weight_decay=0.2).update(ours, {"W": g})
    np.testing.assert_allclose(ours["W"], np.asarray(var), rtol=1e-5, atol=1e-6)


def test_l2_penalty_and_its_gradient():
    params = {"W1": RNG.standard_normal((3, 2)), "b1": RNG.standard_normal(2), "gamma1": np.ones(2)}
    assert S.l2_penalty(params, 0.2) == pytest.approx(0.1 * np.sum(params["W1"] ** 2), rel=1e-12)
    zero = {k: np.zeros_like(v) for k, v in params.items()}
    g = S.add_weight_decay(zero, params, 0.2)
    np.testing.assert_array_equal(g["W1"], 0.2 * params["W1"])
    np.testing.assert_array_equal(g["b1"], 0.0)
    np.testing.assert_array_equal(g["gamma1"], 0.0)


# --------------------------------------------------------------------------- MultiLayerNet


def test_multilayer_net_is_784_50_100_10():
    net = MultiLayerNet()
    assert net.sizes == (784, 50, 100, 10)
    assert net.count_params() == 784 * 50 + 50 + 50 * 100 + 100 + 100 * 10 + 10 == 45_360
    assert list(net.layers) == ["Affine1", "Activation1", "Affine2", "Activation2", "Affine3"]
    bn = MultiLayerNet(batchnorm=True, dropout=0.5)
    assert list(bn.layers)[:4] == ["Affine1", "BatchNorm1", "Activation1", "Dropout1"]
    assert list(MultiLayerNet(batchnorm="after").layers)[:3] == [
        "Affine1",
        "Activation1",
        "BatchNorm1",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"batchnorm": True, "weight_decay": 0.1},
        {"batchnorm": "after", "dropout": 0.3},
        {"batchnorm": True, "dropout": 0.3, "dropout_mode": "original", "activation": "sigmoid"},
    ],
)
def test_multilayer_net_backprop_equals_numerical_gradient(kwargs):
    net = MultiLayerNet(8, (6, 5), 3, dtype=np.float64, seed=1, **kwargs)
    for k, v in net.params.items():  # nonzero biases: no ReLU input sits exactly on its kink
        if k.startswith("b"):
            v[...] = RNG.standard_normal(v.shape)
    x, t = RNG.standard_normal((7, 8)), RNG.integers(0, 3, 7)
    numeric = net.numerical_gradient(x, t)  # replays the masks the next gradient() draws
    analytic = net.gradient(x, t)
    assert rel_error(flat(analytic), flat(numeric)) < 1e-6
    if net.batchnorm == "before":  # a bias right before BatchNorm is cancelled by its mean
        assert np.abs(analytic["b1"]).max() < 1e-12


def test_multilayer_net_weight_decay_in_loss_and_gradient():
    x, t = RNG.standard_normal((5, 8)), RNG.integers(0, 3, 5)
    plain = MultiLayerNet(8, (6,), 3, dtype=np.float64, seed=2)
    decayed = MultiLayerNet(8, (6,), 3, dtype=np.float64, seed=2, weight_decay=0.3)
    penalty = 0.15 * sum(np.sum(plain.params[k] ** 2) for k in ("W1", "W2"))
    assert decayed.loss(x, t) - plain.loss(x, t) == pytest.approx(penalty, rel=1e-12)
    g0, g1 = plain.gradient(x, t), decayed.gradient(x, t)
    for k in g0:
        expected = 0.3 * plain.params[k] if k.startswith("W") else 0.0
        np.testing.assert_allclose(g1[k] - g0[k], expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("kwargs", [{}, {"batchnorm": True, "dropout": 0.2}])
def test_multilayer_net_learns_embedded_fashion_mnist(kwargs):
    from kerascnn import load_dataset

    ds = load_dataset("fashion_mnist_mini")
    x, y = S.preprocess(ds.x_train[:400]), ds.y_train[:400]
    xt, yt = S.preprocess(ds.x_test[:300]), ds.y_test[:300]
    net = MultiLayerNet(seed=0, **kwargs)
    before = net.accuracy(xt, yt)
    hist = S.train(net, x, y, S.SGD(0.1), steps=80, batch_size=50, seed=0)
    after = net.accuracy(xt, yt)
    assert np.mean(hist["loss"][-10:]) < 0.6 * np.mean(hist["loss"][:5]), hist["loss"][::10]
    assert after > 0.6 > before + 0.3, (before, after)  # chance is 0.10


def test_gradient_speed_reports_consistent_numbers_and_restores_weights():
    net = MultiLayerNet(20, (8,), 4, seed=0)
    x, t = RNG.standard_normal((6, 20)).astype("float32"), RNG.integers(0, 4, 6)
    before = {k: v.copy() for k, v in net.params.items()}
    sub = S.gradient_speed(net, x, t, entries=30, repeats=2)
    assert sub["entries_timed"] == 30 and sub["total_entries"] == net.count_params() == 204
    assert sub["numerical_s"] == pytest.approx(204 * sub["numerical_s_per_entry"])
    assert sub["ratio"] == pytest.approx(sub["numerical_s"] / sub["backprop_s"])
    assert S.gradient_speed(net, x, t, entries=None, repeats=1)["entries_timed"] == 204
    for k, v in before.items():
        np.testing.assert_array_equal(net.params[k], v)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "make",
    [
        lambda: BatchNormalization(np.ones(3), np.zeros(2)),
        lambda: BatchNormalization(np.ones(3), np.zeros(3), moving_mean=np.zeros(4)),
        lambda: BatchNormalization(np.ones(3), np.zeros(3), momentum=1.0),
        lambda: BatchNormalization(np.ones(3), np.zeros(3), epsilon=0),
        lambda: BatchNormalization.initial(0),
        lambda: BatchNormalization.initial(3).forward(np.zeros((2, 4))),
        lambda: Dropout(1.0),
        lambda: Dropout(-0.1),
        lambda: Dropout(0.5, mode="gaussian"),
        lambda: S.SGD(0.1, weight_decay=-1),
        lambda: MultiLayerNet(activation="tanh"),
        lambda: MultiLayerNet(batchnorm="middle"),
        lambda: MultiLayerNet(hidden_sizes=(50, 0)),
        lambda: MultiLayerNet(weight_init_std="lecun"),
        lambda: MultiLayerNet(dropout=1.5),
        lambda: S.gradient_speed(MultiLayerNet(4, (3,), 2), np.zeros((1, 4)), [0], entries=0),
    ],
)
def test_errors_say_what_was_received(make):
    with pytest.raises(ArgumentError, match=r"Received: .+"):
        make()
