"""kerascnn.analysis.calc against real Keras layers (hypothesis) and the receptive field by gradients."""

from __future__ import annotations

import doctest

import keras
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from keras import layers as L

from kerascnn.analysis import calc, profile
from kerascnn.errors import ArgumentError


def test_doctests():
    assert doctest.testmod(calc).failed == 0


# ------------------------------------------------------------- output sizes vs Keras


@given(
    n=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    kind=st.sampled_from(["conv", "max", "avg"]),
)
def test_output_size_formula_equals_keras(n, k, s, d, padding, kind):
    if kind != "conv" or s > 1:
        d = 1  # pooling has no dilation; TensorFlow rejects strides > 1 with dilation > 1
    k_eff = d * (k - 1) + 1
    assume(padding == "same" or k_eff <= n)
    if kind == "conv":
        layer = L.Conv2D(1, k, strides=s, dilation_rate=d, padding=padding)
    else:
        pool = L.MaxPooling2D if kind == "max" else L.AveragePooling2D
        layer = pool(k, strides=s, padding=padding)
    y = layer(np.zeros((1, n, n + 1, 1), "float32"))
    expected = (
        calc.conv_output_size(n, k, s, padding, d),
        calc.conv_output_size(n + 1, k, s, padding, d),
    )
    assert tuple(y.shape[1:3]) == expected
    # the explicit-padding form of the same formula
    left, right = calc.padding_amounts(padding, n, k, s, d)
    assert calc.conv_output_size(n + left + right, k, s, 0, d) == expected[0]
    if left == right:
        assert calc.conv_output_size(n, k, s, left, d) == expected[0]


@given(
    n=st.integers(1, 12),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
)
def test_transposed_output_size_equals_keras(n, k, s, padding):
    y = L.Conv2DTranspose(1, k, strides=s, padding=padding)(np.zeros((1, n, n, 1), "float32"))
    assert y.shape[1] == calc.conv_transpose_output_size(n, k, s, padding)


def test_parameter_counts_equal_keras():
    def params(layer, c_in=64):
        layer.build((None, 8, 8, c_in))
        return layer.count_params()

    assert calc.conv_params(64, 128, 3) == params(L.Conv2D(128, 3))
    assert calc.conv_params(64, 128, (3, 5), groups=4, bias=False) == params(
        L.Conv2D(128, (3, 5), groups=4, use_bias=False)
    )
    assert calc.depthwise_separable_params(64, 128, 3) == params(L.SeparableConv2D(128, 3))
    assert calc.depthwise_separable_params(64, 128, 5, depth_multiplier=2, bias=False) == params(
        L.SeparableConv2D(128, 5, depth_multiplier=2, use_bias=False)
    )


def test_separable_cost_ratio_equals_profiled_macs():
    x = keras.Input((16, 16, 32))
    std = keras.Model(x, L.Conv2D(64, 3, padding="same")(x))
    sep = keras.Model(x, L.SeparableConv2D(64, 3, padding="same")(x))
    ratio = profile(sep).total_macs / profile(std).total_macs
    assert ratio == pytest.approx(calc.separable_cost_ratio(64, 3))
    assert calc.conv_macs((16, 16), 32, 64, 3) == profile(std).total_macs


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: calc.conv_output_size(4, 7), r"does not fit.*Received: n=4, k=7"),
        (lambda: calc.conv_output_size(4, 3, s=0), r"Received: s=0"),
        (lambda: calc.conv_output_size(4, 3, p="reflect"), r"Received: p='reflect'"),
        (lambda: calc.conv_output_size(4.5, 3), r"Received: n=4.5"),
        (lambda: calc.conv_params(30, 64, 3, groups=4), r"divisible by groups.*Received: c_in=30"),
        (
            lambda: calc.conv_transpose_output_size(4, 3, s=2, output_padding=2),
            r"Received: output_padding=2",
        ),
        (lambda: calc.padding_amounts("reflect", 8, 3), r"Received: padding='reflect'"),
        (lambda: calc.receptive_field([(3, 1, 1, "same")]), r"pass n=.*Received: "),
        (lambda: calc.receptive_field([(3,)]), r"Received: layer 0 = \(3,\)"),
    ],
)
def test_impossible_configs_raise(call, match):
    with pytest.raises(ArgumentError, match=match):
        call()


# ------------------------------------------------- receptive field: analytic == empirical

_layer = st.tuples(
    st.sampled_from(["conv", "avg"]),
    st.integers(1, 4),
    st.integers(1, 2),
    st.integers(1, 2),
    st.sampled_from(["valid", "same"]),
)


@settings(max_examples=25)
@given(stack=st.lists(_layer, min_size=1, max_size=3), n=st.integers(24, 48))
def test_receptive_field_equals_gradient_support(stack, n):
    """The centre output of a positive linear net has non-zero gradient exactly on its field."""
    import tensorflow as tf

    specs, net, size = [], [], n
    for kind, k, s, d, padding in stack:
        if kind == "avg" or s > 1:
            d = 1
        if padding == "valid" and d * (k - 1) + 1 > size:
            assume(False)
        specs.append((k, s, d, padding))
        if kind == "conv":
            net.append(
                L.Conv2D(
                    1,
                    k,
                    strides=s,
                    dilation_rate=d,
                    padding=padding,
                    use_bias=False,
                    kernel_initializer="ones",
                )
            )
        else:
            net.append(L.AveragePooling2D(k, strides=s, padding=padding))
        size = calc.conv_output_size(size, k, s, padding, d)
    rf = calc.receptive_field(specs, n=n)
    centre = size // 2
    lo, hi = rf.window(centre)
    assume(0 <= lo and hi <= n - 1)  # the whole window inside the image: its ends are real pixels

    model = keras.Sequential([keras.Input((n, n, 1)), *net])

    # In a tf.function: TensorFlow 2.21's eager oneDNN Conv2DBackpropFilter segfaults on some
    # stacks (e.g. two 1x1 stride-2 "same" convs on a 46x46 input); in a graph the unused
    # filter gradient is pruned and never runs.
    @tf.function
    def input_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x)[0, centre, centre, 0]
        return tape.gradient(y, x)

    x = tf.constant(np.random.default_rng(0).uniform(0.5, 1.5, (1, n, n, 1)).astype("float32"))
    g = input_gradient(x).numpy()[0, :, :, 0]
    rows, cols = np.nonzero(g)
    assert (rows.min(), rows.max()) == (lo, hi)
    assert (cols.min(), cols.max()) == (lo, hi)
    # the profile of the same model agrees with the calculator
    last = profile(model).rows[-1]
    assert last.rf_size == (rf.size, rf.size) and last.rf_jump == (rf.jump, rf.jump)
    assert last.rf_start == (rf.start, rf.start)
