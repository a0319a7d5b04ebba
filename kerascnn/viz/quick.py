"""A quickly trained model for the pictures (CLI ``kerascnn viz kernels|feature-maps|confusion``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerascnn import checks
from kerascnn._compile import compile_model
from kerascnn.errors import ArgumentError, CorruptDataError


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [0, 1]."""
    return np.asarray(x, dtype="float32") / 255.0


def load_saved_model(path):
    """A ``.keras`` model file -> keras.Model; a missing or unreadable file is a user error."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise ArgumentError(
            f"The weights file {path} does not exist. Pass a model saved with "
            f"model.save('name.keras'). Received: weights={str(path)!r}"
        )
    try:
        return keras.models.load_model(path)
    except Exception as exc:  # keras raises ValueError, OSError, zipfile errors, ... per cause
        reason = " ".join(str(exc).split())[:300]
        raise CorruptDataError(
            f"{path} could not be loaded as a Keras model ({type(exc).__name__}: {reason}). "
            f"Received: weights={str(path)!r}"
        ) from exc


def train_quick(
    model: str = "lenet",
    dataset: str = "fashion_mnist_mini",
    *,
    epochs: int = 2,
    samples: int | None = None,
    seed: int = 0,
    data_dir=None,
    weights: str | None = None,
):
    """Build ``model`` (a registry spec) for ``dataset`` and fit it for ``epochs`` with Adam.

    With ``weights`` (a ``.keras`` file) the saved model is loaded instead and not trained.
    Returns ``(model, dataset, history_dict)``.
    """
    import keras

    from kerascnn.data import load_dataset
    from kerascnn.models import create_model

    ds = load_dataset(dataset, data_dir=data_dir)
    if weights:
        return load_saved_model(weights), ds, {}
    epochs = checks.non_negative_int("train_quick", "epochs", epochs)
    samples = checks.optional(checks.positive_int)("train_quick", "samples", samples)
    seed = checks.non_negative_int("train_quick", "seed", seed)
    keras.utils.set_random_seed(seed)
    net = create_model(model, input_shape=ds.input_shape, num_classes=ds.num_classes)
    compile_model(
        net,
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    n = len(ds.x_train) if samples is None else min(int(samples), len(ds.x_train))
    history = {}
    if epochs:
        h = net.fit(
            to_float(ds.x_train[:n]),
            ds.y_train[:n],
            epochs=epochs,
            batch_size=64,
            validation_data=(to_float(ds.x_test), ds.y_test),
            verbose=0,
        )
        history = h.history
    return net, ds, history
