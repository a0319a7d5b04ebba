"""The phases of one benchmark run, the callbacks, augmentation and schedules, one at a time.

The whole run (all phases together, failures included) is tested in test_bench_runner.py.
"""

import time

import keras
import numpy as np
import pytest

from kerascnn.accel import inference
from kerascnn.bench import evaluation, training
from kerascnn.bench.augment import BatchStream, PadRandomCrop, augment_model, mixing_kind
from kerascnn.bench.callbacks import StepTimer, train_throughput
from kerascnn.bench.config import BenchConfig, RunSpec
from kerascnn.bench.optim import RunSchedule
from kerascnn.bench.suite_loop import describe_error
from kerascnn.data import Dataset
from kerascnn.measure import timing
from kerascnn.record.run import Measurements

CFG = BenchConfig(
    models=["lenet"],
    datasets=["fashion_mnist_mini"],
    epochs=1,
    batch_size=16,
    train_limit=24,
    test_limit=10,
    latency_seconds=0.01,
    latency_batch=4,
    warmup_epochs=0.0,
)


def _dataset(n_train=40, n_test=12, classes=3):
    rng = np.random.default_rng(0)
    return Dataset(
        x_train=rng.integers(0, 256, (n_train, 28, 28, 1), dtype=np.uint8),
        y_train=np.arange(n_train) % classes,
        x_test=rng.integers(0, 256, (n_test, 28, 28, 1), dtype=np.uint8),
        y_test=np.arange(n_test) % classes,
        class_names=tuple(str(i) for i in range(classes)),
        source="fixture",
        name="fixture",
    )


def _tiny_model(classes=3, nan=False):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Dense(classes)(keras.layers.Flatten()(inputs))
    if nan:
        x = keras.layers.Lambda(lambda t: t * float("nan"))(x)
    return keras.Model(inputs, keras.layers.Softmax()(x))


# --------------------------------------------------------------------------- data, build


def test_prepare_data_takes_seeded_subsets_of_float_images():
    ds = _dataset()
    data = training.prepare_data(ds, CFG, seed=1)
    assert data.x_train.shape == (24, 28, 28, 1) and data.x_test.shape == (10, 28, 28, 1)
    assert (
        data.x_train.dtype == np.float32 and 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    )
    assert (
        data.y_train.dtype == np.int64 and data.num_classes == 3 and data.input_shape == (28, 28, 1)
    )
    again, other = training.prepare_data(ds, CFG, seed=1), training.prepare_data(ds, CFG, seed=2)
    assert np.array_equal(data.x_train, again.x_train) and not np.array_equal(
        data.x_train, other.x_train
    )
    full = training.prepare_data(
        ds, BenchConfig(models=["lenet"]), seed=1
    )  # no limits: everything, in order
    assert np.array_equal(full.y_test, ds.y_test) and np.allclose(full.x_test * 255, ds.x_test)
    assert training.one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]


def test_build_model_records_params_and_macs():
    data = training.prepare_data(_dataset(classes=10), CFG, seed=0)
    model, facts = training.build_model(RunSpec("lenet", "fixture", 0, CFG), data)
    assert facts.model_name == model.name and facts.params == facts.trainable_params == 61706
    assert facts.macs > 0 and facts.profile_params == 61706 and facts.macs_error is None


def test_profiler_errors_are_recorded_not_raised():
    facts = training.profile_facts("not a model")
    assert facts["macs"] is None and facts["macs_error"].startswith("ArgumentError: ")


def test_mixed_precision_model_outputs_float32_probabilities():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # as execute_run does before building
    try:
        model = training.build_for_precision("lenet", (28, 28, 1), 10, "mixed_bfloat16")
        assert model.layers[-1].dtype_policy.name == "float32" and model.count_params() == 61706
        assert model.layers[1].compute_dtype == "bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --------------------------------------------------------------------------- train: callbacks


def test_train_throughput_excludes_warmup_steps_and_counts_partial_batches():
    # 2 epochs of 3 steps (batch 4, 10 images: the last batch has 2), steps 0.1 s apart
    starts = [0.0, 1.0]
    steps = [(e, s, starts[e] + 0.1 * (s + 1)) for e in range(2) for s in range(3)]
    tp = train_throughput(steps, starts, batch_size=4, n_train=10, warmup_steps=2)
    assert tp["steps_timed"] == 4  # epoch 0 steps 0-1 excluded
    assert tp["images_per_s"] == pytest.approx((2 + 4 + 4 + 2) / 0.4)
    assert tp["step_p50_ms"] == pytest.approx(100.0)
    assert train_throughput([], [], 4, 10) == {
        "images_per_s": None,
        "steps_timed": 0,
        "step_p50_ms": None,
    }


@pytest.mark.parametrize(
    "loss, budget, kind",
    [(float("nan"), None, "NaNLoss"), (1.0, 0.0, "TimeBudgetExceeded"), (1.0, None, None)],
)
def test_step_timer_stops_on_nan_or_budget(loss, budget, kind):
    timer = StepTimer(budget)
    timer.set_model(_tiny_model())
    timer.on_train_begin()
    timer.on_epoch_begin(0)
    time.sleep(0.01)
    timer.on_train_batch_end(0, {"loss": loss})
    timer.on_epoch_end(0)
    assert (timer.failure[0] if timer.failure else None) == kind
    assert getattr(timer.model, "stop_training", False) is (kind is not None)
    if kind:
        assert timer.failure[1].endswith("at epoch 1, step 1; training stopped.")
    stats = timer.stats(seconds=0.5, batch_size=8, n_train=8)
    assert stats.images == 8 and stats.steps_per_epoch == 1 and len(stats.epoch_seconds) == 1
    assert (
        stats.first_step_seconds >= 0.01
        and stats.steps_timed == 0
        and stats.warmup_seconds == stats.first_step_seconds
    )


# --------------------------------------------------------------------------- train: augmentation, schedule


def test_augment_model_is_the_model_itself_without_augmentation():
    model = _tiny_model()
    assert augment_model(model, [], (28, 28, 1), 0) is model
    assert (
        augment_model(model, ["mixup"], (28, 28, 1), 0) is model
    )  # batch-level: in the dataset instead
    wrapped = augment_model(model, ["flip", "crop"], (28, 28, 1), 0)
    assert wrapped is not model and wrapped.count_params() == model.count_params()  # weights shared


def test_pad_random_crop_is_identity_at_inference_and_serializable():
    layer = PadRandomCrop(8, 8, 2, seed=3)
    x = np.random.default_rng(0).random((2, 8, 8, 1), dtype=np.float32)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    assert y.shape == x.shape and not np.array_equal(y, x)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(clone, PadRandomCrop) and (
        clone.height,
        clone.width,
        clone.pad,
        clone.seed,
    ) == (8, 8, 2, 3)


def test_pad_random_crop_moves_every_image_by_its_own_offset():
    """Each output is the zero-padded image cropped at offsets in 0..2*pad, drawn per image
    (keras.layers.RandomCrop draws one offset per batch: every image moved alike)."""
    pad, n = 2, 32
    x = np.random.default_rng(1).random((n, 6, 5, 3), dtype=np.float32) + 1.0  # no zeros
    y = keras.ops.convert_to_numpy(PadRandomCrop(6, 5, pad, seed=0)(x, training=True))
    padded = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    offsets = []
    for i in range(n):
        found = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if np.array_equal(y[i], padded[i, dy : dy + 6, dx : dx + 5])
        ]
        assert len(found) == 1, f"image {i} is no crop of its padded image"
        offsets += found
    assert len(set(offsets)) > 5  # 25 possible offsets, 32 draws: not one shared shift


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_batch_stream_mixes_images_and_labels(kind):
    rng = np.random.default_rng(0)
    x = rng.random((10, 8, 8, 1), dtype=np.float32)
    y = training.one_hot(np.arange(10) % 2, 2)
    ds = BatchStream(x, y, batch_size=4, seed=0, mix=kind)
    assert len(ds) == 3 and mixing_kind(["flip", kind]) == kind and mixing_kind(["flip"]) is None
    xb, yb = ds[0]
    assert xb.shape == (4, 8, 8, 1) and yb.shape == (4, 2) and ds[2][0].shape == (4, 8, 8, 1)
    assert np.allclose(yb.sum(axis=1), 1.0) and not np.isin(yb, [0.0, 1.0]).all()  # soft labels
    with pytest.raises(ValueError, match="Received: mix='blend'"):
        BatchStream(x, y, 4, 0, mix="blend")


def test_batch_stream_is_a_function_of_seed_and_step():
    """Every image once per pass, full batches across pass ends, the same batch for the same
    index whenever it is asked for (Keras' prefetching), another order for another seed."""
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = training.one_hot(np.arange(10) % 2, 2)
    a = BatchStream(x, y, batch_size=4, seed=3, steps=5)
    assert len(a) == 5 and len(BatchStream(x, y, batch_size=4, seed=3)) == 3
    stream = [a[i][0].ravel() for i in range(5)]
    seen = np.concatenate(stream)
    assert np.array_equal(np.sort(seen[:10]), np.arange(10))  # pass 1: a permutation
    assert np.array_equal(np.sort(seen[10:20]), np.arange(10))  # pass 2: another one
    again = BatchStream(x, y, batch_size=4, seed=3, steps=5)
    assert all(np.array_equal(again[i][0].ravel(), stream[i]) for i in (4, 0, 2, 1, 3))
    other = BatchStream(x, y, batch_size=4, seed=4, steps=5)
    assert not all(np.array_equal(p, other[i][0].ravel()) for i, p in enumerate(stream))


def test_one_cycle_schedule_is_registered_and_round_trips():
    sched = RunSchedule("one-cycle", 0.1, total_steps=100, warmup_steps=10)
    config = keras.saving.serialize_keras_object(sched)
    assert config["registered_name"] == "kerascnn>RunSchedule"
    clone = keras.saving.deserialize_keras_object(config)
    values = [float(clone(s)) for s in (0, 10, 55, 100)]
    assert values[0] == pytest.approx(0.004) and values[1] == pytest.approx(0.1)
    assert values[1] > values[2] > values[3] == pytest.approx(1e-5)


@pytest.mark.parametrize("kind", ["constant", "cosine", "one-cycle"])
def test_an_adjustable_schedule_follows_its_variables_like_a_fixed_one(kind):
    """A budget run sets its length after the step is compiled: the rates must then be those
    of a schedule built with that length (what a --steps repeat uses)."""
    fixed = RunSchedule(kind, 0.1, total_steps=60, warmup_steps=6)
    moving = RunSchedule(kind, 0.1, total_steps=400, warmup_steps=0)
    optimizer = keras.optimizers.SGD(moving)
    total, warm = moving.adjustable(optimizer)
    assert total in optimizer.variables and warm in optimizer.variables
    total.assign(60.0)
    warm.assign(6.0)
    for step in (0, 3, 6, 30, 59, 60):
        assert float(moving(step)) == pytest.approx(float(fixed(step)), rel=1e-6)
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(moving)
    ).get_config() == fixed.get_config() | {"total_steps": 60.0, "warmup_steps": 6.0}


# --------------------------------------------------------------------------- evaluate, measure, record


def test_classification_metrics():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6]])
    m = evaluation.classification_metrics(probs, np.array([0, 1, 1, 2]), 3)
    assert m.top1 == 0.5 and m.top5 == 1.0 and m.n == 4
    assert m.confusion == [[1, 0, 0], [1, 0, 1], [0, 0, 1]]
    assert m.loss == pytest.approx(-np.mean(np.log([0.7, 0.3, 0.4, 0.6])))
    assert evaluation.classification_metrics(probs * np.nan, np.array([0, 1, 1, 2]), 3).loss is None


def test_evaluate_measure_and_record_phases(tmp_path):
    data = training.prepare_data(_dataset(), CFG, seed=0)
    model = _tiny_model()
    ev = evaluation.evaluate_model(model, data, CFG)
    assert (
        ev.measured.test.n == 10
        and ev.measured.inference_jit is ev.inference.jit
        and ev.first_call_seconds > 0
    )
    probs = ev.inference.predict(data.x_test)
    assert np.allclose(probs, keras.ops.convert_to_numpy(model(data.x_test)), atol=1e-6)
    timings = evaluation.measure_inference(ev, data, CFG)
    assert set(timings.first_call_seconds) == {"eval_batch", "batch_1", "batch_4"}
    assert (
        timings.latency_b1.batch == 1
        and timings.latency_bN.batch == 4
        and timings.device_throughput.batch == 4
    )
    assert timings.bn_folded == 0  # no BatchNorm: the evaluation's compiled function is timed
    done = evaluation.record_measurements(Measurements(params=1), model, keep=tmp_path / "m.keras")
    assert done.params == 1 and done.size.keras_file_bytes == (tmp_path / "m.keras").stat().st_size
    assert done.peak_rss_mib > 0


def test_inference_timings_time_the_bn_folded_model(monkeypatch):
    """The test metrics come from the model as trained; the latency and throughput timings from
    one compiled inference of its BN-folded copy, which gives the same outputs."""
    data = training.prepare_data(_dataset(), CFG, seed=0)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.BatchNormalization(name="bn")(keras.layers.Conv2D(4, 3)(inputs))
    x = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x)))
    model = keras.Model(inputs, keras.layers.Softmax()(x))
    bn = model.get_layer("bn")
    bn.moving_mean.assign([0.5, -0.5, 1.0, 0.0])
    bn.moving_variance.assign([0.5, 2.0, 1.0, 1.5])
    ev = evaluation.evaluate_model(model, data, CFG)
    assert ev.model is model
    compiled, real = [], inference.compile_inference
    monkeypatch.setattr(
        inference, "compile_inference", lambda m, jit=True: compiled.append(m) or real(m, jit=jit)
    )
    timings = evaluation.measure_inference(ev, data, CFG)
    assert timings.bn_folded == 1 and timings.fold_seconds > 0 and len(compiled) == 1
    (folded,) = compiled
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    np.testing.assert_allclose(
        np.asarray(folded(data.x_test, training=False)),
        np.asarray(model(data.x_test, training=False)),
        rtol=1e-4,
        atol=1e-6,
    )


def test_non_finite_outputs_fail_the_run_with_their_metrics():
    data = training.prepare_data(_dataset(), CFG, seed=0)
    with pytest.raises(training.RunFailure) as info:
        evaluation.evaluate_model(_tiny_model(nan=True), data, CFG)
    assert info.value.kind == "NaNOutput" and info.value.partial.test.n == 10
    assert info.value.partial.test.loss is None


def test_describe_error():
    err = describe_error(RuntimeError("\x1b[31mCUDA out of memory\x1b[0m while   allocating"))
    assert (
        err.type == "OutOfMemory (RuntimeError)"
        and err.message == "CUDA out of memory while allocating"
    )
    assert err.traceback is not None
    assert describe_error(MemoryError("big")).type == "OutOfMemory"
    assert describe_error(ValueError("x" * 5000)).message == "x" * 2000


# --------------------------------------------------------------------------- one compiled path


def test_throughput_and_bench_share_one_compiled_inference(monkeypatch):
    """accel.measure_throughput and the bench's evaluation/latency compile through
    accel.inference, and both time device throughput with measure.timing.time_steps."""
    import kerascnn.accel.throughput as throughput

    assert throughput.compile_inference is inference.compile_inference
    assert not hasattr(throughput, "_jax_infer") and not hasattr(throughput, "_tf_infer")
    assert not hasattr(throughput, "_time") and not hasattr(throughput, "_timed_windows")
    compiled, timed = [], []

    def counting(model, jit=True):
        compiled.append(model.name)
        return original(model, jit=jit)

    def counting_steps(run, **kwargs):
        timed.append(kwargs)
        return original_steps(run, **kwargs)

    original, original_steps = inference.compile_inference, timing.time_steps
    monkeypatch.setattr(throughput, "compile_inference", counting)
    monkeypatch.setattr(inference, "compile_inference", counting)
    monkeypatch.setattr(timing, "time_steps", counting_steps)
    result = throughput.measure_throughput(
        lambda: _tiny_model(), batch_size=4, steps=2, windows=1, train=False
    )
    assert result["infer_img_s"] > 0 and len(compiled) == 1 and len(timed) == 1
    data = training.prepare_data(_dataset(), CFG, seed=0)
    ev = evaluation.evaluate_model(_tiny_model(), data, CFG)
    assert len(compiled) == 2
    timings = evaluation.measure_inference(ev, data, CFG)
    assert len(timed) == 2 and timings.device_throughput.images_per_s > 0


def test_one_device_name():
    import kerascnn.accel as accel
    from kerascnn.measure.environment import device_name

    assert not hasattr(accel, "device_name")
    name = device_name()
    assert name == device_name(keras.backend.backend()) and name.startswith(("CPU: ", "GPU: "))


def test_tensorflow_inference_without_xla_runs_a_frozen_graph():
    """The weights are folded in as constants (BatchNorm then folds into the convolutions):
    the outputs are the model's, and a later change of the weights is not seen until the
    function is compiled again."""
    from kerascnn.models import create_model

    model = create_model("resnet18", input_shape=(32, 32, 3), num_classes=10, width=0.25)
    x = np.random.default_rng(0).standard_normal((3, 32, 32, 3)).astype(np.float32)
    inf = inference.compile_inference(model, jit=False)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(inf.host(x), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(inf.host(x[:1]), expected[:1], rtol=1e-4, atol=1e-5)  # any batch
    before = inf.host(x)
    model.set_weights([w * 0.5 for w in model.get_weights()])
    np.testing.assert_array_equal(inf.host(x), before)  # frozen: constants, not variables
    assert not np.allclose(inference.compile_inference(model, jit=False).host(x), before)


def test_a_curve_point_evaluates_with_recomputed_statistics_and_puts_training_s_back():
    from kerascnn.bench.evaluation import TestEvaluator
    from kerascnn.bench.optim import compile_for_training

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    data = training.prepare_data(_dataset(), CFG, seed=0)
    run = RunSpec("m", "fixture", 0, CFG.updated(precise_bn_batches=2))
    evaluator = TestEvaluator(model, data, run)
    assert [len(b) for b in evaluator.batches] == [16, 16]
    compile_for_training(model, run.config, keras.optimizers.Adam(), 3)
    evaluator.net = model
    bn = model.get_layer("bn")
    before = keras.ops.convert_to_numpy(bn.moving_variance).copy()  # ones: as initialised
    logs = evaluator.curve_point(model)
    assert set(logs) >= {"loss", "acc"} and evaluator.seconds > 0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.moving_variance), before)
    stale = evaluator.recalibrate()  # the final one stays
    assert stale.layers == 1 and stale.calls == 2 and stale.batches == 2 and stale.batch_size == 16
    assert stale.top1_stale is not None
    assert not np.allclose(keras.ops.convert_to_numpy(bn.moving_variance), before)
    off = TestEvaluator(model, data, RunSpec("m", "fixture", 0, CFG.updated(precise_bn=False)))
    assert off.batches == [] and off.recalibrate() is None


def test_the_saved_model_keeps_the_input_structure_and_no_training_configuration(tmp_path):
    model = _tiny_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    saved = evaluation.inference_model(model)
    assert not isinstance(saved.input, list) and not saved.compiled  # one tensor, as built
    assert saved.layers == model.layers  # the same layers and weights, not a copy
    evaluation.model_size(model, keep=tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert not loaded.compiled and not isinstance(loaded.input, list)
