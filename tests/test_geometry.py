"""kerascnn.geometry against real Keras layers (hypothesis), and its receptive-field recursion."""

from __future__ import annotations

import ast
import doctest
import inspect
from fractions import Fraction

import keras
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from keras import layers as L

from kerascnn import geometry as G
from kerascnn.analysis import calc
from kerascnn.errors import ArgumentError

GEOMETRY = settings(max_examples=20)
paddings = st.sampled_from(["valid", "same"])
SUMMING = {"use_bias": False, "kernel_initializer": "ones"}  # a conv that adds up its window


def _hw(layer, n: int, c: int = 1) -> tuple[int, int]:
    """Spatial output shape of ``layer`` on an n x (n+1) input."""
    return tuple(layer(np.zeros((1, n, n + 1, c), "float32")).shape[1:3])


def _dilation(s: int, d: int) -> int:
    return 1 if s > 1 else d  # TensorFlow rejects strides > 1 together with dilation > 1


def test_doctests():
    assert doctest.testmod(G).failed == 0


def test_plain_python_and_one_source_for_calc():
    tree = ast.parse(inspect.getsource(G))
    imported = {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m.split(".")[0] for m in imported} & {"keras", "numpy", "tensorflow", "jax"}
    for name in (
        "conv_output_size",
        "same_padding",
        "padding_amounts",
        "receptive_field",
        "conv_transpose_output_size",
        "conv_transpose_crop",
        "effective_kernel",
        "ReceptiveField",
    ):
        assert getattr(calc, name) is getattr(G, name)  # re-exported, not copied


# ------------------------------------------------------------------ output sizes vs Keras


@GEOMETRY
@given(
    n=st.integers(1, 30),
    k=st.integers(1, 6),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    padding=paddings,
)
def test_conv_output_size_equals_conv2d(n, k, s, d, padding):
    d = _dilation(s, d)
    assume(padding == "same" or G.effective_kernel(k, d) <= n)
    layer = L.Conv2D(1, k, strides=s, dilation_rate=d, padding=padding)
    assert _hw(layer, n) == (
        G.conv_output_size(n, k, s, padding, d),
        G.conv_output_size(n + 1, k, s, padding, d),
    )


@GEOMETRY
@given(
    n=st.integers(1, 30),
    k=st.integers(1, 5),
    s=st.one_of(st.none(), st.integers(1, 4)),
    padding=paddings,
)
def test_pool_output_size_equals_max_pooling(n, k, s, padding):
    assume(padding == "same" or k <= n)
    layer = L.MaxPooling2D(k, strides=s, padding=padding)
    assert _hw(layer, n) == (
        G.pool_output_size(n, k, s, padding),
        G.pool_output_size(n + 1, k, s, padding),
    )


@GEOMETRY
@given(
    n=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 3), padding=paddings, data=st.data()
)
def test_conv_transpose_output_size_equals_keras(n, k, s, padding, data):
    output_padding = data.draw(st.one_of(st.none(), st.integers(0, s - 1)))
    if output_padding is not None and padding == "same":
        # Keras: (n - 1) s + k - 2 (k // 2) + output_padding must stay >= 1
        assume((n - 1) * s + k - 2 * (k // 2) + output_padding >= 1)
    layer = L.Conv2DTranspose(1, k, strides=s, padding=padding, output_padding=output_padding)
    expected = G.conv_transpose_output_size(n, k, s, padding, output_padding=output_padding)
    if output_padding is None:
        assert _hw(layer, n)[0] == expected
    else:  # Keras' shape rule, symbolically: TensorFlow's kernel aborts on some of these
        # (n=2, k=2, "same", output_padding=0: Keras says 1 row, TF cannot compute it)
        assert layer(keras.Input((n, n, 1))).shape[1] == expected


def _one_channel(layer, kernel: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``layer`` (a 1-D conv, 1 filter, no bias) with ``kernel`` applied to the 1-D signal ``x``."""
    layer.build((None, None, 1))
    layer.kernel.assign(kernel.reshape(-1, 1, 1).astype("float32"))
    return np.asarray(layer(x.reshape(1, -1, 1).astype("float32")))[0, :, 0]


@GEOMETRY
@given(n=st.integers(1, 8), k=st.integers(1, 5), s=st.integers(1, 3), padding=paddings)
def test_conv_transpose_is_a_cropped_sum_of_stamped_kernels(n, k, s, padding):
    """Conv1DTranspose: input i adds x_i * kernel at i s; Keras keeps a window of that sum."""
    rng = np.random.default_rng(100 * n + 10 * k + s)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    full = np.zeros((n - 1) * s + k)
    for i in range(n):
        full[i * s : i * s + k] += x[i] * w
    got = _one_channel(L.Conv1DTranspose(1, k, strides=s, padding=padding, use_bias=False), w, x)
    out, left = (
        G.conv_transpose_output_size(n, k, s, padding),
        G.conv_transpose_crop(k, s, 1, padding),
    )
    expected = np.pad(full, (0, max(left + out - full.size, 0)))[left : left + out]
    assert got.shape == (out,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@GEOMETRY
@given(n=st.integers(1, 16), k=st.integers(1, 5), d=st.integers(1, 3))
def test_full_padding_is_numpy_full_convolution(n, k, d):
    """Keras has no padding="full"; ZeroPadding1D(k_eff - 1) + "valid" is np.convolve(x, flipped
    kernel, "full"), and a stride-1 "valid" transposed convolution is np.convolve(x, kernel, "full")."""
    rng = np.random.default_rng(100 * n + 10 * k + d)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    left, right = G.padding_amounts("full", n, k, 1, d)
    spread = np.zeros(G.effective_kernel(k, d))
    spread[::d] = w  # the dilated kernel, zeros between its taps
    padded = np.pad(x, (left, right))
    got = _one_channel(L.Conv1D(1, k, dilation_rate=d, use_bias=False), w, padded)
    assert got.size == G.conv_output_size(n, k, 1, "full", d) == n + spread.size - 1
    np.testing.assert_allclose(got, np.convolve(x, spread[::-1], "full"), rtol=1e-5, atol=1e-5)
    transposed = _one_channel(L.Conv1DTranspose(1, k, use_bias=False), w, x)
    assert transposed.size == G.conv_transpose_output_size(n, k, 1, "valid")
    assert transposed.size == G.conv_output_size(n, k, 1, "full")
    np.testing.assert_allclose(transposed, np.convolve(x, w, "full"), rtol=1e-5, atol=1e-5)


# ------------------------------------------------ padding amounts: same values, not only shapes


def _conv_pair(k, s, d):
    """Two convs with the same random weights, no bias."""
    rng = np.random.default_rng(k * 100 + s * 10 + d)
    kernel = rng.standard_normal((k, k, 2, 3)).astype("float32")

    def make(padding):
        conv = L.Conv2D(3, k, strides=s, dilation_rate=d, padding=padding, use_bias=False)
        conv.build((None, None, None, 2))
        conv.kernel.assign(kernel)
        return conv

    return make


@GEOMETRY
@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 3), d=st.integers(1, 3))
def test_same_padding_amounts_reproduce_keras_same(n, k, s, d):
    """ZeroPadding2D(same_padding) + "valid" gives Keras' "same" output, value for value."""
    d = _dilation(s, d)
    (top, bottom), (left, right) = G.same_padding(n, k, s, d), G.same_padding(n + 1, k, s, d)
    assert (top, bottom) == G.padding_amounts("same", n, k, s, d)
    assert bottom - top in (0, 1)  # the smaller half on the top/left
    x = np.random.default_rng(n).standard_normal((1, n, n + 1, 2)).astype("float32")
    make = _conv_pair(k, s, d)
    same = make("same")(x)
    padded = make("valid")(L.ZeroPadding2D(((top, bottom), (left, right)))(x))
    np.testing.assert_allclose(np.asarray(padded), np.asarray(same), rtol=1e-5, atol=1e-5)


@GEOMETRY
@given(
    n=st.integers(1, 16),
    k=st.integers(1, 6),
    s=st.integers(1, 3),
    d=st.integers(1, 3),
    mode=st.sampled_from(["int", "full"]),
    data=st.data(),
)
def test_int_and_full_padding_through_zero_padding(n, k, s, d, mode, data):
    """PyTorch's padding=p and the course's "full" are ZeroPadding2D + "valid" in Keras."""
    d = _dilation(s, d)
    p = data.draw(st.integers(0, 4)) if mode == "int" else "full"
    amount = p if mode == "int" else d * (k - 1)
    assert G.padding_amounts(p, n, k, s, d) == (amount, amount)
    assume(n + 2 * amount >= G.effective_kernel(k, d))
    padded = L.ZeroPadding2D(amount)
    layer = L.Conv2D(1, k, strides=s, dilation_rate=d, padding="valid")
    out = layer(padded(np.zeros((1, n, n + 1, 1), "float32")))
    assert tuple(out.shape[1:3]) == (
        G.conv_output_size(n, k, s, p, d),
        G.conv_output_size(n + 1, k, s, p, d),
    )


@GEOMETRY
@given(n=st.integers(1, 20), k=st.integers(1, 5), d=st.integers(1, 3))
def test_causal_padding_is_left_padding(n, k, d):
    left, right = G.padding_amounts("causal", n, k, 1, d)
    assert right == 0
    x = np.random.default_rng(k).standard_normal((1, n, 2)).astype("float32")
    causal = L.Conv1D(2, k, dilation_rate=d, padding="causal", use_bias=False)
    y = causal(x)
    valid = L.Conv1D(2, k, dilation_rate=d, padding="valid", use_bias=False)
    valid.build((None, None, 2))
    valid.kernel.assign(causal.kernel)
    np.testing.assert_allclose(
        np.asarray(valid(L.ZeroPadding1D((left, 0))(x))), np.asarray(y), rtol=1e-5, atol=1e-5
    )
    assert y.shape[1] == G.conv_output_size(n, k, 1, "causal", d)


@GEOMETRY
@given(n=st.integers(1, 14), k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 2))
def test_valid_taps_equal_a_convolution_of_ones(n, k, s, d):
    """Summing a ones-kernel "same" conv of a ones image counts exactly the taps inside it."""
    d = _dilation(s, d)
    conv = L.Conv2D(1, k, strides=s, dilation_rate=d, padding="same", **SUMMING)
    total = float(np.asarray(conv(np.ones((1, n, n + 1, 1), "float32"))).sum())
    taps = [
        G.valid_taps(
            m, G.conv_output_size(m, k, s, "same", d), k, s, d, G.same_padding(m, k, s, d)[0]
        )
        for m in (n, n + 1)
    ]
    assert total == taps[0] * taps[1]


# --------------------------------------------------------------- the receptive-field recursion

_window = st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3), st.integers(-2, 3))


@given(windows=st.lists(_window, min_size=1, max_size=5))
def test_rf_step_with_fractions_agrees_with_ints(windows):
    ints, fracs = (1, 1, 0), (Fraction(1), Fraction(1), Fraction(0))
    for k, s, d, left in windows:
        ints = G.rf_step(*ints, k, s, d, left)
        fracs = G.rf_step(*fracs, k, Fraction(s), d, Fraction(left))
        assert all(isinstance(v, int) for v in ints)
        assert all(isinstance(v, Fraction) for v in fracs)
        assert fracs == ints


def _support(model, n: int, centre: int) -> tuple[int, int]:
    """First and last input position whose change moves output ``centre`` (by perturbation)."""
    base = np.random.default_rng(n).uniform(0.5, 1.5, (1, n, 1)).astype("float32")
    batch = np.repeat(base, n + 1, axis=0)
    batch[np.arange(1, n + 1), np.arange(n), 0] += 1.0  # sample i + 1 moves input i
    y = np.asarray(model(batch))[:, centre, 0]
    moved = np.nonzero(np.abs(y[1:] - y[0]) > 1e-4 * np.abs(y[0]))[0]
    return int(moved.min()), int(moved.max())


@settings(max_examples=15)
@given(
    windows=st.lists(
        st.tuples(
            st.integers(1, 4),
            st.integers(1, 2),
            st.integers(1, 2),
            st.sampled_from(["valid", "same", "causal", "full", 0, 1, 2]),
        ),
        min_size=1,
        max_size=3,
    ),
    n=st.integers(20, 40),
)
def test_receptive_field_equals_the_support_of_a_keras_stack(windows, n):
    """Every padding mode, as Keras would build it: the field's ends are the support's ends."""
    net, cur = [], n
    for k, s, d, padding in windows:
        d = _dilation(s, d)
        left, right = G.padding_amounts(padding, cur, k, s, d)
        assume(cur + left + right >= G.effective_kernel(k, d))
        if padding in ("same", "valid", "causal"):
            assume(padding != "causal" or s == 1)  # Keras' causal convolutions are unstrided
            mode = padding
        else:  # explicit amounts: ZeroPadding1D + "valid", as PyTorch's padding=p
            net.append(L.ZeroPadding1D((left, right)))
            mode = "valid"
        net.append(L.Conv1D(1, k, strides=s, dilation_rate=d, padding=mode, **SUMMING))
        cur = G.conv_output_size(cur, k, s, padding, d)
    windows = [(k, s, _dilation(s, d), p) for k, s, d, p in windows]
    rf = G.receptive_field(windows, n=n)
    centre = cur // 2
    lo, hi = rf.window(centre)
    assume(0 <= lo and hi <= n - 1)  # inside the input: both ends are real pixels
    model = keras.Sequential([keras.Input((n, 1)), *net])
    assert _support(model, n, centre) == (lo, hi)


def test_fractional_strides_undo_integer_strides():
    """A stride 1/2 (upsampling by 2) after a stride 2 brings the jump back to 1."""
    size, jump, start = G.rf_step(1, 1, 0, 3, 2, left=1)
    k, s, left = G.upsampling_window(2)
    assert G.rf_step(size, jump, start, k, s, 1, left) == (3, 1, -1)
    assert G.conv_transpose_window(3, 2, padding="same") == (2, Fraction(1, 2), 1)
    assert G.rf_union([(3, -1), (1, 0), (5, 2)]) == (8, -1)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: G.conv_output_size(4, 7), r"does not fit.*Received: n=4, k=7"),
        (lambda: G.conv_output_size(4, 3, p="reflect"), r"Received: p='reflect'"),
        (lambda: G.conv_output_size(4, 3, p=-1), r"Received: p=-1"),
        (lambda: G.padding_amounts("same", None, 3), r"input size.*Received: n=None"),
        (lambda: G.padding_amounts((1,), 8, 3), r"Received: padding=\(1,\)"),
        (lambda: G.effective_kernel(True), r"Received: k=True"),
        (lambda: G.same_padding(8, 3, 0), r"Received: s=0"),
        (lambda: G.pool_output_size(3, 4), r"does not fit"),
        (lambda: G.rf_step(1, 0, 0, 3), r"positive.*Received: jump=0"),
        (lambda: G.rf_step(1, 1, 0.5, 3), r"Received: start=0.5"),
        (lambda: G.rf_step(1, 1, 0, 3, s=Fraction(-1, 2)), r"Received: s=Fraction\(-1, 2\)"),
        (lambda: G.rf_union([]), r"Received: \[\]"),
        (lambda: G.conv_transpose_window(3, 2, padding="causal"), r"Received: padding='causal'"),
        (lambda: G.conv_transpose_crop(3, 2, padding="full"), r"Received: padding='full'"),
        (lambda: G.valid_taps(8, 0, 3), r"Received: out=0"),
    ],
)
def test_invalid_arguments_raise_argument_error(call, match):
    with pytest.raises(ArgumentError, match=match):
        call()
    assert issubclass(ArgumentError, ValueError)
