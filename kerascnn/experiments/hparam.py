"""Random hyper-parameter search with KerasTuner (keras_tuner.RandomSearch) over lr and weight decay.

Distributed, in KerasTuner's own mode: one chief process runs the oracle (it hands out the trials
and collects their scores, and writes the report) and any number of workers run trials. Each
process gets ``KERASTUNER_TUNER_ID`` ("chief", or a worker's name such as "tuner0"),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` (the chief's address), and the same
``tuner_dir``, a folder every process can read and write (the workers save their trials there;
the chief loads the best one from it).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import nullcontext

import numpy as np

from kerascnn._compile import compile_model
from kerascnn.errors import ConfigError, install_hint
from kerascnn.experiments._common import (
    ExperimentResult,
    accuracy,
    load_data,
    settings,
    tiny_convnet,
    write_report,
)


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
        lr = hp.Float("learning_rate", 1e-4, 3e-2, sampling="log")
        wd = hp.Float("weight_decay", 1e-6, 1e-1, sampling="log")
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
        space="lr log[1e-4,3e-2], wd log[1e-6,1e-1] (AdamW)",
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
