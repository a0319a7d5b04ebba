"""Padding2D against np.pad: every mode, random shapes and pads (wider than the image too),
static and symbolic sizes, and on the JAX backend in a subprocess."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kerascnn.layers import Padding2D
from kerascnn.layers.padding2d import MODES, NUMPY_MODE, pad_indices


def _reference(x, padding, mode, value=0.0):
    (top, bottom), (left, right) = padding
    kwargs = {"constant_values": value} if NUMPY_MODE[mode] == "constant" else {}
    pads = ((0, 0), (top, bottom), (left, right), (0, 0))
    return np.pad(x, pads, mode=NUMPY_MODE[mode], **kwargs)


def test_pad_indices_equal_np_pad_of_arange_exhaustively():
    for mode in ("edge", "wrap", "symmetric", "reflect"):
        for n in range(1, 8):
            for before in range(0, 17):
                for after in (0, 1, 5, 16):
                    expected = np.pad(np.arange(n), (before, after), mode=mode)
                    np.testing.assert_array_equal(
                        pad_indices(n, before, after, mode),
                        expected,
                        err_msg=f"{mode} n={n} pads=({before},{after})",
                    )


@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    c=st.integers(1, 3),
    pads=st.tuples(*[st.integers(0, 9)] * 4),
    mode=st.sampled_from(MODES),
    value=st.floats(-5, 5, allow_nan=False, width=32),
    seed=st.integers(0, 2**16),
)
def test_padding2d_matches_np_pad(h, w, c, pads, mode, value, seed):
    x = np.random.default_rng(seed).normal(size=(2, h, w, c)).astype("float32")
    padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    value = value if mode == "constant" else 0.0
    layer = Padding2D(padding, mode=mode, constant_value=value)
    y = np.asarray(layer(x))
    np.testing.assert_array_equal(y, _reference(x, padding, mode, value))
    assert y.shape == layer.compute_output_shape(x.shape)


@pytest.mark.parametrize("padding", [2, (1, 3), ((0, 2), (3, 1))])
def test_padding_argument_forms(padding):
    x = np.arange(2 * 3 * 4 * 1, dtype="float32").reshape(2, 3, 4, 1)
    layer = Padding2D(padding, mode="symmetric")
    full = layer.padding
    if isinstance(padding, int):
        assert full == ((2, 2), (2, 2))
    elif isinstance(padding[0], int):
        assert full == ((1, 1), (3, 3))
    else:
        assert full == ((0, 2), (3, 1))
    np.testing.assert_array_equal(np.asarray(layer(x)), _reference(x, full, "symmetric"))


def test_docstring_example_rows():
    row = np.arange(1, 5, dtype="float32").reshape(1, 1, 4, 1)  # a b c d = 1 2 3 4
    left2 = ((0, 0), (2, 0))
    got = {
        m: np.asarray(Padding2D(left2, mode=m)(row))[0, 0, :2, 0].tolist()
        for m in ("zero", "reflect", "symmetric", "replicate", "wrap")
    }
    assert got == {
        "zero": [0, 0],
        "reflect": [3, 2],
        "symmetric": [2, 1],
        "replicate": [1, 1],
        "wrap": [3, 4],
    }
    const = Padding2D(left2, mode="constant", constant_value=7)(row)
    assert np.asarray(const)[0, 0, :2, 0].tolist() == [7, 7]


@pytest.mark.parametrize("mode", MODES)
def test_symbolic_height_and_width_tensorflow(mode):
    """Unknown H and W at trace time take the keras.ops index path (TF graph)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.function graph tracing is specific to the TensorFlow backend")
    import tensorflow as tf

    value = 2.5 if mode == "constant" else 0.0
    layer = Padding2D(((3, 1), (0, 7)), mode=mode, constant_value=value)
    fn = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 2), tf.float32)])
    for shape in ((1, 2, 3, 2), (2, 5, 1, 2)):
        x = np.random.default_rng(0).normal(size=shape).astype("float32")
        np.testing.assert_array_equal(fn(x).numpy(), _reference(x, layer.padding, mode, value))


JAX_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    import kerascnn.layers as L
    from kerascnn.layers.padding2d import MODES, NUMPY_MODE
    assert sys.modules.get("tensorflow") is None, "kerascnn.layers imported tensorflow"
    rng = np.random.default_rng(0)
    count = 0
    for mode in MODES:
        for _ in range(5):
            h, w, c = rng.integers(1, 6, size=3)
            t, b, l, r = (int(v) for v in rng.integers(0, 10, size=4))
            x = rng.normal(size=(2, h, w, c)).astype("float32")
            value = float(rng.normal()) if mode == "constant" else 0.0
            layer = L.Padding2D(((t, b), (l, r)), mode=mode, constant_value=value)
            kw = {"constant_values": value} if NUMPY_MODE[mode] == "constant" else {}
            ref = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), mode=NUMPY_MODE[mode], **kw)
            np.testing.assert_array_equal(np.asarray(layer(x)), ref, err_msg=mode)
            count += 1
    # jit-compiled, as in a model
    import jax
    layer = L.Padding2D(((4, 0), (1, 6)), mode="reflect")
    x = rng.normal(size=(1, 3, 2, 1)).astype("float32")
    out = jax.jit(lambda v: layer(v))(x)
    np.testing.assert_array_equal(np.asarray(out), np.pad(x, ((0, 0), (4, 0), (1, 6), (0, 0)), "reflect"))
    # the other layers run on JAX too, with their declared output shapes
    cases = [(L.ConvBNAct(8, 3, groups=2, strides=2), (2, 9, 9, 4)),
             (L.InvertedResidual(8, se_ratio=0.25), (2, 8, 8, 8)),
             (L.DilatedContextBlock(4), (2, 16, 16, 3)),
             (L.InceptionBlock(2, 2, 2, 2, 2, 2), (2, 6, 6, 3)),
             (L.DenseBlock(2, growth_rate=3), (2, 6, 6, 4))]
    for layer, shape in cases:
        y = layer(np.ones(shape, "float32"))
        assert tuple(y.shape) == tuple(layer.compute_output_shape(shape)), type(layer).__name__
    print("OK", count)
    """
)


def test_padding2d_matches_np_pad_on_jax_backend():
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    # Block TensorFlow so importing kerascnn.layers proves it does not need it.
    blocker = "import sys; sys.modules['tensorflow'] = None\n"
    proc = subprocess.run(
        [sys.executable, "-c", blocker + JAX_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK 30" in proc.stdout
