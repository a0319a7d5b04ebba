"""tfds:NAME: tiny tensorflow-datasets builders defined here, prepared into a temporary data dir
(no network), then read back by load_dataset. The builders skip tfds' registry, so they are found
the way a prepared dataset copied from another machine is: from its files in the data dir."""

import io

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from kerascnn.data import load_dataset  # noqa: E402
from kerascnn.errors import (  # noqa: E402
    ArgumentError,
    CorruptDataError,
    DatasetNotFoundError,
    DatasetTooLargeError,
)

NAMES = ["cat", "dog", "emu"]


def _info(builder, image, label, supervised=("image", "label")):
    return tfds.core.DatasetInfo(
        builder=builder,
        features=tfds.features.FeaturesDict({"image": image, "label": label}),
        supervised_keys=supervised,
    )


class KerascnnTfdsGray(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """8x8 grayscale; pixel value 10*i, label i % 3; train 12, test 6."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return _info(
            self, tfds.features.Image(shape=(8, 8, 1)), tfds.features.ClassLabel(names=NAMES)
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(0, 12), "test": self._generate_examples(12, 18)}

    def _generate_examples(self, start, stop):
        for i in range(start, stop):
            yield i, {"image": np.full((8, 8, 1), 10 * i, np.uint8), "label": i % 3}


class KerascnnTfdsSizes(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """RGB images of varying size (5x7, 9x4, ...); label i % 2."""

    VERSION = tfds.core.Version("2.1.0")

    def _info(self):
        return _info(
            self,
            tfds.features.Image(shape=(None, None, 3)),
            tfds.features.ClassLabel(names=["odd", "even"][::-1]),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(0, 6), "test": self._generate_examples(6, 9)}

    def _generate_examples(self, start, stop):
        for i in range(start, stop):
            h, w = (5, 7) if i % 2 else (9, 4)
            yield i, {"image": np.full((h, w, 3), 20 * i, np.uint8), "label": i % 2}


class KerascnnTfdsTrainOnly(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Only a train split: 20 examples, 10 per class."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return _info(
            self, tfds.features.Image(shape=(4, 4, 1)), tfds.features.ClassLabel(names=NAMES[:2])
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i in range(20):
            yield i, {"image": np.full((4, 4, 1), i, np.uint8), "label": i % 2}


class KerascnnTfdsNoLabel(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """An image and a plain integer: not a classification dataset."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {"image": tfds.features.Image(shape=(4, 4, 1)), "count": np.int64}
            ),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i in range(3):
            yield i, {"image": np.zeros((4, 4, 1), np.uint8), "count": i}


class KerascnnTfdsBroken(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """PNG-encoded 4x4 images (pixel value i), example 2 of each split a broken PNG."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return _info(
            self, tfds.features.Image(shape=(4, 4, 1)), tfds.features.ClassLabel(names=NAMES[:2])
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(0), "test": self._generate_examples(10)}

    def _generate_examples(self, start):
        from PIL import Image

        for i in range(start, start + 6):
            buf = io.BytesIO()
            Image.fromarray(np.full((4, 4), i, np.uint8)).save(buf, "PNG")
            data = b"\x89PNG\r\n\x1a\nbroken" if i == start + 2 else buf.getvalue()
            yield i, {"image": io.BytesIO(data), "label": i % 2}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tfds")
    for cls in (
        KerascnnTfdsGray,
        KerascnnTfdsSizes,
        KerascnnTfdsTrainOnly,
        KerascnnTfdsNoLabel,
        KerascnnTfdsBroken,
    ):
        cls(data_dir=str(folder)).download_and_prepare()
    return folder


def test_prepared_grayscale(data_dir):
    ds = load_dataset("tfds:kerascnn_tfds_gray", data_dir=data_dir)
    assert ds.x_train.shape == (12, 8, 8, 1) and ds.x_test.shape == (6, 8, 8, 1)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.class_names == tuple(NAMES) and ds.name == "kerascnn_tfds_gray"
    # every image carries its index (pixel 10*i): labels must stay with their images
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        idx = x[:, 0, 0, 0].astype(int) // 10
        assert (idx % 3 == y).all() and (x == x[:, :1, :1, :1]).all()
    assert sorted(ds.x_test[:, 0, 0, 0] // 10) == list(range(12, 18))
    assert ds.split == "tfds splits train / test"
    assert ds.source == f"tensorflow-datasets kerascnn_tfds_gray 1.0.0 in {data_dir}"


def test_image_size_and_splits(data_dir):
    ds = load_dataset("tfds:kerascnn_tfds_gray", data_dir=data_dir, image_size=(4, 6))
    assert ds.input_shape == (4, 6, 1)
    assert (ds.x_train == ds.x_train[:, :1, :1, :1]).all()  # a flat image stays flat
    ds = load_dataset(
        "tfds:kerascnn_tfds_gray", data_dir=data_dir, splits=("train[:50%]", "train[50%:]")
    )
    assert len(ds.x_train) == len(ds.x_test) == 6
    assert ds.split == "tfds splits train[:50%] / train[50%:]"
    with pytest.raises(ArgumentError, match=r"'nope' is not a split.*train \(12\)"):
        load_dataset("tfds:kerascnn_tfds_gray", data_dir=data_dir, splits=("nope", "test"))
    with pytest.raises(ArgumentError, match=r"Received: splits='train'"):
        load_dataset("tfds:kerascnn_tfds_gray", data_dir=data_dir, splits="train")


def test_env_data_dir(data_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(data_dir))
    assert load_dataset("tfds:kerascnn_tfds_gray").num_classes == 3


def test_varying_sizes(data_dir):
    with pytest.raises(CorruptDataError) as err:
        load_dataset("tfds:kerascnn_tfds_sizes", data_dir=data_dir)
    msg = str(err.value)
    assert "differ in size" in msg and "9x4x3" in msg and "5x7x3" in msg
    assert msg.endswith("Received: image_size=None")
    ds = load_dataset("tfds:kerascnn_tfds_sizes", data_dir=data_dir, image_size=6, aspect="pad")
    assert ds.x_train.shape == (6, 6, 6, 3) and ds.x_test.shape == (3, 6, 6, 3)
    assert ds.class_names == ("even", "odd") and "2.1.0" in ds.source
    # each label still matches its image (pixel value 20*i, label i % 2); pad leaves black bands
    value = ds.x_train.max(axis=(1, 2, 3)).astype(int) // 20
    assert (value % 2 == ds.y_train).all()
    assert (ds.x_train[:, :, 0] == 0).any()


def test_train_only_gets_a_stratified_split(data_dir):
    ds = load_dataset("tfds:kerascnn_tfds_train_only", data_dir=data_dir, test_fraction=0.3)
    assert np.bincount(ds.y_test).tolist() == [3, 3] and np.bincount(ds.y_train).tolist() == [7, 7]
    assert ds.split == "tfds split train, stratified 30% test split, seed 0"
    again = load_dataset("tfds:kerascnn_tfds_train_only", data_dir=data_dir, test_fraction=0.3)
    other = load_dataset(
        "tfds:kerascnn_tfds_train_only", data_dir=data_dir, test_fraction=0.3, seed=4
    )
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    assert set(ds.x_test[:, 0, 0, 0]) != set(other.x_test[:, 0, 0, 0])
    assert set(ds.x_test[:, 0, 0, 0]).isdisjoint(ds.x_train[:, 0, 0, 0])


def test_not_prepared_names_the_dir(tmp_path, data_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("tfds:kerascnn_tfds_gray", data_dir=empty)
    msg = str(err.value)
    assert f"not prepared in {empty} (--data-dir)" in msg
    assert "tfds build kerascnn_tfds_gray --data_dir DIR" in msg and "TFDS_DATA_DIR" in msg
    with pytest.raises(
        DatasetNotFoundError, match=r"'mnist' is not prepared in .*tfds build mnist"
    ):
        load_dataset("tfds:mnist", data_dir=empty)  # a known name: nothing is downloaded
    assert not any(empty.rglob("*.tfrecord*")) and not any(empty.rglob("*.gz"))  # no download
    with pytest.raises(DatasetNotFoundError, match="did you mean: mnist"):
        load_dataset("tfds:mnsit", data_dir=empty)


def test_unusable_datasets(data_dir, monkeypatch):
    with pytest.raises(ArgumentError) as err:
        load_dataset("tfds:kerascnn_tfds_no_label", data_dir=data_dir)
    msg = str(err.value)
    assert "ClassLabel" in msg and "image: Image" in msg and "count: Tensor" in msg
    with pytest.raises(ArgumentError, match="'huggingface' namespace"):
        load_dataset("tfds:huggingface:mnist", data_dir=data_dir)
    import kerascnn.data.dataset as D

    monkeypatch.setattr(D, "MAX_IN_MEMORY_BYTES", 100)
    with pytest.raises(DatasetTooLargeError, match=r"18 images at 8x8x1"):
        load_dataset("tfds:kerascnn_tfds_gray", data_dir=data_dir)
    with pytest.raises(DatasetTooLargeError, match=r"9 images at (9x4|5x7)x3"):  # the first
        load_dataset("tfds:kerascnn_tfds_sizes", data_dir=data_dir)


def test_undecodable_examples(data_dir):
    with pytest.raises(CorruptDataError) as err:
        load_dataset("tfds:kerascnn_tfds_broken", data_dir=data_dir)
    msg = str(err.value)
    assert "Split 'train'" in msg and "Invalid PNG" in msg and "skip_bad=True" in msg
    ds = load_dataset("tfds:kerascnn_tfds_broken", data_dir=data_dir, skip_bad=True)
    assert sorted(ds.x_train[:, 0, 0, 0]) == [0, 1, 3, 4, 5]
    assert sorted(ds.x_test[:, 0, 0, 0]) == [10, 11, 13, 14, 15]
    assert (ds.x_train[:, 0, 0, 0] % 2 == ds.y_train).all()
    assert ds.skipped == (
        "tfds:kerascnn_tfds_broken split train: 1 example(s) that could not be read",
        "tfds:kerascnn_tfds_broken split test: 1 example(s) that could not be read",
    )


def test_without_tensorflow_datasets(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "tensorflow_datasets", None)
    with pytest.raises(DatasetNotFoundError, match=r"needs tensorflow-datasets.*folder:PATH"):
        load_dataset("tfds:mnist")
