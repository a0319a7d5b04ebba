"""GoogLeNet fidelity: torchvision's count (BN, with/without aux), the paper variant, aux outputs,
small-input stem, learning."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn import create_model, model_info
from kerascnn.models.googlenet import INCEPTION_SPEC, MIN_INPUT_SIZE, REFERENCE_PARAMS, googlenet


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def _non_trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)


def _blocks():
    return [row for row in INCEPTION_SPEC if row != "pool"]


def _paper_count(num_classes=1000):
    """Table 1 of Szegedy et al. 2015 with weights and biases, no BN, a real 5x5 kernel."""

    def conv(c_in, c_out, k):
        return k * k * c_in * c_out + c_out

    total = conv(3, 64, 7) + conv(64, 64, 1) + conv(64, 192, 3)
    c_in = 192
    for _, (f1, f3r, f3, f5r, f5, fp) in _blocks():
        total += conv(c_in, f1, 1) + conv(c_in, f3r, 1) + conv(f3r, f3, 3)
        total += conv(c_in, f5r, 1) + conv(f5r, f5, 5) + conv(c_in, fp, 1)
        c_in = f1 + f3 + f5 + fp
    assert c_in == 1024
    return total + 1024 * num_classes + num_classes


def _conv_channels():
    """Output channels of every conv (= BN layers in the torchvision variant), no aux."""
    channels = 64 + 64 + 192
    for _, (f1, f3r, f3, f5r, f5, fp) in _blocks():
        channels += f1 + f3r + f3 + f5r + f5 + fp
    return channels


def test_torchvision_count_without_aux():
    model = create_model("googlenet")
    assert _trainable(model) == 6_624_904 == REFERENCE_PARAMS[("torchvision", False)]
    # BN moving mean + variance per conv channel: torch buffers, Keras non-trainable weights
    assert _non_trainable(model) == 2 * _conv_channels() == 14_560
    assert "6,624,904" in model_info("googlenet").reference
    sizes = [
        model.get_layer(f"googlenet_inception{b}_concat").output.shape[1:]
        for b in ("3a", "4a", "5b")
    ]
    assert sizes == [(28, 28, 256), (14, 14, 512), (7, 7, 1024)]


def test_torchvision_count_with_aux_heads():
    model = create_model("googlenet", aux_logits=True)
    aux = [
        (512 * 128 + 2 * 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000),
        (528 * 128 + 2 * 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000),
    ]
    assert aux == [3_188_968, 3_191_016]
    assert (
        _trainable(model)
        == 6_624_904 + sum(aux)
        == 13_004_888
        == REFERENCE_PARAMS[("torchvision", True)]
    )
    assert model.get_layer("googlenet_aux1_pool").output.shape[1:3] == (4, 4)
    assert [o.shape for o in model.outputs] == [(None, 1000)] * 3


def test_torchvision_keeps_the_3x3_in_the_5x5_branch_and_paper_has_5x5():
    tv = create_model("googlenet", input_shape=(32, 32, 3), num_classes=10)
    paper = create_model("googlenet", input_shape=(32, 32, 3), num_classes=10, variant="paper")
    assert tv.get_layer("googlenet_inception3a_5x5_conv").kernel_size == (3, 3)
    assert paper.get_layer("googlenet_inception3a_5x5").kernel_size == (5, 5)  # no BN: one conv
    assert not any(isinstance(lay, keras.layers.BatchNormalization) for lay in paper.layers)
    assert all(lay.use_bias for lay in paper.layers if isinstance(lay, keras.layers.Conv2D))
    assert not any(lay.use_bias for lay in tv.layers if isinstance(lay, keras.layers.Conv2D))


def test_paper_variant_count():
    model = create_model("googlenet", variant="paper")
    assert model.count_params() == _paper_count() == 6_998_552 == REFERENCE_PARAMS[("paper", False)]
    assert _non_trainable(model) == 0
    assert "6,998,552" in model_info("googlenet").reference


def test_aux_outputs_are_three_independent_heads():
    model = create_model(
        "googlenet(width=0.125)", input_shape=(28, 28, 1), num_classes=10, aux_logits=True
    )
    assert len(model.outputs) == 3
    assert list(model.output_names) == [
        "googlenet_predictions",
        "googlenet_aux1_predictions",
        "googlenet_aux2_predictions",
    ]
    # small input: the 7x7 map at 4a takes the 5x5/3 pool -> 1x1
    assert model.get_layer("googlenet_aux1_pool").output.shape[1:3] == (1, 1)
    assert model.get_layer("googlenet_aux1_reduce_conv").input.shape[-1] == 64  # 4a: 512 * 0.125
    x = np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 1)).astype("float32")
    outs = [np.asarray(o) for o in model(x, training=False)]
    assert all(o.shape == (4, 10) and np.isfinite(o).all() for o in outs)
    np.testing.assert_allclose([o.sum(axis=1) for o in outs], 1.0, rtol=1e-5)
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])


def test_aux_head_on_maps_smaller_than_5x5():
    model = create_model(
        "googlenet(width=0.125)", input_shape=(15, 15, 3), num_classes=3, aux_logits=True
    )
    assert model.get_layer("googlenet_inception4a_concat").output.shape[1] == 4
    assert isinstance(model.get_layer("googlenet_aux1_pool"), keras.layers.GlobalAveragePooling2D)


def test_small_stem_below_64px():
    small = create_model("googlenet", input_shape=(28, 28, 1), num_classes=10)
    assert small.get_layer("googlenet_conv1_conv").kernel_size == (3, 3)
    assert small.get_layer("googlenet_conv1_conv").strides == (1, 1)
    sizes = [
        small.get_layer(f"googlenet_inception{b}_concat").output.shape[1]
        for b in ("3a", "4a", "5a")
    ]
    assert sizes == [14, 7, 4]
    big = create_model("googlenet", input_shape=(64, 64, 3), num_classes=10)
    assert big.get_layer("googlenet_conv1_conv").kernel_size == (7, 7)
    assert big.get_layer("googlenet_inception3a_concat").output.shape[1] == 8  # stride 8 before 3a


@settings(max_examples=5, deadline=None)
@given(
    h=st.integers(MIN_INPUT_SIZE, 80),
    w=st.integers(MIN_INPUT_SIZE, 80),
    variant=st.sampled_from(["torchvision", "paper"]),
)
def test_any_size_from_minimum_builds_and_runs(h, w, variant):
    model = googlenet(input_shape=(h, w, 3), num_classes=6, width=0.0625, variant=variant)
    y = np.asarray(model(np.ones((1, h, w, 3), "float32"), training=False))
    assert y.shape == (1, 6) and np.isfinite(y).all()
    keras.backend.clear_session()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"aux_logits": True, "include_top": False}, "aux_logits=True"),
        ({"aux_logits": "yes"}, "aux_logits"),
        ({"variant": "v3"}, "variant"),
        ({"input_shape": (14, 14, 3)}, "at least 15x15"),
        ({"width": 0.0}, "width"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_bad_arguments_raise(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        create_model("googlenet", **kwargs)
    assert "Received: " in str(info.value)
