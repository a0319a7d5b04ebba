"""kerascnn: learn CNNs by running them, compare CNN architectures honestly (Keras 3).

    >>> from kerascnn import create_model, list_models
    >>> model = create_model("lenet", input_shape=(28, 28, 1), num_classes=10)

Importing kerascnn needs Keras but not TensorFlow: models, layers and the analysis use
keras.ops only, so KERAS_BACKEND=jax works without TensorFlow installed.
"""

from kerascnn.models import create_model, list_models, model_info, parse_spec, register_model

__version__ = "0.1.0"


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
