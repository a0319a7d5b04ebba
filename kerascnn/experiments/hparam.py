"""Random hyper-parameter search with KerasTuner (keras_tuner.RandomSearch) over lr and weight decay."""

from __future__ import annotations

import tempfile

import numpy as np

from kerascnn._compile import compile_model
from kerascnn.errors import ConfigError
from kerascnn.experiments._common import accuracy, load_data, settings, tiny_convnet, write_report


def _random_search(kt):
    class RandomSearch(kt.RandomSearch):
        """keras_tuner.RandomSearch that imports tensorboard only when a TensorBoard callback is
        passed (KerasTuner 1.4.8 imports it for every trial on the TensorFlow backend, and
        TensorFlow 2.21 no longer installs it)."""

        def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
            if any(c.__class__.__name__ == "TensorBoard" for c in callbacks):
                super()._configure_tensorboard_dir(callbacks, trial, execution)

    return RandomSearch


TITLE = "Random search over learning rate and weight decay (KerasTuner)"


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"):
    import keras

    try:
        import keras_tuner as kt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "The hparam experiment needs KerasTuner: pip install 'kerascnn[tune]' (keras-tuner). "
            "Received: import keras_tuner failed"
        ) from None

    from kerascnn.viz import new_figure

    train, trials, epochs = (400, 2, 1) if fast else (2400, 10, 3)
    data = load_data(dataset, train=train, seed=seed)
    n_val = (
        train // 5
    )  # validation = a held-out part of the training data; the test set is used once at the end
    x_val, y_val = data.x_train[:n_val], data.y_train[:n_val]
    x_fit, y_fit = data.x_train[n_val:], data.y_train[n_val:]

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

    keras.utils.set_random_seed(seed)
    with tempfile.TemporaryDirectory(prefix="kerascnn_tuner_") as tmp:
        tuner = _random_search(kt)(
            build,
            objective="val_accuracy",
            max_trials=trials,
            seed=seed,
            directory=tmp,
            project_name="hparam",
            overwrite=True,
        )
        tuner.search(
            x_fit, y_fit, epochs=epochs, batch_size=64, validation_data=(x_val, y_val), verbose=0
        )
        done = [t for t in tuner.oracle.trials.values() if t.score is not None]
        rows = []
        for t in sorted(done, key=lambda t: -t.score):
            rows.append(
                {
                    "trial": t.trial_id,
                    "learning rate": t.hyperparameters.get("learning_rate"),
                    "weight decay": t.hyperparameters.get("weight_decay"),
                    "val accuracy": float(t.score),
                }
            )
        best_model = tuner.get_best_models(1)[0]
        test_acc = accuracy(best_model, data.x_test, data.y_test)
    best = rows[0]
    worst = rows[-1]
    findings = [
        f"{len(rows)} trials; best: lr={best['learning rate']:.2e}, weight decay={best['weight decay']:.2e}, "
        f"val accuracy {best['val accuracy']:.3f}; its test accuracy is {test_acc:.3f}.",
        f"Worst trial: lr={worst['learning rate']:.2e} (val accuracy {worst['val accuracy']:.3f}); "
        f"spread between best and worst trial: {best['val accuracy'] - worst['val accuracy']:.3f}.",
    ]
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
    st = settings(
        dataset=dataset,
        fit_samples=len(x_fit),
        val_samples=n_val,
        trials=trials,
        epochs=epochs,
        search="keras_tuner.RandomSearch",
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
