"""`kerascnn throughput`: the sweep (kerascnn.accel.sweep), its stored results and report."""

import csv
import json

import pytest
from click.testing import CliRunner

from kerascnn.accel import choose_path, is_oom, throughput
from kerascnn.accel import sweep as sweep_mod
from kerascnn.cli import main
from kerascnn.record.throughput import SCHEMA_VERSION as THROUGHPUT_SCHEMA
from kerascnn.record.throughput import read_throughput
from kerascnn.report.throughput import write_throughput_report

FAST = ["--windows", "2", "--warmup", "1", "--steps", "2"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("tp") / "run"
    args = ["throughput", "--models", "lenet,mobilenetv2", "--image-size", "32"]
    args += ["--batch-sizes", "1,4", "--mode", "train,infer", "--out", str(out), *FAST]
    res = CliRunner().invoke(main, args)
    return out, res


def test_cli_sweep_writes_csv_json_readme_plot(swept):
    out, res = swept
    assert res.exit_code == 0, res.output
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 2 * 2
    need = "model mode batch_size image_size precision backend device images_per_s "
    need += "step_ms_median compile_s gflops_per_s status xla path macs params peak_memory_mib"
    assert set(need.split()) <= set(rows[0])
    assert {(r["model"], r["mode"], r["batch_size"]) for r in rows} == {
        (m, mode, b) for m in ("lenet", "mobilenetv2") for mode in ("train", "infer") for b in "14"
    }
    for r in rows:
        assert r["status"] == "ok" and r["image_size"] == "32" and r["backend"] == "tensorflow"
        assert float(r["images_per_s"]) > 0 and float(r["compile_s"]) > 0
        assert r["device"].startswith("CPU: ")
        assert (r["path"], r["xla"]) == ("tf.function", "False")  # TF on a CPU: no XLA
        factor = 6 if r["mode"] == "train" else 2
        gflops = float(r["images_per_s"]) * factor * int(r["macs"]) / 1e9
        assert float(r["gflops_per_s"]) == pytest.approx(gflops, rel=1e-6)
        assert float(r["step_ms_min"]) <= float(r["step_ms_median"]) <= float(r["step_ms_max"])
    doc = read_throughput(out)
    assert doc["schema"] == THROUGHPUT_SCHEMA and doc["environment"]["backend"] == "tensorflow"
    assert "kerascnn throughput" in doc["environment"]["command"]
    for r in rows:  # inference timed with BN folded (mobilenetv2's 52; lenet has none)
        folded = {"lenet": "0", "mobilenetv2": "52"}[r["model"]] if r["mode"] == "infer" else "0"
        assert r["bn_folded"] == folded, r
    assert doc["config"]["fold_bn"] is True
    readme = (out / "README.md").read_text()
    assert "| mobilenetv2 | train | 4 |" in readme and "## Environment" in readme
    assert "BN folded" in readme and "inference with BatchNorm folded" in readme
    assert (out / "throughput.png").stat().st_size > 1000
    assert "[8/8] mobilenetv2 infer batch 4:" in res.output  # progress lines


def test_oom_point_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    real = throughput.measure_point

    class ResourceExhaustedError(RuntimeError):
        pass

    def fake(model, mode, batch, **kw):
        if batch == 8:
            raise ResourceExhaustedError("OOM when allocating tensor with shape[8,6,28,28]")
        if batch == 2 and mode == "infer":
            raise RuntimeError("something else broke")
        return real(model, mode, batch, **kw)

    monkeypatch.setattr(throughput, "measure_point", fake)
    lines = []
    outcome = sweep_mod.run_sweep(
        ["lenet"], image_size=28, batch_sizes="8,1,2", modes="train,infer", steps=1,
        windows=1, warmup=0, out=tmp_path, echo=lines.append,
    )  # fmt: skip
    status = {(r["mode"], r["batch_size"]): r["status"] for r in outcome.rows}
    assert status == {
        ("train", 1): "ok", ("train", 2): "ok", ("train", 8): "oom",
        ("infer", 1): "ok", ("infer", 2): "error", ("infer", 8): "oom",
    }  # fmt: skip
    assert outcome.exit_code == 1 and outcome.count("oom") == 2
    stored = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert [r["status"] for r in stored] == [r["status"] for r in outcome.rows]
    assert "ResourceExhaustedError: OOM when" in stored[2]["error"]
    assert any("OOM" in line for line in lines)
    readme = write_throughput_report(tmp_path).read_text()
    assert "## Points that did not run" in readme and "something else broke" in readme


def test_oom_only_exits_zero(tmp_path, monkeypatch):
    def fake(model, mode, batch, **kw):
        raise MemoryError("no room")

    monkeypatch.setattr(throughput, "measure_point", fake)
    args = ["throughput", "--models", "lenet", "--image-size", "28", "--batch-sizes", "2"]
    res = CliRunner().invoke(main, [*args, "--mode", "infer", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "0 ok, 1 out of memory, 0 failed" in res.output


def test_path_selection_and_forced_xla(tmp_path):
    assert choose_path(None, "tensorflow") == ("tf.function", False)  # no GPU here
    assert choose_path(True, "tensorflow") == ("tf.function+xla", True)
    assert choose_path(False, "tensorflow") == ("tf.function", False)
    with pytest.raises(ValueError, match="Received: xla=False with KERAS_BACKEND='jax'"):
        choose_path(False, "jax")
    outcome = sweep_mod.run_sweep(
        ["lenet"], image_size=28, batch_sizes=[2], modes=["train", "infer"], xla=True, steps=1,
        windows=1, warmup=0, out=tmp_path, echo=lambda s: None,
    )  # fmt: skip
    assert [(r["status"], r["path"], r["xla"]) for r in outcome.rows] == [
        ("ok", "tf.function+xla", True)
    ] * 2
    assert read_throughput(tmp_path)["config"]["path"] == "tf.function+xla"


def test_report_compares_two_paths(tmp_path):
    def doc(path, ips):
        rows = [{"model": "lenet", "mode": "train", "batch_size": 1, "status": "ok",
                 "images_per_s": ips, "compile_s": 1.0}]  # fmt: skip
        return {"schema": 1, "kind": "kerascnn.throughput", "environment": {"command": "x"},
                "config": {"models": ["lenet"], "image_size": 28, "precision": "float32",
                           "batch_sizes": [1], "modes": ["train"], "path": path, "warmup": 2,
                           "windows": 5, "optimizer": "sgd"}, "rows": rows}  # fmt: skip

    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(doc("tf.function", 30.0)))
    (tmp_path / "b" / "results.json").write_text(json.dumps(doc("tf.function+xla", 10.0)))
    readme = write_throughput_report(tmp_path / "a", compare=tmp_path / "b").read_text()
    assert "`tf.function` vs `tf.function+xla`" in readme and "| 3.00x |" in readme
    assert "BN folded" not in readme  # a record from before folding: no column, no claim
    assert (tmp_path / "a" / "throughput.png").is_file()
    bad = doc("x", 1.0) | {"schema": 99}
    (tmp_path / "b" / "results.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="schema version 99"):
        read_throughput(tmp_path / "b")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--batch-sizes", "1,0"], "Received: '1,0'"),
        (["--batch-sizes", "a"], "positive integers"),
        (["--mode", "train,eval"], "Received: 'train,eval'"),
        (["--models", "nosuchnet"], "nosuchnet"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path, args, message):
    res = CliRunner().invoke(main, ["throughput", *args, "--out", str(tmp_path / "x")])
    assert res.exit_code == 1, res.output
    assert "Error:" in res.output and message in res.output
    assert not (tmp_path / "x" / "results.json").exists()  # nothing measured


def test_unknown_precision_is_a_usage_error():
    res = CliRunner().invoke(main, ["throughput", "--precision", "fp8"])
    assert res.exit_code == 2 and "fp8" in res.output
    with pytest.raises(ValueError, match="Received: precision='fp8'"):
        sweep_mod.run_sweep(["lenet"], precision="fp8", echo=lambda s: None)


def test_a_non_square_image_size_and_every_optimizer_and_precision_name(tmp_path):
    """--image-size H,W reaches the model (stored as HxW); the optimizer and precision names are
    bench's, each one measured (bfloat16 stored as the policy it stands for)."""
    outcome = sweep_mod.run_sweep(
        ["lenet"], image_size=(28, 36), batch_sizes=[2], modes=["train"], steps=1, windows=1,
        warmup=0, optimizer="sgd", precision="bfloat16", out=tmp_path, echo=lambda s: None,
    )  # fmt: skip
    (row,) = outcome.rows
    assert row["status"] == "ok" and row["image_size"] == "28x36", row
    assert read_throughput(tmp_path)["config"]["image_size"] == "28x36"
    assert sweep_mod.build_model("lenet", "28x36").input_shape == (None, 28, 36, 1)
    assert sweep_mod.build_model("lenet", 28).input_shape == (None, 28, 28, 1)
    model = sweep_mod.build_model("lenet", 28)
    for name in throughput.OPTIMIZERS:
        point = throughput.measure_point(
            model, "train", 2, steps=1, windows=1, warmup=0, optimizer=name
        )
        assert point["loss_last"] == point["loss_last"], name  # a number, not NaN
    with throughput.dtype_policy("bfloat16"):
        import keras

        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    with pytest.raises(ValueError, match=r"H or H,W.*Received: image_size=0"):
        sweep_mod.run_sweep(["lenet"], image_size=0, echo=lambda s: None)


def test_inference_points_time_the_folded_model(tmp_path, monkeypatch):
    """measure_point compiles the BN-folded model for inference (fold_bn=False: the model as
    built; training: always as built), and --no-fold-bn reaches the rows and the README."""
    import keras

    model = sweep_mod.build_model("simple_cnn", 28)
    seen, real = [], throughput.compile_inference
    monkeypatch.setattr(
        throughput, "compile_inference", lambda m, jit: seen.append(m) or real(m, jit=jit)
    )
    fast = dict(steps=1, windows=1, warmup=0)
    on = throughput.measure_point(model, "infer", 2, **fast)
    off = throughput.measure_point(model, "infer", 2, fold_bn=False, **fast)
    train = throughput.measure_point(model, "train", 2, **fast)
    assert (on["bn_folded"], off["bn_folded"], train["bn_folded"]) == (3, 0, 0)
    bn = keras.layers.BatchNormalization
    assert not any(isinstance(layer, bn) for layer in seen[0].layers) and seen[1] is model
    args = ["throughput", "--models", "simple_cnn", "--image-size", "28", "--batch-sizes", "1"]
    args += ["--mode", "infer", "--no-fold-bn", "--out", str(tmp_path), *FAST]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    doc = read_throughput(tmp_path)
    assert doc["config"]["fold_bn"] is False and doc["rows"][0]["bn_folded"] == 0
    assert "--no-fold-bn" in doc["environment"]["command"]
    assert "BatchNorm as built (--no-fold-bn)" in (tmp_path / "README.md").read_text()


def test_is_oom():
    assert is_oom(MemoryError()) and is_oom(RuntimeError("CUDA out of memory"))
    assert is_oom(RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate"))
    assert not is_oom(RuntimeError("shape mismatch"))
