"""NiN fidelity: d2l's layout and count, small-input stem, feature extractor, learning."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn import create_model, model_info
from kerascnn.models.nin import MIN_INPUT_SIZE, REFERENCE_PARAMS, nin


def _d2l_count(in_channels, num_classes):
    """d2l's NiN, block by block: spatial conv + two 1x1 convs, all with bias."""

    def block(c_in, c_out, k):
        return (k * k * c_in * c_out + c_out) + 2 * (c_out * c_out + c_out)

    return (
        block(in_channels, 96, 11)
        + block(96, 256, 5)
        + block(256, 384, 3)
        + block(384, num_classes, 3)
    )


def test_d2l_count_at_d2l_setting():
    model = create_model("nin", input_shape=(224, 224, 1), num_classes=10)
    assert (
        model.count_params()
        == _d2l_count(1, 10)
        == 1_992_166
        == REFERENCE_PARAMS[(224, 224, 1, 10)]
    )
    # d2l's printed shapes: 54, 26, 26, 12, 12, 5, 5 -> GAP -> 10
    names = [
        "nin_block1_mlp2",
        "nin_pool1",
        "nin_block2_mlp2",
        "nin_pool2",
        "nin_block3_mlp2",
        "nin_pool3",
        "nin_block4_mlp2",
    ]
    assert [model.get_layer(n).output.shape[1] for n in names] == [54, 26, 26, 12, 12, 5, 5]
    assert model.output_shape == (None, 10)


def test_canonical_count():
    model = create_model("nin")
    assert (
        model.count_params()
        == _d2l_count(3, 1000)
        == 7_439_608
        == REFERENCE_PARAMS[(224, 224, 3, 1000)]
    )
    ref = model_info("nin").reference
    assert "1,992,166" in ref and "7,439,608" in ref and "d2l" in ref


def test_no_dense_layers_and_softmax_over_pooled_maps():
    model = create_model("nin", input_shape=(32, 32, 3), num_classes=10)
    assert not any(isinstance(lay, keras.layers.Dense) for lay in model.layers)
    x = np.random.default_rng(0).uniform(0, 1, (3, 32, 32, 3)).astype("float32")
    maps = keras.Model(model.input, model.get_layer("nin_block4_mlp2").output)(x)
    expected = keras.ops.softmax(keras.ops.mean(maps, axis=(1, 2)))
    np.testing.assert_allclose(
        np.asarray(model(x, training=False)), np.asarray(expected), rtol=1e-5, atol=1e-6
    )


def test_small_stem_below_67px():
    small = create_model("nin", input_shape=(28, 28, 1), num_classes=10)
    assert small.get_layer("nin_block1_conv").kernel_size == (3, 3)
    assert [small.get_layer(f"nin_pool{i}").output.shape[1] for i in (1, 2, 3)] == [13, 6, 2]
    big = create_model("nin", input_shape=(67, 67, 3), num_classes=10)
    assert big.get_layer("nin_block1_conv").kernel_size == (11, 11)
    assert big.get_layer("nin_pool3").output.shape[1] == 1
    assert create_model("nin", input_shape=(66, 66, 3)).get_layer("nin_block1_conv").strides == (
        1,
        1,
    )


def test_feature_extractor_is_the_384_channel_map():
    model = create_model("nin", input_shape=(32, 32, 3), include_top=False)
    assert model.output_shape == (None, 3, 3, 384)
    pooled = create_model(
        "nin(width=0.5)", input_shape=(32, 32, 3), include_top=False, pooling="max"
    )
    assert pooled.output_shape == (None, 192)


def test_batch_norm_option():
    model = create_model("nin(batch_norm=True)", input_shape=(28, 28, 1), num_classes=10)
    bns = [lay for lay in model.layers if isinstance(lay, keras.layers.BatchNormalization)]
    convs = [lay for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    assert len(bns) == len(convs) == 12 and not any(c.use_bias for c in convs)
    plain = create_model("nin", input_shape=(28, 28, 1), num_classes=10)
    channels = 3 * (96 + 256 + 384 + 10)
    # no conv biases (-1 per channel), BN scale/offset (+2) and moving mean/variance (+2)
    assert model.count_params() == plain.count_params() - channels + 4 * channels
    y = np.asarray(model(np.zeros((2, 28, 28, 1), "float32"), training=False))
    assert y.shape == (2, 10) and np.isfinite(y).all()


@settings(max_examples=6, deadline=None)
@given(h=st.integers(MIN_INPUT_SIZE, 80), w=st.integers(MIN_INPUT_SIZE, 80))
def test_any_size_from_minimum_builds_and_runs(h, w):
    model = nin(input_shape=(h, w, 2), num_classes=4, width=0.125)
    y = np.asarray(model(np.ones((1, h, w, 2), "float32"), training=False))
    assert y.shape == (1, 4) and np.isfinite(y).all()
    keras.backend.clear_session()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"stem": "imagenet", "input_shape": (64, 64, 3)}, "at least 67x67"),
        ({"input_shape": (14, 28, 1)}, "at least 15x15"),
        ({"width": float("nan")}, "width"),
        ({"dropout": 2}, "dropout"),
        ({"stem": None}, "stem"),
        ({"batch_norm": "yes"}, "batch_norm"),
    ],
)
def test_bad_arguments_raise(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        create_model("nin", **kwargs)
    assert "Received: " in str(info.value)
