"""LeNet-5 (LeCun et al., 1998), in the layout d2l.ai teaches.

Spec (d2l, "Convolutional Neural Networks (LeNet)")::

    conv 6@5x5 pad 2 -> avg-pool 2x2 s2 -> conv 16@5x5 -> avg-pool 2x2 s2
    -> dense 120 -> dense 84 -> dense num_classes

At 28x28x1 with 10 classes this has exactly 61,706 parameters (d2l's count).

Differences from the 1998 paper, on purpose: max/avg pooling without trainable
coefficients, full C3 connectivity (the paper's sparse connection table is a 1998 compute
trick), and a softmax classifier instead of RBF units. The activation defaults to ReLU,
which trains in a few epochs with Adam; ``activation="sigmoid"`` gives d2l's exact network
(and ``"tanh"`` the paper's squashing function); the parameter count does not change.

Small inputs: the second conv is 5x5 "valid" after one 2x2 pooling, so height and width
must be at least 10 pixels.
"""

from __future__ import annotations

import keras
from keras import layers

from kerascnn import checks
from kerascnn.models._common import common_args, model_input, resolve_input_shape
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant

# (filters, kernel, padding) of the two conv stages, then the hidden dense widths.
CONV_SPEC = ((6, 5, "same"), (16, 5, "valid"))
DENSE_SPEC = (120, 84)
MIN_INPUT_SIZE = 10

PAPER = "Gradient-Based Learning Applied to Document Recognition"


def build_lenet(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "lenet",
    activation: str = "relu",
) -> keras.Model:
    """Build LeNet-5 (see the module docstring for the layout and its choices)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.activation(name, "activation", activation)
    shape = resolve_input_shape(
        name,
        input_shape,
        input_tensor=input_tensor,
        default=(28, 28, 1),
        min_size=MIN_INPUT_SIZE,
        static=top.include_top,
    )
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    for i, (filters, kernel, padding) in enumerate(CONV_SPEC, start=1):
        x = layers.Conv2D(
            filters, kernel, padding=padding, activation=activation, name=f"{name}_conv{i}"
        )(x)
        x = layers.AveragePooling2D(2, strides=2, name=f"{name}_pool{i}")(x)
    if not top.include_top:
        return top.model(inputs, top.pool(x))
    x = layers.Flatten(name=f"{name}_flatten")(x)
    for i, units in enumerate(DENSE_SPEC, start=1):
        x = layers.Dense(units, activation=activation, name=f"{name}_fc{i}")(x)
    x = top.classifier(x)
    return top.model(inputs, x)


lenet = register_model(
    family="lenet",
    paper=PAPER,
    year=1998,
    input_shape=(28, 28, 1),
    num_classes=10,
    reference="d2l.ai LeNet: 61,706 parameters at 28x28x1/10",
    min_input_size=MIN_INPUT_SIZE,
)(
    variant(
        build_lenet,
        "lenet",
        doc="LeNet-5 as d2l builds it (ReLU by default; "
        "``activation='sigmoid'`` for d2l's exact net).",
    )
)
