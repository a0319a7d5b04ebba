"""CIFAR-10 and CIFAR-100 from small files written in CIFAR's own python format (pickled dicts
with bytes keys, protocol 2): data dirs, the Keras cache, archives, corrupt files."""

import os
import pickle
import tarfile

import numpy as np
import pytest

from kerascnn.data import DATASET_DESCRIPTIONS, list_datasets, load_dataset
from kerascnn.data.cifar import CIFAR10_CLASSES, CIFAR100_CLASSES
from kerascnn.errors import CorruptDataError, DatasetNotFoundError


@pytest.fixture(autouse=True)
def _no_env_dirs(monkeypatch, tmp_path):
    monkeypatch.delenv("KERASCNN_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # an empty Keras cache


def dump(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)


def cifar_rows(n, seed):
    """``n`` CIFAR rows (R plane, G plane, B plane of 32x32) and the same images as NHWC."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return x.transpose(0, 3, 1, 2).reshape(n, 3072), x


def make_cifar10(folder, n=4):
    images = {}
    for i, part in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        rows, x = cifar_rows(n, i)
        labels = [(j + i) % 10 for j in range(n)]
        dump(folder / part, {b"batch_label": part.encode(), b"data": rows, b"labels": labels})
        images[part] = (x, labels)
    return images


def make_cifar100(folder, n_train=6, n_test=4, meta=True):
    out = {}
    for part, n, seed in (("train", n_train, 10), ("test", n_test, 11)):
        rows, x = cifar_rows(n, seed)
        fine = [(7 * j + seed) % 100 for j in range(n)]
        dump(
            folder / part,
            {
                b"filenames": [f"{j}.png".encode() for j in range(n)],
                b"data": rows,
                b"fine_labels": fine,
                b"coarse_labels": [f // 5 for f in fine],
            },
        )
        out[part] = (x, fine)
    if meta:
        names = [f"name{i:02d}".encode() for i in range(100)]
        dump(folder / "meta", {b"fine_label_names": names, b"coarse_label_names": []})
    return out


def test_registered():
    assert "cifar100" in list_datasets() and "cifar100" in DATASET_DESCRIPTIONS
    assert len(CIFAR100_CLASSES) == len(set(CIFAR100_CLASSES)) == 100
    assert (
        CIFAR100_CLASSES[:3] == ("apple", "aquarium_fish", "baby")
        and CIFAR100_CLASSES[-1] == "worm"
    )


def test_cifar10_from_data_dir(tmp_path):
    images = make_cifar10(tmp_path / "cifar-10-batches-py")
    ds = load_dataset("cifar10", data_dir=tmp_path)
    assert ds.x_train.shape == (20, 32, 32, 3) and ds.x_test.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(ds.x_train[:4], images["data_batch_1"][0])  # planes -> HWC
    np.testing.assert_array_equal(ds.x_test, images["test_batch"][0])
    assert ds.y_test.tolist() == images["test_batch"][1] and ds.class_names == CIFAR10_CLASSES
    assert ds.source == str(tmp_path / "cifar-10-batches-py")
    assert "data_batch_1-5 / test_batch" in ds.split


def test_cifar100_from_data_dir_and_its_subfolder(tmp_path):
    files = make_cifar100(tmp_path / "direct")
    ds = load_dataset("cifar100", data_dir=tmp_path / "direct")
    assert ds.x_train.shape == (6, 32, 32, 3) and ds.x_test.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(ds.x_train, files["train"][0])
    assert ds.y_train.tolist() == files["train"][1] and ds.y_test.tolist() == files["test"][1]
    assert ds.num_classes == 100 and ds.class_names[3] == "name03"  # from meta
    make_cifar100(tmp_path / "parent" / "cifar-100-python", meta=False)
    ds2 = load_dataset("cifar100", data_dir=tmp_path / "parent")
    assert ds2.class_names == CIFAR100_CLASSES  # no meta: the built-in names
    assert ds2.source == str(tmp_path / "parent" / "cifar-100-python")
    assert load_dataset("cifar100", data_dir=tmp_path / "direct", image_size=16).input_shape == (
        16,
        16,
        3,
    )


def test_cifar100_env_data_dir(tmp_path, monkeypatch):
    make_cifar100(tmp_path / "env" / "cifar-100-python")
    monkeypatch.setenv("KERASCNN_DATA_DIR", str(tmp_path / "env"))
    assert len(load_dataset("cifar100").x_train) == 6


def test_cifar100_from_keras_cache_archive(tmp_path):
    staging = tmp_path / "staging"
    files = make_cifar100(staging / "cifar-100-python")
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    with tarfile.open(cache / "cifar-100-python.tar.gz", "w:gz") as tf:
        tf.add(staging / "cifar-100-python", arcname="cifar-100-python")
    ds = load_dataset("cifar100")  # no data dir: the Keras cache, downloads are off in tests
    np.testing.assert_array_equal(ds.x_test, files["test"][0])
    assert (cache / "cifar-100-python" / "train").is_file()  # extracted beside the archive
    assert ds.source == str(cache / "cifar-100-python")


def test_cifar100_keras3_cache_layout(tmp_path):
    cache = tmp_path / "keras_home" / "datasets"
    make_cifar100(cache / "cifar-100-python-target" / "cifar-100-python")
    assert load_dataset("cifar100").x_train.shape == (6, 32, 32, 3)


def test_corrupt_files(tmp_path):
    make_cifar100(tmp_path)
    (tmp_path / "test").write_bytes(b"\x80\x02garbage")
    with pytest.raises(CorruptDataError, match=f"{tmp_path / 'test'} is not a readable CIFAR-100"):
        load_dataset("cifar100", data_dir=tmp_path)
    dump(tmp_path / "test", {b"data": np.zeros((2, 3072), np.uint8)})  # no labels
    with pytest.raises(CorruptDataError, match="no fine_labels"):
        load_dataset("cifar100", data_dir=tmp_path)
    dump(tmp_path / "test", {b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [0, 1]})
    with pytest.raises(CorruptDataError, match="not a readable CIFAR-100 file"):
        load_dataset("cifar100", data_dir=tmp_path)
    c10 = tmp_path / "c10"
    make_cifar10(c10)
    (c10 / "data_batch_3").write_bytes(b"")
    with pytest.raises(CorruptDataError, match="data_batch_3 is not a readable CIFAR-10 batch"):
        load_dataset("cifar10", data_dir=c10)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickles_cannot_run_code(tmp_path):
    make_cifar100(tmp_path)
    dump(tmp_path / "meta", {b"fine_label_names": _Evil()})
    with pytest.raises(CorruptDataError, match="refusing to load global"):
        load_dataset("cifar100", data_dir=tmp_path)


def test_corrupt_archive(tmp_path):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "cifar-100-python.tar.gz").write_bytes(b"not gzip at all")
    with pytest.raises(CorruptDataError, match="cifar-100-python.tar.gz is not a readable archive"):
        load_dataset("cifar100")


def test_not_found_lists_where_it_looked(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("cifar100", data_dir=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "cifar-100-python") in msg and "keras.datasets.cifar100" in msg
    assert str(tmp_path / "keras_home" / "datasets" / "cifar-100-python") in msg
