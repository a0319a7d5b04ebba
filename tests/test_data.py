import gzip
import struct

import numpy as np
import pytest
from conftest import requires_fashion

from kerascnn.data import load_dataset, load_npz, read_idx_images, read_idx_labels
from kerascnn.errors import CorruptDataError, DatasetNotFoundError


def write_idx(path, arr, magic, compress=True):
    header = struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def make_idx_set(folder, n_train=20, n_test=10, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "train-images-idx3-ubyte.gz": (rng.integers(0, 256, (n_train, 28, 28)), 0x803),
        "train-labels-idx1-ubyte.gz": (rng.integers(0, 10, n_train), 0x801),
        "t10k-images-idx3-ubyte.gz": (rng.integers(0, 256, (n_test, 28, 28)), 0x803),
        "t10k-labels-idx1-ubyte.gz": (rng.integers(0, 10, n_test), 0x801),
    }
    for name, (arr, magic) in data.items():
        write_idx(folder / name, arr, magic)
    return data


def test_embedded_default_is_real_and_stratified():
    ds = load_dataset("fashion_mnist_mini")
    assert ds.x_train.shape == (6000, 28, 28, 1) and ds.x_test.shape == (1000, 28, 28, 1)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == [600] * 10
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.num_classes == 10
    # real images, not noise: mean intensity of Fashion-MNIST is ~73 and backgrounds are 0
    assert 60 < ds.x_train.mean() < 90 and (ds.x_train == 0).mean() > 0.4


def test_idx_round_trip(tmp_path):
    data = make_idx_set(tmp_path / "fashion-mnist")
    ds = load_dataset("fashion_mnist", data_dir=tmp_path)  # finds the sub-folder
    np.testing.assert_array_equal(ds.x_train[..., 0], data["train-images-idx3-ubyte.gz"][0])
    np.testing.assert_array_equal(ds.y_test, data["t10k-labels-idx1-ubyte.gz"][0])
    assert ds.source == str(tmp_path / "fashion-mnist")


def test_env_data_dir(tmp_path, monkeypatch):
    make_idx_set(tmp_path)
    monkeypatch.setenv("KERASCNN_DATA_DIR", str(tmp_path))
    assert len(load_dataset("fashion_mnist").x_train) == 20


def test_plain_uncompressed_idx(tmp_path):
    arr = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    write_idx(tmp_path / "x", arr, 0x803, compress=False)
    assert read_idx_images(tmp_path / "x").shape == (2, 3, 4, 1)


def test_truncated_idx(tmp_path):
    make_idx_set(tmp_path)
    f = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(f.read_bytes())
    f.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(CorruptDataError, match="truncated"):
        load_dataset("fashion_mnist", data_dir=tmp_path)


def test_truncated_gzip_stream(tmp_path):
    make_idx_set(tmp_path)
    f = tmp_path / "train-labels-idx1-ubyte.gz"
    f.write_bytes(f.read_bytes()[:20])
    with pytest.raises(CorruptDataError, match="gzip"):
        load_dataset("fashion_mnist", data_dir=tmp_path)


def test_wrong_magic(tmp_path):
    make_idx_set(tmp_path)
    # a labels file where the images should be
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
        (tmp_path / "train-labels-idx1-ubyte.gz").read_bytes()
    )
    with pytest.raises(CorruptDataError, match="magic number 0x00000801"):
        load_dataset("fashion_mnist", data_dir=tmp_path)


def test_label_out_of_range(tmp_path):
    write_idx(tmp_path / "l.gz", np.array([0, 3, 12]), 0x801)
    with pytest.raises(CorruptDataError, match="labels"):
        read_idx_labels(tmp_path / "l.gz")


def test_count_mismatch(tmp_path):
    make_idx_set(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(7), 0x801)
    with pytest.raises(CorruptDataError, match="20 train images but 7 labels"):
        load_dataset("fashion_mnist", data_dir=tmp_path)


def test_missing_data_dir():
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset("fashion_mnist", data_dir="/no/such/folder")


def test_not_found_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("mnist", data_dir=tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and "Keras cache" in msg and "--data-dir" in msg


def test_unknown_dataset():
    with pytest.raises(
        DatasetNotFoundError, match="Unknown dataset 'fashion_mnits'.*fashion_mnist"
    ):
        load_dataset("fashion_mnits")


def test_npz(tmp_path):
    rng = np.random.default_rng(1)
    p = tmp_path / "d.npz"
    np.savez(
        p,
        x_train=rng.integers(0, 255, (8, 5, 5)),
        y_train=np.arange(8) % 3,
        x_test=rng.integers(0, 255, (4, 5, 5)),
        y_test=np.arange(4) % 3,
    )
    ds = load_dataset(f"npz:{p}")
    assert ds.input_shape == (5, 5, 1) and ds.num_classes == 3
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 3, 3)))
    with pytest.raises(CorruptDataError, match="lacks arrays"):
        load_npz(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CorruptDataError, match="not a readable"):
        load_npz(tmp_path / "junk.npz")


@requires_fashion
def test_real_fashion_mnist_from_debian():
    ds = load_dataset("fashion_mnist")
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert ds.source == "/usr/share/datasets/fashion-mnist"
