"""folder:PATH datasets, written with Pillow from real Fashion-MNIST images (the embedded subset):
layouts, formats, channels, splits, resizing, unreadable files and every clear error."""

import numpy as np
import pytest
from PIL import Image

from kerascnn.data import load_dataset
from kerascnn.errors import (
    ArgumentError,
    CorruptDataError,
    DatasetNotFoundError,
    DatasetTooLargeError,
)

CLASSES = ("a_tshirt", "b_trouser", "c_pullover", "d_dress")  # sorted: labels 0..3
PER_CLASS = 10


@pytest.fixture(scope="module")
def source():
    """``{class name: (PER_CLASS, 28, 28) uint8}`` from the embedded Fashion-MNIST subset."""
    ds = load_dataset("fashion_mnist_mini")
    return {
        name: ds.x_train[ds.y_train == k][:PER_CLASS, :, :, 0] for k, name in enumerate(CLASSES)
    }


def write_class(folder, images, ext=".png", prefix="img"):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = folder / f"{prefix}{i:03d}{ext}"
        Image.fromarray(img).save(path)
        paths.append(path)
    return paths


def write_folder(root, source, ext=".png", classes=CLASSES):
    for name in classes:
        write_class(root / name, source[name], ext)
    return root


def lookup(source):
    return {img.tobytes(): k for k, name in enumerate(CLASSES) for img in source[name]}


def test_png_folder_is_exact(tmp_path, source):
    root = write_folder(tmp_path / "fashion4", source)
    ds = load_dataset(f"folder:{root}")
    assert ds.class_names == CLASSES and ds.name == "fashion4"
    assert ds.source == str(root.resolve())
    assert ds.x_train.shape == (32, 28, 28, 1) and ds.x_test.shape == (8, 28, 28, 1)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.split == "stratified 20% test split, seed 0" and ds.skipped == ()
    # PNG is lossless: every image is one of the source's, under its own class, none lost
    known = lookup(source)
    got = [(x[..., 0].tobytes(), y) for x, y in zip(ds.x_train, ds.y_train)]
    got += [(x[..., 0].tobytes(), y) for x, y in zip(ds.x_test, ds.y_test)]
    assert all(known[b] == y for b, y in got)
    assert len({b for b, _ in got}) == len(known) == 40
    assert np.bincount(ds.y_test).tolist() == [2, 2, 2, 2]


def test_formats_and_ignored_entries(tmp_path, source):
    root = tmp_path / "mixed"
    imgs = source["a_tshirt"]
    write_class(root / "a", imgs[:3], ".bmp")
    write_class(root / "a", imgs[3:6], ".gif", prefix="g")
    write_class(root / "a", imgs[6:8], ".PNG", prefix="u")  # upper-case extension
    write_class(root / "a" / "nested", imgs[8:10], ".png")  # found recursively
    write_class(root / "b", source["b_trouser"][:5], ".jpg")
    write_class(root / "b", source["b_trouser"][5:], ".jpeg", prefix="j")
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / ".DS_Store").write_bytes(b"\0junk")
    write_class(root / "a" / ".thumbs", imgs[:2], ".png")  # hidden folder: ignored
    write_class(root / ".hidden_class", imgs[:2], ".png")  # hidden class: ignored
    ds = load_dataset(f"folder:{root}", test_fraction=0.1)
    assert ds.class_names == ("a", "b") and ds.input_shape == (28, 28, 1)
    assert len(ds.x_train) + len(ds.x_test) == 20
    a_imgs = np.concatenate([ds.x_train[ds.y_train == 0], ds.x_test[ds.y_test == 0]])[..., 0]
    assert {i.tobytes() for i in a_imgs} == {i.tobytes() for i in imgs}  # BMP, GIF, PNG: exact
    b_imgs = np.concatenate([ds.x_train[ds.y_train == 1], ds.x_test[ds.y_test == 1]])
    assert b_imgs.shape == (10, 28, 28, 1)
    assert 20 < b_imgs.mean() and abs(b_imgs.mean() - source["b_trouser"].mean()) < 3  # JPEG


def test_colour_makes_three_channels(tmp_path, source):
    root = tmp_path / "colour"
    gray = source["a_tshirt"][:4]
    write_class(root / "gray", gray)
    rgb = np.stack([source["b_trouser"][:4], gray, 255 - gray], axis=-1)
    write_class(root / "rgb", rgb)
    rgba = np.concatenate([rgb[:2], np.full((2, 28, 28, 1), 7, np.uint8)], axis=-1)
    write_class(root / "rgb", rgba, prefix="alpha")
    ds = load_dataset(f"folder:{root}", test_fraction=0.25)
    assert ds.input_shape == (28, 28, 3)
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    gray_out = x[y == 0]
    assert (gray_out[..., 0] == gray_out[..., 1]).all() and (
        gray_out[..., 1] == gray_out[..., 2]
    ).all()
    assert {g[..., 0].tobytes() for g in gray_out} == {g.tobytes() for g in gray}
    rgb_out = {i.tobytes() for i in x[y == 1]}
    assert {i.tobytes() for i in rgb} <= rgb_out  # RGBA lost only its alpha
    assert len(rgb_out) == 4


def test_train_test_folders(tmp_path, source):
    for test_name in ("test", "val", "validation"):
        root = tmp_path / test_name
        for name in CLASSES[:3]:
            write_class(root / "train" / name, source[name][:7])
            write_class(root / test_name / name, source[name][7:])
        ds = load_dataset(f"folder:{root}")
        assert ds.split == f"train/ and {test_name}/ folders"
        assert np.bincount(ds.y_train).tolist() == [7, 7, 7]
        assert np.bincount(ds.y_test).tolist() == [3, 3, 3]
        np.testing.assert_array_equal(ds.x_test[0, ..., 0], source[CLASSES[0]][7])  # sorted
    for name in CLASSES[:3]:  # add test/ beside validation/: test/ wins
        write_class(root / "test" / name, source[name][:1])
    ds = load_dataset(f"folder:{root}")
    assert ds.split == "train/ and test/ folders (validation/ not used)" and len(ds.x_test) == 3


def test_train_test_class_sets_must_agree(tmp_path, source):
    root = tmp_path / "split"
    for name in CLASSES[:3]:
        write_class(root / "train" / name, source[name][:5])
    for name in CLASSES[1:]:
        write_class(root / "test" / name, source[name][5:])
    with pytest.raises(CorruptDataError) as err:
        load_dataset(f"folder:{root}")
    msg = str(err.value)
    assert "only in train/: a_tshirt" in msg and "only in test/: d_dress" in msg


def test_split_folders_beside_classes_is_ambiguous(tmp_path, source):
    root = tmp_path / "odd"
    write_class(root / "train" / "x", source["a_tshirt"][:2])
    write_class(root / "test" / "x", source["a_tshirt"][2:4])
    write_class(root / "cats", source["b_trouser"][:2])
    with pytest.raises(CorruptDataError, match=r"folders with images \(cats\)"):
        load_dataset(f"folder:{root}")


def test_stratified_split_is_seeded(tmp_path, source):
    root = write_folder(tmp_path / "f", source)
    a = load_dataset(f"folder:{root}", seed=0)
    b = load_dataset(f"folder:{root}", seed=0)
    c = load_dataset(f"folder:{root}", seed=1)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert {x.tobytes() for x in a.x_test} != {x.tobytes() for x in c.x_test}
    d = load_dataset(f"folder:{root}", test_fraction=0.3, seed=5)
    assert np.bincount(d.y_test).tolist() == [3] * 4 and np.bincount(d.y_train).tolist() == [7] * 4
    assert d.split == "stratified 30% test split, seed 5"
    # a tiny class still keeps a training image, even when nearly all of it is asked for
    tiny = tmp_path / "tiny"
    write_class(tiny / "one", source["a_tshirt"][:1])
    write_class(tiny / "two", source["b_trouser"][:2])
    e = load_dataset(f"folder:{tiny}", test_fraction=0.9)
    assert np.bincount(e.y_train, minlength=2).tolist() == [1, 1]
    assert e.y_test.tolist() == [1]


@pytest.fixture
def sized(tmp_path, source):
    """Class ``small``: 28x28 Fashion-MNIST images; class ``wide``: white 20x40 images."""
    root = tmp_path / "sized"
    small = write_class(root / "small", source["a_tshirt"][:3])
    wide = write_class(root / "wide", np.full((3, 20, 40), 255, np.uint8))
    return root, small, wide


def test_sizes_differ_needs_image_size(sized):
    root, small, wide = sized
    with pytest.raises(CorruptDataError) as err:
        load_dataset(f"folder:{root}")
    msg = str(err.value)
    assert f"{small[0]} is 28x28" in msg and f"{wide[0]} is 20x40" in msg
    assert "image_size" in msg and msg.endswith("Received: image_size=None")


def test_sizes_differ_with_image_size(sized):
    root, _, _ = sized
    for aspect in ("squash", "crop", "pad"):
        ds = load_dataset(f"folder:{root}", image_size=(40, 40), aspect=aspect, test_fraction=0.34)
        assert ds.input_shape == (40, 40, 1) and len(ds.x_train) + len(ds.x_test) == 6
        x = np.concatenate([ds.x_train, ds.x_test])[..., 0]
        wide = x[np.concatenate([ds.y_train, ds.y_test]) == 1]
        if aspect == "pad":  # 20x40 padded to 40x40: black bands of 10 rows above and below
            assert (wide[:, :10] == 0).all() and (wide[:, 30:] == 0).all()
            assert (wide[:, 10:30] == 255).all()
        else:  # squash stretches, crop cuts: white all over
            assert (wide == 255).all()


def test_unreadable_file(tmp_path, source):
    root = write_folder(tmp_path / "bad", source, classes=CLASSES[:2])
    junk = root / CLASSES[0] / "junk.png"
    junk.write_bytes(b"this is not a png")
    full = (root / CLASSES[1] / "img000.png").read_bytes()
    truncated = root / CLASSES[1] / "cut.png"
    truncated.write_bytes(full[: len(full) // 2])  # a good header, half the data
    with pytest.raises(CorruptDataError) as err:
        load_dataset(f"folder:{root}")
    assert str(junk) in str(err.value) and "skip_bad=True" in str(err.value)
    junk.unlink()
    with pytest.raises(CorruptDataError, match="cut.png.*--skip-bad-images"):
        load_dataset(f"folder:{root}")  # found when decoding
    junk.write_bytes(b"this is not a png")
    ds = load_dataset(f"folder:{root}", skip_bad=True)
    assert sorted(ds.skipped) == sorted([str(junk.resolve()), str(truncated.resolve())])
    assert len(ds.x_train) + len(ds.x_test) == 20 and ds.class_names == CLASSES[:2]


def test_layout_errors(tmp_path, source):
    with pytest.raises(DatasetNotFoundError, match=r"does not exist.*Received: folder:"):
        load_dataset(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DatasetNotFoundError, match="is a file, not a folder"):
        load_dataset(f"folder:{tmp_path / 'file.png'}")
    loose = tmp_path / "loose"
    write_class(loose, source["a_tshirt"][:3])
    with pytest.raises(DatasetNotFoundError, match=r"no class folders \(3 images lie directly"):
        load_dataset(f"folder:{loose}")
    noimg = tmp_path / "noimg"
    for name in ("x", "y"):
        (noimg / name).mkdir(parents=True)
        (noimg / name / "readme.txt").write_text("hi")
    with pytest.raises(DatasetNotFoundError, match=r"No images \(.jpg .jpeg .png .bmp .gif\)"):
        load_dataset(f"folder:{noimg}")
    empty = write_folder(tmp_path / "empty", source, classes=CLASSES[:2])
    (empty / "zz_empty").mkdir()
    with pytest.raises(CorruptDataError) as err:
        load_dataset(f"folder:{empty}")
    assert str(empty.resolve() / "zz_empty") in str(err.value) and "no images" in str(err.value)
    single = write_folder(tmp_path / "single", source, classes=CLASSES[:1])
    with pytest.raises(CorruptDataError, match=r"single class folder \(a_tshirt\).*at least 2"):
        load_dataset(f"folder:{single}")
    root = write_folder(tmp_path / "ok", source, classes=CLASSES[:2])
    with pytest.raises(ArgumentError, match="splits applies to tfds"):
        load_dataset(f"folder:{root}", splits=("train", "test"))
    with pytest.raises(ArgumentError, match=r"Received: test_fraction=1.5"):
        load_dataset(f"folder:{root}", test_fraction=1.5)


def test_memory_limit_before_decoding(tmp_path, source, monkeypatch):
    import kerascnn.data.dataset as D
    import kerascnn.data.folder as F

    root = write_folder(tmp_path / "big", source)
    monkeypatch.setattr(D, "MAX_IN_MEMORY_BYTES", 40 * 28 * 28)  # exactly fits at 28x28x1
    assert load_dataset(f"folder:{root}").input_shape == (28, 28, 1)

    def no_decoding(*args):
        raise AssertionError("decoded before the memory check")

    monkeypatch.setattr(F, "_decode", no_decoding)
    with pytest.raises(DatasetTooLargeError) as err:
        load_dataset(f"folder:{root}", image_size=(224, 224))
    msg = str(err.value)
    assert "in memory as arrays" in msg and "224x224x1" in msg and "40 images" in msg
    assert "smaller image_size" in msg and "subset" in msg


def test_home_folder(tmp_path, source, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_folder(tmp_path / "pics", source, classes=CLASSES[:2])
    ds = load_dataset("folder:~/pics")
    assert ds.name == "pics" and ds.num_classes == 2
