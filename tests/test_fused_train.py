"""kerascnn.accel.fused_train against Keras's own BatchNormalization and optimizers: the fused
TensorFlow kernels must give the same outputs, gradients, moving statistics and updates up
to float32 rounding, on hand-made layers, on random hyper-parameters and on every BatchNorm
model of the zoo."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn import create_model, list_models
from kerascnn._dtype import dtype_policy_scope
from kerascnn.accel.fused_train import (
    CenterTapConv,
    FusedAdam,
    FusedBatchNorm,
    FusedSGD,
    optimizer_class,
    training_view,
)

RTOL, ATOL = 2e-4, 2e-5


def _twins(build):
    """Two models with the same weights: one to run as Keras does, one to run through the view."""
    a, b = build(), build()
    rng = np.random.default_rng(1)
    for layer in a.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            for v in layer.weights:
                low, high = (0.5, 2.0) if "variance" in v.path or "gamma" in v.path else (-1, 1)
                v.assign(rng.uniform(low, high, v.shape).astype("float32"))
    b.set_weights(a.get_weights())
    return a, b


def _train_call(model, x, variables):
    with tf.GradientTape() as tape:
        y = model(x, training=True)
        weights = np.random.default_rng(9).normal(size=y.shape)  # differs across the batch
        loss = tf.reduce_sum(y * tf.constant(weights, dtype=y.dtype))
    return y, tape.gradient(loss, variables)


def _float64(build, weights, x):
    """Training-mode outputs and gradients of the same network in float64."""
    with dtype_policy_scope("float64"):
        model = build()
    model.set_weights([w.astype("float64") for w in weights])
    y, grads = _train_call(model, x.astype("float64"), model.trainable_variables)
    return np.asarray(y), [np.asarray(g) for g in grads]


def _flat(grads):
    return np.concatenate([np.asarray(g, "float64").ravel() for g in grads])


def _assert_same_training(a, b, x, build, deep=False):
    """The view's outputs and moving statistics equal Keras's, and its gradients are as close
    to a float64 reference as Keras's own float32 gradients are.

    ``deep``: a whole zoo model, whose training-mode gradients move by up to ~1e-2 when the
    input moves by float32 rounding (a ReLU near its kink flips); there the gradients, taken
    together, must be as close to the reference as Keras's are at an input perturbed by 1e-6.
    """
    view = training_view(b)
    assert view is not b and not any(
        isinstance(layer, keras.layers.BatchNormalization) for layer in view.layers
    )
    y64, g64 = _float64(build, a.get_weights(), x)
    ya, ga = _train_call(a, x, a.trainable_variables)
    yb, gb = _train_call(view, x, b.trainable_variables)
    if not deep:
        np.testing.assert_allclose(yb, ya, rtol=RTOL, atol=1e-5 * float(np.abs(ya).max()))
    moving = [(va, vb) for va, vb in zip(a.variables, b.variables) if "moving" in va.path]
    for va, vb in moving:
        np.testing.assert_allclose(vb, va, rtol=RTOL, atol=ATOL, err_msg=va.path)
    if deep:
        noise = 1 + 1e-6 * np.random.default_rng(5).standard_normal(x.shape)
        yp, gp = _train_call(a, (x * noise).astype("float32"), a.trainable_variables)
        for ref, keras32, fused, perturbed in (([y64], [ya], [yb], [yp]), (g64, ga, gb, gp)):
            ref = _flat(ref)
            keras_error, fused_error, rounding = (
                np.linalg.norm(_flat(got) - ref) for got in (keras32, fused, perturbed)
            )
            assert fused_error <= 4 * keras_error + 2 * rounding, (
                fused_error,
                keras_error,
                rounding,
            )
        return
    total = np.linalg.norm(_flat(g64))  # a gradient that is 0 in exact arithmetic gets noise
    for va, g1, g2, g0 in zip(a.trainable_variables, ga, gb, g64):
        keras_error = np.linalg.norm(np.asarray(g1) - g0)
        fused_error = np.linalg.norm(np.asarray(g2) - g0)
        bound = 4 * keras_error + 1e-5 * total
        assert fused_error <= bound, (va.path, fused_error, keras_error, np.linalg.norm(g0))


def _conv_bn(**bn_kwargs):
    def build():
        inputs = keras.Input((6, 6, 3))
        x = keras.layers.Conv2D(5, 3, padding="same")(inputs)
        x = keras.layers.BatchNormalization(**bn_kwargs)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dense(4)(x)
        x = keras.layers.BatchNormalization()(x)  # rank 2: Keras's own path
        return keras.Model(inputs, x)

    return build


@pytest.mark.parametrize(
    "bn_kwargs",
    [{}, {"epsilon": 1e-5, "momentum": 0.9}, {"center": False}, {"scale": False}],
    ids=["default", "eps1e-5", "no-center", "no-scale"],
)
def test_fused_batchnorm_trains_as_keras_does(bn_kwargs):
    a, b = _twins(_conv_bn(**bn_kwargs))
    x = np.random.default_rng(0).normal(1.0, 2.0, (8, 6, 6, 3)).astype("float32")
    _assert_same_training(a, b, x, _conv_bn(**bn_kwargs))


def test_one_value_per_channel_keeps_a_zero_variance():
    """A batch of one 1x1 map: the biased variance is 0 (the kernel's correction is undone)."""

    def build():
        inputs = keras.Input((1, 1, 3))
        return keras.Model(inputs, keras.layers.BatchNormalization()(inputs))

    a, b = _twins(build)
    x = np.random.default_rng(0).normal(size=(1, 1, 1, 3)).astype("float32")
    b.layers[-1].moving_variance.assign(np.ones(3, "float32"))
    a.set_weights(b.get_weights())
    _assert_same_training(a, b, x, build)
    np.testing.assert_allclose(b.layers[-1].moving_variance.numpy(), 0.99, rtol=1e-6)


def test_inference_and_frozen_layers_call_the_original_layer():
    a, b = _twins(_conv_bn())
    view = training_view(b)
    x = np.random.default_rng(2).normal(size=(4, 6, 6, 3)).astype("float32")
    np.testing.assert_allclose(view(x, training=False), a(x, training=False), rtol=RTOL, atol=ATOL)
    fused = [layer for layer in view.layers if isinstance(layer, FusedBatchNorm)]
    assert len(fused) == 2 and all(f.bn in b.layers for f in fused)
    fused[0].bn.trainable = False
    assert not fused[0].fusable(tf.zeros((2, 6, 6, 5)), training=True)
    assert fused[0].fusable(tf.zeros((2, 6, 6, 5)), training=False) is False


def test_fitting_the_view_trains_the_model():
    a, b = _twins(_conv_bn())
    before = [w.copy() for w in b.get_weights()]
    view = training_view(b)
    view.compile(optimizer=FusedSGD(0.1, momentum=0.9), loss="mse")
    rng = np.random.default_rng(3)
    view.fit(rng.normal(size=(16, 6, 6, 3)), rng.normal(size=(16, 4)), epochs=1, verbose=0)
    after = b.get_weights()
    assert all(w.shape == v.shape for w, v in zip(before, after))
    assert sum(not np.allclose(w, v) for w, v in zip(before, after)) >= len(after) - 1


def test_models_without_batchnorm_are_returned_as_they_are():
    model = create_model("lenet")
    assert training_view(model) is model


def _viewed_at(name: str):
    """The first of 32x32x3 and 28x28x1 at which the training view replaces layers of ``name``
    (BatchNorm; convolutions on 1x1 maps, as VGG's last block at 28x28), or None."""
    for shape in ((32, 32, 3), (28, 28, 1)):
        model = create_model(name, input_shape=shape, num_classes=10)
        if training_view(model) is not model:
            return shape
    return None


VIEWED = {name: shape for name in list_models() if (shape := _viewed_at(name))}


@pytest.mark.parametrize("name", sorted(VIEWED))
def test_every_viewed_model_of_the_zoo_trains_the_same(name):
    shape = VIEWED[name]

    def build():
        model = create_model(name, input_shape=shape, num_classes=10, classifier_activation=None)
        for layer in model.layers:  # dropout off, so every copy sees the same network
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
        return model

    keras.utils.set_random_seed(0)
    a, b = _twins(build)
    x = np.random.default_rng(0).uniform(0, 1, (4, *shape)).astype("float32")
    _assert_same_training(a, b, x, build, deep=True)


def test_viewed_models_are_found():
    assert {"resnet18", "mobilenetv2", "densenet121", "vgg11"} <= set(VIEWED)
    assert VIEWED["vgg11"] == (28, 28, 1) and VIEWED["resnet18"] == (32, 32, 3)
    assert "lenet" not in VIEWED


def _small_map(conv, channels=6):
    def build():
        inputs = keras.Input((1, 1, channels))
        x = conv()(inputs)
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(3)(x))

    return build


@pytest.mark.parametrize(
    "conv",
    [
        lambda: keras.layers.Conv2D(5, 3, padding="same", activation="relu"),
        lambda: keras.layers.Conv2D(5, (5, 3), padding="same", use_bias=False),
        lambda: keras.layers.Conv2D(4, 2, strides=2, padding="same"),
        lambda: keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        lambda: keras.layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6"),
    ],
    ids=["3x3-relu", "5x3-nobias", "2x2-stride2", "dw-mult2", "dw-stride2-relu6"],
)
def test_a_convolution_on_1x1_maps_is_its_kernel_centre(conv):
    build = _small_map(conv)
    a, b = _twins(build)
    view = training_view(b)
    assert any(isinstance(layer, CenterTapConv) for layer in view.layers)
    x = np.random.default_rng(4).normal(size=(8, 1, 1, 6)).astype("float32")
    _, g64 = _float64(build, a.get_weights(), x)
    ya, ga = _train_call(a, x, a.trainable_variables)
    yb, gb = _train_call(view, x, b.trainable_variables)
    np.testing.assert_allclose(yb, ya, rtol=1e-5, atol=1e-6)
    for g1, g2, g0 in zip(ga, gb, g64):  # the taps on padding get exactly zero either way
        assert np.linalg.norm(np.asarray(g2) - g0) <= 4 * np.linalg.norm(np.asarray(g1) - g0) + 1e-6
        np.testing.assert_array_equal(np.asarray(g2) == 0, np.asarray(g1) == 0)


def test_convolutions_on_larger_maps_or_valid_padding_are_kept():
    for conv, channels in (
        (lambda: keras.layers.Conv2D(5, 3, padding="valid"), 6),
        (lambda: keras.layers.Conv2D(5, 3, padding="same", dilation_rate=2), 6),
        (lambda: keras.layers.Conv2D(4, 3, padding="same", groups=2), 6),
    ):
        inputs = keras.Input((3, 3, channels))
        model = keras.Model(inputs, conv()(inputs))
        assert training_view(model) is model


def test_mixed_precision_falls_back_to_keras_batchnorm():
    with dtype_policy_scope("mixed_bfloat16"):
        model = _conv_bn()()
    view = training_view(model)
    view.compile(optimizer=FusedAdam(1e-3), loss="mse")
    rng = np.random.default_rng(3)
    view.fit(rng.normal(size=(8, 6, 6, 3)), rng.normal(size=(8, 4)), epochs=1, verbose=0)
    fused = [layer for layer in view.layers if isinstance(layer, FusedBatchNorm)]
    assert not fused[0].fusable(tf.zeros((2, 6, 6, 5), "bfloat16"), training=True)


# ----------------------------------------------------------------------------- optimizers


def _steps(optimizer, shapes, seed):
    rng = np.random.default_rng(seed)
    variables = [keras.Variable(rng.normal(size=s).astype("float32")) for s in shapes]
    for _ in range(3):
        grads = [tf.constant(rng.normal(size=s).astype("float32")) for s in shapes]
        optimizer.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables] + [v.numpy() for v in optimizer.variables]


@settings(max_examples=12, deadline=None)
@given(
    lr=st.floats(1e-4, 0.5),
    beta_1=st.floats(0.5, 0.99),
    beta_2=st.floats(0.9, 0.9999),
    epsilon=st.sampled_from([1e-7, 1e-3, 1.0]),
    seed=st.integers(0, 1000),
)
def test_fused_adam_is_keras_adam(lr, beta_1, beta_2, epsilon, seed):
    """Equal when the betas are float32 numbers: the kernel computes 1 - beta in float32."""
    beta_1, beta_2 = float(np.float32(beta_1)), float(np.float32(beta_2))
    kw = dict(learning_rate=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    shapes = [(3, 3, 2, 4), (4,), (7, 5)]
    ref = _steps(keras.optimizers.Adam(**kw), shapes, seed)
    got = _steps(FusedAdam(**kw), shapes, seed)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


@settings(max_examples=12, deadline=None)
@given(
    lr=st.floats(1e-4, 0.5),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    nesterov=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_fused_sgd_is_keras_sgd(lr, momentum, nesterov, seed):
    kw = dict(learning_rate=lr, momentum=momentum, nesterov=nesterov)
    shapes = [(3, 3, 2, 4), (4,), (7, 5)]
    ref = _steps(keras.optimizers.SGD(**kw), shapes, seed)
    got = _steps(FusedSGD(**kw), shapes, seed)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


def test_fused_adam_with_the_default_betas_differs_only_by_their_float32_rounding():
    """float32(0.999) = 0.99900001...: 1 - beta_2 is 1.3e-5 smaller, relative, in the kernel."""
    shapes = [(6, 4), (4,)]
    ref = _steps(keras.optimizers.Adam(0.01), shapes, 3)
    got = _steps(FusedAdam(0.01), shapes, 3)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6)


def test_fused_optimizers_follow_a_schedule_and_weight_decay():
    schedule = keras.optimizers.schedules.CosineDecay(0.1, 10)
    shapes = [(5, 4), (4,)]
    for plain, fused in ((keras.optimizers.Adam, FusedAdam), (keras.optimizers.SGD, FusedSGD)):
        ref = _steps(plain(schedule, weight_decay=0.01), shapes, 7)
        got = _steps(fused(schedule, weight_decay=0.01), shapes, 7)
        for r, g in zip(ref, got):  # steps of 0.1: float32 rounding of a sum near 0 is 1e-6
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)


def test_optimizer_class_picks_the_fused_kernels_on_tensorflow_only_for_adam_and_sgd():
    assert optimizer_class(keras.optimizers.Adam) is FusedAdam
    assert optimizer_class(keras.optimizers.SGD) is FusedSGD
    assert optimizer_class(keras.optimizers.AdamW) is keras.optimizers.AdamW
    amsgrad = _steps(FusedAdam(0.1, amsgrad=True), [(3,)], 0)
    for r, g in zip(_steps(keras.optimizers.Adam(0.1, amsgrad=True), [(3,)], 0), amsgrad):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
