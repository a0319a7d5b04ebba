"""EfficientNet-B0 fidelity: parameter counts vs keras.applications (and the 7-parameter
Normalization difference), torchvision's trainable count, weight transfer with identical
outputs, small-input adaptation, knobs, and a short training run."""

import keras
import numpy as np
import pytest

from kerascnn import create_model

TORCHVISION_EFFICIENTNET_B0 = 5_288_548  # torchvision.models.efficientnet_b0 parameters


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_canonical_params_vs_keras_applications_and_torchvision():
    ours = create_model("efficientnet_b0")
    ref = keras.applications.EfficientNetB0(weights=None)
    assert ref.count_params() == 5_330_571
    norm = [layer for layer in ref.layers if isinstance(layer, keras.layers.Normalization)]
    assert len(norm) == 1
    norm_params = sum(int(np.prod(w.shape)) for w in norm[0].weights)
    assert norm_params == 7  # mean (3) + variance (3) + count (1), all non-trainable
    assert ours.count_params() == ref.count_params() - norm_params == 5_330_564
    assert _trainable(ours) == _trainable(ref) == TORCHVISION_EFFICIENTNET_B0
    assert not any(
        isinstance(layer, (keras.layers.Normalization, keras.layers.Rescaling))
        for layer in ours.layers
    )


def test_keras_applications_weights_load_with_identical_outputs():
    shape = (64, 64, 3)
    ref = keras.applications.EfficientNetB0(weights=None, include_top=False, input_shape=shape)
    ours = create_model(
        "efficientnet_b0", input_shape=shape, include_top=False, adapt_strides=False
    )
    rng = np.random.default_rng(0)
    src = [la for la in ref.layers if la.weights and not isinstance(la, keras.layers.Normalization)]
    dst = [la for la in ours.layers if la.weights]
    assert len(src) == len(dst) > 100
    for a, b in zip(src, dst):
        assert type(a) is type(b), (a.name, b.name)
        weights = a.get_weights()
        if isinstance(a, keras.layers.BatchNormalization):  # non-default statistics
            weights = [
                rng.uniform(0.5, 1.5, weights[0].shape),
                rng.normal(0, 0.1, weights[1].shape),
                rng.normal(0, 0.1, weights[2].shape),
                rng.uniform(0.5, 1.5, weights[3].shape),
            ]
            a.set_weights(weights)
        b.set_weights(weights)
    x = np.random.default_rng(1).uniform(0, 1, (2, *shape)).astype("float32")
    want = np.asarray(ref(x * 255.0, training=False))  # Keras rescales by 1/255 inside
    got = np.asarray(ours(x, training=False))
    assert got.shape == want.shape == (2, 2, 2, 1280)
    assert np.abs(want).max() > 1e-3
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "shape, final", [((28, 28, 1), (4, 4)), ((32, 32, 3), (4, 4)), ((96, 96, 3), (3, 3))]
)
def test_small_inputs_keep_a_real_feature_map(shape, final):
    model = create_model("efficientnet_b0", input_shape=shape, include_top=False)
    assert model.output_shape[1:3] == final


def test_block_structure():
    model = create_model("efficientnet_b0", input_shape=(32, 32, 3))
    names = [layer.name for layer in model.layers]
    assert sum(n.endswith("_se_excite") for n in names) == 16  # one SE per MBConv
    assert sum(n.endswith("_add") for n in names) == 9  # sum(n - 1) over stages
    assert sum(n.endswith("_drop") for n in names) == 9  # stochastic depth on each shortcut
    kernels = [
        la.kernel_size[0] for la in model.layers if isinstance(la, keras.layers.DepthwiseConv2D)
    ]
    assert kernels == [3, 3, 3, 5, 5, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 3]


def test_se_knob_and_validation():
    with_se = create_model("efficientnet_b0", input_shape=(32, 32, 3), num_classes=10)
    without = create_model("efficientnet_b0", input_shape=(32, 32, 3), num_classes=10, se=False)
    assert without.count_params() < with_se.count_params()
    assert not any(la.name.endswith("_se_excite") for la in without.layers)
    with pytest.raises(ValueError, match=r"Received: drop_connect_rate=1\.5"):
        create_model("efficientnet_b0", input_shape=(32, 32, 3), drop_connect_rate=1.5)
    with pytest.raises(ValueError, match="Received: width=-1"):
        create_model("efficientnet_b0", input_shape=(32, 32, 3), width=-1)
