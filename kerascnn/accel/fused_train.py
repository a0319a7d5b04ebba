"""TensorFlow's fused training kernels for Keras 3 models, with Keras's own arithmetic.

Keras 3 writes BatchNormalization and the optimizers' updates as chains of small ops
(moments: Mean, SquaredDifference, Tile, Sum; the normalization: Mul, Sub, Add; Adam: a
dozen element-wise ops per variable). On a CPU each op is a pass over memory plus dispatch,
and a training step of MobileNetV2 spends more time there than in its convolutions
(``reports/throughput-cpu/profile``). TensorFlow has one fused kernel for each of them (the
ones tf.keras 2 used): ``FusedBatchNormV3`` and its gradient, ``ResourceApplyAdam`` and
``ResourceApplyKerasMomentum``. This module uses them without changing the model:

* :func:`training_view` returns a functional model that shares every layer and variable of
  ``model`` and calls :class:`FusedBatchNorm` in place of each BatchNormalization layer and
  :class:`CenterTapConv` in place of each 'same' convolution applied to 1x1 maps (VGG's last
  block at 28x28 input: there a 3x3 kernel is one matrix product, not nine). Fit
  the view and ``model`` is trained; save, evaluate and export ``model`` as always. In
  training the fused kernel computes the same normalization (batch mean, biased variance,
  the layer's epsilon) and the moving statistics are updated exactly as Keras does (the
  kernel reports the unbiased variance; it is turned back into the biased one Keras keeps).
  Anything the kernel does not cover (inference, a frozen layer, renorm, synchronized BN, a
  mask, a non-float32 input, a rank other than 4, a channels-first axis) calls the original
  layer, so the view is never wrong, only sometimes not faster.
* :class:`FusedAdam` and :class:`FusedSGD` are ``keras.optimizers.Adam`` and ``SGD`` whose
  ``update_step`` runs one fused kernel per variable: the same formulas (Adam's ``alpha =
  lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``, ``epsilon`` outside the square root; SGD's
  ``m = momentum * m - lr * g`` and Nesterov's ``var += momentum * m - lr * g``).
  :func:`optimizer_class` picks them on TensorFlow and the plain classes elsewhere. One
  rounding differs: the Adam kernel computes ``1 - beta`` from ``beta`` in float32, Keras from
  the Python float (for the default ``beta_2 = 0.999`` the factor differs by 1.3e-5, relative;
  for betas that are float32 numbers the two agree).

Both are exact up to float32 rounding; ``tests/test_fused_train.py`` holds them equal to
Keras's own layers and optimizers (every BatchNorm model of the zoo, random hyper-parameters).
On other backends :func:`training_view` returns ``model`` itself.
"""

from __future__ import annotations

import keras
from keras import ops


def _tensorflow():
    import tensorflow as tf

    return tf


def _is_tensorflow() -> bool:
    return keras.backend.backend() == "tensorflow"


class FusedBatchNorm(keras.layers.Layer):
    """Calls ``bn`` (a BatchNormalization layer, its variables shared) through TensorFlow's
    fused kernel in training. Made by :func:`training_view`; not saved on its own."""

    def __init__(self, bn: keras.layers.BatchNormalization, **kwargs):
        super().__init__(name=kwargs.pop("name", bn.name), **kwargs)
        self.bn = bn

    def build(self, input_shape):
        if not self.bn.built:
            self.bn.build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def fusable(self, inputs, training) -> bool:
        bn = self.bn
        return bool(
            training
            and bn.trainable
            and _is_tensorflow()
            and len(inputs.shape) == 4
            and bn.axis in (-1, 3)
            and not bn.renorm
            and not bn.synchronized
            and inputs.dtype == "float32"
        )

    def call(self, inputs, training=None, mask=None):
        if mask is not None or not self.fusable(inputs, training):
            return self.bn(inputs, training=training, mask=mask)
        tf, bn = _tensorflow(), self.bn
        channels = inputs.shape[-1]
        gamma = ops.cast(bn.gamma, "float32") if bn.scale else tf.ones([channels])
        beta = ops.cast(bn.beta, "float32") if bn.center else tf.zeros([channels])
        empty = tf.constant([], dtype="float32")
        y, mean, unbiased, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs,
            scale=gamma,
            offset=beta,
            mean=empty,
            variance=empty,
            epsilon=bn.epsilon,
            exponential_avg_factor=1.0,
            data_format="NHWC",
            is_training=True,
        )
        n = tf.cast(tf.size(inputs) // channels, "float32")
        variance = unbiased * tf.maximum(n - 1.0, 1.0) / n  # the kernel's n / max(n - 1, 1) undone
        momentum = bn.momentum
        bn.moving_mean.assign(bn.moving_mean * momentum + mean * (1.0 - momentum))
        bn.moving_variance.assign(bn.moving_variance * momentum + variance * (1.0 - momentum))
        return y


def _one_by_one(layer) -> bool:
    """A channels-last convolution with 'same' padding and no dilation called on 1x1 maps."""
    if type(layer) not in (keras.layers.Conv2D, keras.layers.DepthwiseConv2D):
        return False
    try:
        shape = tuple(layer.input.shape[1:3])
    except (AttributeError, ValueError):  # called several times or not at all
        return False
    return (
        shape == (1, 1)
        and layer.data_format == "channels_last"
        and layer.padding == "same"
        and tuple(layer.dilation_rate) == (1, 1)
        and getattr(layer, "groups", 1) == 1
        and not getattr(layer, "lora_enabled", False)
        and layer.quantization_mode is None
    )


class CenterTapConv(keras.layers.Layer):
    """Calls ``conv`` (a Conv2D or DepthwiseConv2D, its variables shared) on a 1x1 map as what
    it is there: with 'same' padding every kernel tap but one multiplies padding zeros, so the
    output is the input times the kernel's tap ``((kh - 1) // 2, (kw - 1) // 2)``, a matrix
    product (a per-channel product for a depthwise kernel). The other taps' gradients are
    zero either way. Made by :func:`training_view`; not saved on its own."""

    def __init__(self, conv, **kwargs):
        super().__init__(name=kwargs.pop("name", conv.name), **kwargs)
        self.conv = conv

    def build(self, input_shape):
        if not self.conv.built:
            self.conv.build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def call(self, inputs):
        conv = self.conv
        if tuple(inputs.shape[1:3]) != (1, 1):
            return conv(inputs)
        kh, kw = conv.kernel.shape[:2]
        tap = conv.kernel[(kh - 1) // 2, (kw - 1) // 2]  # (C_in, C_out) or (C_in, multiplier)
        x = ops.reshape(inputs, (-1, inputs.shape[-1]))
        if isinstance(conv, keras.layers.DepthwiseConv2D):
            y = ops.reshape(x[:, :, None] * tap[None], (-1, tap.shape[0] * tap.shape[1]))
        else:
            y = ops.matmul(x, tap)
        if conv.use_bias:
            y = y + conv.bias
        y = ops.reshape(y, (-1, 1, 1, y.shape[-1]))
        return conv.activation(y) if conv.activation is not None else y


def _swaps(model) -> dict:
    """Layer -> its training-view replacement."""
    swaps = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            swaps[id(layer)] = FusedBatchNorm
        elif _one_by_one(layer):
            swaps[id(layer)] = CenterTapConv
    return swaps


def training_view(model: keras.Model) -> keras.Model:
    """``model`` with its BatchNormalization layers called through :class:`FusedBatchNorm` and
    its convolutions on 1x1 maps through :class:`CenterTapConv`; every layer and variable is
    shared, so fitting the view trains ``model``. ``model`` itself when the backend is not
    TensorFlow, when nothing is replaced, or when it is not a functional model."""
    if not _is_tensorflow() or not hasattr(model, "_run_through_graph"):
        return model
    swaps = _swaps(model)
    if not swaps:
        return model

    def swap(layer):
        return swaps[id(layer)](layer) if id(layer) in swaps else layer

    return keras.models.clone_model(model, clone_function=swap)


def _handle(variable):
    """The resource handle of a tf.Variable or of the tf.Variable under a Keras variable."""
    return variable.handle if hasattr(variable, "handle") else variable.value.handle


def _dense(gradient) -> bool:
    return not isinstance(gradient, _tensorflow().IndexedSlices)


@keras.saving.register_keras_serializable(package="kerascnn")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` updating each variable with TensorFlow's ``ResourceApplyAdam``
    (same formula; AMSGrad and sparse gradients take Keras's own path)."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or not _dense(gradient):
            return super().update_step(gradient, variable, learning_rate)
        tf, dtype = _tensorflow(), variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable),
            m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=ops.power(beta_1, step),
            beta2_power=ops.power(beta_2, step),
            lr=ops.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=ops.cast(self.epsilon, dtype),
            grad=ops.cast(gradient, dtype),
        )


@keras.saving.register_keras_serializable(package="kerascnn")
class FusedSGD(keras.optimizers.SGD):
    """``keras.optimizers.SGD`` updating each variable with TensorFlow's
    ``ResourceApplyKerasMomentum`` (``ResourceApplyGradientDescent`` without momentum)."""

    def update_step(self, gradient, variable, learning_rate):
        if not _dense(gradient):
            return super().update_step(gradient, variable, learning_rate)
        tf, dtype = _tensorflow(), variable.dtype
        lr, grad = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        if self.momentum == 0:
            tf.raw_ops.ResourceApplyGradientDescent(var=_handle(variable), alpha=lr, delta=grad)
            return
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=_handle(variable),
            accum=_handle(self.momentums[self._get_variable_index(variable)]),
            lr=lr,
            grad=grad,
            momentum=ops.cast(self.momentum, dtype),
            use_nesterov=bool(self.nesterov),
        )


def optimizer_class(cls: type) -> type:
    """The fused equivalent of ``keras.optimizers.Adam`` or ``SGD`` on TensorFlow; ``cls``
    itself otherwise (other optimizers, other backends)."""
    if not _is_tensorflow():
        return cls
    return {keras.optimizers.Adam: FusedAdam, keras.optimizers.SGD: FusedSGD}.get(cls, cls)
