"""Keras' own layer test (``keras.src.testing.TestCase.run_layer_test``) over every public layer.

It builds each layer eagerly and symbolically, checks the weight counts and output shapes,
round-trips the config (``from_config``, ``serialize_keras_object``), trains one step with
``model.fit`` (compiled: XLA on TensorFlow, jit on JAX) and repeats under the
``mixed_float16`` policy (float32 weights, float16 outputs). On JAX: `KERAS_BACKEND=jax pytest
tests/test_layers_keras.py` (it passes there too).
"""

import pytest
from keras.src.testing import TestCase as KerasTestCase

from kerascnn import layers as L

# (class, constructor keywords, input shape with batch, expected output shape)
CASES = [
    (L.ConvBNAct, dict(filters=8, kernel_size=3, strides=2, groups=2), (2, 9, 9, 4), (2, 5, 5, 8)),
    (L.DepthwiseSeparableConv2D, dict(filters=8, strides=2), (2, 9, 9, 4), (2, 5, 5, 8)),
    (
        L.SpatiallySeparableConv2D,
        dict(filters=6, kernel_size=5, strides=2, use_bn=True),
        (2, 11, 11, 4),
        (2, 6, 6, 6),
    ),
    (L.InvertedResidual, dict(filters=8, expansion=4, se_ratio=0.25), (2, 8, 8, 8), (2, 8, 8, 8)),
    (L.SqueezeExcite, dict(ratio=0.25), (2, 6, 6, 16), (2, 6, 6, 16)),
    (L.DilatedConv2D, dict(filters=8, dilation_rate=2), (2, 9, 9, 3), (2, 9, 9, 8)),
    (
        L.DilatedContextBlock,
        dict(filters=8, rates=(1, 2), use_bn=True),
        (2, 10, 10, 3),
        (2, 10, 10, 8),
    ),
    (L.Padding2D, dict(padding=((2, 1), (0, 3)), mode="reflect"), (2, 5, 6, 2), (2, 8, 9, 2)),
    (L.ResidualBasicBlock, dict(filters=16, strides=2, se_ratio=0.25), (2, 9, 9, 8), (2, 5, 5, 16)),
    (L.ResidualBottleneckBlock, dict(filters=4, strides=2, groups=2), (2, 8, 8, 8), (2, 4, 4, 16)),
    (
        L.InceptionBlock,
        dict(
            filters_1x1=4,
            filters_3x3_reduce=4,
            filters_3x3=8,
            filters_5x5_reduce=2,
            filters_5x5=4,
            filters_pool_proj=4,
            use_bn=True,
        ),
        (2, 8, 8, 6),
        (2, 8, 8, 20),
    ),
    (
        L.DenseBlock,
        dict(num_layers=3, growth_rate=4, dropout_rate=0.2),
        (2, 8, 8, 6),
        (2, 8, 8, 18),
    ),
    (L.TransitionBlock, dict(compression=0.5), (2, 9, 9, 8), (2, 4, 4, 4)),
    (
        L.NiNBlock,
        dict(filters=8, kernel_size=5, strides=2, padding="valid", mlp_filters=(6, 4)),
        (2, 13, 13, 3),
        (2, 5, 5, 4),
    ),
    (L.VGGBlock, dict(filters=8, num_convs=2, use_bn=True), (2, 9, 9, 3), (2, 4, 4, 8)),
]


class _KerasLayerTest(KerasTestCase):
    __test__ = False  # a helper: pytest calls run_layer_test from the functions below

    def runTest(self):  # unittest needs a method to construct the case
        pass


def test_every_public_layer_has_a_case():
    assert {c[0].__name__ for c in CASES} == set(L.__all__) - {"BlockLayer"}


@pytest.mark.parametrize("case", CASES, ids=[c[0].__name__ for c in CASES])
def test_keras_run_layer_test(case):
    cls, kwargs, input_shape, output_shape = case
    _KerasLayerTest().run_layer_test(
        cls,
        init_kwargs=kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        run_training_check=True,
        run_mixed_precision_check=True,
    )
