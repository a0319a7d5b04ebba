"""Fidelity tests for ResNet / SE-ResNet: canonical counts, keras.applications weights,
the two styles, SE placement, small-input stems, errors, and a short training run."""

import keras
import numpy as np
import pytest

from kerascnn import create_model
from kerascnn.blocks import se_channels
from kerascnn.models import resnet as R


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _bn_channels(model):
    return sum(
        la.gamma.shape[0] for la in model.layers if isinstance(la, keras.layers.BatchNormalization)
    )


# ----------------------------------------------------------------- canonical parameter counts


@pytest.mark.parametrize(
    "name, expected",
    [
        ("resnet18", 11_689_512),  # torchvision.models.resnet18
        ("resnet34", 21_797_672),  # torchvision.models.resnet34
        ("resnet50", 25_557_032),  # torchvision.models.resnet50
        ("resnet101", 44_549_160),  # torchvision.models.resnet101
        ("seresnet50", 28_088_024),  # timm seresnet50
        ("seresnet18", 11_778_592),  # torchvision resnet18 + paper SE (r=16): 89,080 SE params
    ],
)
def test_canonical_trainable_counts_match_torchvision_timm(name, expected):
    model = create_model(name)
    assert model.input_shape == (None, 224, 224, 3) and model.output_shape == (None, 1000)
    assert _trainable(model) == expected == R.REFERENCE_TRAINABLE[name]
    # Keras also counts BN moving mean/variance; PyTorch keeps them as buffers.
    assert model.count_params() == expected + 2 * _bn_channels(model)


def test_seresnet18_timm_rounding():
    # timm rounds SE widths to multiples of 8: stage conv2 gets 8 instead of 64/16 = 4,
    # i.e. 2 blocks x (2*64*4 + 4) = 1,032 more parameters.
    paper = _trainable(create_model("seresnet18"))
    timm = _trainable(create_model("seresnet18", se_divisor=8))
    assert timm - paper == 2 * (2 * 64 * 4 + 4) == 1032
    assert timm == 11_779_624
    assert se_channels(64, 1 / 16, 8) == 8 and se_channels(64, 1 / 16, 1) == 4
    assert se_channels(2048, 1 / 16, 8) == se_channels(2048, 1 / 16, 1) == 128


@pytest.mark.parametrize("depth, app", [(50, "ResNet50"), (101, "ResNet101")])
def test_keras_style_count_equals_keras_applications(depth, app):
    ours = R.build_resnet(depth, style="keras")
    theirs = getattr(keras.applications, app)(weights=None)
    assert ours.count_params() == theirs.count_params()
    assert _trainable(ours) == _trainable(theirs)
    expected = {50: 25_636_712, 101: 44_707_176}[depth]
    assert ours.count_params() == expected


# ----------------------------------------------------------------- structure


def _layer(model, name):
    return model.get_layer(f"{model.name}_{name}")


def test_styles_differ_where_documented():
    tv = R.resnet50(input_shape=(64, 64, 3), include_top=False)
    ke = R.resnet50(input_shape=(64, 64, 3), include_top=False, style="keras")
    # v1.5: the stride sits in the 3x3 conv; v1: in the first 1x1 conv.
    assert _layer(tv, "conv3_block1_2_conv").strides == (2, 2)
    assert _layer(tv, "conv3_block1_1_conv").strides == (1, 1)
    assert _layer(ke, "conv3_block1_1_conv").strides == (2, 2)
    assert _layer(ke, "conv3_block1_2_conv").strides == (1, 1)
    assert not _layer(tv, "conv1_conv").use_bias and _layer(ke, "conv1_conv").use_bias
    assert _layer(tv, "conv1_bn").epsilon == 1e-5 and _layer(ke, "conv1_bn").epsilon == 1.001e-5
    assert _layer(tv, "conv1_bn").momentum == 0.9 and _layer(ke, "conv1_bn").momentum == 0.99


def test_basic_block_shortcuts():
    model = R.resnet18(input_shape=(64, 64, 3), include_top=False)
    names = {la.name for la in model.layers}
    # stage conv2 keeps 64 channels at stride 1: identity; later stages project once.
    assert "resnet18_conv2_block1_0_conv" not in names
    assert "resnet18_conv3_block1_0_conv" in names and "resnet18_conv3_block2_0_conv" not in names
    assert _layer(model, "conv3_block1_0_conv").strides == (2, 2)
    assert _layer(model, "conv3_block1_1_conv").strides == (2, 2)


def test_se_sits_after_last_bn_before_add():
    model = R.seresnet50(input_shape=(64, 64, 3), include_top=False)
    add = _layer(model, "conv4_block2_add")
    inbound = {t._keras_history.operation.name for t in add.input}
    assert inbound == {"seresnet50_conv4_block1_out", "seresnet50_conv4_block2_se_excite"}
    excite = _layer(model, "conv4_block2_se_excite")
    assert {t._keras_history.operation.name for t in excite.input} == {
        "seresnet50_conv4_block2_3_bn",
        "seresnet50_conv4_block2_se_expand",
    }
    assert _layer(model, "conv4_block2_se_reduce").filters == 1024 // 16
    assert _layer(model, "conv4_block2_se_expand").filters == 1024


def test_odd_input_has_matching_branch_shapes():
    # 7x7 stride-2 padding 3 and the strided blocks all give ceil(n/2): shortcut and branch agree.
    for style in ("torchvision", "keras"):
        model = R.resnet50(input_shape=(65, 71, 3), include_top=False, style=style)
        assert model.output_shape == (None, 3, 3, 2048)


# ----------------------------------------------------------------- small inputs


@pytest.mark.parametrize(
    "shape, stem, final",
    [
        ((28, 28, 1), "cifar", 4),
        ((32, 32, 3), "cifar", 4),
        ((63, 63, 3), "cifar", 8),
        ((64, 64, 3), "imagenet", 2),
        ((8, 8, 3), "cifar", 1),
    ],
)
def test_auto_stem(shape, stem, final):
    model = R.resnet18(input_shape=shape, include_top=False)
    names = {la.name for la in model.layers}
    assert ("resnet18_pool1_pool" in names) == (stem == "imagenet")
    assert _layer(model, "conv1_conv").kernel_size == ((3, 3) if stem == "cifar" else (7, 7))
    assert model.output_shape == (None, final, final, 512)


def test_forced_stems():
    assert R.resnet18(input_shape=(32, 32, 3), include_top=False, stem="imagenet").output_shape == (
        None,
        1,
        1,
        512,
    )
    assert R.resnet18(input_shape=(96, 96, 3), include_top=False, stem="cifar").output_shape == (
        None,
        12,
        12,
        512,
    )


def test_width_scales_filters():
    model = R.resnet50(input_shape=(32, 32, 3), num_classes=10, width=0.25)
    assert _layer(model, "conv1_conv").filters == 16
    assert _layer(model, "conv5_block3_3_conv").filters == 512
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"style": "v2"}, r"`style` must be one of 'torchvision', 'keras'\. Received: style='v2'$"),
        ({"stem": "deep"}, r"`stem` must be one of .*Received: stem='deep'$"),
        ({"width": 0}, r"`width` must be a positive number\. Received: width=0$"),
        ({"width": float("nan")}, r"Received: width=nan$"),
        ({"se": True, "se_reduction": 0}, r"Received: se_reduction=0$"),
        ({"se_divisor": 0}, r"Received: se_divisor=0$"),
        ({"input_shape": (7, 7, 3)}, r"at least 8x8 .*Received: input_shape=\(7, 7, 3\)$"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_model("resnet18", **kwargs)


def test_unknown_depth():
    with pytest.raises(ValueError, match=r"Received: depth=20$"):
        R.build_resnet(20)
