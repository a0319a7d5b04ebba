"""MobileNet v1/v2 fidelity: canonical parameter counts, keras.applications weights load into
ours with identical outputs, the small-input stride plan, and a short training run."""

import keras
import numpy as np
import pytest
from _random_weights import randomize

from kerascnn import create_model
from kerascnn.models.mobilenet import MIN_INPUT_SIZE, stride_plan


def transfer_weights(src, dst):
    """Copy weights layer by layer (in graph order), checking layer types and shapes agree."""
    src_layers = [layer for layer in src.layers if layer.weights]
    dst_layers = [layer for layer in dst.layers if layer.weights]
    assert len(src_layers) == len(dst_layers)
    for a, b in zip(src_layers, dst_layers):
        assert type(a) is type(b), (a.name, b.name)
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights], (a.name, b.name)
        b.set_weights(a.get_weights())
    return len(dst_layers)


def _x(shape, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (2, *shape)).astype("float32")


# --------------------------------------------------------------------------- canonical counts


@pytest.mark.parametrize(
    "spec, reference",
    [
        ("mobilenetv2", lambda: keras.applications.MobileNetV2(weights=None)),
        ("mobilenetv2(alpha=0.5)", lambda: keras.applications.MobileNetV2(weights=None, alpha=0.5)),
        ("mobilenetv2(alpha=1.4)", lambda: keras.applications.MobileNetV2(weights=None, alpha=1.4)),
        ("mobilenet", lambda: keras.applications.MobileNet(weights=None)),
        ("mobilenet(alpha=0.5)", lambda: keras.applications.MobileNet(weights=None, alpha=0.5)),
        (
            "mobilenet(alpha=0.75, depth_multiplier=2)",
            lambda: keras.applications.MobileNet(
                weights=None, alpha=0.75, depth_multiplier=2, input_shape=(224, 224, 3)
            ),
        ),
    ],
)
def test_canonical_params_match_keras_applications(spec, reference):
    ours = create_model(spec)
    ref = reference()
    assert ours.count_params() == ref.count_params()
    ours_trainable = sum(int(np.prod(w.shape)) for w in ours.trainable_weights)
    ref_trainable = sum(int(np.prod(w.shape)) for w in ref.trainable_weights)
    assert ours_trainable == ref_trainable


def test_published_counts():
    assert create_model("mobilenetv2").count_params() == 3_538_984
    assert create_model("mobilenet").count_params() == 4_253_864


# --------------------------------------------------------------------------- weight transfer


@pytest.mark.parametrize(
    "spec, reference",
    [
        (
            "mobilenetv2",
            lambda s: keras.applications.MobileNetV2(
                weights=None, include_top=False, input_shape=s
            ),
        ),
        (
            "mobilenetv2(alpha=0.35)",
            lambda s: keras.applications.MobileNetV2(
                weights=None, include_top=False, input_shape=s, alpha=0.35
            ),
        ),
        (
            "mobilenet",
            lambda s: keras.applications.MobileNet(weights=None, include_top=False, input_shape=s),
        ),
        (
            "mobilenet(alpha=0.5)",
            lambda s: keras.applications.MobileNet(
                weights=None, include_top=False, input_shape=s, alpha=0.5
            ),
        ),
    ],
)
def test_keras_applications_weights_load_with_identical_outputs(spec, reference):
    shape = (96, 96, 3)  # smallest size Keras ships MobileNet weights for; no stride adaptation
    ref = reference(shape)
    randomize(ref, kernels=False)
    ours = create_model(spec, input_shape=shape, include_top=False)
    assert transfer_weights(ref, ours) > 50
    x = _x(shape)
    want = np.asarray(ref(x, training=False))
    got = np.asarray(ours(x, training=False))
    assert got.shape == want.shape == (2, 3, 3, want.shape[-1])
    assert np.abs(want).max() > 1e-3  # a real signal, not all zeros
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_adapt_strides_false_is_keras_layout_at_small_inputs():
    shape = (64, 64, 3)
    ref = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=shape)
    randomize(ref, seed=3, kernels=False)
    ours = create_model("mobilenetv2", input_shape=shape, include_top=False, adapt_strides=False)
    transfer_weights(ref, ours)
    x = _x(shape, seed=2)
    np.testing.assert_allclose(
        np.asarray(ours(x, training=False)),
        np.asarray(ref(x, training=False)),
        rtol=1e-4,
        atol=1e-4,
    )
    # by default the same input keeps a 4x4 map instead of 2x2
    assert create_model("mobilenetv2", input_shape=shape, include_top=False).output_shape == (
        None,
        4,
        4,
        1280,
    )


# --------------------------------------------------------------------------- small inputs


def test_stride_plan():
    assert stride_plan(224) == (True,) * 5
    assert stride_plan(96) == (True,) * 5  # Keras' smallest weight size: untouched
    assert stride_plan(64) == (False, True, True, True, True)
    assert stride_plan(32) == (False, False, True, True, True)
    assert stride_plan(28) == (False, False, True, True, True)
    assert stride_plan(16) == (False, False, False, True, True)
    assert stride_plan(28, adapt=False) == (True,) * 5


@pytest.mark.parametrize("name", ["mobilenet", "mobilenetv2"])
@pytest.mark.parametrize(
    "shape, final",
    [
        ((28, 28, 1), (4, 4)),
        ((32, 32, 3), (4, 4)),
        ((16, 16, 3), (4, 4)),
        ((96, 96, 3), (3, 3)),
        ((40, 72, 3), (3, 5)),
    ],
)
def test_final_feature_map(name, shape, final):
    """The plan follows the smaller side; the final map is never below 3x3."""
    model = create_model(name, input_shape=shape, include_top=False)
    assert model.output_shape[1:3] == final


@pytest.mark.parametrize("name", ["mobilenet", "mobilenetv2"])
def test_bad_knobs_raise(name):
    with pytest.raises(ValueError, match=r"alpha.*Received: alpha=0"):
        create_model(name, input_shape=(32, 32, 3), alpha=0)
    with pytest.raises(ValueError, match=f"at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}"):
        create_model(name, input_shape=(15, 32, 3))


def test_depth_multiplier_validated():
    with pytest.raises(ValueError, match="Received: depth_multiplier=0"):
        create_model("mobilenet", input_shape=(32, 32, 3), depth_multiplier=0)


def test_inverted_residual_shortcuts():
    model = create_model("mobilenetv2", input_shape=(32, 32, 3))
    adds = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    # (n - 1) identity shortcuts per stage: 0+1+2+3+2+2+0
    assert len(adds) == 10
    assert len([la for la in model.layers if isinstance(la, keras.layers.DepthwiseConv2D)]) == 17
