"""keras.applications' keywords on every builder (None sizes; classes, input_tensor and weights
round-trip in test_models.py) and timm's features_only; the checks of a weight file;
weights='imagenet' from a Keras cache this test fills itself (nothing downloads)."""

import keras
import numpy as np
import pytest
from _random_weights import randomize

from kerascnn import create_model, list_models
from kerascnn.errors import ArgumentError
from kerascnn.models._registry import natural_key
from kerascnn.models.features import feature_info
from kerascnn.models.keywords import imagenet_models

MODELS = list_models()
SHAPE = (32, 32, 3)


def _x(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (2, *shape)).astype("float32")


@pytest.mark.parametrize("name", MODELS)
def test_any_input_size_and_features_only(name):
    # None plans the canonical layout (ImageNet stems for ImageNet nets), as keras.applications
    model = create_model(name, input_shape=(None, None, 3), include_top=False, pooling="avg")
    y = np.asarray(model(_x((96, 112, 3)), training=False))  # not square, either
    assert y.shape == (2, model.output_shape[-1]) and np.isfinite(y).all()
    features = create_model(name, input_shape=(64, 64, 3), features_only=True)
    info = features.feature_info
    reductions = [f.reduction for f in info]
    assert reductions == sorted(set(reductions)) and len(info) >= 2
    outs = features(_x((64, 64, 3)), training=False)
    for out, f in zip(outs, info):  # "valid" convs trim a few pixels: stride = nearest 2**k
        assert out.shape[-1] == f.channels
        assert 2 ** round(np.log2(64 / out.shape[1])) == f.reduction


def test_features_match_timm_resnet50_and_keras_mobilenetv2_taps():
    resnet = create_model("resnet50", input_shape=(224, 224, 3), features_only=True)
    assert [f.channels for f in resnet.feature_info] == [64, 256, 512, 1024, 2048]  # timm
    assert [f.reduction for f in resnet.feature_info] == [2, 4, 8, 16, 32]
    assert resnet.feature_info[1].layer == "resnet50_conv2_block3_out"
    mobile = create_model("mobilenetv2", input_shape=(224, 224, 3), features_only=True)
    # the layers TensorFlow's segmentation tutorial taps (block_1_expand_relu, ...)
    assert [f.layer.split("_")[1] for f in mobile.feature_info[:4]] == [
        "block1",
        "block3",
        "block6",
        "block13",
    ]
    picked = create_model(
        "resnet18", input_shape=(None, None, 3), features_only=True, out_indices=[-2, -1]
    )
    assert [f.reduction for f in picked.feature_info] == [16, 32]
    outs = picked(_x((96, 96, 3)), training=False)
    assert [tuple(o.shape[1:3]) for o in outs] == [(6, 6), (3, 3)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(classes=10, num_classes=5), "classes is keras.applications' name"),
        (dict(features_only=True, include_top=True), "without a classifier"),
        (dict(features_only=True, pooling="avg"), "unpooled"),
        (dict(out_indices=[0]), "needs features_only=True"),
        (dict(features_only=True, out_indices=[9]), "out_indices must be"),
        (dict(input_tensor=np.zeros((1, 32, 32, 3))), "symbolic Keras tensor"),
        (dict(input_tensor=keras.Input((32, 32, 3)), input_shape=(64, 64, 3)), "disagree"),
        (dict(weights="imagenet"), "available for the builders"),
        (dict(weights="/no/such/file.keras"), "no such file"),
        (dict(weights=3), "weights must be None"),
    ],
)
def test_keyword_errors(kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        create_model("resnet18", **kwargs)


@pytest.mark.parametrize("name", ["lenet", "vgg11", "alexnet", "simple_convnet", "cifar_cnn"])
def test_flatten_heads_need_a_fixed_size(name):
    with pytest.raises(ArgumentError, match="flattens a fixed-size map"):
        create_model(name, input_shape=(None, None, 3))
    create_model(name, input_shape=(None, None, 3), include_top=False)  # the trunk takes any size


def test_a_file_that_does_not_fit_names_the_first_layer_and_loads_nothing(tmp_path):
    create_model("lenet").save_weights(tmp_path / "ten.weights.h5")
    target = create_model("lenet", classes=5)
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(ArgumentError, match=r"'lenet_predictions' \(Dense.*\(84, 10\)"):
        target_with = create_model("lenet", classes=5, weights=str(tmp_path / "ten.weights.h5"))
        del target_with
    wide = create_model("resnet18", input_shape=SHAPE, width=0.5)
    wide.save(tmp_path / "half.keras")
    with pytest.raises(ArgumentError, match="first layer that differs is 'resnet18_conv1_conv'"):
        create_model("resnet18", input_shape=SHAPE, weights=str(tmp_path / "half.keras"))
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ArgumentError, match="cannot be read"):
        create_model("lenet", weights=str(tmp_path / "junk.weights.h5"))
    (tmp_path / "w.npz").write_bytes(b"")
    with pytest.raises(ArgumentError, match="not a weight file"):
        create_model("lenet", weights=str(tmp_path / "w.npz"))
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))


# --------------------------------------------------------------------------- imagenet

IMAGENET = [
    # (ours, keras.applications builder, our extra keywords, input, include_top)
    ("vgg16", keras.applications.VGG16, {}, (64, 64, 3), False),
    ("vgg19", keras.applications.VGG19, {}, (64, 64, 3), False),
    ("resnet50", keras.applications.ResNet50, {"style": "keras"}, (64, 64, 3), False),
    ("resnet101", keras.applications.ResNet101, {"style": "keras"}, (64, 64, 3), False),
    ("densenet121", keras.applications.DenseNet121, {}, (64, 64, 3), False),
    ("mobilenet", keras.applications.MobileNet, {}, (128, 128, 3), True),
    ("mobilenetv2", keras.applications.MobileNetV2, {}, (96, 96, 3), True),
]


def test_the_imagenet_list_is_the_keras_applications_layouts():
    assert imagenet_models() == sorted((row[0] for row in IMAGENET), key=natural_key)


@pytest.mark.parametrize("name, app, extra, shape, top", IMAGENET, ids=[r[0] for r in IMAGENET])
def test_imagenet_weights_load_from_the_keras_cache(
    name, app, extra, shape, top, tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("KERASCNN_NO_DOWNLOAD", "1")
    with pytest.raises(ArgumentError, match="not in the Keras cache"):
        create_model(name, weights="imagenet", include_top=top, input_shape=shape, **extra)
    ref = app(weights=None, include_top=top, input_shape=shape)
    randomize(ref, seed=1)
    from kerascnn.models import model_info

    file_name = (
        model_info(name)
        .builder.imagenet({**_defaults(name), "include_top": top, "input_shape": shape, **extra})
        .file_name
    )
    (tmp_path / "models").mkdir()
    ref.save(tmp_path / "models" / file_name)  # Keras' legacy HDF5, the format of Keras' files
    ours = create_model(name, weights="imagenet", include_top=top, input_shape=shape, **extra)
    x = _x(shape, seed=2) * 2 - 1
    want = np.asarray(ref(x, training=False))
    assert np.abs(want).max() > 1e-4
    np.testing.assert_allclose(np.asarray(ours(x, training=False)), want, rtol=1e-4, atol=1e-5)


def _defaults(name):
    import inspect

    from kerascnn.models import model_info

    params = inspect.signature(model_info(name).builder).parameters.values()
    return {p.name: p.default for p in params}


def test_imagenet_file_names_are_keras_applications_own():
    from keras.src.applications import densenet, mobilenet, vgg16, vgg19

    from kerascnn.models import model_info

    def file_of(name, **kw):
        return model_info(name).builder.imagenet({**_defaults(name), **kw})

    assert file_of("vgg16", include_top=True).origin == vgg16.WEIGHTS_PATH
    assert file_of("vgg19", include_top=False).origin == vgg19.WEIGHTS_PATH_NO_TOP
    assert file_of("densenet121", include_top=True).origin == densenet.DENSENET121_WEIGHT_PATH
    assert file_of("mobilenet", include_top=False, input_shape=(160, 160, 3)).origin == (
        mobilenet.BASE_WEIGHT_PATH + "mobilenet_1_0_160_tf_no_top.h5"
    )
    assert file_of("mobilenetv2", include_top=True, alpha=0.35).file_name == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224.h5"
    )
    assert file_of("resnet50", include_top=False, style="keras").origin.endswith(
        "keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("resnet50", {}, "needs style='keras'"),
        ("resnet50", {"style": "keras", "input_shape": (32, 32, 3)}, "ImageNet stem"),
        ("densenet121", {"input_shape": (32, 32, 3)}, "ImageNet stem"),
        ("mobilenetv2", {"alpha": 0.6}, "alpha in"),
        ("mobilenetv2", {"input_shape": (32, 32, 3)}, "adapt_strides"),
        ("vgg16", {"classes": 10}, "classes=1000"),
    ],
)
def test_imagenet_refuses_layouts_its_weights_do_not_fit(name, kwargs, match, monkeypatch):
    monkeypatch.setenv("KERASCNN_NO_DOWNLOAD", "1")
    with pytest.raises(ArgumentError, match=match):
        create_model(name, weights="imagenet", **kwargs)


def test_feature_info_needs_a_known_size():
    with pytest.raises(ArgumentError, match="known input size"):
        feature_info(create_model("resnet18", input_shape=(None, None, 3), include_top=False))
