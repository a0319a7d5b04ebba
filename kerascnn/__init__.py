"""kerascnn: learn CNNs by running them, compare CNN architectures honestly (Keras 3).

    >>> from kerascnn import create_model, list_models
    >>> model = create_model("lenet", input_shape=(28, 28, 1), num_classes=10)

Importing kerascnn needs Keras but not TensorFlow: models, layers and the analysis use
keras.ops only, so KERAS_BACKEND=jax works without TensorFlow installed.
"""

__version__ = "0.1.0"

_FROM_MODELS = ("create_model", "list_models", "model_info", "parse_spec", "register_model")


def __getattr__(name: str):
    """The registry's functions, from :mod:`kerascnn.models` on first use (``import kerascnn``
    and the command line's ``--help`` stay without Keras until a model is needed)."""
    if name in _FROM_MODELS:
        from kerascnn import models

        return getattr(models, name)
    raise AttributeError(f"module 'kerascnn' has no attribute {name!r}")


def load_dataset(name: str, data_dir=None, **options):
    """Load a dataset by name (see :func:`kerascnn.data.load_dataset` for ``options``:
    ``image_size``, ``aspect``, ``test_fraction``, ``seed``, ``skip_bad``, ``splits``)."""
    from kerascnn.data import load_dataset as _load

    return _load(name, data_dir=data_dir, **options)


__all__ = [
    "create_model",
    "list_models",
    "model_info",
    "parse_spec",
    "register_model",
    "load_dataset",
    "__version__",
]
