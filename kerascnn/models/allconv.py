"""All-CNN-C (Springenberg et al., 2015, "Striving for Simplicity: The All Convolutional Net").

Every max-pool of a plain CNN is replaced by a 3x3 convolution with stride 2, and the
fully connected head by 1x1 convolutions and global average pooling. Spec (paper Table 2,
model C; ReLU after every conv), rows ``(filters, kernel, stride, padding)``::

    input 32x32 RGB, dropout 0.2
    96  3 1 same  | 96  3 1 same  | 96  3 2 same   (replaces 3x3 max-pool s2), dropout 0.5
    192 3 1 same  | 192 3 1 same  | 192 3 2 same   (replaces 3x3 max-pool s2), dropout 0.5
    192 3 1 valid | 192 1 1       | classes 1 1    -> global average pool (6x6 at 32x32) -> softmax

At 32x32x3 with 10 classes this has 1,369,738 parameters (the paper's Table 2 says "1.3 M").
The paper's dropout (20% on the input, 50% after each stride-2 layer) is on by default
(``input_dropout``, ``dropout``). The class-score conv keeps the paper's ReLU.

Weights start from He-normal init (``he_normal``): with Keras' default Glorot init this
plain 9-layer ReLU stack barely moves in short runs. ``class_activation=None`` drops the
ReLU on the class scores (not the paper's).

``allconv_bn`` (= ``allconv(batch_norm=True)``) adds BatchNormalization after every hidden
conv: not in the paper, which trained with SGD for 350 epochs, but it makes short Adam runs
converge (measured on 256 embedded Fashion-MNIST images, 4 epochs of 8 steps: the paper's
net moves its loss only from 2.36 to 2.26). 1,374,730 parameters, 1,372,234 trainable.
With ``include_top=False`` the features are the 192-channel map before the class-score conv.

Small inputs: the canonical input is already 32x32; 28x28 gives 28 -> 14 -> 7 -> 5x5 at the
head. The valid 3x3 conv needs a 3x3 map after the two stride-2 convs, so inputs below 9x9
raise ValueError.
"""

from __future__ import annotations

import keras
from keras import layers

from kerascnn import checks
from kerascnn.blocks import conv_bn_act
from kerascnn.blocks.defaults import MOBILE_BN_EPSILON
from kerascnn.models._common import common_args, model_input, resolve_input_shape
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant

# (filters, kernel, stride, padding) of the hidden convs; "drop" marks the paper's dropout points.
SPEC = (
    (96, 3, 1, "same"),
    (96, 3, 1, "same"),
    (96, 3, 2, "same"),
    "drop",
    (192, 3, 1, "same"),
    (192, 3, 1, "same"),
    (192, 3, 2, "same"),
    "drop",
    (192, 3, 1, "valid"),
    (192, 1, 1, "valid"),
)
MIN_INPUT_SIZE = 9
KERNEL_INIT = "he_normal"  # He et al. 2015; a plain 9-layer ReLU stack stalls with Glorot init

PAPER = "Striving for Simplicity: The All Convolutional Net"


def build_allconv(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "allconv",
    input_dropout: float = 0.2,
    dropout: float = 0.5,
    batch_norm: bool = False,
    class_activation: str | None = "relu",
) -> keras.Model:
    """Build All-CNN-C (see the module docstring)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.rate(name, "input_dropout", input_dropout)
    checks.rate(name, "dropout", dropout)
    checks.boolean(name, "batch_norm", batch_norm)
    checks.activation(name, "class_activation", class_activation)
    shape = resolve_input_shape(
        name, input_shape, input_tensor=input_tensor, default=(32, 32, 3), min_size=MIN_INPUT_SIZE
    )
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    if input_dropout:
        x = layers.Dropout(input_dropout, name=f"{name}_input_dropout")(x)
    conv_i = drop_i = 0
    for row in SPEC:
        if row == "drop":
            drop_i += 1
            if dropout:
                x = layers.Dropout(dropout, name=f"{name}_dropout{drop_i}")(x)
            continue
        conv_i += 1
        filters, kernel, stride, padding = row
        # the paper's convs keep their bias (with our BN too, as the counts say); BN epsilon 1e-3
        x = conv_bn_act(
            x,
            filters,
            kernel,
            strides=stride,
            padding=padding,
            use_bias=True,
            use_bn=batch_norm,
            kernel_initializer=KERNEL_INIT,
            bn_epsilon=MOBILE_BN_EPSILON,
            name=f"{name}_conv{conv_i}",
        )
    if not top.include_top:
        return top.model(inputs, top.pool(x))
    x = layers.Conv2D(
        num_classes,
        1,
        activation=class_activation,
        kernel_initializer=KERNEL_INIT,
        name=f"{name}_class_conv",
    )(x)
    x = layers.GlobalAveragePooling2D(name=f"{name}_avg_pool")(x)
    if classifier_activation:
        x = layers.Activation(classifier_activation, name=f"{name}_predictions")(x)
    return top.model(inputs, x)


_ALLCONV = dict(
    family="allconv",
    paper=PAPER,
    year=2015,
    input_shape=(32, 32, 3),
    num_classes=10,
    min_input_size=MIN_INPUT_SIZE,
)
allconv = register_model(
    reference="Springenberg et al. 2015, Table 2 All-CNN-C (1.3 M): 1,369,738 params at 32x32x3/10",
    **_ALLCONV,
)(
    variant(
        build_allconv,
        "allconv",
        doc=(
            "All-CNN-C. Knobs: ``input_dropout`` (0.2), ``dropout`` (0.5), ``batch_norm`` (False)."
        ),
    )
)
allconv_bn = register_model(
    reference="All-CNN-C + BatchNorm after each hidden conv: 1,374,730 params (1,372,234 "
    "trainable) at 32x32x3/10",
    **_ALLCONV,
)(
    variant(
        build_allconv,
        "allconv_bn",
        batch_norm=True,
        doc=(
            "All-CNN-C with BatchNormalization after every hidden conv (``batch_norm=True``): the same "
            "layout and 4,992 more parameters (2,496 trainable gamma/beta); it trains in a few epochs "
            "with Adam, where the paper's network needs long SGD schedules."
        ),
    )
)
