"""Scripts the backend tests run in fresh subprocesses (a backend is chosen per process)."""

FORWARD = r"""
def forward(m, x):
    import keras
    import numpy as np

    if keras.backend.backend() != "jax":
        return keras.ops.convert_to_numpy(m(x, training=False))
    import jax  # one compiled call: JAX's op-by-op eager mode compiles every op apart (5x slower)

    def call(trainable, non_trainable, inputs):
        return m.stateless_call(trainable, non_trainable, inputs, training=False)[0]

    values = lambda variables: [v.value for v in variables]  # noqa: E731
    return np.asarray(jax.jit(call)(values(m.trainable_variables), values(m.non_trainable_variables), x))
"""

NO_TENSORFLOW = (
    r"""
import os
import sys
# Make any import of TensorFlow fail, as on a machine where it is not installed.
for mod in ("tensorflow", "tensorflow_datasets", "tf_keras"):
    sys.modules[mod] = None
import numpy as np
import keras
BACKEND = os.environ["KERAS_BACKEND"]
assert keras.backend.backend() == BACKEND, keras.backend.backend()
import kerascnn
from kerascnn import create_model, list_models
import kerascnn.models, kerascnn.data, kerascnn.accel  # noqa: F401
for optional in ("kerascnn.layers", "kerascnn.analysis"):
    try:
        __import__(optional)
    except ModuleNotFoundError as exc:
        if exc.name != optional:  # the package exists but pulls in something missing
            raise
ds = kerascnn.load_dataset("fashion_mnist_mini")
x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
names = sys.argv[1].split(",") if len(sys.argv) > 1 else list_models()
"""
    + FORWARD
    + r"""
for name in names:
    m = create_model(name, input_shape=(32, 32, 3), num_classes=10)
    y = forward(m, x)
    assert y.shape == (2, 10) and np.isfinite(y).all(), name
    keras.backend.clear_session()
print("OK", len(names), f"models on {BACKEND} without tensorflow;", ds.x_train.shape)
"""
)

SAME_WEIGHTS = (
    FORWARD
    + r"""
import sys
import numpy as np
import keras
from kerascnn import create_model
name, shape, weights, xfile, out = sys.argv[1], tuple(int(s) for s in sys.argv[2].split(",")), sys.argv[3], sys.argv[4], sys.argv[5]
m = create_model(name, input_shape=shape, num_classes=10)
m.load_weights(weights)
np.save(out, forward(m, np.load(xfile)))
print("backend", keras.backend.backend())
"""
)

BENCH_NO_TF = r"""
import sys
for mod in ("tensorflow", "tensorflow_datasets", "tf_keras"):
    sys.modules[mod] = None  # as on the GPU machine: no TensorFlow
from kerascnn.cli import main
sys.argv = ["kerascnn", "bench", *sys.argv[1:]]  # the arguments after the script are kerascnn bench's
main()
"""
