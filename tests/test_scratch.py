"""The NumPy reference CNN: numerical gradient checks, and agreement with Keras given the same weights."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kerascnn.scratch as S
from kerascnn.errors import ArgumentError
from kerascnn.scratch import (
    SGD,
    AdaGrad,
    Adam,
    Affine,
    AvgPooling,
    Convolution,
    MaxPooling,
    Momentum,
    Relu,
    RMSProp,
    Sigmoid,
    SimpleConvNet,
    SoftmaxWithLoss,
    col2im,
    im2col,
    numerical_gradient,
)

RNG = np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Overrides conftest's per-test keras.backend.clear_session() (~0.7 s each on a busy box):
    these tests build a handful of small layers and never depend on layer names."""
    yield


def rel_error(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def check_layer_grads(layer, x, tol=1e-7):
    """Analytic dx and d(params) of sum(layer(x) * R) vs central differences (float64)."""
    out = layer.forward(x)
    r = RNG.standard_normal(out.shape)
    dx = layer.backward(r.copy())
    grads = {k: g.copy() for k, g in layer.grads.items()}

    def f():
        return float(np.sum(layer.forward(x) * r))

    errors = {"x": rel_error(dx, numerical_gradient(f, x))}
    for k, p in layer.params.items():
        errors[k] = rel_error(grads[k], numerical_gradient(f, p))
    assert max(errors.values()) < tol, errors
    return errors


# --------------------------------------------------------------------------- im2col


def test_im2col_rows_are_receptive_fields():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float64).reshape(2, 4, 4, 3)
    col = im2col(x, 3, stride=1, pad=0)
    assert col.shape == (2 * 2 * 2, 3 * 3 * 3)
    # row for sample 1, output (1, 0) is the 3x3x3 patch at rows 1..3, cols 0..2
    np.testing.assert_array_equal(col[1 * 4 + 1 * 2 + 0], x[1, 1:4, 0:3, :].ravel())


@given(
    n=st.integers(1, 2),
    h=st.integers(3, 8),
    w=st.integers(3, 8),
    c=st.integers(1, 3),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
)
def test_col2im_is_the_adjoint_of_im2col(n, h, w, c, k, s, p):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, w, c))
    col = im2col(x, k, s, p)
    y = rng.standard_normal(col.shape)
    # <im2col(x), y> == <x, col2im(y)>: the defining property of the adjoint
    np.testing.assert_allclose(np.sum(col * y), np.sum(x * col2im(y, x.shape, k, s, p)), rtol=1e-10)


def test_same_padding_matches_tensorflow_placement():
    # 5 wide, kernel 2, stride 2 -> output 3, total padding 1, put at the right (TF's "same")
    assert S.resolve_padding("same", (5, 5), (2, 2), (2, 2)) == ((0, 1), (0, 1))
    assert S.resolve_padding("same", (7, 6), (3, 3), (1, 1)) == ((1, 1), (1, 1))
    assert S.resolve_padding(2, (7, 6), (3, 3), (1, 1)) == ((2, 2), (2, 2))
    assert S.resolve_padding((1, 0), (7, 6), (3, 3), (1, 1)) == ((1, 1), (0, 0))


# --------------------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), ((2, 1), "same"), (3, ((0, 2), (1, 0)))])
def test_convolution_gradients(stride, pad):
    x = RNG.standard_normal((2, 7, 6, 3))
    layer = Convolution(
        RNG.standard_normal((3, 3, 3, 4)), RNG.standard_normal(4), stride=stride, pad=pad
    )
    check_layer_grads(layer, x)


@pytest.mark.parametrize("pool,stride,pad", [(2, None, 0), (3, 2, "same"), ((2, 3), 1, 1)])
def test_max_pooling_gradients(pool, stride, pad):
    # distinct values far apart: no ties inside a window, so the max is differentiable
    x = RNG.permutation(2 * 6 * 7 * 2).reshape(2, 6, 7, 2).astype(np.float64) * 0.1
    check_layer_grads(MaxPooling(pool, stride, pad), x)


@pytest.mark.parametrize("pool,stride,pad", [(2, None, 0), (3, 2, "same"), ((2, 3), 1, 1)])
def test_avg_pooling_gradients(pool, stride, pad):
    check_layer_grads(AvgPooling(pool, stride, pad), RNG.standard_normal((2, 6, 7, 2)))


def test_affine_gradients_and_shape_restored():
    x = RNG.standard_normal((3, 2, 2, 3))
    layer = Affine(RNG.standard_normal((12, 5)), RNG.standard_normal(5))
    check_layer_grads(layer, x)
    assert layer.backward(np.ones((3, 5))).shape == x.shape


def test_relu_and_sigmoid_gradients():
    x = RNG.standard_normal((4, 9))
    x[np.abs(x) < 0.05] = 0.5  # stay away from the kink at 0
    check_layer_grads(Relu(), x)
    check_layer_grads(Sigmoid(), RNG.standard_normal((4, 9)) * 3)
    # Relu's gradient at exactly 0 is 0, as in TensorFlow
    relu = Relu()
    relu.forward(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(relu.backward(np.array([[1.0, 1.0]])), [[0.0, 1.0]])


@pytest.mark.parametrize("onehot", [False, True])
def test_softmax_with_loss_gradient(onehot):
    x = RNG.standard_normal((5, 4)) * 2
    labels = np.array([0, 3, 1, 1, 2])
    t = np.eye(4)[labels] if onehot else labels
    layer = SoftmaxWithLoss()
    layer.forward(x, t)
    dx = layer.backward()
    num = numerical_gradient(lambda: layer.forward(x, t), x)
    assert rel_error(dx, num) < 1e-7
    # large logits: no overflow, loss finite and ~0 for a confident right answer
    assert SoftmaxWithLoss().forward(np.array([[1000.0, 0.0]]), np.array([0])) == pytest.approx(
        0.0, abs=1e-12
    )


def test_simple_conv_net_backprop_equals_numerical_gradient():
    net = SimpleConvNet(
        input_dim=(8, 8, 2),
        filter_num=3,
        filter_size=3,
        hidden_size=6,
        output_size=4,
        weight_init_std=0.5,
        seed=3,
        dtype=np.float64,
    )
    x = RNG.standard_normal((3, 8, 8, 2))
    t = np.array([0, 2, 3])
    backprop = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t)
    errors = {k: rel_error(backprop[k], numerical[k]) for k in net.params}
    assert max(errors.values()) < 1e-6, errors


def test_simple_conv_net_canonical_size():
    net = SimpleConvNet()
    assert net.count_params() == 30 * 25 + 30 + 4320 * 100 + 100 + 100 * 10 + 10 == 433_890
    assert net.predict(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)


# --------------------------------------------------------------------------- agreement with Keras


def keras_forward_backward(layer, x, r):
    """Keras forward y and gradients of sum(y * r) w.r.t. x and the layer's weights."""
    import tensorflow as tf

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        obj = tf.reduce_sum(y * tf.constant(r))
    grads = tape.gradient(obj, [xt] + [w.value for w in layer.trainable_weights])
    return y.numpy(), [g.numpy() for g in grads]


def scratch_forward_backward(layer, x, r):
    y = layer.forward(x)
    dx = layer.backward(r.copy())
    return y, [dx] + [layer.grads[k] for k in ("W", "b") if k in layer.grads]


@pytest.mark.parametrize(
    "strides,padding", [(1, "valid"), (2, "same"), ((1, 2), "same"), (3, "valid")]
)
def test_convolution_matches_keras_conv2d(strides, padding):
    import keras

    x = RNG.standard_normal((2, 9, 8, 3)).astype(np.float32)
    keras_layer = keras.layers.Conv2D(4, 3, strides=strides, padding=padding, dtype="float32")
    keras_layer.build(x.shape)
    W = RNG.standard_normal((3, 3, 3, 4)).astype(np.float32)
    b = RNG.standard_normal(4).astype(np.float32)
    keras_layer.set_weights([W, b])
    ours = Convolution(W, b, stride=strides, pad=padding)
    y_ours = ours.forward(x)
    r = RNG.standard_normal(y_ours.shape).astype(np.float32)
    y_k, g_k = keras_forward_backward(keras_layer, x, r)
    y_s, g_s = scratch_forward_backward(ours, x, r)
    np.testing.assert_allclose(y_s, y_k, rtol=1e-4, atol=1e-4)
    for name, a, b_ in zip(("dx", "dW", "db"), g_s, g_k):
        np.testing.assert_allclose(a, b_, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "pool,strides,padding", [(2, None, "valid"), (3, 2, "same"), (2, 1, "same")]
)
def test_pooling_matches_keras(kind, pool, strides, padding):
    import keras

    x = (RNG.permutation(2 * 7 * 7 * 3).reshape(2, 7, 7, 3) / 10.0).astype(np.float32)  # no ties
    cls = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
    ours = (MaxPooling if kind == "max" else AvgPooling)(pool, strides, padding)
    y_s = ours.forward(x)
    r = RNG.standard_normal(y_s.shape).astype(np.float32)
    y_k, (dx_k,) = keras_forward_backward(cls(pool, strides=strides, padding=padding), x, r)
    y_s, (dx_s,) = scratch_forward_backward(ours, x, r)
    np.testing.assert_allclose(y_s, y_k, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx_s, dx_k, rtol=1e-5, atol=1e-5)


def test_affine_matches_keras_dense_after_flatten():
    import keras

    x = RNG.standard_normal((3, 4, 4, 2)).astype(np.float32)
    W = RNG.standard_normal((32, 5)).astype(np.float32)
    b = RNG.standard_normal(5).astype(np.float32)
    model = keras.Sequential(
        [keras.Input((4, 4, 2)), keras.layers.Flatten(), keras.layers.Dense(5)]
    )
    model.layers[-1].set_weights([W, b])
    ours = Affine(W, b)
    r = RNG.standard_normal((3, 5)).astype(np.float32)
    y_k, g_k = keras_forward_backward(model, x, r)
    y_s, g_s = scratch_forward_backward(ours, x, r)
    np.testing.assert_allclose(y_s, y_k, rtol=1e-5, atol=1e-5)
    for a, b_ in zip(g_s, g_k):
        np.testing.assert_allclose(a, b_, rtol=1e-5, atol=1e-5)


def test_softmax_cross_entropy_matches_keras():
    import keras
    import tensorflow as tf

    logits = (RNG.standard_normal((6, 10)) * 3).astype(np.float32)
    labels = RNG.integers(0, 10, 6)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    lt = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(lt)
        loss_k = loss_fn(labels, lt)
    dx_k = tape.gradient(loss_k, lt).numpy()
    ours = SoftmaxWithLoss()
    assert ours.forward(logits, labels) == pytest.approx(float(loss_k), rel=1e-5)
    np.testing.assert_allclose(ours.backward(), dx_k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.y, keras.ops.softmax(logits).numpy(), rtol=1e-5, atol=1e-6)


@settings(max_examples=25)
@given(
    n=st.integers(1, 2),
    h=st.integers(3, 10),
    w=st.integers(3, 10),
    c=st.integers(1, 3),
    f=st.integers(1, 3),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    pad=st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2)),
    seed=st.integers(0, 2**16),
)
def test_im2col_conv_matches_keras_conv_on_random_geometry(
    n, h, w, c, f, kh, kw, sh, sw, pad, seed
):
    import keras

    rng = np.random.default_rng(seed)
    if isinstance(pad, int):
        h, w = max(h, kh), max(w, kw)  # explicit padding: valid window must fit after padding
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    W = rng.standard_normal((kh, kw, c, f)).astype(np.float32)
    if isinstance(pad, int):  # Keras has no explicit padding in conv: pad the input, then "valid"
        y_k = keras.ops.conv(
            np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))),
            W,
            strides=(sh, sw),
            padding="valid",
        )
    else:
        if pad == "valid" and (h < kh or w < kw):
            h, w = kh, kw
            x = rng.standard_normal((n, h, w, c)).astype(np.float32)
        y_k = keras.ops.conv(x, W, strides=(sh, sw), padding=pad)
    y_s = Convolution(W, np.zeros(f, np.float32), stride=(sh, sw), pad=pad).forward(x)
    if n >= 2 and sh == 1 and sw > 1 and y_s.shape[2] == 1:
        # TensorFlow 2.21's oneDNN CPU conv returns garbage for exactly this geometry (batch >= 2,
        # height stride 1, width stride > 1, output width 1; correct with TF_ENABLE_ONEDNN_OPTS=0):
        # compare with XLA's convolution instead (see test_conv_geometry_where_tensorflow_onednn_is_wrong)
        y_k = _jax_conv(
            np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if isinstance(pad, int) else x,
            W,
            (sh, sw),
            "VALID" if isinstance(pad, int) else pad.upper(),
        )
    np.testing.assert_allclose(y_s, np.asarray(y_k), rtol=1e-4, atol=1e-4)


def _jax_conv(x, W, strides, padding):
    jax = pytest.importorskip("jax")
    return np.asarray(
        jax.lax.conv_general_dilated(
            x, W, strides, padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
    )


def test_conv_geometry_where_tensorflow_onednn_is_wrong():
    """Batch 2, 3x3 input, 1x2 kernel, strides (1, 2): TF 2.21 + oneDNN gets this wrong on CPU.

    Our im2col result equals the hand computation and XLA (JAX); this pins the right answer.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3, 1)).astype(np.float32)
    W = rng.standard_normal((1, 2, 1, 1)).astype(np.float32)
    hand = (x[:, :, 0, 0] * W[0, 0, 0, 0] + x[:, :, 1, 0] * W[0, 1, 0, 0])[:, :, None, None]
    ours = Convolution(W, np.zeros(1, np.float32), stride=(1, 2)).forward(x)
    np.testing.assert_allclose(ours, hand, rtol=1e-6)
    np.testing.assert_allclose(ours, _jax_conv(x, W, (1, 2), "VALID"), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- the rotated-kernel identity


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_dx_is_full_convolution_with_rotated_kernel(stride):
    """dL/dx of a conv = "full" convolution of dout with the kernel rotated 180 deg (in/out swapped).

    For stride s the upstream gradient is first dilated (s-1 zeros between entries): that is a
    transposed convolution, and keras.ops.conv_transpose computes it from the *same* kernel.
    """
    import keras

    kh, kw, c, f = 3, 4, 2, 3
    x = RNG.standard_normal((2, 9, 10, c))
    W = RNG.standard_normal((kh, kw, c, f))
    conv = Convolution(W, np.zeros(f), stride=stride, pad=0)
    dout = RNG.standard_normal(conv.forward(x).shape)
    dx = conv.backward(dout)

    # dilate dout by the stride, then pad kh-1 / kw-1 (plus what the last partial window skipped)
    n, oh, ow, _ = dout.shape
    dil = np.zeros((n, (oh - 1) * stride + 1, (ow - 1) * stride + 1, f))
    dil[:, ::stride, ::stride, :] = dout
    extra_h = x.shape[1] - ((oh - 1) * stride + kh)
    extra_w = x.shape[2] - ((ow - 1) * stride + kw)
    pads = ((kh - 1, kh - 1 + extra_h), (kw - 1, kw - 1 + extra_w))
    W_rot = W[::-1, ::-1, :, :].transpose(0, 1, 3, 2)  # rotate 180 deg, swap C_in <-> C_out
    full = Convolution(W_rot, np.zeros(c), stride=1, pad=pads).forward(dil)
    np.testing.assert_allclose(full, dx, rtol=1e-10, atol=1e-10)

    # ... which is exactly a transposed convolution with the original kernel
    transposed = keras.ops.conv_transpose(
        dout.astype(np.float32), W.astype(np.float32), strides=stride, padding="valid"
    )
    transposed = np.asarray(transposed)
    # conv_transpose's output may be shorter when the forward conv dropped trailing pixels
    np.testing.assert_allclose(
        transposed, dx[:, : transposed.shape[1], : transposed.shape[2]], rtol=1e-4, atol=1e-4
    )
    assert np.allclose(dx[:, transposed.shape[1] :], 0) and np.allclose(
        dx[:, :, transposed.shape[2] :], 0
    )


# --------------------------------------------------------------------------- optimizers


def _keras_steps(opt, w0, grads):
    import keras

    v = keras.Variable(w0.astype(np.float32))
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g.astype(np.float32)), v)])
    return np.asarray(v.numpy(), np.float64)


def _our_steps(opt, w0, grads):
    params = {"w": w0.astype(np.float64).copy()}
    for g in grads:
        opt.update(params, {"w": g})
    return params["w"]


@pytest.mark.parametrize("name", ["sgd", "momentum", "adagrad", "rmsprop", "adam"])
def test_optimizers_match_keras_for_fixed_gradients(name):
    """Same update rules as keras.optimizers (eps tiny, where the two place eps differently)."""
    import keras

    w0 = RNG.standard_normal(6)
    grads = [RNG.standard_normal(6) for _ in range(5)]
    eps = 1e-12
    pairs = {
        "sgd": (SGD(0.1), keras.optimizers.SGD(0.1)),
        "momentum": (Momentum(0.1, 0.9), keras.optimizers.SGD(0.1, momentum=0.9)),
        "adagrad": (
            AdaGrad(0.1, eps=eps),
            keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.0, epsilon=eps),
        ),
        "rmsprop": (
            RMSProp(0.01, rho=0.9, eps=eps),
            keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=eps),
        ),
        "adam": (Adam(0.01, eps=eps), keras.optimizers.Adam(0.01, epsilon=eps)),
    }
    ours, theirs = pairs[name]
    np.testing.assert_allclose(
        _our_steps(ours, w0, grads), _keras_steps(theirs, w0, grads), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "cls,lr", [(SGD, 0.05), (Momentum, 0.02), (AdaGrad, 0.5), (RMSProp, 0.02), (Adam, 0.1)]
)
def test_optimizers_minimise_a_quadratic(cls, lr):
    a = np.array([1.0, 10.0])
    params = {"w": np.array([3.0, -2.0])}
    opt = cls(lr=lr)
    start = 0.5 * np.sum(a * params["w"] ** 2)
    for _ in range(200):
        opt.update(params, {"w": a * params["w"]})
    assert 0.5 * np.sum(a * params["w"] ** 2) < 0.05 * start


# --------------------------------------------------------------------------- training on real data


def test_simple_conv_net_learns_embedded_fashion_mnist():
    from kerascnn import load_dataset

    ds = load_dataset("fashion_mnist_mini")
    rng = np.random.default_rng(0)
    tr = rng.choice(len(ds.x_train), 2000, replace=False)
    x, y = S.preprocess(ds.x_train[tr]), ds.y_train[tr]
    xt, yt = S.preprocess(ds.x_test[:500]), ds.y_test[:500]
    net = SimpleConvNet(seed=0)
    before = net.accuracy(xt, yt)
    hist = S.train(net, x, y, Adam(2e-3), steps=60, batch_size=32, seed=0)
    after = net.accuracy(xt, yt)
    assert np.mean(hist["loss"][-10:]) < np.mean(hist["loss"][:10])
    assert after > 0.55 > before + 0.2, (before, after)  # chance is 0.10


# --------------------------------------------------------------------------- errors and hygiene


@pytest.mark.parametrize(
    "make",
    [
        lambda: Convolution(np.zeros((3, 3, 1)), np.zeros(1)),
        lambda: Convolution(np.zeros((3, 3, 1, 2)), np.zeros(2)).forward(np.zeros((1, 4, 4, 3))),
        lambda: Convolution(np.zeros((5, 5, 1, 2)), np.zeros(2)).forward(np.zeros((1, 3, 3, 1))),
        lambda: Convolution(np.zeros((3, 3, 1, 2)), np.zeros(2), stride=0),
        lambda: Convolution(np.zeros((3, 3, 1, 2)), np.zeros(2), pad="full").forward(
            np.zeros((1, 4, 4, 1))
        ),
        lambda: MaxPooling(2).forward(np.zeros((4, 4))),
        lambda: Affine(np.zeros((3, 2)), np.zeros(2)).forward(np.zeros((1, 4))),
        lambda: SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([0, 3])),
        lambda: S.get_optimizer("lbfgs"),
        lambda: SGD(lr=-1),
    ],
)
def test_errors_say_what_was_received(make):
    with pytest.raises(ArgumentError, match=r"Received: .+"):
        make()


def test_scratch_imports_numpy_only():
    for path in Path(S.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for name in names:
                top = name.split(".")[0]
                assert top not in ("keras", "tensorflow", "jax", "torch"), (path.name, name)


@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 4))
def test_same_padding_agrees_with_analysis_calc(n, k, s):
    """scratch keeps its own tiny "same" rule (it must stay NumPy-only); it must match calc's."""
    from kerascnn.analysis import calc

    pads = S.resolve_padding("same", (n, n), (k, k), (s, s))
    assert pads[0] == pads[1] == calc.same_padding(n, k, s)
    out = (n + sum(pads[0]) - k) // s + 1
    assert out == calc.conv_output_size(n, k, s=s, p="same")
