"""Every public layer equals the block inside the zoo's models, given the same weights.

For each layer, a zoo model is built (small widths, odd and even input sizes, strided and not),
the block is cut out of it as a sub-model (from the block's input tensor to its output tensor),
and the public layer, made with the zoo's keywords, gets the sub-model's weights by layer name
and must give the same outputs, in inference and in training mode. A second, hand-written copy
of a block that drifts from the zoo's (in 2026-11 the strided ResidualBasicBlock padded
differently and nobody noticed) fails here. tests/test_on_jax.py runs this file on JAX too.
"""

import keras
import numpy as np
import pytest
from _random_weights import randomize

from kerascnn import create_model
from kerascnn import layers as L
from kerascnn.blocks import (
    conv_bn_act,
    dilated_context_block,
    dilated_conv,
    spatially_separable_block,
)
from kerascnn.models.densenet import build_densenet


def assert_layer_is_block(model, prefix, start, end, layer, *, seed=0, training_check=True):
    """The part of ``model`` from layer ``start``'s output to layer ``end``'s output (the block
    named ``prefix``) equals ``layer`` once ``layer`` has the part's weights (matched by name)."""
    start_t = model.input if start is None else model.get_layer(start).output
    part = keras.Model(start_t, model.get_layer(end).output)
    randomize(part, seed, std=0.3)
    layer.build(tuple(start_t.shape))
    theirs = {la.name[len(prefix) :]: la for la in part.layers if la.weights}
    ours = {la.name[len(layer.name) :]: la for la in layer.graph.layers if la.weights}
    assert sorted(theirs) == sorted(ours), (sorted(theirs), sorted(ours))
    for suffix, src in theirs.items():
        ours[suffix].set_weights(src.get_weights())
    shape = (3, *start_t.shape[1:])
    x = np.random.default_rng(seed + 1).normal(0, 1, shape).astype("float32")
    for training in (False, True) if training_check else (False,):
        want = keras.ops.convert_to_numpy(part(x, training=training))
        got = keras.ops.convert_to_numpy(layer(x, training=training))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"training={training}")


def _small_densenet(**kwargs):
    """DenseNet-121's first dense block and transition, from the zoo's own builder."""
    return build_densenet((6, 1), name="densenet121", **kwargs)


# (id, zoo model spec, input size, block prefix, start layer (None: the input), end layer, layer)
ZOO_CASES = [
    # conv_bn_act: the ResNet stem (7x7/2, padded 3 on every side) and a plain 3x3/1 unit
    (
        "conv_bn_act_s2_even",
        "resnet18(width=0.125)",
        64,
        "resnet18_conv1",
        None,
        "resnet18_conv1_relu",
        lambda: L.ConvBNAct(8, 7, strides=2, padding=3, bn_epsilon=1e-5),
    ),
    (
        "conv_bn_act_s2_odd",
        "resnet18(width=0.125)",
        65,
        "resnet18_conv1",
        None,
        "resnet18_conv1_relu",
        lambda: L.ConvBNAct(8, 7, strides=2, padding=3, bn_epsilon=1e-5),
    ),
    (
        "conv_bn_act_s1_odd",
        "simple_cnn(width=0.125)",
        29,
        "simple_cnn_block1",
        None,
        "simple_cnn_block1_relu",
        lambda: L.ConvBNAct(8, 3, use_bias=True),
    ),
    (
        "conv_bn_act_plain_vgg",
        "vgg11(width=0.25)",
        33,
        "vgg11_block1_conv1",
        None,
        "vgg11_block1_conv1",
        lambda: L.ConvBNAct(16, 3, use_bn=False),
    ),
    # the residual blocks of resnet18 / resnet50, strided and not, both styles
    (
        "basic_s1_even",
        "resnet18(width=0.25)",
        32,
        "resnet18_conv2_block2",
        "resnet18_conv2_block1_out",
        "resnet18_conv2_block2_out",
        lambda: L.ResidualBasicBlock(16),
    ),
    (
        "basic_s2_even",
        "resnet18(width=0.25)",
        32,
        "resnet18_conv3_block1",
        "resnet18_conv2_block2_out",
        "resnet18_conv3_block1_out",
        lambda: L.ResidualBasicBlock(32, strides=2),
    ),
    (
        "basic_s2_odd",
        "resnet18(width=0.25)",
        33,
        "resnet18_conv3_block1",
        "resnet18_conv2_block2_out",
        "resnet18_conv3_block1_out",
        lambda: L.ResidualBasicBlock(32, strides=2),
    ),
    (
        "bottleneck_s2_odd",
        "resnet50(width=0.125)",
        33,
        "resnet50_conv3_block1",
        "resnet50_conv2_block3_out",
        "resnet50_conv3_block1_out",
        lambda: L.ResidualBottleneckBlock(16, 2),
    ),
    (
        "bottleneck_s1_even",
        "resnet50(width=0.125)",
        32,
        "resnet50_conv2_block2",
        "resnet50_conv2_block1_out",
        "resnet50_conv2_block2_out",
        lambda: L.ResidualBottleneckBlock(8),
    ),
    (
        "bottleneck_keras_s2_even",
        "resnet50(width=0.125, style='keras')",
        32,
        "resnet50_conv3_block1",
        "resnet50_conv2_block3_out",
        "resnet50_conv3_block1_out",
        lambda: L.ResidualBottleneckBlock(
            16, 2, stride_in_1x1=True, use_bias=True, bn_epsilon=1.001e-5, bn_momentum=0.99
        ),
    ),
    (
        "se_basic_s2_odd",
        "seresnet18(width=0.25)",
        33,
        "seresnet18_conv3_block1",
        "seresnet18_conv2_block2_out",
        "seresnet18_conv3_block1_out",
        lambda: L.ResidualBasicBlock(32, strides=2, se_ratio=1 / 16),
    ),
    (
        "squeeze_excite",
        "seresnet18(width=0.5)",
        31,
        "seresnet18_conv2_block1_se",
        "seresnet18_conv2_block1_2_bn",
        "seresnet18_conv2_block1_se_excite",
        lambda: L.SqueezeExcite(ratio=1 / 16),
    ),
    # the inverted residual of MobileNetV2 and (with SE, swish, drop-connect) of EfficientNet
    (
        "inverted_residual_s1_even",
        "mobilenetv2(alpha=0.35)",
        64,
        "mobilenetv2_block2",
        "mobilenetv2_block1_project_bn",
        "mobilenetv2_block2_add",
        lambda: L.InvertedResidual(8),
    ),
    (
        "inverted_residual_s2_odd",
        "mobilenetv2(alpha=0.35)",
        65,
        "mobilenetv2_block3",
        "mobilenetv2_block2_add",
        "mobilenetv2_block3_project_bn",
        lambda: L.InvertedResidual(16, strides=2),
    ),
    (
        "mbconv_s2_even",
        "efficientnet_b0(width=0.25)",
        64,
        "efficientnet_b0_block2a",
        "efficientnet_b0_block1a_add",
        "efficientnet_b0_block2a_project_bn",
        lambda: L.InvertedResidual(8, strides=2, se_ratio=0.25, activation="swish"),
    ),
    (
        "mbconv_s1_odd",
        "efficientnet_b0(width=0.25, drop_connect_rate=0.0)",
        65,
        "efficientnet_b0_block2b",
        "efficientnet_b0_block2a_project_bn",
        "efficientnet_b0_block2b_add",
        lambda: L.InvertedResidual(8, se_ratio=0.25, activation="swish"),
    ),
    # MobileNet v1's separable block
    (
        "separable_s1",
        "mobilenet(alpha=0.25)",
        33,
        "mobilenet_block1",
        "mobilenet_stem_relu6",
        "mobilenet_block1_pw_relu6",
        lambda: L.DepthwiseSeparableConv2D(16, depthwise_activation="relu6", activation="relu6"),
    ),
    (
        "separable_s2",
        "mobilenet(alpha=0.25)",
        96,
        "mobilenet_block2",
        "mobilenet_block1_pw_relu6",
        "mobilenet_block2_pw_relu6",
        lambda: L.DepthwiseSeparableConv2D(
            32, strides=2, depthwise_activation="relu6", activation="relu6"
        ),
    ),
    # DenseNet's dense and transition blocks (keras.applications' layout)
    (
        "dense_block",
        _small_densenet,
        33,
        "densenet121_conv2",
        "densenet121_conv1_relu",
        "densenet121_conv2_block6_concat",
        lambda: L.DenseBlock(6, growth_rate=32),
    ),
    (
        "transition_odd",
        _small_densenet,
        33,
        "densenet121_pool2",
        "densenet121_conv2_block6_concat",
        "densenet121_pool2_pool",
        lambda: L.TransitionBlock(0.5),
    ),
    (
        "transition_even",
        _small_densenet,
        32,
        "densenet121_pool2",
        "densenet121_conv2_block6_concat",
        "densenet121_pool2_pool",
        lambda: L.TransitionBlock(0.5),
    ),
    # GoogLeNet's inception block, torchvision's BN layout and the paper's
    (
        "inception_bn",
        "googlenet(width=0.125)",
        32,
        "googlenet_inception3a",
        "googlenet_pool2",
        "googlenet_inception3a_concat",
        lambda: L.InceptionBlock(8, 12, 16, 2, 4, 4, kernel_5x5=3, use_bn=True),
    ),
    (
        "inception_paper",
        "googlenet(width=0.125, variant='paper')",
        33,
        "googlenet_inception3b",
        "googlenet_inception3a_concat",
        "googlenet_inception3b_concat",
        lambda: L.InceptionBlock(16, 16, 24, 4, 12, 8),
    ),
    # NiN: the 11x11/4 "valid" first block and a 5x5/1 block, with and without BN
    (
        "nin_s4_valid_even",
        "nin(width=0.25)",
        68,
        "nin_block1",
        None,
        "nin_block1_mlp2",
        lambda: L.NiNBlock(24, 11, strides=4, padding="valid"),
    ),
    (
        "nin_s4_valid_odd",
        "nin(width=0.25)",
        71,
        "nin_block1",
        None,
        "nin_block1_mlp2",
        lambda: L.NiNBlock(24, 11, strides=4, padding="valid"),
    ),
    (
        "nin_bn_s1",
        "nin(width=0.25, batch_norm=True)",
        32,
        "nin_block2",
        "nin_pool1",
        "nin_block2_mlp2_relu",
        lambda: L.NiNBlock(64, 5, use_bn=True),
    ),
    # VGG stages, plain (keras.applications' names) and torchvision's VGG-BN
    (
        "vgg_plain_odd",
        "vgg11(width=0.25)",
        33,
        "vgg11_block3",
        "vgg11_block2_pool",
        "vgg11_block3_pool",
        lambda: L.VGGBlock(64, 2),
    ),
    (
        "vgg_bn_even",
        "vgg11_bn(width=0.25)",
        32,
        "vgg11_bn_block3",
        "vgg11_bn_block2_pool",
        "vgg11_bn_block3_pool",
        lambda: L.VGGBlock(64, 2, use_bn=True),
    ),
]


@pytest.mark.parametrize("case", ZOO_CASES, ids=[c[0] for c in ZOO_CASES])
def test_public_layer_equals_zoo_block(case):
    _, spec, size, prefix, start, end, factory = case
    build = spec if callable(spec) else lambda **kw: create_model(spec, **kw)
    model = build(input_shape=(size, size, 3), num_classes=10)
    assert_layer_is_block(model, prefix, start, end, factory())


# Layers the zoo does not use: the layer against its block function on a fresh input.
BLOCK_CASES = [
    (
        "spatially_separable_s2_odd",
        spatially_separable_block,
        dict(filters=6, kernel_size=5, strides=2, use_bn=True, intermediate_activation="relu"),
        L.SpatiallySeparableConv2D,
        11,
    ),
    ("dilated_conv_even", dilated_conv, dict(filters=4, dilation_rate=3), L.DilatedConv2D, 12),
    (
        "dilated_context_odd",
        dilated_context_block,
        dict(filters=4, use_bn=True),
        L.DilatedContextBlock,
        17,
    ),
]


@pytest.mark.parametrize("case", BLOCK_CASES, ids=[c[0] for c in BLOCK_CASES])
def test_public_layer_equals_its_block_function(case):
    _, fn, kwargs, cls, size = case
    inputs = keras.Input((size, size, 3))
    model = keras.Model(inputs, fn(inputs, **kwargs, name="blk"))
    assert_layer_is_block(model, "blk", None, model.layers[-1].name, cls(**kwargs))


def test_a_drifted_copy_fails():
    """The check catches the 2026-11 drift: a copy of the block with Keras' asymmetric "same"
    padding on its strided conv instead of PyTorch's 1 on every side (same names, same weights)."""

    class DriftedBasicBlock(L.ResidualBasicBlock):  # a hand-written second copy
        def make_graph(self, input_shape):
            inputs = keras.Input(shape=tuple(input_shape)[1:])
            n, f, unit = self.name, self.filters, dict(bn_epsilon=1e-5)
            shortcut = conv_bn_act(inputs, f, 1, strides=2, activation=None, name=f"{n}_0", **unit)
            y = conv_bn_act(inputs, f, 3, strides=2, padding="same", name=f"{n}_1", **unit)
            y = conv_bn_act(y, f, 3, activation=None, name=f"{n}_2", **unit)
            y = keras.layers.Activation("relu")(keras.layers.Add()([shortcut, y]))
            return keras.Model(inputs, y)

    model = create_model("resnet18(width=0.25)", input_shape=(32, 32, 3), num_classes=10)
    args = (
        model,
        "resnet18_conv3_block1",
        "resnet18_conv2_block2_out",
        "resnet18_conv3_block1_out",
    )
    assert_layer_is_block(*args, L.ResidualBasicBlock(32, strides=2))
    with pytest.raises(AssertionError, match="Mismatched elements"):
        assert_layer_is_block(*args, DriftedBasicBlock(32, strides=2))
