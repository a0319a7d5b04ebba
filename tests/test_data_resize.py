"""kerascnn.data.resize: check_image_size, resizing_layer, resize_images (one truth), and
image_size applied to the named and npz sources by load_dataset."""

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kerascnn.data import load_dataset
from kerascnn.data import resize as R
from kerascnn.errors import ArgumentError, DatasetTooLargeError

ACCEPTED = [
    (None, None),
    (5, (5, 5)),
    (np.int64(7), (7, 7)),
    ((3, 4), (3, 4)),
    ([30, 2], (30, 2)),
    (np.array([6, 9]), (6, 9)),
    ("64", (64, 64)),
    ("64x48", (64, 48)),
    (" 32 , 16 ", (32, 16)),
]
REJECTED = [
    0,
    -3,
    True,
    2.5,
    (0, 4),
    (4, -1),
    (4,),
    (1, 2, 3),
    (3.0, 4),
    ("3", "4"),
    "abc",
    "0x4",
    "",
]


def test_check_image_size_cases():
    for value, expected in ACCEPTED:
        assert R.check_image_size(value) == expected, value
    for value in REJECTED:
        with pytest.raises(ArgumentError, match=r"positive int.*Received: --image-size="):
            R.check_image_size(value, source="--image-size")


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_check_image_size_pairs_and_strings(h, w):
    assert R.check_image_size((h, w)) == (h, w)
    assert R.check_image_size(f"{h}x{w}") == (h, w)
    assert R.check_image_size(h) == (h, h)


@given(st.integers(-10_000, 0))
def test_check_image_size_non_positive(n):
    with pytest.raises(ArgumentError):
        R.check_image_size((n, 3))


def test_bad_aspect_everywhere():
    with pytest.raises(ArgumentError, match=r"Received: aspect='x'"):
        R.check_aspect("x")
    with pytest.raises(ArgumentError, match=r"Received: aspect='fit'"):
        R.resize_images(np.zeros((1, 4, 4, 1), np.uint8), (2, 2), aspect="fit")
    with pytest.raises(ArgumentError, match=r"Received: aspect='x'"):
        load_dataset("fashion_mnist_mini", aspect="x")
    assert R.ASPECT_MODES == ("squash", "crop", "pad")


def test_resizing_layer_options():
    for aspect in R.ASPECT_MODES:
        layer = R.resizing_layer((12, 7), aspect, name=f"r_{aspect}")
        assert isinstance(layer, keras.layers.Resizing) and layer.name == f"r_{aspect}"
        assert (layer.height, layer.width, layer.interpolation) == (12, 7, "bilinear")
        assert layer.crop_to_aspect_ratio == (aspect == "crop")
        assert layer.pad_to_aspect_ratio == (aspect == "pad")
    assert R.resizing_layer(9).height == 9 and R.resizing_layer(9).width == 9
    with pytest.raises(ArgumentError):
        R.resizing_layer(None)


def test_resize_images_is_the_layer():
    images = np.random.default_rng(0).integers(0, 256, (5, 13, 17, 3), dtype=np.uint8)
    for aspect in R.ASPECT_MODES:
        for size in [(8, 11), (20, 9), (13, 17)]:
            ours = R.resize_images(images, size, aspect)
            layer = R.resizing_layer(size, aspect)(images.astype("float32"))
            theirs = keras.ops.convert_to_numpy(layer)  # the layer called as in a model
            assert ours.dtype == np.uint8 and ours.shape == (5, *size, 3)
            # ours is the layer's output rounded: never more than half a level away
            assert np.abs(ours.astype(np.float64) - theirs).max() <= 0.5 + 1e-3, (aspect, size)


def test_resize_images_chunks_give_the_same(monkeypatch):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (7, 10, 6, 1), dtype=np.uint8)
    whole = R.resize_images(images, (5, 9), "pad")
    monkeypatch.setattr(R, "_CHUNK_FLOATS", 10)  # one image per call
    np.testing.assert_array_equal(R.resize_images(images, (5, 9), "pad"), whole)


def test_aspect_modes_on_known_images():
    wide = np.full((1, 10, 20, 1), 255, np.uint8)  # white, twice as wide as high
    padded = R.resize_images(wide, (20, 20), "pad")[0, :, :, 0]
    assert (padded[:5] == 0).all() and (padded[15:] == 0).all()  # black bands above, below
    assert (padded[5:15] == 255).all()
    halves = np.zeros((1, 10, 20, 1), np.uint8)
    halves[:, :, 10:] = 200  # left half black, right half grey
    cropped = R.resize_images(halves, (10, 10), "crop")[0, :, :, 0]  # centre columns 5..14
    assert (cropped[:, :5] == 0).all() and (cropped[:, 5:] == 200).all()
    squashed = R.resize_images(halves, (10, 10), "squash")[0, :, :, 0]  # all 20 columns, halved
    assert squashed[:, 0].max() == 0 and squashed[:, -1].min() == 200
    flat = np.full((2, 9, 31, 3), 77, np.uint8)
    for aspect in ("squash", "crop"):
        assert (R.resize_images(flat, (16, 16), aspect) == 77).all()


def test_resize_images_edge_cases():
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4, 1)
    assert R.resize_images(images, (4, 4)) is images  # already at the size
    assert R.resize_images(images[:0], (3, 3)).shape == (0, 3, 3, 1)
    with pytest.raises(ArgumentError, match=r"\(N, height, width, channels\)"):
        R.resize_images(images[0], (3, 3))


def test_batch_resizer_keeps_order():
    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, s, dtype=np.uint8) for s in [(6, 6, 3), (9, 4, 3), (6, 6, 3)]]
    imgs.append(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8))  # already at the target
    out = np.zeros((4, 5, 5, 3), np.uint8)
    resizer = R.BatchResizer(out, "crop", max_bytes=1)  # flush after every image
    for i, img in enumerate(imgs):
        resizer.add(i, img)
    resizer.flush()
    for i, img in enumerate(imgs):
        np.testing.assert_array_equal(out[i], R.resize_images(img[None], (5, 5), "crop")[0])


def test_image_size_on_named_and_npz(tmp_path):
    ds = load_dataset("fashion_mnist_mini", image_size=(32, 20), aspect="pad")
    assert ds.x_train.shape == (6000, 32, 20, 1) and ds.x_test.shape == (1000, 32, 20, 1)
    assert ds.x_train.dtype == np.uint8 and ds.split.startswith("the embedded")
    rng = np.random.default_rng(3)
    p = tmp_path / "d.npz"
    x = rng.integers(0, 255, (6, 9, 9, 3)).astype(np.uint8)
    np.savez(p, x_train=x, y_train=np.arange(6) % 2, x_test=x[:2], y_test=np.arange(2))
    small = load_dataset(f"npz:{p}", image_size=4, aspect="crop")
    assert small.input_shape == (4, 4, 3)
    np.testing.assert_array_equal(small.x_test, R.resize_images(x[:2], (4, 4), "crop"))


def test_memory_limit_on_named_set(monkeypatch):
    import kerascnn.data.dataset as D

    monkeypatch.setattr(D, "MAX_IN_MEMORY_BYTES", 7000 * 28 * 28 + 1)
    assert load_dataset("fashion_mnist_mini").x_train.shape[1:] == (28, 28, 1)  # as is: fits
    with pytest.raises(DatasetTooLargeError) as err:
        load_dataset("fashion_mnist_mini", image_size=(64, 64))
    msg = str(err.value)
    assert "in memory as arrays" in msg and "64x64x1" in msg and "image_size" in msg
