"""Course networks (simple_convnet, simple_cnn, cifar_cnn) and All-CNN-C: exact parameter
counts derived by hand, layer structure from the specs, small inputs, and short training runs
on the embedded Fashion-MNIST subset."""

import keras
import numpy as np
import pytest

from kerascnn import create_model, model_info


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _layers(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


# --------------------------------------------------------------------------- counts


def test_simple_convnet_433890():
    model = create_model("simple_convnet")  # canonical 28x28x1 / 10
    assert model.input_shape == (None, 28, 28, 1)
    expected = (30 * 5 * 5 + 30) + (30 * 12 * 12 * 100 + 100) + (100 * 10 + 10)
    assert expected == 433_890
    assert model.count_params() == _trainable(model) == expected
    conv = _layers(model, keras.layers.Conv2D)
    assert len(conv) == 1 and conv[0].filters == 30 and conv[0].kernel_size == (5, 5)
    assert [d.units for d in _layers(model, keras.layers.Dense)] == [100, 10]
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [
        0.5
    ]  # our param-free addition
    book = create_model("simple_convnet", dropout=0.0)  # the book's exact network
    assert not _layers(book, keras.layers.Dropout) and book.count_params() == expected


def test_cifar_cnn_exactly_5852170_trainable():
    model = create_model("cifar_cnn")  # canonical 32x32x3 / 10
    assert model.input_shape == (None, 32, 32, 3)
    convs = (
        (3 * 9 * 32 + 32)
        + (32 * 9 * 64 + 64)
        + (64 * 9 * 128 + 128)
        + (128 * 9 * 128 + 128)
        + (128 * 9 * 256 + 256)
        + (256 * 9 * 256 + 256)
    )
    dense = (4 * 4 * 256 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 10 + 10)
    bn = 2 * (32 + 128 + 256)
    assert convs + dense == 5_851_338 and bn == 832
    assert _trainable(model) == convs + dense + bn == 5_852_170
    assert model.count_params() == 5_852_170 + 832  # + BN moving mean/variance
    assert [c.filters for c in _layers(model, keras.layers.Conv2D)] == [32, 64, 128, 128, 256, 256]
    assert all(
        c.kernel_size == (3, 3) and c.padding == "same" for c in _layers(model, keras.layers.Conv2D)
    )
    assert [d.units for d in _layers(model, keras.layers.Dense)] == [1024, 512, 10]
    # the course's order: conv a -> BN -> ReLU, conv b -> ReLU, pool; whole channels dropped
    # after the second block, 0.1 before and after the hidden dense layers
    names = [layer.name.removeprefix("cifar_cnn_") for layer in model.layers]
    block1 = ["block1_a_conv", "block1_a_bn", "block1_a_relu", "block1_b_conv", "block1_pool"]
    assert names[1:6] == block1
    (spatial,) = _layers(model, keras.layers.SpatialDropout2D)
    assert spatial.rate == 0.05
    assert names[names.index("block2_pool") + 1] == "block2_spatial_dropout"
    dropouts = [d for d in _layers(model, keras.layers.Dropout) if d is not spatial]
    assert [d.rate for d in dropouts] == [0.1, 0.1]
    assert names.index("flatten_dropout") < names.index("fc1") < names.index("head_dropout")
    assert all(c.use_bias for c in _layers(model, keras.layers.Conv2D))
    assert len(_layers(model, keras.layers.MaxPooling2D)) == 3


def test_simple_cnn_structure_and_count():
    model = create_model("simple_cnn")
    assert model.input_shape == (None, 28, 28, 1)
    convs = _layers(model, keras.layers.Conv2D)
    assert [c.filters for c in convs] == [64, 128, 256] and all(
        c.kernel_size == (3, 3) and c.use_bias for c in convs
    )
    init = convs[0].kernel_initializer  # Kaiming normal, fan_out, as PyTorch's course code
    assert (init.scale, init.mode, init.distribution) == (2.0, "fan_out", "untruncated_normal")
    assert len(_layers(model, keras.layers.BatchNormalization)) == 3
    assert len(_layers(model, keras.layers.MaxPooling2D)) == 3
    assert len(_layers(model, keras.layers.GlobalAveragePooling2D)) == 1
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [0.5]
    conv = 9 * 64 + 64 + 64 * 9 * 128 + 128 + 128 * 9 * 256 + 256
    bn = 2 * (64 + 128 + 256)  # gamma and beta; the moving statistics are as many again
    assert _trainable(model) == conv + bn + 256 * 10 + 10 == 373_130  # the course's count
    assert model.count_params() == 373_130 + bn == 374_026
    rgb = create_model("simple_cnn", input_shape=(32, 32, 3))
    assert _trainable(rgb) == 373_130 + 2 * 9 * 64 == 374_282
    earlier = create_model("simple_cnn", conv_bias=False)  # reports/fashion-cpu's layout
    assert _trainable(earlier) == 373_130 - (64 + 128 + 256) == 372_682
    assert not any(c.use_bias for c in _layers(earlier, keras.layers.Conv2D))


def test_allconv_c_count_and_no_pooling():
    model = create_model("allconv")
    assert model.input_shape == (None, 32, 32, 3)
    expected = (
        (3 * 9 * 96 + 96)
        + 2 * (96 * 9 * 96 + 96)
        + (96 * 9 * 192 + 192)
        + 3 * (192 * 9 * 192 + 192)
        + (192 * 192 + 192)
        + (192 * 10 + 10)
    )
    assert model.count_params() == expected == 1_369_738
    assert not _layers(model, keras.layers.MaxPooling2D) and not _layers(model, keras.layers.Dense)
    assert [c.strides[0] for c in _layers(model, keras.layers.Conv2D)] == [
        1,
        1,
        2,
        1,
        1,
        2,
        1,
        1,
        1,
    ]
    # the paper's 6x6 map before global averaging
    class_conv = model.get_layer("allconv_class_conv")
    assert tuple(class_conv.output.shape[1:]) == (6, 6, 10)


def test_allconv_bn_adds_only_batch_norm():
    paper, bn = create_model("allconv"), create_model("allconv_bn")
    extra = 4 * (3 * 96 + 5 * 192)  # gamma, beta, moving mean, moving variance per channel
    assert bn.count_params() == paper.count_params() + extra == 1_374_730
    assert _trainable(bn) == _trainable(paper) + extra // 2 == 1_372_234
    assert len(_layers(bn, keras.layers.BatchNormalization)) == 8


def test_registry_canonical_inputs():
    assert model_info("simple_convnet").input_shape == (28, 28, 1)
    assert model_info("simple_cnn").input_shape == (28, 28, 1)
    assert model_info("cifar_cnn").input_shape == (32, 32, 3)
    assert model_info("allconv").input_shape == (32, 32, 3)


# --------------------------------------------------------------------------- inputs and knobs


@pytest.mark.parametrize(
    "name, size", [("simple_convnet", 6), ("simple_cnn", 8), ("cifar_cnn", 8), ("allconv", 9)]
)
def test_minimum_input_builds_and_one_below_raises(name, size):
    model = create_model(name, input_shape=(size, size, 1), num_classes=3)
    y = np.asarray(model(np.zeros((1, size, size, 1), "float32"), training=False))
    assert y.shape == (1, 3) and np.isfinite(y).all()
    with pytest.raises(ValueError, match=rf"at least {size}x{size}.*Received: input_shape"):
        create_model(name, input_shape=(size - 1, size + 4, 1))


def test_allconv_batch_norm_and_dropout_knobs():
    plain = create_model("allconv", input_shape=(28, 28, 1), input_dropout=0.0, dropout=0.0)
    assert not _layers(plain, keras.layers.Dropout)
    bn = create_model("allconv", input_shape=(28, 28, 1), batch_norm=True)
    assert len(_layers(bn, keras.layers.BatchNormalization)) == 8
    with pytest.raises(ValueError, match="Received: dropout=1"):
        create_model("allconv", dropout=1)


def test_feature_extractor_shapes():
    assert create_model("cifar_cnn", include_top=False).output_shape == (None, 4, 4, 256)
    assert create_model("simple_cnn", include_top=False, pooling="max").output_shape == (None, 256)
    assert create_model("allconv", include_top=False, pooling="avg").output_shape == (None, 192)
    assert create_model("simple_convnet", include_top=False).output_shape == (None, 12, 12, 30)
