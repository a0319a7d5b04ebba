"""Every family learns: a few epochs on the embedded Fashion-MNIST subset lower the training
loss. Reduced widths (and, for DenseNet, a short DenseNet-BC of the same blocks) keep each run
to seconds on 2 CPU cores; the optimizer is built before the first step (kerascnn._compile), so
TensorFlow traces the training step once."""

import functools

import keras
import numpy as np
import pytest

from kerascnn import create_model
from kerascnn._compile import compile_model
from kerascnn.models.densenet import build_densenet

SHAPE = (28, 28, 1)

# (model spec, or a builder of its family; training images; epochs; Adam's rate; the last
# epoch's mean loss must be below this fraction of the first's)
CASES = [
    ("simple_convnet", 256, 4, 1e-3, 0.8),
    ("simple_cnn", 256, 4, 3e-3, 0.8),
    ("cifar_cnn", 256, 4, 1e-3, 0.8),
    ("allconv_bn", 128, 4, 1e-3, 0.8),
    ("alexnet(width=0.25)", 512, 5, 1e-3, 0.9),
    ("vgg11(width=0.25)", 512, 5, 1e-3, 0.9),
    ("vgg11_bn(width=0.25)", 512, 5, 1e-3, 0.9),
    ("nin(width=0.25)", 512, 5, 2e-3, 0.9),
    ("googlenet(width=0.125)", 256, 4, 1e-3, 0.9),
    # basic blocks, projections and SE; the CIFAR stem at 28x28
    ("seresnet18(width=0.25)", 256, 2, 2e-3, 0.9),
    # the DenseNet-121 graph costs minutes to trace: the same dense and transition blocks
    (functools.partial(build_densenet, (2, 2, 2), growth_rate=12), 256, 2, 2e-3, 0.9),
    ("mobilenetv2(alpha=0.35)", 128, 4, 3e-3, 0.7),
    ("efficientnet_b0(width=0.5)", 128, 4, 3e-3, 0.7),
]


def _id(case):
    return case[0] if isinstance(case[0], str) else "densenet_bc"


@pytest.mark.parametrize("spec, samples, epochs, lr, ratio", CASES, ids=map(_id, CASES))
def test_a_few_epochs_lower_the_loss(spec, samples, epochs, lr, ratio):
    from kerascnn.data import load_dataset

    data = load_dataset("fashion_mnist_mini")
    x = data.x_train[:samples].astype("float32") / 255.0
    y = data.y_train[:samples]
    keras.utils.set_random_seed(0)
    if isinstance(spec, str):
        model = create_model(spec, input_shape=SHAPE, num_classes=10)
    else:
        model = spec(input_shape=SHAPE, num_classes=10)
    compile_model(
        model,
        optimizer=keras.optimizers.Adam(lr),
        loss="sparse_categorical_crossentropy",
        jit_compile=False,
    )
    loss = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0).history["loss"]
    assert np.isfinite(loss).all()
    assert loss[-1] < ratio * loss[0], loss
