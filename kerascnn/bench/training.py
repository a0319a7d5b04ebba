"""One benchmark run, in phases: data, build, train, evaluate, measure, record.

:func:`execute_run` calls them in that order; each takes what the one before produced and
returns what it measured as a (partial) :class:`~kerascnn.record.run.Measurements`:

* :func:`~kerascnn.bench.arrays.prepare_data`: float32 images in [0, 1] and integer labels
  (seeded subsets);
* :func:`build_model`: the model (float32 softmax under mixed precision), its parameters and MACs;
* :func:`train_model`: compile and fit (callbacks of :mod:`kerascnn.bench.callbacks`, the
  augmentation of :mod:`kerascnn.bench.augment`) in phases: :func:`plan_and_compile`,
  :func:`fit_callbacks`, :func:`run_fit`; curves and steady-state images/s;
* the evaluation phases of :mod:`kerascnn.bench.evaluation`: the BatchNorm statistics
  recomputed, test-set metrics, inference timings, the model file, memory and load average.

A run that fails for a reason of its own (NaN loss or outputs, time budget) raises
:class:`RunFailure` carrying everything measured until then in ``.partial``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerascnn._dtype import dtype_policy_scope
from kerascnn.accel.fused_train import training_view
from kerascnn.analysis import profile
from kerascnn.bench.arrays import Arrays, one_hot, prepare_data  # noqa: F401 (API)
from kerascnn.bench.augment import BatchStream, augment_model, mixing_kind
from kerascnn.bench.budget import (
    StepPlan,
    budget_plan,
    calibrate,
    closed_curve,
    plan_steps,
    test_curve,
)
from kerascnn.bench.callbacks import Progress, StepTimer, TestCurve
from kerascnn.bench.config import RunSpec
from kerascnn.bench.evaluation import (  # noqa: F401 (RunFailure: part of this module's API)
    RunFailure,
    TestEvaluator,
    evaluate_model,
    measure_inference,
    record_measurements,
)
from kerascnn.bench.optim import compile_for_training, make_optimizer, make_schedule
from kerascnn.distributed.cluster import strategy
from kerascnn.distributed.replicas import (
    enter_data_parallel,
    fit_input,
    for_workers,
    local_copy,
    process_shard,
    weights_in_sync,
)
from kerascnn.measure.environment import load_average, peak_rss_mib
from kerascnn.record.run import Measurements

# --------------------------------------------------------------------------- build


def build_for_precision(
    spec: str,
    input_shape,
    num_classes: int,
    precision: str,
    image_size=None,
    aspect="squash",
    normalization=None,
):
    """The model for a run; under a mixed policy its softmax runs in float32.

    With an ``image_size`` other than the data's, the model is built on a Resizing layer
    (:func:`kerascnn.data.resize.resizing_layer`) that takes the data as it is: the network is
    the one for ``image_size`` (its parameters and MACs), fed resized images on the fly. With
    ``normalization=(mean, std)`` a Normalization layer (after any resize) subtracts the
    per-channel mean and divides by the std; the statistics sit in its configuration (no
    parameters), so a saved model carries its preprocessing.

    Mixed precision: the builder makes logits and a float32 softmax layer (no weights) follows,
    so the loss and metrics see float32 probabilities (TensorFlow's top-k rejects float16).
    """
    from kerascnn.models import create_model

    where = {"input_shape": tuple(input_shape)}
    resize = image_size and tuple(image_size) != tuple(input_shape[:2])
    if resize or normalization:
        from kerascnn.data.resize import resizing_layer

        x = keras.Input(tuple(input_shape), name="images")
        if resize:
            x = resizing_layer(tuple(image_size), aspect, name="resize")(x)
        if normalization:
            mean, std = (np.asarray(v, "float32") for v in normalization)
            x = keras.layers.Normalization(mean=mean, variance=np.square(std), name="normalize")(x)
        where = {"input_tensor": x}
    if precision == "float32":
        return create_model(spec, num_classes=num_classes, **where)
    logits = create_model(spec, num_classes=num_classes, classifier_activation=None, **where)
    probs = keras.layers.Activation(
        "softmax", dtype="float32", name=f"{logits.name}_softmax_float32"
    )(logits.output)
    return keras.Model(logits.input, probs, name=logits.name)


def profile_facts(model) -> dict[str, Any]:
    """MACs and parameters from ``kerascnn.analysis.profile``; its error instead if it fails."""
    try:
        p = profile(model)
    except Exception as exc:  # a profiler gap must not lose the trained run
        return {"macs": None, "macs_error": f"{type(exc).__name__}: {exc}"}
    return {"macs": int(p.total_macs), "profile_params": int(p.total_params)}


def build_model(run: RunSpec, data: Arrays) -> tuple[keras.Model, Measurements]:
    """The run's model and its facts: name, parameters, MACs."""
    cfg = run.config
    model = build_for_precision(
        run.model,
        data.input_shape,
        data.num_classes,
        cfg.precision,
        cfg.image_size,
        cfg.aspect,
        data.normalization,
    )
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return model, Measurements(
        model_name=model.name,
        params=int(model.count_params()),
        trainable_params=int(trainable),
        **profile_facts(model),
    )


# --------------------------------------------------------------------------- train


@dataclass
class FitPlan:
    """What the phases of a fit share: the compiled training network, the plan that sized its
    schedule (:mod:`kerascnn.bench.budget`) and the epochs/segments after which the test
    curve gets a point."""

    net: keras.Model
    plan: StepPlan
    validated: list[int] = field(default_factory=list)
    fused: bool = False  # trained through TensorFlow's fused kernels (accel.fused_train)

    @property
    def unit(self) -> str:
        """What Keras calls an epoch here: a segment of a stepped run, or an epoch."""
        return "segment" if self.plan.stepped else "epoch"


def training_network(model, data: Arrays, run: RunSpec) -> tuple[FitPlan, list | None]:
    """The run's plan and compiled training network: ``model`` (one TensorFlow process: its
    :func:`~kerascnn.accel.fused_train.training_view`) behind the augmentation layers, with the
    run's optimizer and schedule; and the schedule's adjustable length (budget runs')."""
    cfg, fused = run.config, strategy() is None and keras.backend.backend() == "tensorflow"
    plan = plan_steps(cfg, len(data.x_train))
    trained = training_view(model) if fused else model
    net = for_workers(augment_model(trained, cfg.augment, data.input_shape, run.seed))
    schedule = make_schedule(cfg, plan.steps, plan.warmup_steps)
    optimizer = make_optimizer(cfg, schedule, fused=fused)
    length = schedule.adjustable(optimizer) if plan.kind == "budget" else None
    compile_for_training(net, cfg, optimizer, data.num_classes)
    return FitPlan(net, plan, fused=fused), length


def plan_and_compile(model, data: Arrays, run: RunSpec) -> FitPlan:
    """:func:`training_network`; a budget run times the compiled step and sizes the schedule
    to the budget. A stepped run's random state is then reset to the seed (the same whether
    the steps came from a calibration or not)."""
    (fit, length), cfg = training_network(model, data, run), run.config
    net, plan, fused = fit.net, fit.plan, fit.fused
    if length is not None:  # time the compiled step, then size the schedule to the budget
        plan = budget_plan(cfg, len(data.x_train), calibrate(net, data, run))
        for variable, value in zip(length, (plan.steps, plan.warmup_steps)):
            variable.assign(float(value))
    if plan.stepped:  # the same random state whether the steps came from a calibration or not
        keras.utils.set_random_seed(run.seed)
    # test evaluations after each epoch/segment but the last: the final evaluation closes
    last = plan.segments - 1 if plan.stepped else plan.segments
    validated = list(range(1, last + 1)) if cfg.eval_every_epoch else []
    return FitPlan(net, plan, validated, fused)


def fit_callbacks(
    fit: FitPlan,
    timer: StepTimer,
    evaluator: TestEvaluator,
    *,
    label: str,
    echo: Callable[[str], None],
    log_path: Path | None,
    tensorboard_dir: Path | None,
) -> list[keras.callbacks.Callback]:
    """The fit's callbacks: step times and stops, the test curve, progress lines, the logs."""
    callbacks = [
        timer,  # first: an epoch's end time is taken before its test evaluation
        TestCurve(fit.validated, evaluator.curve_point),
        Progress(label, fit.plan.segments, echo, unit=fit.unit, metrics=fit.plan.stepped),
    ]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(log_path)))
    if tensorboard_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
    return callbacks


def run_fit(
    fit: FitPlan, data: Arrays, run: RunSpec, callbacks: list, verbose: int | None
) -> tuple[dict[str, list[float]], float]:
    """``fit.net.fit`` for the plan: (the history's curves, the seconds it took).

    A stepped run, a mixing augmentation or several processes feed a :class:`BatchStream` of
    exactly the plan's steps; an epoch run otherwise fits on the arrays, shuffled."""
    cfg, plan = run.config, fit.plan
    # a stepped run fits as its calibration did: without Keras' progress bar (Progress
    # prints each segment's logs); an epoch run keeps Keras' own output
    if plan.stepped:
        verbose = 0
    elif verbose is None:
        verbose = 1 if os.isatty(1) else 2
    fit_kwargs: dict[str, Any] = dict(epochs=plan.segments, callbacks=callbacks, verbose=verbose)
    kind = mixing_kind(cfg.augment)
    shard = process_shard()  # several processes: each feeds its part of every global batch
    t0 = time.perf_counter()
    if kind or plan.stepped or shard[1] > 1:
        batches = BatchStream(
            data.x_train,
            data.y_train_onehot,
            cfg.batch_size,
            run.seed,
            steps=plan.steps,  # exactly: a stream left mid-way is slow to finalize later
            mix=kind,
            shard=shard,
        )
        with warnings.catch_warnings():  # the last segment ends with the stream, by design
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            history = fit.net.fit(
                fit_input(batches), steps_per_epoch=plan.segment_steps, **fit_kwargs
            )
    else:
        history = fit.net.fit(
            data.x_train,
            data.y_train_onehot,
            batch_size=cfg.batch_size,
            shuffle=True,
            **fit_kwargs,
        )
    seconds = time.perf_counter() - t0
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}, seconds


def train_model(
    model,
    data: Arrays,
    run: RunSpec,
    *,
    label: str = "",
    echo: Callable[[str], None] = print,
    log_path: Path | None = None,
    tensorboard_dir: Path | None = None,
    verbose: int | None = None,
    evaluator: TestEvaluator | None = None,
) -> Measurements:
    """Fit ``model`` (behind the augmentation layers) on ``data`` for the run's protocol
    (:mod:`kerascnn.bench.budget`); curves, the test-accuracy curve and train stats.

    In phases: :func:`plan_and_compile`, :func:`fit_callbacks`, :func:`run_fit`. The curve's
    test evaluations (``cfg.eval_every_epoch``) go through ``evaluator`` (by default one for
    ``model``): each recomputes the BatchNorm statistics first.
    Raises RunFailure (with those measurements) on a non-finite loss or a spent time budget.
    """
    cfg = run.config
    fit = plan_and_compile(model, data, run)
    timer = StepTimer(cfg.time_budget, stop_at=fit.plan.steps if fit.plan.stepped else None)
    evaluator = evaluator or TestEvaluator(model, data, run)
    evaluator.net = fit.net
    callbacks = fit_callbacks(
        fit,
        timer,
        evaluator,
        label=label,
        echo=echo,
        log_path=log_path,
        tensorboard_dir=tensorboard_dir,
    )
    curves, seconds = run_fit(fit, data, run, callbacks, verbose)
    n_train = len(data.x_train)
    measured = Measurements(
        # under mixed_float16 compile() wraps the optimizer in a LossScaleOptimizer
        loss_scaling=isinstance(fit.net.optimizer, keras.optimizers.LossScaleOptimizer),
        jit_compile=bool(fit.net.jit_compile),
        fused_train=fit.fused,
        history=curves,
        epochs_completed=len(timer.epoch_end),
        protocol=fit.plan.info(),
        curve=test_curve(timer, curves, fit.validated, cfg.batch_size, n_train),
        train=timer.stats(seconds, cfg.batch_size, n_train),
    )
    if timer.failure is not None:
        raise RunFailure(*timer.failure, partial=measured)
    final = curves.get("loss", [])
    if final and not math.isfinite(final[-1]):
        raise RunFailure("NaNLoss", f"The final training loss is {final[-1]}.", partial=measured)
    return measured


# --------------------------------------------------------------------------- one run


def execute_run(run: RunSpec, ds, **kwargs) -> Measurements:
    """Train and measure one run (keywords of :func:`_measure_run`) with its layers made under
    the run's precision policy; the policy in force before comes back afterwards."""
    keras.backend.clear_session()  # before the scope: it also resets the global dtype policy
    with dtype_policy_scope(run.config.precision):
        return _measure_run(run, ds, **kwargs)


def _replicas_agree(model, measured: Measurements):
    """A local copy of ``model`` once every process holds the same weights (noted in
    ``measured.data_parallel``); RunFailure ``ReplicasDiverged`` when they differ."""
    measured.data_parallel.weights_in_sync = weights_in_sync(model)
    if not measured.data_parallel.weights_in_sync:
        raise RunFailure(
            "ReplicasDiverged",
            "The processes ended training with different weights.",
            partial=measured,
        )
    return local_copy(model)


def _measure_run(
    run: RunSpec,
    ds,
    *,
    label: str = "",
    echo: Callable[[str], None] = print,
    model_path: Path | None = None,
    log_path: Path | None = None,
    tensorboard_dir: Path | None = None,
    verbose: int | None = None,
) -> Measurements:
    """The phases of one run; raises RunFailure (with ``.partial``) or any other error."""
    cfg = run.config
    measured = Measurements(load_average_before=load_average(), rss_before_mib=peak_rss_mib())
    try:
        keras.utils.set_random_seed(run.seed)
        data = prepare_data(ds, cfg, run.seed)
        with contextlib.ExitStack() as scope:  # build, compile and fit in the data-parallel scope
            if cfg.distribute:
                measured.data_parallel = enter_data_parallel(scope, cfg.batch_size)
            model, facts = build_model(run, data)
            measured = measured.merged(facts)
            evaluator = TestEvaluator(model, data, run)
            trained = train_model(
                model,
                data,
                run,
                label=label,
                echo=echo,
                log_path=log_path,
                tensorboard_dir=tensorboard_dir if cfg.tensorboard else None,
                verbose=verbose,
                evaluator=evaluator,
            )
            measured = measured.merged(trained)
        # the statistics the final evaluation, the file and deploy see; every process computes
        # the same from the same batches (before the check that the processes agree)
        measured.precise_bn = evaluator.recalibrate()
        rank, processes = process_shard()
        if processes > 1:  # every process checks, evaluates a local copy; process 0 measures
            model = _replicas_agree(model, measured)
        t0 = time.perf_counter()
        ev = evaluate_model(model, data, cfg)  # on the trained (replicated) model as usual
        measured = measured.merged(ev.measured)
        measured.eval_seconds = evaluator.seconds + time.perf_counter() - t0
        measured.curve = closed_curve(measured)
        if rank > 0:  # timing here would share the host with process 0's; it writes nothing
            return measured
        measured.inference = measure_inference(ev, data, cfg)
        keep = model_path if cfg.save_models else None
        return record_measurements(measured, model, keep)
    except RunFailure as exc:
        exc.partial = measured.merged(exc.partial)
        raise
