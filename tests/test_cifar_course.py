"""CIFAR-10 as the course runs it (benchmarks/cifar10-course.toml), end to end on small files in
CIFAR's own format: per-channel normalization, crop + flip, the per-model recipes."""

import json

import keras
import numpy as np
import pytest
from test_data_cifar import make_cifar10

from kerascnn.bench.config import BenchConfig
from kerascnn.bench.training import build_for_precision
from kerascnn.data import Dataset
from kerascnn.errors import ConfigError

SUITE = "benchmarks/cifar10-course.toml"


@pytest.fixture(autouse=True)
def _no_env_dirs(monkeypatch, tmp_path):
    monkeypatch.delenv("KERASCNN_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # an empty Keras cache


def test_channel_stats_are_numpys_over_the_training_images():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5000, 8, 8, 3), dtype=np.uint8)  # more than one 4096-image chunk
    x[..., 2] //= 4  # a darker, narrower channel
    ds = Dataset("t", x, np.zeros(5000, "int64"), x[:2], np.zeros(2, "int64"), ("a",))
    mean, std = ds.channel_stats
    f = x.astype(np.float64) / 255
    np.testing.assert_allclose(mean, f.mean(axis=(0, 1, 2)), rtol=1e-10)
    np.testing.assert_allclose(std, f.std(axis=(0, 1, 2)), rtol=1e-9)


def test_the_normalization_layer_subtracts_the_mean_and_divides_by_the_std(tmp_path):
    mean, std = (0.5, 0.25, 0.1), (0.2, 0.1, 0.05)
    model = build_for_precision("lenet", (32, 32, 3), 10, "float32", normalization=(mean, std))
    norm = model.get_layer("normalize")
    x = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    want = (x - np.float32(mean)) / np.float32(std)
    np.testing.assert_allclose(np.asarray(norm(x)), want, rtol=1e-5, atol=1e-5)
    # the statistics live in the layer's configuration: no parameters; a saved model keeps them
    plain = build_for_precision("lenet", (32, 32, 3), 10, "float32")
    assert model.count_params() == plain.count_params()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras").get_layer("normalize")
    np.testing.assert_allclose(np.asarray(loaded(x)), want, rtol=1e-5, atol=1e-5)


def test_the_course_suite_reads_as_the_course(tmp_path):
    cfg = BenchConfig.from_toml(SUITE)
    assert (cfg.normalize, cfg.augment, cfg.datasets) == (
        "per_channel",
        ["crop", "flip"],
        ["cifar10"],
    )
    course = cfg.for_model("cifar_cnn")
    assert (course.batch_size, course.learning_rate, course.epochs, course.schedule) == (
        128,
        1e-4,
        20,
        "constant",
    )
    for model in ("simple_cnn", "resnet18"):
        seed000 = cfg.for_model(model)
        assert (seed000.learning_rate, seed000.epochs, seed000.schedule) == (1e-3, 10, "cosine")
    assert cfg.targets == {"cifar_cnn": 0.8647}
    with pytest.raises(ConfigError, match="normalize"):
        BenchConfig.from_dict({**cfg.to_dict(), "normalize": "per_pixel"}).validate_values()


def test_the_course_suite_runs_end_to_end_on_cifar_format_files(tmp_path):
    from click.testing import CliRunner

    from kerascnn.cli import main

    data = tmp_path / "data" / "cifar-10-batches-py"
    images = make_cifar10(data, n=16)
    out = tmp_path / "run"
    args = ["bench", "--suite", SUITE, "--data-dir", str(tmp_path / "data"), "--epochs", "1"]
    args += ["--models", "cifar_cnn,simple_cnn", "--out", str(out), "--no-report"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    records = {
        r["model"]: r for r in (json.loads(p.read_text()) for p in (out / "results").glob("*.json"))
    }
    assert set(records) == {"cifar_cnn", "simple_cnn"}
    train = np.concatenate([images[f"data_batch_{k}"][0] for k in range(1, 6)]) / 255.0
    for record in records.values():
        assert record["status"] == "ok", record.get("error")
        stats = record["dataset_info"]["normalization"]
        np.testing.assert_allclose(stats["mean"], train.mean(axis=(0, 1, 2)), atol=1e-6)
        np.testing.assert_allclose(stats["std"], train.std(axis=(0, 1, 2)), atol=1e-6)
        assert record["config"]["augment"] == ["crop", "flip"]
    assert records["cifar_cnn"]["config"]["learning_rate"] == 1e-4
    assert records["simple_cnn"]["config"]["schedule"] == "cosine"
    keras.backend.clear_session()
