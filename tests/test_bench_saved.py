"""A bench run of a model with BatchNorm: its statistics recomputed before every evaluation, and
the model it saves agreeing with its record: in a fresh process with plain
keras.saving.load_model (no kerascnn import), in `kerascnn deploy`'s Keras row and in viz."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from kerascnn.bench.arrays import prepare_data
from kerascnn.bench.config import BenchConfig
from kerascnn.cli import main
from kerascnn.data import load_dataset
from kerascnn.record import store

SMALL = ["--train-limit", "512", "--test-limit", "200", "--batch-size", "32"]

LOAD_AND_SCORE = """
import sys
import numpy as np
import keras  # kerascnn is not imported: the file needs nothing of ours
model = keras.saving.load_model(sys.argv[1])
data = np.load(sys.argv[2])
probs = model.predict(data["x"], batch_size=100, verbose=0)
print("TOP1", float(np.mean(probs.argmax(1) == data["y"])), model.compiled)
"""


def test_recomputed_statistics_reach_the_record_the_saved_file_and_deploy(tmp_path):
    run = tmp_path / "run"
    args = ["bench", "--models", "simple_cnn", "--steps", "12", *SMALL]
    result = CliRunner().invoke(main, [*args, "--save-models", "--out", str(run)])
    assert result.exit_code == 0, result.output
    (record,) = store.load_results(run)
    bn = record.precise_bn
    assert bn.layers == 3 and bn.batches == 20 and bn.batch_size == 32
    assert bn.calls == 4 and bn.seconds > 0  # three curve points and the final evaluation
    assert bn.top1_stale is not None and record.eval_seconds > bn.seconds
    assert record.config["precise_bn"] is True and record.config["precise_bn_batches"] == 20
    assert record.config["recipe"]["name"] == "default"  # simple_cnn has no recipe of its own
    assert record.curve[-1].top1 == record.test.top1

    # the saved file: plain Keras in a fresh process, no training state inside
    cfg = BenchConfig(models=["simple_cnn"], train_limit=512, test_limit=200)
    data = prepare_data(load_dataset("fashion_mnist_mini"), cfg, seed=0)
    np.savez(tmp_path / "test.npz", x=data.x_test, y=data.y_test)
    saved = run / "models" / f"{record.key}.keras"
    script = tmp_path / "score.py"
    script.write_text(LOAD_AND_SCORE)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(script), str(saved), str(tmp_path / "test.npz")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    top1, optimizer = proc.stdout.split("TOP1 ")[1].split()
    assert abs(float(top1) - record.test.top1) <= 1 / 200 + 1e-9  # one borderline image at most
    assert optimizer == "False"  # saved without its training configuration

    # kerascnn deploy's Keras row reads the same file
    result = CliRunner().invoke(
        main, ["deploy", str(run), "--targets", "keras", "--seconds", "0.05"]
    )
    assert result.exit_code == 0, result.output
    with open(run / "deploy.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert abs(float(row["top1"]) - record.test.top1) <= 1 / 200 + 1e-9

    # and viz draws its kernels from it
    out = tmp_path / "kernels.png"
    result = CliRunner().invoke(
        main, ["viz", "kernels", "--weights", str(saved), "--out", str(out)]
    )
    assert result.exit_code == 0 and out.is_file(), result.output


def test_no_precise_bn_evaluates_with_training_statistics(tmp_path):
    run = tmp_path / "run"
    args = ["bench", "--models", "simple_cnn", "--steps", "3", *SMALL, "--no-precise-bn"]
    result = CliRunner().invoke(main, [*args, "--out", str(run), "--no-report"])
    assert result.exit_code == 0, result.output
    (record,) = store.load_results(run)
    assert record.precise_bn is None and record.config.get("precise_bn") is None
    stored = json.loads(next((run / "results").glob("*.json")).read_text())
    assert "precise_bn" not in stored
