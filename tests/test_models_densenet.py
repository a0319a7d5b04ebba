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


def test_keras_applications_densenet121_weights_load_with_identical_outputs():
    shape = (64, 64, 3)  # >= 64 px: ImageNet stem, like keras.applications
    theirs = keras.applications.DenseNet121(weights=None, include_top=False, input_shape=shape)
    ours = D.densenet121(include_top=False, input_shape=shape, name="dn")
    rng = np.random.default_rng(0)
    for layer in theirs.layers:  # random values everywhere, BN statistics included
        layer.set_weights(
            [rng.normal(0, 0.05, w.shape).astype("float32") for w in layer.get_weights()]
        )
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, mean, var = layer.get_weights()
            layer.set_weights([1 + g, b, mean, np.abs(var) + 0.5])
    ours_weighted = {la.name for la in ours.layers if la.weights}
    loaded = set()
    for layer in theirs.layers:
        if layer.weights:
            target = ours.get_layer(f"dn_{layer.name}")
            target.set_weights(layer.get_weights())
            loaded.add(target.name)
    assert loaded == ours_weighted  # one-to-one: every weighted layer of ours was loaded
    x = rng.uniform(0, 1, (2, *shape)).astype("float32")
    ref = np.asarray(theirs(x, training=False))
    out = np.asarray(ours(x, training=False))
    assert out.shape == ref.shape == (2, 2, 2, 1024)
    assert np.abs(ref).max() > 1e-3
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


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


def test_short_training_run_loss_falls():
    from kerascnn.data import load_dataset

    data = load_dataset("fashion_mnist_mini")
    x = data.x_train[:256].astype("float32") / 255.0
    y = data.y_train[:256]
    keras.utils.set_random_seed(0)
    # The DenseNet-121 graph costs minutes to trace on 2 CPU cores, so the family's builder is
    # exercised with a short DenseNet-BC (same dense/transition blocks, CIFAR stem at 28x28).
    model = D.build_densenet((2, 2, 2), input_shape=(28, 28, 1), num_classes=10, growth_rate=12)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="sparse_categorical_crossentropy",
        run_eagerly=True,
    )  # 8 steps: tracing a graph would cost more than running them
    hist = model.fit(x, y, batch_size=64, epochs=2, verbose=0, shuffle=True).history["loss"]
    assert np.isfinite(hist).all()
    assert hist[-1] < hist[0] * 0.9  # mean loss of epoch 2 vs epoch 1
