"""`kerascnn bench` on users' data: a folder of real images, --image-size on any dataset, and
the bad-folder cases as one-paragraph errors that lose nothing already finished."""

import json

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kerascnn.bench import BenchConfig
from kerascnn.bench.config import RunSpec
from kerascnn.bench.training import build_for_precision
from kerascnn.cli import main
from kerascnn.data import load_dataset
from kerascnn.errors import ConfigError

CLASSES = ("coat", "dress", "sandal")  # folder names: the class names the report must show
FAST = ["--epochs", "1", "--batch-size", "32", "--no-report"]


def _invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _assert_friendly(result, *words):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    text = result.output.strip().splitlines()[-1]
    assert text.startswith("Error: "), result.output
    for w in words:
        assert w in text, text


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """PNGs of the embedded Fashion-MNIST subset (labels 4, 3, 5), one folder per class."""
    root = tmp_path_factory.mktemp("images") / "clothes"
    ds = load_dataset("fashion_mnist_mini")
    for name, label in zip(CLASSES, (4, 3, 5)):
        (root / name).mkdir(parents=True)
        for i, img in enumerate(ds.x_train[ds.y_train == label][:20]):
            Image.fromarray(img[..., 0]).save(root / name / f"{i:03d}.png")
    return root


def test_bench_on_an_image_folder_shows_its_classes(image_folder, tmp_path):
    out = tmp_path / "run"
    args = ["bench", "--models", "lenet,resnet18", "--dataset", f"folder:{image_folder}"]
    result = _invoke([*args, "--image-size", "32", "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    assert [r["status"] for r in records] == ["ok", "ok"]
    info = records[0]["dataset_info"]
    assert info["class_names"] == list(CLASSES) and info["input_shape"] == [32, 32, 1]
    assert info["image_size"] == [32, 32] and "stratified" in info["split"]
    assert info["train_images"] + info["test_images"] == 60
    readme = (out / "README.md").read_text()
    assert "coat, dress, sandal" in readme
    assert "32x32" in (out / "results.csv").read_text()


def test_bad_folders_are_one_paragraph_and_lose_nothing(image_folder, tmp_path):
    out = tmp_path / "run"
    first = _invoke(
        ["bench", "--models", "lenet", "--train-limit", "200", *FAST, "--out", str(out)]
    )
    assert first.exit_code == 0, first.output
    done = sorted(p.name for p in (out / "results").glob("*.json"))
    empty = tmp_path / "empty_class"
    (empty / "a").mkdir(parents=True)
    (empty / "b").mkdir()
    Image.new("L", (8, 8)).save(empty / "a" / "x.png")
    single = tmp_path / "single"
    (single / "only").mkdir(parents=True)
    Image.new("L", (8, 8)).save(single / "only" / "x.png")
    broken = tmp_path / "broken"
    for c in ("a", "b"):
        (broken / c).mkdir(parents=True)
        for i in range(5):
            Image.new("L", (8, 8), color=40 * i).save(broken / c / f"ok{i}.png")
    (broken / "a" / "bad.png").write_bytes(b"not a png")
    none = tmp_path / "none"
    none.mkdir()
    tiny = tmp_path / "tiny"  # one image per class: nothing left to test on
    for c in ("a", "b"):
        (tiny / c).mkdir(parents=True)
        Image.new("L", (8, 8)).save(tiny / c / "x.png")
    cases = [
        (empty, ["b"]),
        (single, ["only"]),
        (broken, ["bad.png"]),
        (none, [str(none)]),
        (tiny, ["test split holds no images"]),
        (tmp_path / "missing", ["missing"]),
    ]
    for folder, words in cases:
        result = _invoke(
            [
                "bench",
                "--models",
                "lenet",
                "--dataset",
                f"folder:{folder}",
                *FAST,
                "--out",
                str(out),
            ]
            + ["--resume"]
        )
        _assert_friendly(result, *words)
        assert sorted(p.name for p in (out / "results").glob("*.json")) == done
    # the bad file, skipped on request and counted in the result
    skip = tmp_path / "skip"
    result = _invoke(
        ["bench", "--models", "lenet", "--dataset", f"folder:{broken}", "--skip-bad-images"]
        + ["--image-size", "12", *FAST, "--out", str(skip)]
    )
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(p.read_text()) for p in (skip / "results").glob("*.json")]
    assert [f.endswith("bad.png") for f in record["dataset_info"]["skipped_files"]] == [True]


def test_image_size_feeds_a_resizing_layer_at_the_model_input():
    model = build_for_precision("lenet", (28, 28, 1), 10, "float32", [64, 48], "pad")
    assert model.input_shape == (None, 28, 28, 1)
    resize = model.get_layer("resize")
    assert isinstance(resize, keras.layers.Resizing) and resize.pad_to_aspect_ratio
    assert resize.output.shape[1:3] == (64, 48)
    assert model.get_layer("lenet_conv1").input.shape[1:3] == (64, 48)
    mixed = build_for_precision("lenet", (28, 28, 1), 10, "mixed_bfloat16", [32, 32])
    y = np.asarray(mixed(np.zeros((2, 28, 28, 1), "float32")))
    assert y.shape == (2, 10) and y.dtype == np.float32
    same = build_for_precision("lenet", (28, 28, 1), 10, "float32", [28, 28])
    assert not any(isinstance(la, keras.layers.Resizing) for la in same.layers)


def test_data_settings_parse_check_and_keep_old_hashes():
    base = BenchConfig()
    cfg = base.updated(image_size="96", aspect="crop")
    assert cfg.image_size == [96, 96]
    assert base.updated(image_size="96,128").image_size == [96, 128]
    assert BenchConfig.from_dict({"image_size": 64}).image_size == [64, 64]
    # the defaults stay out of the config hash: hashes of runs stored before these fields hold
    assert not {"image_size", "aspect", "test_fraction"} & set(base.training_dict())
    plain, sized = RunSpec("lenet", "d", 0, base), RunSpec("lenet", "d", 0, cfg)
    assert plain.config_hash != sized.config_hash
    for kwargs, word in [
        (dict(image_size="0"), "image_size"),
        (dict(aspect="stretch"), "aspect"),
        (dict(test_fraction=1.5), "test_fraction"),
        (dict(splits="train,test"), "tfds:NAME"),
    ]:
        with pytest.raises(ConfigError, match=word):
            base.updated(**kwargs).validate_values()
