"""Fidelity tests for DenseNet-121: keras.applications count and weights, the torchvision
count difference, small-input stems, errors, and a short training run."""

import keras
import numpy as np
import pytest

from kerascnn import create_model
from kerascnn.models import densenet as D


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_canonical_count_matches_keras_applications_and_torchvision():
    ours = create_model("densenet121")
    assert ours.input_shape == (None, 224, 224, 3) and ours.output_shape == (None, 1000)
    theirs = keras.applications.DenseNet121(weights=None)
    assert ours.count_params() == theirs.count_params() == 8_062_504
    # torchvision densenet121 reports 7,978,856: the trainable part. The difference is the
    # BN moving mean + variance (2 x 41,824 channels), buffers in PyTorch.
    assert _trainable(ours) == 7_978_856
    bn_channels = sum(
        la.gamma.shape[0] for la in ours.layers if isinstance(la, keras.layers.BatchNormalization)
    )
    assert bn_channels == 41_824
    assert ours.count_params() - _trainable(ours) == 2 * bn_channels == 83_648


def test_structure_growth_and_compression():
    model = D.densenet121(input_shape=(32, 32, 3), include_top=False)
    get = lambda n: model.get_layer(f"densenet121_{n}")  # noqa: E731
    assert get("conv2_block1_1_conv").filters == 128  # bottleneck 4 x growth
    assert get("conv2_block1_2_conv").filters == 32  # growth rate
    # block conv2: 64 + 6*32 = 256 channels -> transition halves to 128
    assert get("conv2_block6_concat").output.shape[-1] == 256
    assert get("pool2_conv").filters == 128
    assert get("conv5_block16_concat").output.shape[-1] == 1024
    # momentum 0.9 everywhere (short runs evaluate well; keras.applications' 0.99 on request)
    assert {
        la.momentum for la in model.layers if isinstance(la, keras.layers.BatchNormalization)
    } == {0.9}
    slow = D.densenet121(input_shape=(32, 32, 3), include_top=False, bn_momentum=0.99)
    assert {
        la.momentum for la in slow.layers if isinstance(la, keras.layers.BatchNormalization)
    } == {0.99}


@pytest.mark.parametrize(
    "shape, stem, final",
    [
        ((28, 28, 1), "cifar", 3),
        ((32, 32, 3), "cifar", 4),
        ((8, 8, 3), "cifar", 1),
        ((64, 64, 3), "imagenet", 2),
    ],
)
def test_auto_stem(shape, stem, final):
    model = D.densenet121(input_shape=shape, include_top=False)
    names = {la.name for la in model.layers}
    assert ("densenet121_pool1" in names) == (stem == "imagenet")
    kernel = model.get_layer("densenet121_conv1_conv").kernel_size
    assert kernel == ((3, 3) if stem == "cifar" else (7, 7))
    assert model.output_shape == (None, final, final, 1024)


def test_minimum_sizes_never_zero():
    assert D.min_input_size("cifar") == 8 and D.min_input_size("imagenet") == 29
    assert D.densenet121(
        input_shape=(29, 29, 3), include_top=False, stem="imagenet"
    ).output_shape == (None, 1, 1, 1024)
    with pytest.raises(ValueError, match=r"at least 29x29 .*Received: input_shape=\(28, 28, 3\)$"):
        D.densenet121(input_shape=(28, 28, 3), stem="imagenet")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"stem": "deep"}, r"`stem` must be one of .*Received: stem='deep'$"),
        ({"growth_rate": 0}, r"Received: growth_rate=0$"),
        (
            {"bn_momentum": 1.0},
            r"`bn_momentum` must be a number in \[0, 1\)\. Received: bn_momentum=1.0$",
        ),
        (
            {"compression": 1.5},
            r"`compression` must be a number in \(0, 1\]\. Received: compression=1.5$",
        ),
        ({"input_shape": (7, 7, 3)}, r"at least 8x8 .*Received: input_shape=\(7, 7, 3\)$"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_model("densenet121", **kwargs)


def test_bad_blocks():
    with pytest.raises(ValueError, match=r"Received: blocks=\(6, 0\)$"):
        D.build_densenet((6, 0))
