"""``kerascnn deploy``: every trained model of a run folder through every target, measured in
the target's runtime on the run's own test images.

For each model (``models/<key>.keras`` of a ``kerascnn bench --save-models`` run, or ``.keras``
files given directly) the Keras model is run once on the test images (the reference), then for
each target: export (:mod:`~kerascnn.deploy.export`), load in its runtime
(:mod:`~kerascnn.deploy.runtimes`), then

* top-1 on the test images and its drop against the Keras model, the outputs' agreement;
* the artifact's size in bytes;
* batch-1 latency (numpy in, numpy out, warm-up calls excluded): p50 and p95;
* batch-N throughput (images/s from the median time of a batch-N call).

A target whose runtime is missing is skipped with one line naming the package; a conversion
or runtime failure is recorded for that (model, target) with its message and the others go
on. Every pair's record is ``deploy/<key>__<target>.json``; ``deploy.csv`` holds one row per
pair (:mod:`~kerascnn.record.deploy`); :func:`kerascnn.report.deploy.write_deploy_report`
draws ``DEPLOY.md`` and ``deploy.png`` from them.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerascnn.deploy.export import (
    Check,
    artifact_bytes,
    artifact_path,
    check_artifact,
    export_artifact,
)
from kerascnn.deploy.runtimes import KerasPredictor, open_runtime, runtime_version
from kerascnn.deploy.targets import EXTRA, Target
from kerascnn.errors import ArgumentError
from kerascnn.record import deploy as deploy_record
from kerascnn.record import layout, store
from kerascnn.record.deploy import COLUMNS, deploy_dir, write_row, write_table


@dataclass
class DeployModel:
    """A trained model to deploy: its file, and the data it was trained on."""

    key: str
    model: str
    path: Path
    dataset: str
    config: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass
class DeploySettings:
    threads: int | None = None
    batch: int = 32
    seconds: float = 1.0
    calibration_images: int = 300
    int8_io: bool = False
    test_limit: int | None = None


@dataclass
class DeployData:
    x_test: np.ndarray
    y_test: np.ndarray
    x_calibration: np.ndarray


def models_of(sources: list[str], dataset: str | None = None) -> list[DeployModel]:
    """The models of a run folder (its ok runs with a saved model) or of ``.keras`` files."""
    found: list[DeployModel] = []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            records = [r for r in store.load_results(path) if r.ok]
            saved = [(r, layout.model_path(path, r.key)) for r in records]
            saved = [(r, p) for r, p in saved if p.is_file()]
            if not saved:
                raise ArgumentError(
                    f"{path} holds no saved models (models/<run>.keras): train with "
                    f"`kerascnn bench ... --save-models --out {path}` first, or pass .keras "
                    f"files. Received: {source}"
                )
            found += [
                DeployModel(r.key, r.model, p, dataset or r.dataset, r.config, r.seed)
                for r, p in saved
            ]
        elif path.is_file() and path.suffix == ".keras":
            found.append(DeployModel(path.stem, path.stem, path, dataset or "fashion_mnist_mini"))
        else:
            what = "a run folder or a .keras file" if path.exists() else "there (no such path)"
            raise ArgumentError(
                f"Not {what}: {path}. Pass a `kerascnn bench "
                f"--save-models` run folder or .keras model files. Received: {source}"
            )
    return found


def default_out(sources: list[str]) -> Path:
    """Where ``kerascnn deploy`` writes without ``--out``: the one run folder it was given."""
    folders = [Path(s).expanduser() for s in sources if Path(s).expanduser().is_dir()]
    if len(folders) != 1 or len(sources) != 1:
        raise ArgumentError(
            f"Give --out when the sources are not one run folder. Received: {' '.join(sources)}"
        )
    return folders[0]


def load_data(model: DeployModel, settings: DeploySettings) -> DeployData:
    """The model's test images as its run read them (the bench's own seeded subset, float32 in
    [0, 1], so the Keras top-1 here is the run's test accuracy), and ``calibration_images``
    training images drawn with the run's seed for int8 calibration. ``settings.test_limit``,
    when given, replaces the run's own test limit."""
    from kerascnn.bench.arrays import prepare_data
    from kerascnn.bench.config import BenchConfig
    from kerascnn.bench.suite_data import load_datasets

    known = set(BenchConfig.field_names()) - {"models", "datasets", "overrides", "targets"}
    values = {k: v for k, v in model.config.items() if k in known}
    if settings.test_limit is not None:
        values["test_limit"] = settings.test_limit
    cfg = BenchConfig.from_dict({**values, "models": [model.model], "datasets": [model.dataset]})
    arrays = prepare_data(load_datasets(cfg)[model.dataset], cfg, model.seed)
    rng = np.random.default_rng(model.seed)
    n = min(settings.calibration_images, len(arrays.x_train))
    pick = np.sort(rng.choice(len(arrays.x_train), n, replace=False))
    return DeployData(arrays.x_test, arrays.y_test, arrays.x_train[pick])


def load_reference(model: DeployModel, x: np.ndarray, batch: int):
    """The model's Keras file loaded once (in a fresh session) and its scores on ``x``: what
    every artifact is exported from and compared with."""
    import keras

    keras.backend.clear_session()
    keras_model = keras.saving.load_model(model.path, compile=False)
    return keras_model, predict_all(KerasPredictor(model.path, model=keras_model), x, batch)


def predict_all(predictor, x: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([predictor.predict(x[i : i + batch]) for i in range(0, len(x), batch)])


def measure_speed(predictor, x: np.ndarray, settings: DeploySettings) -> dict[str, float]:
    """Batch-1 latency p50/p95 (ms), warm-up calls excluded, and batch-N images/s timed by the
    one throughput protocol (:func:`kerascnn.measure.timing.time_steps`; numpy in and out:
    each runtime's own call)."""
    from kerascnn.measure import timing

    one, many = x[:1], x[: settings.batch]
    b1 = timing.latency_stats(
        timing.time_calls(lambda: predictor.predict(one), seconds=settings.seconds)
    )

    def run(n: int) -> None:
        for _ in range(n):
            predictor.predict(many)

    windows = 5
    bn = timing.time_steps(run, windows=windows, warmup=3, window_s=settings.seconds / windows)
    return {
        "latency_b1_p50_ms": b1["p50_ms"],
        "latency_b1_p95_ms": b1["p95_ms"],
        "images_per_s": bn.images_per_s(len(many)),
        "batch": len(many),
    }


def _row(model: DeployModel, target: Target, status: str, **values) -> dict[str, Any]:
    row = dict.fromkeys(COLUMNS)
    row.update(
        model=model.model,
        key=model.key,
        target=target.name,
        status=status,
        format=target.format,
        quantize=target.quantize,
        runtime=target.runtime,
    )
    row.update(values)
    return row


def deploy_one(
    model: DeployModel,
    target: Target,
    keras_model,
    reference: np.ndarray,
    data: DeployData,
    folder: Path,
    settings: DeploySettings,
) -> dict[str, Any]:
    """One (model, target) measured; failures become the row's status and error."""
    base = dict(threads=settings.threads, test_images=len(data.y_test))
    missing = target.missing()
    if missing:
        return _row(
            model, target, "skipped", error=f"{', '.join(missing)} not installed: {EXTRA}", **base
        )
    quantized = target.quantize != "none"
    if target.quantize == "int8":
        base["calibration_images"] = len(data.x_calibration)
    base["runtime_version"] = runtime_version(target)
    try:
        # the keras target too is written afresh: the model alone, without the run's optimizer
        path = artifact_path(folder / model.key, model.key, target)
        export_artifact(
            keras_model, path, target, representative=data.x_calibration, int8_io=settings.int8_io
        )
        base.update(artifact=str(path), size_bytes=artifact_bytes(path))
        predictor = open_runtime(target, path, settings.threads)
        scores = predict_all(predictor, data.x_test, settings.batch)
        check: Check = check_artifact(scores, reference, quantized)
        base.update(
            top1=float(np.mean(scores.argmax(-1) == data.y_test)),
            agreement=check.agreement,
            max_rel_diff=check.max_rel_diff,
        )
        base["top1_drop"] = float(np.mean(reference.argmax(-1) == data.y_test)) - base["top1"]
        base.update(measure_speed(predictor, data.x_test, settings))
    except Exception as exc:  # a converter or runtime error: this pair only
        return _row(model, target, "failed", error=failure_message(exc), **base)
    if not check.ok:
        return _row(
            model, target, "failed", error=f"outputs differ from Keras: {check.message}", **base
        )
    return _row(model, target, "ok", **base)


UNSUPPORTED_OPS = (
    (r"Custom ops: ([^\n]+)", "LiteRT has no builtin operator for"),
    (
        r"No conversion rule found for operations: ([\w, ]+?)(?: To facilitate|\n|$)",
        "OpenVINO cannot convert",
    ),
)


def failure_message(exc: BaseException, limit: int = 1500) -> str:
    """An exporter's or runtime's error on one line; the unsupported operators first when the
    converter names them (its full message runs to pages of MLIR)."""
    text = str(exc)
    lead = []
    for pattern, says in UNSUPPORTED_OPS:
        found = re.search(pattern, text)
        if found:
            lead.append(f"{says}: {found.group(1).strip()}.")
    return " ".join([*lead, f"{type(exc).__name__}:", *text.split()])[:limit]


def require_tensorflow(targets: list[Target]) -> None:
    """The exporters run on Keras' TensorFlow backend (the .keras files themselves are
    backend-neutral): on JAX, LiteRT refuses and ONNX/OpenVINO see an XLA call they cannot read."""
    import keras

    backend = keras.backend.backend()
    exported = [t.name for t in targets if t.format != "keras"]
    if exported and backend != "tensorflow":
        raise ArgumentError(
            f"Exporting to {', '.join(exported)} runs on the TensorFlow backend: run with "
            f"KERAS_BACKEND=tensorflow (the saved .keras models load on any backend). "
            f"Received: backend {backend!r}"
        )


def set_tensorflow_threads(threads: int | None) -> None:
    """TensorFlow's intra- and inter-op pools (the keras target), before its first op."""
    if threads is None:
        return
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError as exc:  # TensorFlow already started: its pools keep their size
            raise ArgumentError(
                f"--threads {threads} cannot reach TensorFlow, which has already started in "
                f"this process; run `kerascnn deploy` in a fresh process. Received: {exc}"
            ) from exc


def write_environment(folder: Path, settings: DeploySettings, argv: list[str] | None) -> Path:
    """``deploy/environment.json``: the machine, versions (runtimes included), settings, command."""
    from kerascnn.deploy.runtimes import dist_version
    from kerascnn.measure.environment import environment

    env = dataclasses.asdict(environment(argv))
    for dist in ("ai-edge-litert", "onnxruntime", "openvino", "tf2onnx", "onnx"):
        if dist_version(dist):
            env["versions"][dist] = dist_version(dist)
    env["settings"] = dataclasses.asdict(settings)
    return deploy_record.write_environment(folder, env)


def export_models(
    models: list[DeployModel],
    target: Target,
    out: str | Path | None,
    settings: DeploySettings,
    *,
    check_images: int = 256,
    echo: Callable[[str], None] = print,
) -> list[tuple[Path, Check]]:
    """``kerascnn export``: each model written as ``target``'s artifact, then loaded in its runtime
    and checked against the Keras model on ``check_images`` test images."""
    require_tensorflow([target])
    if target.missing():
        raise ArgumentError(
            f"--format {target.format} needs {', '.join(target.missing())}: {EXTRA}. "
            f"Received: --format {target.format}"
        )
    done = []
    for model in models:
        data = load_data(model, dataclasses.replace(settings, test_limit=check_images))
        keras_model, reference = load_reference(model, data.x_test, 64)
        folder = Path(out) if out else model.path.parent
        path = artifact_path(folder, model.key, target)
        export_artifact(
            keras_model, path, target, representative=data.x_calibration, int8_io=settings.int8_io
        )
        scores = predict_all(open_runtime(target, path, settings.threads), data.x_test, 64)
        check = check_artifact(scores, reference, target.quantize != "none")
        calibrated = (
            f", int8 calibrated on {len(data.x_calibration)} training images"
            if target.quantize == "int8"
            else ""
        )
        echo(
            f"{model.model}: wrote {path} ({artifact_bytes(path):,} bytes{calibrated}); "
            f"{check.message}"
        )
        done.append((path, check))
    return done


def run_deploy(
    models: list[DeployModel],
    targets: list[Target],
    out: str | Path,
    settings: DeploySettings,
    *,
    echo: Callable[[str], None] = print,
    argv: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every (model, target) measured; ``out/deploy.csv`` and ``out/deploy/*.json`` written."""
    require_tensorflow(targets)
    out = Path(out)
    folder = deploy_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    set_tensorflow_threads(settings.threads)
    write_environment(folder, settings, argv)
    for target in targets:
        if target.missing():
            echo(f"skipping {target.name}: {', '.join(target.missing())} not installed ({EXTRA})")
    rows: list[dict[str, Any]] = []
    for i, model in enumerate(models, start=1):
        try:  # a model that does not load (a corrupt file) fails its own rows only
            data = load_data(model, settings)
            keras_model, reference = load_reference(model, data.x_test, settings.batch)
        except Exception as exc:
            cannot = f"cannot load {model.path}: {failure_message(exc)}"
            keras_model = reference = data = None
        for target in targets:
            t0 = time.perf_counter()
            if keras_model is None:
                row = _row(model, target, "failed", error=cannot, threads=settings.threads)
            else:
                row = deploy_one(model, target, keras_model, reference, data, folder, settings)
            rows.append(row)
            write_row(folder, row)
            write_table(out, rows)
            echo(
                f"[{i}/{len(models)}] {model.model} -> {target.name}: {_summary(row)} "
                f"({time.perf_counter() - t0:.0f} s)"
            )
    return rows


def _summary(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['status']}: {row['error']}"
    points = round(row["top1_drop"] * 100, 2)  # Keras' top-1 minus this one's: < 0 is a gain
    change = f"{'drop' if points > 0 else 'gain'} {abs(points):.2f} points"
    return (
        f"top-1 {row['top1']:.4f} ({change if points else 'same as Keras'}), "
        f"{row['size_bytes']:,} bytes, b1 p50 {row['latency_b1_p50_ms']:.2f} ms, "
        f"{row['images_per_s']:,.0f} img/s"
    )
