"""kerascnn export / deploy (issue 15): every target round-trips a tiny model in its own runtime,
a failing conversion is recorded while the others run, a missing runtime is one skipped line,
and `bench --save-models` + `deploy` writes deploy.csv, DEPLOY.md and the report's section."""

import csv
import json
import os

import keras
import numpy as np
import pytest
from _random_weights import randomize

from kerascnn.deploy import runner
from kerascnn.deploy.export import artifact_bytes, artifact_path, check_artifact, export_artifact
from kerascnn.deploy.runtimes import open_runtime
from kerascnn.deploy.targets import TARGETS, parse_targets, target_for
from kerascnn.errors import ArgumentError
from kerascnn.record.deploy import COLUMNS

SHAPE = (28, 28, 1)


def tiny(name="tiny"):
    """Conv -> BN -> ReLU -> pool -> dense softmax (27k weights, so that int8's 4x shows through
    the file's fixed overhead), with BN statistics that matter."""
    inputs = keras.Input(SHAPE)
    x = keras.layers.Conv2D(16, 3, use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name=name)
    randomize(model, std=0.3)
    return model


def images(n=64, seed=1):
    return np.random.default_rng(seed).uniform(0, 1, (n, *SHAPE)).astype("float32")


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_target_round_trips_in_its_runtime(name, tmp_path):
    target = TARGETS[name]
    if target.missing():
        pytest.skip(f"{', '.join(target.missing())} not installed")
    model = tiny()
    x = images()
    reference = np.asarray(model(x, training=False))
    path = artifact_path(tmp_path, "tiny", target)
    export_artifact(model, path, target, representative=images(32, seed=2))
    assert artifact_bytes(path) > 0
    scores = runner.predict_all(open_runtime(target, path), x, 16)  # batches of 16: resized
    check = check_artifact(scores, reference, quantized=target.quantize != "none")
    if target.quantize == "none":
        assert check.ok and check.max_rel_diff <= 1e-4, check.message
    else:
        assert check.agreement >= 0.8, check.message  # judged by top-1 agreement
    if name == "litert-int8":  # full integer: 4x smaller weights than float32 (plus overhead)
        float_path = artifact_path(tmp_path, "tiny", TARGETS["litert"])
        export_artifact(model, float_path, TARGETS["litert"])
        assert artifact_bytes(path) * 2.5 < artifact_bytes(float_path)


def test_int8_io_quantizes_the_inputs_and_outputs(tmp_path):
    target = TARGETS["litert-int8"]
    if target.missing():
        pytest.skip("ai-edge-litert not installed")
    model, x = tiny(), images()
    path = export_artifact(model, tmp_path / "io.tflite", target, representative=x, int8_io=True)
    predictor = open_runtime(target, path)
    assert predictor.input["dtype"] == np.int8 and predictor.output["dtype"] == np.int8
    check = check_artifact(predictor.predict(x), np.asarray(model(x, training=False)), True)
    assert check.agreement >= 0.8, check.message


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: target_for("onnx", "int8"), "LiteRT converter"),
        (lambda: target_for("tflite"), "format must be one of"),
        (lambda: parse_targets("keras,tensorrt"), "Unknown deploy target"),
        (lambda: export_artifact(tiny(), "x.tflite", TARGETS["litert-int8"]), "representative"),
    ],
)
def test_bad_requests_say_what_was_received(call, match):
    with pytest.raises(ArgumentError, match=match):
        call()


def _saved_tiny(tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny()
    path = tmp_path / "tiny.keras"
    model.save(path)
    return path


def test_a_missing_runtime_is_one_skipped_line(tmp_path, monkeypatch):
    from kerascnn.deploy.targets import EXTRA, Target

    monkeypatch.setattr(Target, "missing", lambda self: ["onnxruntime"] * (self.name == "onnx"))
    models = runner.models_of([str(_saved_tiny(tmp_path))])
    said = []
    settings = runner.DeploySettings(seconds=0.05, test_limit=64, calibration_images=16)
    rows = runner.run_deploy(
        models, parse_targets("keras,onnx"), tmp_path / "out", settings, echo=said.append
    )
    assert [(r["target"], r["status"]) for r in rows] == [("keras", "ok"), ("onnx", "skipped")]
    assert 'pip install -e ".[deploy]"' in rows[1]["error"]
    assert [line for line in said if line.startswith("skipping")] == [
        f"skipping onnx: onnxruntime not installed ({EXTRA})"
    ]
    assert EXTRA.startswith('the deploy extra: pip install -e ".[deploy]" in the kerascnn checkout')
    assert rows[0]["top1_drop"] == 0 and rows[0]["agreement"] == 1.0


@keras.saving.register_keras_serializable(package="test_deploy")
class InverseErf(keras.layers.Layer):
    """erfinv: TensorFlow has it, LiteRT's builtin operators and OpenVINO's converter do not."""

    def call(self, x):
        return keras.ops.erfinv(keras.ops.tanh(x) * 0.5)


def test_a_failed_conversion_is_recorded_and_the_others_go_on(tmp_path):
    inputs = keras.Input(SHAPE)
    x = InverseErf()(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x), name="odd")
    model.save(tmp_path / "odd.keras")
    models = runner.models_of([str(tmp_path / "odd.keras")])
    names = [n for n in ("keras", "litert", "openvino") if not TARGETS[n].missing()]
    settings = runner.DeploySettings(seconds=0.05, test_limit=32)
    rows = runner.run_deploy(models, parse_targets(",".join(names)), tmp_path, settings, echo=print)
    status = {r["target"]: (r["status"], r["error"]) for r in rows}
    assert status.pop("keras") == ("ok", None)
    assert status, "no runtime installed that lacks erfinv"
    says = {"litert": "LiteRT has no builtin operator for: Erfinv.", "openvino": "OpenVINO cannot"}
    for name, (state, error) in status.items():
        assert state == "failed" and error.startswith(says[name]) and "Erfinv" in error, error
    with open(tmp_path / "deploy.csv", newline="") as fh:  # every pair has its row
        assert [r["status"] for r in csv.DictReader(fh)] == ["ok"] + ["failed"] * len(status)


def test_a_corrupt_model_file_fails_its_rows_and_the_next_model_runs(tmp_path):
    good = _saved_tiny(tmp_path)
    bad = tmp_path / "broken.keras"
    bad.write_bytes(good.read_bytes()[:300])  # a truncated zip
    models = runner.models_of([str(bad), str(good)])
    settings = runner.DeploySettings(seconds=0.05, test_limit=32)
    rows = runner.run_deploy(models, parse_targets("keras"), tmp_path / "out", settings)
    assert [(r["model"], r["status"]) for r in rows] == [("broken", "failed"), ("tiny", "ok")]
    assert rows[0]["error"].startswith(f"cannot load {bad}")


def test_exports_on_another_backend_are_refused_before_any_work(tmp_path):
    import subprocess
    import sys

    path = _saved_tiny(tmp_path)
    code = "from kerascnn.cli import main; main()"
    args = [sys.executable, "-c", code, "deploy", str(path), "--out", str(tmp_path / "out")]
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "KERAS_BACKEND=tensorflow" in proc.stderr, proc.stderr
    assert "Received: backend 'jax'" in proc.stderr and not (tmp_path / "out").exists()


def test_bench_save_models_then_deploy_writes_csv_md_and_the_report(tmp_path):
    from click.testing import CliRunner

    from kerascnn.cli import main

    run = tmp_path / "run"
    args = ["bench", "--models", "lenet", "--epochs", "1", "--save-models", "--out", str(run)]
    args += ["--train-limit", "512", "--test-limit", "200"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    installed = [n for n, t in TARGETS.items() if not t.missing()]
    args = ["deploy", str(run), "--targets", ",".join(installed), "--seconds", "0.05"]
    result = CliRunner().invoke(main, [*args, "--calibration-images", "64"])
    assert result.exit_code == 0, result.output
    with open(run / "deploy.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(COLUMNS) <= set(rows[0]) and [r["target"] for r in rows] == installed
    assert all(r["status"] == "ok" and r["model"] == "lenet" for r in rows), rows
    by = {r["target"]: r for r in rows}
    with open(run / "results.csv", newline="") as fh:  # the run's own test images and top-1
        bench_top1 = float(next(csv.DictReader(fh))["top1"])
    # the same 200 images through another compiled graph: one borderline image may flip
    assert float(by["keras"]["top1"]) == pytest.approx(bench_top1, abs=0.006)
    assert float(by["keras"]["top1_drop"]) == 0.0
    for r in rows:
        assert float(r["latency_b1_p50_ms"]) > 0 and float(r["images_per_s"]) > 0
        assert int(r["size_bytes"]) > 0 and int(r["test_images"]) == 200
    records = sorted(p.name for p in (run / "deploy").glob("*__*.json"))
    assert len(records) == len(installed)
    assert json.loads((run / "deploy" / records[0]).read_text())["model"] == "lenet"
    if "litert-int8" in by:  # int8 weights: about 4x smaller than the float32 LiteRT file
        assert int(by["litert"]["size_bytes"]) > 2.5 * int(by["litert-int8"]["size_bytes"])
    deploy_md = (run / "DEPLOY.md").read_text()
    assert all(f"| lenet | {t} |" in deploy_md for t in installed)
    assert CliRunner().invoke(main, ["report", str(run)]).exit_code == 0
    assert "## Deployment" in (run / "README.md").read_text()
    exported = tmp_path / "exported"
    calibrated = "int8 calibrated on 300 training images"
    for fmt, quantize, says in [("litert", "int8", calibrated), ("saved_model", "none", "within")]:
        args = ["export", str(run), "--format", fmt, "--quantize", quantize]
        args += ["--out", str(exported)]
        result = CliRunner().invoke(main, [*args, "--check-images", "64"])
        assert result.exit_code == 0 and says in result.output, result.output
    assert len(list(exported.glob("*__litert-int8.tflite"))) == 1
    assert len(list(exported.glob("*/saved_model.pb"))) == 1
    result = CliRunner().invoke(main, ["export", str(tmp_path / "nothing"), "--format", "onnx"])
    assert result.exit_code != 0 and "no such path" in result.output


def test_artifact_names_say_the_target_once(tmp_path):
    """<key>__<target><ext>, or <key><ext> where the extension is the target's name; never the
    source's own <key>.keras; one name per (model, target)."""
    names = {n: artifact_path(tmp_path, "m", t).name for n, t in TARGETS.items()}
    assert names == {
        "keras": "m__keras.keras",
        "litert": "m__litert.tflite",
        "litert-dynamic": "m__litert-dynamic.tflite",
        "litert-int8": "m__litert-int8.tflite",
        "litert-float16": "m__litert-float16.tflite",
        "onnx": "m.onnx",
        "openvino": "m__openvino.xml",
    }
    assert artifact_path(tmp_path, "m", target_for("saved_model")).name == "m"
    assert len(set(names.values())) == len(names)


def _ok_row(drop):
    row = dict(status="ok", top1=0.8, top1_drop=drop, size_bytes=1000)
    return {**row, "latency_b1_p50_ms": 1.0, "images_per_s": 100.0}


@pytest.mark.parametrize(
    "drop, says",
    [(0.015, "(drop 1.50 points)"), (-0.02, "(gain 2.00 points)"), (0.0, "(same as Keras)")],
)
def test_the_deploy_line_says_drop_or_gain(drop, says):
    line = runner._summary(_ok_row(drop))
    assert line.startswith(f"top-1 0.8000 {says}, 1,000 bytes"), line  # never "drop -2.00"


def test_the_converters_prints_show_only_under_debug(tmp_path, capfd, monkeypatch):
    from kerascnn import _quiet

    target = TARGETS["litert-int8"]
    if target.missing():
        pytest.skip("ai-edge-litert not installed")
    monkeypatch.delenv("KERASCNN_VERBOSE", raising=False)
    monkeypatch.delenv("KERASCNN_VERBOSE_IMPORT", raising=False)
    monkeypatch.setitem(_quiet._asked, "verbose", False)
    model, x = tiny(), images(16)
    capfd.readouterr()
    export_artifact(model, tmp_path / "q.tflite", target, representative=x)
    assert "fully_quantize" not in capfd.readouterr().err
    _quiet.set_verbose(True)  # what --debug does
    export_artifact(model, tmp_path / "v.tflite", target, representative=x)
    assert "fully_quantize" in capfd.readouterr().err


def test_export_prints_only_its_own_lines(tmp_path):
    """A fresh `kerascnn export` process (the ONNX exporter's FutureWarning comes once, on
    import): its own lines, no converter internals, the artifacts' names."""
    import subprocess
    import sys

    pairs = [("litert", "int8"), ("onnx", "none")]
    pairs = [(f, q) for f, q in pairs if not target_for(f, q).missing()]
    if not pairs:
        pytest.skip("neither ai-edge-litert nor the ONNX packages are installed")
    path, out = _saved_tiny(tmp_path), tmp_path / "exported"
    calls = [
        ["export", str(path), "--format", f, "--quantize", q, "--out", str(out)]
        + ["--calibration-images", "16"]
        for f, q in pairs
    ]
    code = "import json, sys\nfrom kerascnn.cli import main\n"
    code += "for args in json.loads(sys.argv[1]):\n    main(args, standalone_mode=False)\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP_", "KERASCNN_VERB"))}
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(calls)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = proc.stdout + proc.stderr
    for noise in ("fully_quantize", "FutureWarning", "oneDNN", "I0000"):
        assert noise not in said, said
    wrote = {"litert": "tiny__litert-int8.tflite", "onnx": "tiny.onnx"}
    for fmt, _ in pairs:
        assert f"tiny: wrote {out / wrote[fmt]} (" in proc.stdout, proc.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(wrote[f] for f, _ in pairs)
