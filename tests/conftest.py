"""Shared test setup: no network, quiet TensorFlow, small hypothesis budgets."""

import gc
import os

os.environ.setdefault("KERASCNN_NO_DOWNLOAD", "1")  # nothing in the tests touches the network
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("KERASCNN_FAST", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "kerascnn",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("kerascnn")

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
requires_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Free graph state between tests so layer names and memory don't accumulate.

    clear_session() ends in gc.collect(), which walks every object alive: with TensorFlow and
    JAX imported, ~450,000 objects and 0.25 s per test (make test-fast took 6 min 30 s that way).
    After the first test's collection, what is alive then (the imports, the modules' state) is
    frozen (gc.freeze), so each later collection walks only what the tests made since (~0.01 s;
    make test-fast 3 min 52 s) and every test's garbage is still collected.
    """
    yield
    import keras

    keras.backend.clear_session()
    if not gc.get_freeze_count():
        gc.freeze()
