"""The course networks: small CNNs that lessons build by hand and train on Fashion-MNIST/CIFAR.

``simple_convnet`` -- SimpleConvNet of "Deep Learning from Scratch" (Saito, 2016, ch. 7)::

    conv 30@5x5 valid, ReLU -> max-pool 2x2 -> dense 100, ReLU -> dense classes

  At 28x28x1 / 10 classes: 30*25+30 + (30*12*12)*100+100 + 100*10+10 = 780 + 432,100 + 1,010
  = 433,890 parameters. Inputs below 6x6 raise ValueError (5x5 valid conv, then a pool).
  ``dropout`` (default 0.5, before the classifier; no parameters) is our addition: the
  book's net (``dropout=0``) overfits Fashion-MNIST and plateaus near 0.90 test accuracy
  (measured: 0.900 after 8 epochs of Adam 1e-3, batch 128, test loss rising from epoch 6).

``simple_cnn`` -- three conv blocks and a global-average-pool head::

    3 x [conv 3x3 same (64, 128, 256) -> BN -> ReLU -> max-pool 2x2] -> GAP -> dropout 0.5 -> dense

  Convs carry no bias (the BN shift replaces it). At 28x28x1 / 10: 373,578 parameters
  (372,682 trainable; the rest are BN moving statistics). Inputs below 8x8 raise ValueError.

``cifar_cnn`` -- the classic CIFAR-10 "VGG-lite" (3x3 same convs with bias and ReLU)::

    conv 32 -> BN, conv 64 | max-pool | conv 128 -> BN, conv 128 | max-pool | dropout 0.25 |
    conv 256 -> BN, conv 256 | max-pool | dropout 0.1 | flatten | dense 1024, dense 512 |
    dropout 0.1 | dense classes

  The reference count is exactly 5,852,170 trainable parameters at 32x32x3 / 10. Six 3x3
  "same" convs with bias plus the dense layers give 5,851,338 (the widely copied
  no-normalization version); the 832 missing parameters are the gamma/beta of one
  BatchNormalization after the first conv of each block: 2 * (32 + 128 + 256) = 832. No
  choice of kernel sizes (1-5) and same/valid paddings without BN gives 5,852,170 (we
  searched them all), and dropout has no parameters, so the rates above (0.25 for the
  unnamed one) are the usual ones. BN follows the ReLU (``Conv2D(activation="relu")`` then
  ``BatchNormalization()``, the Keras idiom), so the conv biases are not redundant.
  Total parameters 5,853,002 (832 BN moving statistics are non-trainable).
  At 28x28x1 the map goes 28 -> 14 -> 7 -> 3 before flatten. Inputs below 8x8 raise ValueError.

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
from kerascnn.registry import register_model, variant

SIMPLE_CONVNET = {"conv": (30, 5), "hidden": 100}
SIMPLE_CNN = (64, 128, 256)
# CifarCNN blocks: (filters of conv a, filters of conv b, dropout after the block's pool)
CIFAR_CNN_BLOCKS = ((32, 64, 0.0), (128, 128, 0.25), (256, 256, 0.1))
CIFAR_CNN_DENSE = (1024, 512)
CIFAR_CNN_HEAD_DROPOUT = 0.1
BN_MOMENTUM = 0.9
DEFAULT_SIMPLE_CONVNET_DROPOUT = 0.5
FAMILY = "course"


def _head(x, units, top, *, dropout):
    """Flatten, hidden dense layers (ReLU), one dropout after them, the classifier; with
    ``include_top=False``, the ``pooling`` only."""
    if not top.include_top:
        return top.pool(x)
    x = layers.Flatten(name=f"{top.name}_flatten")(x)
    for i, n in enumerate(units, start=1):
        x = layers.Dense(n, activation="relu", name=f"{top.name}_fc{i}")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{top.name}_head_dropout")(x)
    return top.classifier(x)


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
) -> keras.Model:
    """SimpleCNN: 3 x [conv3x3-BN-ReLU-maxpool] (64/128/256 x ``width``), GAP, dropout, dense."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.rate(name, "dropout", dropout)
    width = checks.positive_number(name, "width", width)
    shape = resolve_input_shape(
        name, input_shape, input_tensor=input_tensor, default=(28, 28, 1), min_size=8
    )
    inputs = model_input(shape, name, input_tensor)
    x = inputs
    for i, filters in enumerate(SIMPLE_CNN, start=1):
        x = conv_bn_act(
            x, scaled(filters, width), 3, bn_momentum=BN_MOMENTUM, name=f"{name}_block{i}"
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
    dropout: float = 0.25,
    head_dropout: float = CIFAR_CNN_HEAD_DROPOUT,
) -> keras.Model:
    """CifarCNN (module docstring). ``dropout`` is the rate after the second block (0.25);
    the third block and the head use ``head_dropout`` (0.1)."""
    top = common_args(name, num_classes, include_top, pooling, classifier_activation)
    checks.rate(name, "dropout", dropout)
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
    rates = (0.0, dropout, head_dropout)
    for i, ((fa, fb, _), rate) in enumerate(zip(CIFAR_CNN_BLOCKS, rates), start=1):
        # BN after the ReLU of the block's first conv (the Keras idiom; see the module docstring)
        x = layers.Conv2D(fa, 3, padding="same", activation="relu", name=f"{name}_block{i}_conv1")(
            x
        )
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_block{i}_bn")(x)
        x = layers.Conv2D(fb, 3, padding="same", activation="relu", name=f"{name}_block{i}_conv2")(
            x
        )
        x = layers.MaxPooling2D(2, name=f"{name}_block{i}_pool")(x)
        if rate:
            x = layers.Dropout(rate, name=f"{name}_block{i}_dropout")(x)
    x = _head(x, CIFAR_CNN_DENSE, top, dropout=head_dropout)
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
    reference="course spec: 373,578 params (372,682 trainable) at 28x28x1/10",
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
