"""AlexNet fidelity: torchvision's and the paper's counts, groups, stems, adaptive pool, learning."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn import create_model, model_info
from kerascnn.models.alexnet import MIN_INPUT_SIZE, REFERENCE_PARAMS, alexnet


def _paper_count(num_classes=1000):
    """Krizhevsky et al. 2012, Figure 2: per-GPU kernels, two groups where GPUs don't talk."""
    conv = (
        (11 * 11 * 3 * 96 + 96)  # conv1: both GPUs see the whole image
        + (5 * 5 * 48 * 256 + 256)  # conv2: each GPU's 128 kernels see its own 48 maps
        + (3 * 3 * 256 * 384 + 384)  # conv3: connected across GPUs
        + (3 * 3 * 192 * 384 + 384)  # conv4: own 192 maps
        + (3 * 3 * 192 * 256 + 256)  # conv5: own 192 maps
    )
    fc = (6 * 6 * 256 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * num_classes + num_classes)
    return conv, fc


def test_torchvision_count():
    model = create_model("alexnet")
    assert model.count_params() == 61_100_840 == REFERENCE_PARAMS["torchvision"]
    assert "61,100,840" in model_info("alexnet").reference
    # at 224 the map before the classifier is already 6x6: no adaptive pool layer is needed
    assert model.get_layer("alexnet_pool3").output.shape[1:] == (6, 6, 256)
    assert not any(isinstance(lay, keras.layers.AdaptiveAveragePooling2D) for lay in model.layers)
    sizes = [
        model.get_layer(n).output.shape[1]
        for n in ("alexnet_conv1", "alexnet_pool1", "alexnet_pool2")
    ]
    assert sizes == [55, 27, 13]


def test_paper_variant_count_and_groups():
    model = create_model("alexnet(variant='paper')")
    conv, fc = _paper_count()
    assert (conv, fc) == (2_334_080, 58_631_144)
    assert model.count_params() == conv + fc == 60_965_224 == REFERENCE_PARAMS["paper"]
    assert "60,965,224" in model_info("alexnet").reference
    groups = [lay.groups for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    filters = [lay.filters for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    assert groups == [1, 2, 1, 2, 2]
    assert filters == [96, 256, 384, 384, 256]


def test_grouped_conv_really_splits_channels():
    """Changing the second half of conv4's input must not move the first half of its output."""
    model = alexnet(variant="paper", input_shape=(32, 32, 3), include_top=False, width=0.25)
    conv4 = model.get_layer("alexnet_conv4")
    probe = keras.Model(conv4.input, conv4.output)
    x = np.random.default_rng(0).normal(size=(1, *conv4.input.shape[1:])).astype("float32")
    x2 = x.copy()
    half_in = x.shape[-1] // 2
    x2[..., half_in:] += 1.0
    a, b = np.asarray(probe(x)), np.asarray(probe(x2))
    half_out = a.shape[-1] // 2
    np.testing.assert_array_equal(a[..., :half_out], b[..., :half_out])
    assert not np.allclose(a[..., half_out:], b[..., half_out:])


def test_small_stem_below_63px():
    small = create_model("alexnet", input_shape=(28, 28, 1), num_classes=10)
    assert small.get_layer("alexnet_conv1").kernel_size == (3, 3)
    assert small.get_layer("alexnet_conv1").strides == (1, 1)
    assert small.get_layer("alexnet_pool3").output.shape[1:] == (2, 2, 256)
    assert small.get_layer("alexnet_fc1").units == 1024  # classifier sized for 2x2x256
    big = create_model("alexnet", input_shape=(63, 63, 3), num_classes=10)
    assert big.get_layer("alexnet_conv1").kernel_size == (11, 11)
    assert big.get_layer("alexnet_pool3").output.shape[1:3] == (1, 1)
    forced = create_model("alexnet", input_shape=(64, 64, 3), stem="small")
    assert forced.get_layer("alexnet_conv1").kernel_size == (3, 3)


def test_larger_inputs_get_torchvisions_adaptive_pool():
    model = create_model("alexnet", input_shape=(320, 320, 3), num_classes=10)
    pool = model.get_layer("alexnet_adaptive_pool")
    assert model.get_layer("alexnet_pool3").output.shape[1:3] == (9, 9)
    assert pool.output.shape[1:] == (6, 6, 256)
    assert model.get_layer("alexnet_fc1").kernel.shape == (9216, 4096)  # torchvision's classifier


@settings(max_examples=6, deadline=None)
@given(
    h=st.integers(MIN_INPUT_SIZE, 90),
    w=st.integers(MIN_INPUT_SIZE, 90),
    variant=st.sampled_from(["torchvision", "paper"]),
)
def test_any_size_from_minimum_builds_and_runs(h, w, variant):
    model = alexnet(input_shape=(h, w, 3), num_classes=5, width=0.125, variant=variant)
    y = np.asarray(model(np.ones((1, h, w, 3), "float32"), training=False))
    assert y.shape == (1, 5) and np.isfinite(y).all()
    keras.backend.clear_session()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"variant": "caffe"}, "variant"),
        ({"stem": "tiny"}, "stem"),
        ({"stem": "imagenet", "input_shape": (32, 32, 3)}, "at least 63x63"),
        ({"input_shape": (14, 14, 1)}, "at least 15x15"),
        ({"width": -1}, "width"),
        ({"dropout": -0.1}, "dropout"),
        ({"num_classes": -1}, "num_classes"),
    ],
)
def test_bad_arguments_raise(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        create_model("alexnet", **kwargs)
    assert "Received: " in str(info.value)


def test_paper_variant_round_trip(tmp_path):
    model = create_model(
        "alexnet(variant='paper', width=0.3)", input_shape=(32, 32, 3), num_classes=10
    )
    assert all(lay.filters % 2 == 0 for lay in model.layers if isinstance(lay, keras.layers.Conv2D))
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    y = np.asarray(model(x))
    model.save(tmp_path / "a.keras")
    loaded = keras.saving.load_model(tmp_path / "a.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), y, rtol=1e-5, atol=1e-6)
