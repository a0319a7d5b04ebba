"""Random hyper-parameter search with KerasTuner (keras_tuner.RandomSearch) over lr and weight decay.

Distributed, in KerasTuner's own mode: one chief process runs the oracle (it hands out the trials
and collects their scores, and writes the report) and any number of workers run trials. Each
process gets ``KERASTUNER_TUNER_ID`` ("chief", or a worker's name such as "tuner0"),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` (the chief's address), and the same
``tuner_dir``, a folder every process can read and write (the workers save their trials there;
the chief loads the best one from it).

The search *strategy* is also here as plain NumPy, for any objective: :func:`sample_log_uniform`
draws points log-uniformly from a box of ranges, :func:`narrow_ranges` shrinks the box to the
span of the best few points, and :func:`coarse_to_fine` repeats the two over rounds (lesson 09).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import nullcontext

import numpy as np

from kerascnn._compile import compile_model
from kerascnn.errors import ArgumentError, ConfigError, install_hint
from kerascnn.experiments._common import (
    ExperimentResult,
    accuracy,
    load_data,
    settings,
    tiny_convnet,
    write_report,
)

SPACE = {"learning_rate": (1e-4, 3e-2), "weight_decay": (1e-6, 1e-1)}
"""The experiment's search box: name -> (low, high), both sampled on a log scale (AdamW)."""


def _short(x: float) -> str:
    """1e-4 for 0.0001, 3e-2 for 0.03: how the report writes a range's bounds."""
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _check_ranges(ranges) -> dict[str, tuple[float, float]]:
    checked = {}
    for name, bounds in dict(ranges).items():
        lo, hi = (float(b) for b in bounds)
        if not 0 < lo <= hi:
            raise ArgumentError(
                f"A log-scale range needs 0 < low <= high. Received: {name}=({lo!r}, {hi!r})"
            )
        checked[name] = (lo, hi)
    if not checked:
        raise ArgumentError("ranges must name at least one hyper-parameter. Received: {}")
    return checked


def sample_log_uniform(ranges, n: int, rng) -> list[dict[str, float]]:
    """``n`` points; each value is ``10 ** U(log10 low, log10 high)`` for its name's range, so
    every decade of a range gets the same share of the trials. ``rng``: a NumPy Generator."""
    box = _check_ranges(ranges)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ArgumentError(f"n must be a positive int. Received: n={n!r}")
    logs = {k: rng.uniform(np.log10(lo), np.log10(hi), n) for k, (lo, hi) in box.items()}
    return [{k: float(10 ** v[i]) for k, v in logs.items()} for i in range(n)]


def narrow_ranges(points, scores, top_k: int = 3) -> dict[str, tuple[float, float]]:
    """The box spanned by the ``top_k`` best-scoring points (higher is better): per name, the
    min and max of their values (log space and linear give the same box). A NaN score (a
    diverged trial) counts as the worst. The box lies inside any box the points came from."""
    points = list(points)
    scores = np.asarray(scores, dtype=float)
    if len(points) != len(scores) or not points:
        raise ArgumentError(
            f"points and scores must be non-empty and as long as each other. Received: "
            f"{len(points)} points, {len(scores)} scores"
        )
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= len(points):
        raise ArgumentError(
            f"top_k must be an int from 1 to the number of points ({len(points)}). "
            f"Received: top_k={top_k!r}"
        )
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:top_k]
    best = [points[i] for i in order]
    return {k: (min(p[k] for p in best), max(p[k] for p in best)) for k in points[0]}


def coarse_to_fine(evaluate, ranges, *, rounds: int = 3, trials: int = 10, top_k: int = 3, seed=0):
    """Random search in rounds: each round samples ``trials`` points log-uniformly from its box
    (:func:`sample_log_uniform`), scores each with ``evaluate(**point)`` (higher is better) and
    hands the next round the box of its ``top_k`` best (:func:`narrow_ranges`).

    Returns one dict per round: ``round`` (1, 2, ...), ``ranges`` (the box it sampled),
    ``points``, ``scores``, ``best`` (``(point, score)`` of its best trial)."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ArgumentError(f"rounds must be a positive int. Received: rounds={rounds!r}")
    rng = np.random.default_rng(seed)
    box = _check_ranges(ranges)
    history = []
    for r in range(1, rounds + 1):
        points = sample_log_uniform(box, trials, rng)
        scores = [float(evaluate(**p)) for p in points]
        i = int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))
        history.append(
            dict(round=r, ranges=box, points=points, scores=scores, best=(points[i], scores[i]))
        )
        box = narrow_ranges(points, scores, top_k)
    return history


def _random_search(kt):
    class RandomSearch(kt.RandomSearch):
        """keras_tuner.RandomSearch that imports tensorboard only when a TensorBoard callback is
        passed (KerasTuner 1.4.8 imports it for every trial on the TensorFlow backend, and
        TensorFlow 2.21 no longer installs it)."""

        def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
            if any(c.__class__.__name__ == "TensorBoard" for c in callbacks):
                super()._configure_tensorboard_dir(callbacks, trial, execution)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.trials_run = []  # ids of the trials this process ran (a worker reports them)

        def on_trial_end(self, trial):
            self.trials_run.append(trial.trial_id)
            super().on_trial_end(trial)

    return RandomSearch


DISTRIBUTED = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def search_role(environ=os.environ) -> str | None:
    """None (one process), "chief" or the worker's tuner id, from KerasTuner's variables."""
    present = [n for n in DISTRIBUTED if environ.get(n)]
    if not present:
        return None
    if len(present) < len(DISTRIBUTED):
        raise ConfigError(
            f"A distributed search needs all of {', '.join(DISTRIBUTED)}. "
            f"Received: only {', '.join(f'{n}={environ[n]}' for n in present)}"
        )
    return environ["KERASTUNER_TUNER_ID"]


TITLE = "Random search over learning rate and weight decay (KerasTuner)"


def _import_tuner():
    try:
        import keras_tuner as kt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError(
            f"The hparam experiment needs KerasTuner ({install_hint('tune')}). "
            "Received: import keras_tuner failed"
        ) from None
    return kt


def _check_options(role, trials, tuner_dir) -> None:
    if role is not None and tuner_dir is None:
        raise ConfigError(
            "A distributed search needs --tuner-dir, one folder that the chief and every worker "
            f"can read and write. Received: KERASTUNER_TUNER_ID={role} without --tuner-dir"
        )
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials must be 1 or more. Received: --trials {trials}")


def _hypermodel(data):
    """KerasTuner's build function: the tiny conv net with AdamW at the trial's lr and decay."""
    import keras

    def build(hp):
        lr = hp.Float("learning_rate", *SPACE["learning_rate"], sampling="log")
        wd = hp.Float("weight_decay", *SPACE["weight_decay"], sampling="log")
        model = tiny_convnet(data.input_shape, data.num_classes, name="hp_net")
        return compile_model(
            model,
            optimizer=keras.optimizers.AdamW(lr, weight_decay=wd),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=False,
        )

    return build


def _trial_rows(tuner) -> list[dict]:
    """The scored trials, best first."""
    done = [t for t in tuner.oracle.trials.values() if t.score is not None]
    return [
        {
            "trial": t.trial_id,
            "learning rate": t.hyperparameters.get("learning_rate"),
            "weight decay": t.hyperparameters.get("weight_decay"),
            "val accuracy": float(t.score),
        }
        for t in sorted(done, key=lambda t: -t.score)
    ]


def _search(kt, data, n_val, *, role, trials, epochs, seed, tuner_dir):
    """Run the search: ``(rows, best model's test accuracy)`` for one process or the chief, a
    worker's :func:`_worker_result` otherwise."""
    import keras

    x_val, y_val = data.x_train[:n_val], data.y_train[:n_val]
    x_fit, y_fit = data.x_train[n_val:], data.y_train[n_val:]
    keras.utils.set_random_seed(seed)
    folder = nullcontext(str(tuner_dir)) if tuner_dir else tempfile.TemporaryDirectory()
    with folder as tmp:
        tuner = _random_search(kt)(
            _hypermodel(data),
            objective="val_accuracy",
            max_trials=trials,
            seed=seed,
            directory=tmp,
            project_name="hparam",
            overwrite=role in (None, "chief"),  # a worker must not wipe the chief's project
        )
        tuner.search(
            x_fit, y_fit, epochs=epochs, batch_size=64, validation_data=(x_val, y_val), verbose=0
        )
        if role not in (None, "chief"):
            return _worker_result(role, tuner.trials_run)
        rows = _trial_rows(tuner)
        best_model = tuner.get_best_models(1)[0]
        return rows, accuracy(best_model, data.x_test, data.y_test)


def _findings(rows, test_acc) -> list[str]:
    best = rows[0]
    worst = rows[-1]
    return [
        f"{len(rows)} trials; best: lr={best['learning rate']:.2e}, weight decay={best['weight decay']:.2e}, "
        f"val accuracy {best['val accuracy']:.3f}; its test accuracy is {test_acc:.3f}.",
        f"Worst trial: lr={worst['learning rate']:.2e} (val accuracy {worst['val accuracy']:.3f}); "
        f"spread between best and worst trial: {best['val accuracy'] - worst['val accuracy']:.3f}.",
    ]


def _figure(rows, epochs):
    from kerascnn.viz import new_figure

    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    lrs = np.array([r["learning rate"] for r in rows])
    wds = np.array([r["weight decay"] for r in rows])
    accs = np.array([r["val accuracy"] for r in rows])
    sc = ax.scatter(lrs, accs, c=np.log10(wds), cmap="viridis", s=50)
    fig.colorbar(sc, ax=ax, label="log10 weight decay")
    ax.set(
        xscale="log",
        xlabel="learning rate",
        ylabel="validation accuracy",
        title=f"{len(rows)} random trials, {epochs} epoch(s) each",
    )
    ax.grid(alpha=0.3)
    return fig


def run(
    out,
    *,
    fast: bool = False,
    seed: int = 0,
    dataset: str = "fashion_mnist_mini",
    trials: int | None = None,
    tuner_dir=None,
):
    """The search and its report; ``trials`` overrides the count (10, or 2 with ``fast``).
    Under KerasTuner's distributed variables (:func:`search_role`) a worker runs trials and
    returns what it ran (``out_dir`` None); the chief writes the report."""
    kt = _import_tuner()
    role = search_role()
    _check_options(role, trials, tuner_dir)
    train, default_trials, epochs = (400, 2, 1) if fast else (2400, 10, 3)
    trials = trials or default_trials
    data = load_data(dataset, train=train, seed=seed)
    # validation = a held-out part of the training data; the test set is used once at the end
    n_val = train // 5
    found = _search(
        kt, data, n_val, role=role, trials=trials, epochs=epochs, seed=seed, tuner_dir=tuner_dir
    )
    if isinstance(found, ExperimentResult):  # a worker's answer
        return found
    rows, test_acc = found
    findings = _findings(rows, test_acc)
    fig = _figure(rows, epochs)
    st = settings(
        dataset=dataset,
        fit_samples=len(data.x_train[n_val:]),
        val_samples=n_val,
        trials=trials,
        epochs=epochs,
        search="keras_tuner.RandomSearch"
        + (" (distributed: this chief's oracle, trials run by workers)" if role else ""),
        space="lr log[{},{}], wd log[{},{}] (AdamW)".format(
            *map(_short, SPACE["learning_rate"] + SPACE["weight_decay"])
        ),
        fast=fast,
        seed=seed,
    )
    return write_report(
        out,
        name="hparam",
        title=TITLE,
        intro="KerasTuner's RandomSearch samples learning rate and AdamW weight decay log-uniformly; each "
        "trial trains the same small conv net and is scored on a validation split of the training "
        "data. Only the best model touches the test set.",
        rows=rows,
        findings=findings,
        figures={"search.png": fig},
        settings_=st,
        extra={"best_test_accuracy": test_acc},
    )


def _worker_result(tuner_id: str, trial_ids: list[str]):
    """A worker's answer: the trials it ran (the chief writes the report)."""
    ran = ", ".join(trial_ids) or "none"
    return ExperimentResult(
        name="hparam",
        out_dir=None,
        rows=[{"trial": t, "tuner": tuner_id} for t in trial_ids],
        findings=[f"worker {tuner_id} ran trial(s) {ran}; the chief writes the report"],
    )
