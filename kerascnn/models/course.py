"""The course networks: small CNNs that lessons build by hand and train on Fashion-MNIST/CIFAR.

``simple_convnet`` -- SimpleConvNet of "Deep Learning from Scratch" (Saito, 2016, ch. 7)::

    conv 30@5x5 valid, ReLU -> max-pool 2x2 -> dense 100, ReLU -> dense classes

  At 28x28x1 / 10 classes: 30*25+30 + (30*12*12)*100+100 + 100*10+10 = 780 + 432,100 + 1,010
  = 433,890 parameters. Inputs below 6x6 raise ValueError (5x5 valid conv, then a pool).
  ``dropout`` (default 0.5, before the classifier; no parameters) is our addition: the
  book's net (``dropout=0``) overfits Fashion-MNIST and plateaus near 0.90 test accuracy
  (measured: 0.900 after 8 epochs of Adam 1e-3, batch 128, test loss rising from epoch 6).

``simple_cnn`` -- the course's SimpleCNN: three conv blocks and a global-average-pool head::

    3 x [conv 3x3 same with bias (64, 128, 256) -> BN -> ReLU -> max-pool 2x2] -> GAP ->
    dropout 0.5 -> dense

  As the course writes it: the convs keep their bias although BN's shift makes it redundant
  (it changes nothing but the count), and their kernels start from Kaiming's normal with
  fan_out (std sqrt(2 / (k*k*C_out)), PyTorch's ``kaiming_normal_(mode="fan_out")``). At
  28x28x1 / 10: 373,130 trainable parameters (374,282 at 32x32x3 / 10), 374,026 with the BN
  moving statistics. ``conv_bias=False`` gives the layout kerascnn used before 2026-12 (no conv
  bias, Glorot init: 372,682 trainable; reports/fashion-cpu was measured with it). Inputs below
  8x8 raise ValueError.

``cifar_cnn`` -- the course's CIFAR-10 CifarCNN (3x3 same convs with bias)::

    [conv 32 -> BN -> ReLU, conv 64 -> ReLU, max-pool] |
    [conv 128 -> BN -> ReLU, conv 128 -> ReLU, max-pool, spatial dropout 0.05] |
    [conv 256 -> BN -> ReLU, conv 256 -> ReLU, max-pool] |
    flatten, dropout 0.1, dense 1024 (ReLU), dense 512 (ReLU), dropout 0.1, dense classes

  Exactly 5,852,170 trainable parameters at 32x32x3 / 10: six 3x3 "same" convs with bias plus
  the dense layers give 5,851,338, and one BatchNormalization after the first conv of each
  block adds 2 * (32 + 128 + 256) = 832 (gamma, beta); 5,853,002 with the 832 moving
  statistics. The spatial dropout (Keras' SpatialDropout2D, PyTorch's Dropout2d) drops whole
  channels. At 28x28x1 the map goes 28 -> 14 -> 7 -> 3 before flatten. Inputs below 8x8 raise
  ValueError.

Canonical inputs: 28x28x1 (simple_convnet, simple_cnn) and 32x32x3 (cifar_cnn), 10 classes.
All three accept any input from their minimum up; the flatten-based heads size themselves
from the input. BatchNormalization momentum is 0.9 so short runs evaluate well.
"""

from __future__ import annotations

import keras
from keras import layers

from kerascnn import checks
from kerascnn.blocks import conv_bn_act
from kerascnn.models._common import (
    common_args,
    gap_classifier,
    model_input,
    resolve_input_shape,
    scaled,
)
from kerascnn.models._registry import register_model
from kerascnn.models._variant import variant

SIMPLE_CONVNET = {"conv": (30, 5), "hidden": 100}
SIMPLE_CNN = (64, 128, 256)
# CifarCNN blocks: (filters of conv a, filters of conv b)
CIFAR_CNN_BLOCKS = ((32, 64), (128, 128), (256, 256))
CIFAR_CNN_DENSE = (1024, 512)
CIFAR_CNN_SPATIAL_DROPOUT = 0.05  # after the second block's pool
CIFAR_CNN_HEAD_DROPOUT = 0.1
BN_MOMENTUM = 0.9
DEFAULT_SIMPLE_CONVNET_DROPOUT = 0.5
FAMILY = "course"


def _head(x, units, top, *, dropout, dropout_first=False):
    """Flatten, hidden dense layers (ReLU), a dropout after them (and, with ``dropout_first``,
    one before them too), the classifier; with ``include_top=False``, the ``pooling`` only."""
    if not top.include_top:
        return top.pool(x)
    x = layers.Flatten(name=f"{top.name}_flatten")(x)
    if dropout and dropout_first:
        x = layers.Dropout(dropout, name=f"{top.name}_flatten_dropout")(x)
    for i, n in enumerate(units, start=1):
        x = layers.Dense(n, activation="relu", name=f"{top.name}_fc{i}")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{top.name}_head_dropout")(x)
    return top.classifier(x)


def kaiming_fan_out():
    """PyTorch's ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``: N(0, 2 / fan_out)."""
    return keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")


def build_simple_convnet(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "simple_convnet",
    dropout: float = DEFAULT_SIMPLE_CONVNET_DROPOUT,
) -> keras.Model:
    """SimpleConvNet: conv 30@5x5 -> ReLU -> pool -> dense 100 -> ReLU -> [dropout] -> dense
    (module docstring). ``dropout=0`` is the book's exact network."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.rate(name, "dropout", dropout)
    shape = resolve_input_shape(
        name,
        input_shape,
        input_tensor=input_tensor,
        default=(28, 28, 1),
        min_size=6,
        static=top.include_top,
    )
    inputs = model_input(shape, name, input_tensor)
    filters, kernel = SIMPLE_CONVNET["conv"]
    x = layers.Conv2D(filters, kernel, activation="relu", name=f"{name}_conv1")(inputs)
    x = layers.MaxPooling2D(2, name=f"{name}_pool1")(x)
    x = _head(x, (SIMPLE_CONVNET["hidden"],), top, dropout=dropout)
    return top.model(inputs, x)


def build_simple_cnn(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "simple_cnn",
    dropout: float = 0.5,
    width: float = 1.0,
    conv_bias: bool = True,
) -> keras.Model:
    """SimpleCNN: 3 x [conv3x3-BN-ReLU-maxpool] (64/128/256 x ``width``), GAP, dropout, dense.

    ``conv_bias=True`` (the course's): convs with bias, Kaiming fan_out init; ``False``: no
    conv bias, Glorot init (the earlier layout; module docstring)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.rate(name, "dropout", dropout)
    width = checks.positive_number(name, "width", width)
    conv_bias = checks.boolean(name, "conv_bias", conv_bias)
    shape = resolve_input_shape(
        name, input_shape, input_tensor=input_tensor, default=(28, 28, 1), min_size=8
    )
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    init = kaiming_fan_out() if conv_bias else "glorot_uniform"
    for i, filters in enumerate(SIMPLE_CNN, start=1):
        x = conv_bn_act(
            x,
            scaled(filters, width),
            3,
            use_bias=conv_bias,
            kernel_initializer=init,
            bn_momentum=BN_MOMENTUM,
            name=f"{name}_block{i}",
        )
        x = layers.MaxPooling2D(2, name=f"{name}_block{i}_pool")(x)
    x = gap_classifier(x, top, dropout=dropout)
    return top.model(inputs, x)


def build_cifar_cnn(
    *,
    input_shape=None,
    input_tensor=None,
    num_classes: int = 10,
    include_top: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    name: str = "cifar_cnn",
    spatial_dropout: float = CIFAR_CNN_SPATIAL_DROPOUT,
    head_dropout: float = CIFAR_CNN_HEAD_DROPOUT,
) -> keras.Model:
    """CifarCNN (module docstring). ``spatial_dropout`` drops whole channels after the second
    block (0.05); ``head_dropout`` is the rate before and after the hidden dense layers (0.1)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.rate(name, "spatial_dropout", spatial_dropout)
    checks.rate(name, "head_dropout", head_dropout)
    shape = resolve_input_shape(
        name,
        input_shape,
        input_tensor=input_tensor,
        default=(32, 32, 3),
        min_size=8,
        static=top.include_top,
    )
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    for i, (fa, fb) in enumerate(CIFAR_CNN_BLOCKS, start=1):
        block = f"{name}_block{i}"
        x = conv_bn_act(x, fa, 3, use_bias=True, bn_momentum=BN_MOMENTUM, name=f"{block}_a")
        x = layers.Conv2D(fb, 3, padding="same", activation="relu", name=f"{block}_b_conv")(x)
        x = layers.MaxPooling2D(2, name=f"{block}_pool")(x)
        if i == 2 and spatial_dropout:
            x = layers.SpatialDropout2D(spatial_dropout, name=f"{block}_spatial_dropout")(x)
    x = _head(x, CIFAR_CNN_DENSE, top, dropout=head_dropout, dropout_first=True)
    return top.model(inputs, x)


simple_convnet = register_model(
    family=FAMILY,
    paper="Deep Learning from Scratch (SimpleConvNet, ch. 7)",
    year=2016,
    input_shape=(28, 28, 1),
    num_classes=10,
    reference="SimpleConvNet (Saito 2016): 433,890 params at 28x28x1/10",
    min_input_size=6,
)(variant(build_simple_convnet, "simple_convnet"))
simple_cnn = register_model(
    family=FAMILY,
    paper="SimpleCNN: 3 x conv-BN-ReLU-pool + GAP (course baseline)",
    year=2015,
    input_shape=(28, 28, 1),
    num_classes=10,
    reference="course spec: 373,130 trainable params at 28x28x1/10 (374,026 in all)",
    min_input_size=8,
)(variant(build_simple_cnn, "simple_cnn"))
cifar_cnn = register_model(
    family=FAMILY,
    paper="CifarCNN: the classic CIFAR-10 VGG-style course network",
    year=2017,
    input_shape=(32, 32, 3),
    num_classes=10,
    reference="course spec: exactly 5,852,170 trainable params at 32x32x3/10",
    min_input_size=8,
)(variant(build_cifar_cnn, "cifar_cnn"))
