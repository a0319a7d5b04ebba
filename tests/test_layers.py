"""kerascnn.layers: shapes, configs, .keras round trips, MACs, receptive fields, semantics.

(That each layer is the block the zoo uses is tests/test_block_equivalence.py; Keras' own
layer test over every layer is tests/test_layers_keras.py.)

Receptive fields are measured, not only computed: a batch where sample j adds a large value
to input row j (or pixel j) shows which inputs change the centre output. With positive
weights and inputs every path is active (ReLU never clips), so the set of changed inputs is
exactly the receptive field; this works on any backend (no gradients needed).
"""

import json
import sys

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn._utils import make_divisible
from kerascnn.layers import (
    BlockLayer,
    ConvBNAct,
    DenseBlock,
    DepthwiseSeparableConv2D,
    DilatedContextBlock,
    DilatedConv2D,
    InceptionBlock,
    InvertedResidual,
    NiNBlock,
    Padding2D,
    ResidualBasicBlock,
    ResidualBottleneckBlock,
    SpatiallySeparableConv2D,
    SqueezeExcite,
    TransitionBlock,
    VGGBlock,
)

# (id, factory, input shape with batch axis). The first case of each class also goes
# through the .keras round trip.
CASES = [
    ("conv_bn_act_grouped", lambda: ConvBNAct(8, 3, strides=2, groups=2), (None, 9, 9, 4)),
    (
        "conv_bn_act_dilated",
        lambda: ConvBNAct(6, 3, dilation_rate=2, groups=3, activation="swish", use_bias=True),
        (None, 11, 11, 6),
    ),
    ("conv_bn_act_torch_padding", lambda: ConvBNAct(4, 3, strides=2, padding=1), (None, 9, 8, 3)),
    ("conv_bn_act_plain", lambda: ConvBNAct(4, 5, use_bn=False, activation=None), (None, 9, 9, 3)),
    ("depthwise_separable", lambda: DepthwiseSeparableConv2D(8, strides=2), (None, 9, 9, 4)),
    (
        "depthwise_separable_xception",
        lambda: DepthwiseSeparableConv2D(
            8, depth_multiplier=2, depthwise_bn=False, depthwise_activation=None, activation=None
        ),
        (None, 7, 7, 4),
    ),
    (
        "spatially_separable",
        lambda: SpatiallySeparableConv2D(
            8,
            5,
            strides=2,
            intermediate_filters=6,
            use_bn=True,
            intermediate_activation="relu",
            activation="relu",
        ),
        (None, 11, 11, 4),
    ),
    (
        "spatially_separable_valid",
        lambda: SpatiallySeparableConv2D(4, 3, padding="valid"),
        (None, 7, 9, 2),
    ),
    (
        "squeeze_excite",
        lambda: SqueezeExcite(ratio=0.25, divisor=4, gate="hard_sigmoid"),
        (None, 6, 6, 16),
    ),
    ("inverted_residual", lambda: InvertedResidual(8, expansion=4), (None, 8, 8, 8)),
    (
        "inverted_residual_se_stride",
        lambda: InvertedResidual(12, expansion=6, kernel_size=5, strides=2, se_ratio=0.25),
        (None, 9, 9, 8),
    ),
    ("inverted_residual_t1", lambda: InvertedResidual(8, expansion=1), (None, 8, 8, 8)),
    ("dilated_conv", lambda: DilatedConv2D(8, 3, dilation_rate=2), (None, 9, 9, 3)),
    (
        "dilated_conv_valid",
        lambda: DilatedConv2D(4, 3, dilation_rate=(2, 3), padding="valid", activation="relu"),
        (None, 12, 12, 3),
    ),
    ("dilated_context", lambda: DilatedContextBlock(8), (None, 16, 16, 3)),
    (
        "dilated_context_bn",
        lambda: DilatedContextBlock(8, rates=(1, 2), use_bn=True),
        (None, 10, 10, 3),
    ),
    ("padding_reflect", lambda: Padding2D(((2, 1), (0, 3)), mode="reflect"), (None, 5, 6, 2)),
    (
        "padding_constant",
        lambda: Padding2D(2, mode="constant", constant_value=-1.5),
        (None, 4, 4, 2),
    ),
    ("residual_basic", lambda: ResidualBasicBlock(8), (None, 8, 8, 8)),
    (
        "residual_basic_projection_se",
        lambda: ResidualBasicBlock(16, strides=2, se_ratio=0.25),
        (None, 9, 9, 8),
    ),
    (
        "residual_bottleneck",
        lambda: ResidualBottleneckBlock(4, strides=2, groups=2),
        (None, 8, 8, 8),
    ),
    (
        "residual_bottleneck_identity_se",
        lambda: ResidualBottleneckBlock(4, stride_in_1x1=True, se_ratio=0.5),
        (None, 8, 8, 16),
    ),
    ("inception", lambda: InceptionBlock(4, 4, 8, 2, 4, 4), (None, 8, 8, 6)),
    ("inception_bn", lambda: InceptionBlock(2, 2, 2, 2, 2, 2, use_bn=True), (None, 6, 6, 3)),
    ("dense", lambda: DenseBlock(3, growth_rate=4, dropout_rate=0.2), (None, 8, 8, 6)),
    (
        "dense_no_bottleneck",
        lambda: DenseBlock(2, growth_rate=4, bottleneck_width=None),
        (None, 6, 6, 5),
    ),
    ("transition", lambda: TransitionBlock(0.5), (None, 9, 9, 8)),
    (
        "nin",
        lambda: NiNBlock(8, 5, strides=2, padding="valid", mlp_filters=(6, 4)),
        (None, 13, 13, 3),
    ),
    ("vgg", lambda: VGGBlock(8, num_convs=2), (None, 9, 9, 3)),
    ("vgg_bn_no_pool", lambda: VGGBlock(8, 3, use_bn=True, pool=False), (None, 5, 5, 3)),
]
IDS = [c[0] for c in CASES]
_seen: set = set()
ROUND_TRIP = []
for _case in CASES:
    _cls = type(_case[1]())
    # first case of each class, plus variants with optional sublayers (SE, projection, padding)
    if _cls not in _seen or _case[0] in (
        "inverted_residual_se_stride",
        "residual_basic_projection_se",
        "conv_bn_act_torch_padding",
    ):
        _seen.add(_cls)
        ROUND_TRIP.append(_case)


def _x(shape, seed=0, low=-1.0, high=1.0):
    shape = tuple(2 if d is None else d for d in shape)
    return np.random.default_rng(seed).uniform(low, high, shape).astype("float32")


def _set_weights(obj, seed=0, positive=False):
    """Random weights (BN statistics included), so round trips compare non-trivial numbers."""
    rng = np.random.default_rng(seed)
    for v in obj.weights:
        shape = tuple(v.shape)
        if "moving_variance" in v.path or "gamma" in v.path:
            value = rng.uniform(0.5, 1.5, shape)
        elif "moving_mean" in v.path:
            value = np.zeros(shape) if positive else rng.normal(0, 0.1, shape)
        elif positive:
            value = rng.uniform(0.05, 0.3, shape)
        else:
            value = rng.normal(0, 0.3, shape)
        v.assign(value.astype(v.dtype))


def inner(layer, suffix=""):
    """A layer of a BlockLayer's block graph, by the block's name suffix."""
    return layer.graph.get_layer(f"{layer.name}{'_' + suffix if suffix else ''}")


PUBLIC = [
    n for n in __import__("kerascnn.layers", fromlist=["__all__"]).__all__ if n != "BlockLayer"
]


def test_every_public_layer_is_covered_and_registered():
    import kerascnn.blocks as B
    import kerascnn.layers as L

    assert {type(f()).__name__ for _, f, _ in CASES} == set(PUBLIC)
    for name in PUBLIC:
        cls = getattr(L, name)
        assert keras.saving.get_registered_object(f"kerascnn>{name}") is cls
        assert cls.__doc__ and "Example" in cls.__doc__ and "(" in cls.__doc__  # paper + year
        for method in ("count_macs", "receptive_field", "compute_output_shape", "get_config"):
            assert callable(getattr(cls, method))
        # one public layer per file, file name = class name in snake_case
        assert cls.__module__ == f"kerascnn.layers.{FILE_NAMES[name]}"
        # made from a block function of kerascnn.blocks (Padding2D is a primitive, not a block)
        if name != "Padding2D":
            assert issubclass(cls, BlockLayer) and cls.block in [getattr(B, b) for b in B.__all__]


FILE_NAMES = {
    "ConvBNAct": "conv_bn_act",
    "DepthwiseSeparableConv2D": "depthwise_separable_conv2d",
    "SpatiallySeparableConv2D": "spatially_separable_conv2d",
    "InvertedResidual": "inverted_residual",
    "SqueezeExcite": "squeeze_excite",
    "DilatedConv2D": "dilated_conv2d",
    "DilatedContextBlock": "dilated_context_block",
    "Padding2D": "padding2d",
    "ResidualBasicBlock": "residual_basic_block",
    "ResidualBottleneckBlock": "residual_bottleneck_block",
    "InceptionBlock": "inception_block",
    "DenseBlock": "dense_block",
    "TransitionBlock": "transition_block",
    "NiNBlock": "nin_block",
    "VGGBlock": "vgg_block",
}


def test_docstring_examples_run():
    import doctest

    import kerascnn.layers as L

    modules = {getattr(L, name).__module__ for name in PUBLIC}
    for module_name in sorted(modules):
        result = doctest.testmod(sys.modules[module_name], optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module_name


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_shape_and_config_round_trip(case):
    _, factory, shape = case
    layer = factory()
    x = _x(shape)
    y = layer(x)
    expected = layer.compute_output_shape((2,) + shape[1:])
    assert tuple(y.shape) == tuple(expected)
    assert np.isfinite(np.asarray(y)).all()
    # symbolic build agrees too (batch unknown)
    sym = factory()(keras.Input(shape=shape[1:]))
    assert tuple(sym.shape) == (None,) + tuple(expected[1:])

    # config round trip: from_config(get_config()) gives the same config
    config = layer.get_config()
    assert factory().__class__.from_config(config).get_config() == config
    # through JSON (tuples become lists) and the registered name
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    clone = keras.saving.deserialize_keras_object(serialized)
    assert type(clone) is type(layer)
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    # get_config mirrors __init__: every argument of __init__ (but **kwargs) is in the config
    import inspect

    params = [p for p in inspect.signature(type(layer)).parameters if p not in ("self", "kwargs")]
    assert params and set(params) <= set(config)


@pytest.mark.parametrize("case", ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
def test_keras_file_round_trip_gives_identical_outputs(case, tmp_path):
    name, factory, shape = case
    inputs = keras.Input(shape=shape[1:])
    outputs = factory()(inputs)
    model = keras.Model(inputs, keras.layers.Activation("linear")(outputs))
    _set_weights(model, seed=1)
    x = _x(shape, seed=2)
    expected = np.asarray(model(x, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.layers[1]) is type(model.layers[1])
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)
    assert len(loaded.weights) == len(model.weights)


# --------------------------------------------------------------------------- MACs


md = make_divisible
MACS_CASES = [
    (lambda: ConvBNAct(64, 3, strides=2, groups=2), (None, 32, 32, 16), 16 * 16 * 64 * 9 * 16 // 2),
    (lambda: ConvBNAct(8, 3, padding="valid", dilation_rate=2), (None, 9, 9, 4), 5 * 5 * 8 * 9 * 4),
    (
        lambda: DepthwiseSeparableConv2D(64, strides=2),
        (None, 32, 32, 32),
        16 * 16 * 32 * 9 + 16 * 16 * 32 * 64,
    ),
    (
        lambda: DepthwiseSeparableConv2D(10, depth_multiplier=2),
        (None, 8, 8, 4),
        8 * 8 * 8 * 9 + 8 * 8 * 8 * 10,
    ),
    (
        lambda: SpatiallySeparableConv2D(32, 7, intermediate_filters=24),
        (None, 17, 17, 16),
        17 * 17 * 24 * 7 * 16 + 17 * 17 * 32 * 7 * 24,
    ),
    (lambda: SqueezeExcite(reduced_channels=8), (None, 5, 5, 32), 2 * 32 * 8),
    (lambda: SqueezeExcite(), (None, 5, 5, 64), 2 * 64 * 4),  # the paper's r = 16
    (
        lambda: InvertedResidual(24, expansion=6, strides=2),
        (None, 32, 32, 16),
        32 * 32 * 16 * 96 + 16 * 16 * 96 * 9 + 16 * 16 * 96 * 24,
    ),
    # SE width: se_ratio of the block's input channels (EfficientNet): 16 * 0.25 = 4
    (
        lambda: InvertedResidual(24, expansion=6, strides=2, se_ratio=0.25),
        (None, 32, 32, 16),
        32 * 32 * 16 * 96 + 16 * 16 * 96 * 9 + 2 * 96 * 4 + 16 * 16 * 96 * 24,
    ),
    (
        lambda: InvertedResidual(24, expansion=6, se_ratio=1.5, se_divisor=8),
        (None, 8, 8, 16),
        8 * 8 * 16 * 96 + 8 * 8 * 96 * 9 + 2 * 96 * md(24, 8) + 8 * 8 * 96 * 24,
    ),
    (lambda: InvertedResidual(16, expansion=1), (None, 8, 8, 32), 8 * 8 * 32 * 9 + 8 * 8 * 32 * 16),
    (lambda: DilatedConv2D(8, 3, dilation_rate=2), (None, 9, 9, 3), 9 * 9 * 8 * 9 * 3),
    (
        lambda: DilatedContextBlock(16),
        (None, 32, 32, 3),
        32 * 32 * 16 * 9 * 3 + 2 * 32 * 32 * 16 * 9 * 16,
    ),
    (lambda: Padding2D(3, mode="wrap"), (None, 8, 8, 3), 0),
    (
        lambda: ResidualBasicBlock(128, strides=2),
        (None, 32, 32, 64),
        16 * 16 * 128 * 9 * 64 + 16 * 16 * 128 * 9 * 128 + 16 * 16 * 128 * 64,
    ),
    (
        lambda: ResidualBasicBlock(64),
        (None, 8, 8, 64),
        2 * 8 * 8 * 64 * 9 * 64,
    ),  # identity shortcut
    (
        lambda: ResidualBottleneckBlock(64),
        (None, 16, 16, 64),
        16 * 16 * (64 * 64 + 64 * 9 * 64 + 256 * 64 + 256 * 64),
    ),
    (
        lambda: ResidualBottleneckBlock(64, strides=2, groups=32),
        (None, 16, 16, 256),
        16 * 16 * 64 * 256 + 8 * 8 * 64 * 9 * 2 + 8 * 8 * 256 * 64 + 8 * 8 * 256 * 256,
    ),
    # GoogLeNet's inception (3a): about 128 M MACs
    (lambda: InceptionBlock(64, 96, 128, 16, 32, 32), (None, 28, 28, 192), 128_049_152),
    (
        lambda: DenseBlock(2, growth_rate=4),
        (None, 8, 8, 6),
        64 * (6 * 16 + 9 * 16 * 4) + 64 * (10 * 16 + 9 * 16 * 4),
    ),
    (
        lambda: DenseBlock(2, growth_rate=4, bottleneck_width=None),
        (None, 8, 8, 6),
        64 * 9 * 6 * 4 + 64 * 9 * 10 * 4,
    ),
    (lambda: TransitionBlock(0.5), (None, 16, 16, 256), 16 * 16 * 256 * 128),
    (
        lambda: NiNBlock(96, 11, strides=4, padding="valid"),
        (None, 224, 224, 3),
        54 * 54 * 96 * 121 * 3 + 2 * 54 * 54 * 96 * 96,
    ),
    (lambda: VGGBlock(64, num_convs=2), (None, 32, 32, 3), 32 * 32 * 64 * 9 * (3 + 64)),
]


def test_count_macs_matches_hand_formula():
    wrong = []
    for factory, shape, expected in MACS_CASES:
        layer = factory()
        before = layer.count_macs(shape)
        layer.build(shape)  # the same before and after build
        after = layer.count_macs(shape)
        if before != expected or after != expected:
            wrong.append((type(layer).__name__, shape, expected, before, after))
    assert not wrong, wrong


def test_count_macs_needs_known_spatial_size():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(None, None, 8, 3\)"):
        ConvBNAct(4).count_macs((None, None, 8, 3))


# --------------------------------------------------------------------------- receptive fields


# (factory, input shape, (kernel, stride, left padding) of the height axis, or all three per axis)
RF_CASES = [
    (lambda: ConvBNAct(4, 3, strides=2), (None, 32, 32, 3), (3, 2, 0)),
    (lambda: ConvBNAct(4, 3, strides=2), (None, 32, 33, 3), ((3, 3), (2, 2), (0, 1))),
    (lambda: ConvBNAct(4, 3, strides=2, padding=1), (None, 32, 32, 3), (3, 2, 1)),
    (lambda: ConvBNAct(4, 3, strides=2), (None, 33, 33, 3), (3, 2, 1)),
    (lambda: ConvBNAct(4, 3, dilation_rate=3), (None, 16, 16, 3), (7, 1, 3)),
    (lambda: InvertedResidual(8, strides=1), (None, 16, 16, 8), (3, 1, 1)),
    (lambda: InvertedResidual(8, kernel_size=5, strides=2), (None, 16, 16, 8), (5, 2, 1)),
    (lambda: DilatedConv2D(4, 3, dilation_rate=4), (None, 20, 20, 3), (9, 1, 4)),
    (lambda: DilatedContextBlock(4), (None, 16, 16, 3), (15, 1, 7)),
    (lambda: Padding2D(3), (None, 4, 4, 1), (1, 1, 3)),
    (lambda: Padding2D(((2, 1), (0, 0))), (None, 4, 4, 1), ((1, 1), (1, 1), (2, 0))),
    # the gate of every output pixel depends on the whole map: the field is the whole input
    (lambda: SqueezeExcite(), (None, 4, 6, 16), ((4, 6), (1, 1), (0, 0))),
    (lambda: ResidualBasicBlock(8), (None, 8, 8, 8), (5, 1, 2)),
    # strided: 3x3/2 padded 1 on every side (PyTorch), then 3x3: 3 + 2 * 2 = 7, jump 2
    (lambda: ResidualBasicBlock(8, strides=2), (None, 9, 8, 8), (7, 2, 3)),
    (lambda: ResidualBottleneckBlock(2), (None, 8, 8, 8), (3, 1, 1)),
    (lambda: InceptionBlock(2, 2, 2, 2, 2, 2), (None, 8, 8, 3), (5, 1, 2)),
    (lambda: DenseBlock(3, growth_rate=2), (None, 8, 8, 3), (7, 1, 3)),
    (lambda: TransitionBlock(), (None, 8, 8, 4), (2, 2, 0)),
    (lambda: NiNBlock(8, 11, strides=4, padding="valid"), (None, 32, 32, 3), (11, 4, 0)),
    (lambda: VGGBlock(4, num_convs=2), (None, 8, 8, 3), (6, 2, 2)),
]


def _per_axis(triple):
    return tuple(v if isinstance(v, tuple) else (v, v) for v in triple)


def test_receptive_field_values():
    wrong = []
    for factory, shape, expected in RF_CASES:
        expected = _per_axis(expected)
        layer = factory()
        given_shape = layer.receptive_field(shape)
        layer.build(shape)
        built = layer.receptive_field()  # from the built shape
        if given_shape != expected or built != expected:
            wrong.append((type(layer).__name__, shape, expected, given_shape, built))
    assert not wrong, wrong


def test_dilated_context_block_states_3_7_15():
    block = DilatedContextBlock(4, rates=(1, 2, 4))
    assert block.cumulative_receptive_fields() == (3, 7, 15)
    assert DilatedContextBlock(4, rates=(1, 2, 4, 8)).cumulative_receptive_fields()[-1] == 31
    assert DilatedConv2D(4, 3, dilation_rate=4).effective_kernel_size == (9, 9)
    assert DilatedConv2D(4, 5, dilation_rate=(1, 3)).effective_kernel_size == (5, 13)


def _affected_rows(layer, shape, row, bump=100.0):
    """Input rows whose change alters output row ``row`` (middle column), measured."""
    _, h, w, c = shape
    base = _x((1, h, w, c), seed=3, low=0.1, high=1.0)
    batch = np.repeat(base, h + 1, axis=0)
    for j in range(h):
        batch[j + 1, j] += bump
    _set_weights(layer, seed=4, positive=True)
    y = np.asarray(layer(batch, training=False)).astype("float64")
    col = y.shape[2] // 2
    diff = np.abs(y[1:, row, col, :] - y[:1, row, col, :]).max(axis=-1)
    scale = np.abs(y[:1, row, col, :]).max()
    return set(np.flatnonzero(diff > 1e-5 * max(scale, 1.0)).tolist())


MEASURED_RF_CASES = [
    (lambda: ConvBNAct(3, 3, strides=2), (None, 17, 9, 2)),
    (lambda: ConvBNAct(3, 3, strides=2), (None, 16, 9, 2)),
    (lambda: DepthwiseSeparableConv2D(3, 5, strides=2), (None, 15, 7, 2)),
    (lambda: SpatiallySeparableConv2D(3, 5, strides=2), (None, 16, 16, 2)),
    (lambda: InvertedResidual(4, strides=2, activation="relu"), (None, 15, 7, 4)),
    (lambda: DilatedContextBlock(3), (None, 21, 5, 2)),
    (lambda: Padding2D(((3, 1), (1, 1)), mode="symmetric"), (None, 6, 5, 1)),
    (lambda: ResidualBasicBlock(4, strides=2), (None, 16, 9, 3)),
    (lambda: ResidualBottleneckBlock(2, strides=2), (None, 15, 9, 3)),
    (lambda: InceptionBlock(2, 2, 2, 2, 2, 2), (None, 13, 5, 3)),
    (lambda: DenseBlock(3, growth_rate=2), (None, 13, 5, 2)),
    (lambda: TransitionBlock(), (None, 12, 4, 4)),
    (lambda: NiNBlock(4, 5, strides=3, padding="valid"), (None, 20, 5, 2)),
    (lambda: VGGBlock(3, num_convs=2), (None, 16, 6, 2)),
]


def test_receptive_field_matches_measurement():
    wrong = []
    for factory, shape in MEASURED_RF_CASES:
        layer = factory()
        layer.build((1,) + shape[1:])
        k, s, p = (v[0] for v in layer.receptive_field())  # the height axis
        out_h = layer.compute_output_shape((1,) + shape[1:])[1]
        row = out_h // 2
        window = {r for r in range(row * s - p, row * s - p + k) if 0 <= r < shape[1]}
        measured = _affected_rows(layer, shape, row)
        if measured != window:
            wrong.append((type(layer).__name__, shape, (k, s, p), sorted(measured), sorted(window)))
    assert not wrong, wrong


def test_dilated_conv_touches_every_dth_row_of_its_span():
    layer = DilatedConv2D(2, 3, dilation_rate=3)
    shape = (None, 17, 5, 2)
    layer.build((1, 17, 5, 2))
    assert layer.receptive_field() == ((7, 7), (1, 1), (3, 3))
    assert _affected_rows(layer, shape, 8) == {5, 8, 11}  # span 7 = 3 + 2 * (3 - 1)


def test_stride_in_1x1_bottleneck_sees_every_other_row():
    # The paper's bottleneck (stride on the first 1x1) skips odd rows: a sparse 5-row span.
    # torchvision's v1.5 (stride on the 3x3) is dense; see test_receptive_field_matches_measurement.
    layer = ResidualBottleneckBlock(2, strides=2, stride_in_1x1=True)
    shape = (None, 15, 9, 3)
    layer.build((1, 15, 9, 3))
    k, s, p = (v[0] for v in layer.receptive_field())
    assert (k, s) == (5, 2)
    row = 4
    assert _affected_rows(layer, shape, row) == set(range(row * s - p, row * s - p + k, 2))


def test_dilated_context_block_receptive_field_is_exactly_15x15():
    h = w = 21
    block = DilatedContextBlock(4, rates=(1, 2, 4))
    base = _x((1, h, w, 1), seed=5, low=0.1, high=1.0)
    batch = np.repeat(base, h * w + 1, axis=0)
    for j in range(h * w):
        batch[j + 1, j // w, j % w, 0] += 10.0
    block.build(batch.shape)
    _set_weights(block, seed=6, positive=True)
    y = np.asarray(block(batch))
    diff = np.abs(y[1:, h // 2, w // 2, :] - y[:1, h // 2, w // 2, :]).max(axis=-1)
    mask = (diff > 1e-6).reshape(h, w)
    expected = np.zeros((h, w), bool)
    expected[h // 2 - 7 : h // 2 + 8, w // 2 - 7 : w // 2 + 8] = True
    assert mask.sum() == 15 * 15
    np.testing.assert_array_equal(mask, expected)


@settings(max_examples=15)
@given(
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    d=st.integers(1, 3),
    padding=st.sampled_from(["same", "valid"]),
    h=st.integers(13, 18),
)
def test_conv_receptive_field_property(k, s, d, padding, h):
    if s > 1 and d > 1:
        d = 1
    layer = ConvBNAct(2, k, strides=s, dilation_rate=d, padding=padding)
    shape = (None, h, 13, 1)  # 13 >= the widest effective kernel (5 + 4 * 2)
    layer.build((1, h, 13, 1))
    kk, ss, pp = (v[0] for v in layer.receptive_field())
    assert kk == k + (k - 1) * (d - 1) and ss == s
    out_h = layer.compute_output_shape((1, h, 13, 1))[1]
    row = out_h // 2
    # a dilated kernel touches every d-th row of its span
    taps = {row * ss - pp + j * d for j in range(k)}
    assert _affected_rows(layer, shape, row) == {r for r in taps if 0 <= r < h}


# --------------------------------------------------------------------------- semantics


def _zero_branch(block):
    """Make the residual branch output exactly zero (projection BN gamma = beta = 0)."""
    bn = inner(block, "project_bn")
    bn.gamma.assign(np.zeros(bn.gamma.shape, "float32"))
    bn.beta.assign(np.zeros(bn.beta.shape, "float32"))


@pytest.mark.parametrize(
    "kwargs, channels, residual",
    [
        (dict(filters=8), 8, True),
        (dict(filters=8, se_ratio=0.25), 8, True),
        (dict(filters=8, strides=2), 8, False),
        (dict(filters=12), 8, False),
        (dict(filters=8, use_residual=False), 8, False),
    ],
)
def test_inverted_residual_residual_present_or_absent(kwargs, channels, residual):
    block = InvertedResidual(**kwargs)
    x = _x((2, 8, 8, channels), seed=7)
    block(x)
    assert block.has_residual is residual
    _zero_branch(block)
    y = np.asarray(block(x, training=False))
    if residual:
        np.testing.assert_array_equal(y, x)  # 0 + x
    else:
        np.testing.assert_array_equal(y, np.zeros_like(y))


def test_inverted_residual_structure():
    block = InvertedResidual(16, expansion=6, se_ratio=0.25)
    block.build((None, 8, 8, 16))
    assert inner(block, "expand_conv").filters == 96 and inner(block, "dw_conv").strides == (1, 1)
    assert inner(block, "se_reduce").filters == 16 * 0.25 == 4  # of the input channels
    assert inner(block, "project_conv").activation is keras.activations.linear  # linear bottleneck
    assert not [la for la in block.graph.layers if la.name.endswith("project_relu6")]
    # parameters: expand 16*96, 3x BN, depthwise 9*96, SE 2*96*4+4+96, project 96*16
    bn = 4 * 96 + 4 * 96 + 4 * 16
    assert block.count_params() == 16 * 96 + 9 * 96 + 2 * 96 * 4 + 4 + 96 + 96 * 16 + bn
    t1 = InvertedResidual(16, expansion=1)
    t1.build((None, 8, 8, 32))
    assert not [la for la in t1.graph.layers if "expand" in la.name] and not t1.has_residual


@pytest.mark.parametrize("gate", ["sigmoid", "hard_sigmoid"])
def test_squeeze_excite_output_is_input_times_gate(gate):
    se = SqueezeExcite(reduced_channels=4, gate=gate)
    x = _x((3, 5, 5, 16), seed=8, low=-2, high=2)
    y = np.asarray(se(x))
    _set_weights(se, seed=9)
    y = np.asarray(se(x))
    g = np.asarray(se.gate_values(x))
    assert g.shape == (3, 1, 1, 16)
    assert (g > 0).all() and (g < 1).all()
    np.testing.assert_allclose(y, x * g, rtol=1e-6, atol=1e-6)
    # the gate is computed from each sample's own channel means
    assert not np.allclose(g[0], g[1])
    assert se.count_params() == 16 * 4 + 4 + 4 * 16 + 16


def test_squeeze_excite_reduction():
    assert SqueezeExcite().reduced_filters(64) == 4  # r = 16
    assert SqueezeExcite(ratio=0.25, divisor=8).reduced_filters(36) == make_divisible(9, 8) == 16
    assert SqueezeExcite(reduced_channels=5).reduced_filters(100) == 5
    assert SqueezeExcite(ratio=1 / 16).reduced_filters(8) == 1  # never below one channel


def test_grouped_conv_is_grouped():
    layer = ConvBNAct(8, 3, groups=4, use_bn=False, activation=None)
    layer.build((None, 6, 6, 8))
    assert tuple(inner(layer).kernel.shape) == (3, 3, 2, 8)  # C_in / groups per filter
    x = _x((1, 6, 6, 8), seed=10)
    y0 = np.asarray(layer(x))
    x2 = x.copy()
    x2[..., :2] += 1.0  # only group 0's inputs
    y1 = np.asarray(layer(x2))
    changed = np.abs(y1 - y0).max(axis=(0, 1, 2)) > 1e-6
    np.testing.assert_array_equal(changed, [True, True] + [False] * 6)


def test_depthwise_separable_cost_and_params():
    layer = DepthwiseSeparableConv2D(64, use_bn=False, depthwise_bn=False, use_bias=False)
    layer.build((None, 16, 16, 32))
    assert layer.count_params() == 9 * 32 + 32 * 64
    biased = DepthwiseSeparableConv2D(64, use_bn=False, depthwise_bn=False)  # no BN: biases
    biased.build((None, 16, 16, 32))
    assert biased.count_params() == 9 * 32 + 32 + 32 * 64 + 64
    full = ConvBNAct(64, 3, use_bn=False)
    ratio = layer.count_macs((None, 16, 16, 32)) / full.count_macs((None, 16, 16, 32))
    assert ratio == pytest.approx(1 / 64 + 1 / 9)  # the MobileNet paper's 1/N + 1/k^2


def test_spatially_separable_matches_rank_one_kxk_conv():
    layer = SpatiallySeparableConv2D(1, 3, use_bias=False)
    x = _x((1, 7, 7, 1), seed=11)
    layer(x)
    a = np.array([1.0, 2.0, -1.0], "float32")
    b = np.array([0.5, -1.0, 3.0], "float32")
    inner(layer, "k1").kernel.assign(a.reshape(3, 1, 1, 1))
    inner(layer, "1k").kernel.assign(b.reshape(1, 3, 1, 1))
    full = keras.layers.Conv2D(1, 3, padding="same", use_bias=False)
    full.build((1, 7, 7, 1))
    full.kernel.assign(np.outer(a, b).reshape(3, 3, 1, 1))
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(full(x)), rtol=1e-5, atol=1e-5)


def test_residual_blocks_shortcuts():
    def has_projection(block):
        return any(la.name == f"{block.name}_0_conv" for la in block.graph.layers)

    basic = ResidualBasicBlock(8)
    basic.build((None, 8, 8, 8))
    assert not has_projection(basic)
    proj = ResidualBasicBlock(8, projection=True)
    proj.build((None, 8, 8, 8))
    assert has_projection(proj)
    # ResNet-18 conv2_x block: 2 * (3*3*64*64) conv weights + 2 BN
    r18 = ResidualBasicBlock(64)
    r18.build((None, 8, 8, 64))
    assert r18.count_params() == 2 * 9 * 64 * 64 + 2 * 4 * 64
    # ResNet-50 conv2_1: 64->64->64->256, projection 64->256 (keras.applications layout)
    r50 = ResidualBottleneckBlock(64, stride_in_1x1=True)
    r50.build((None, 8, 8, 64))
    convs = 64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256
    assert r50.count_params() == convs + 4 * (64 + 64 + 256 + 256)
    with pytest.raises(ValueError, match="projection=False"):
        ResidualBasicBlock(16, projection=False).build((None, 8, 8, 8))


def test_dense_and_transition_channels():
    block = DenseBlock(6, growth_rate=32)
    assert block.compute_output_shape((None, 8, 8, 64)) == (None, 8, 8, 64 + 6 * 32)
    y = DenseBlock(2, growth_rate=3)(_x((1, 4, 4, 5)))
    assert y.shape == (1, 4, 4, 11)
    # the block's input is passed through unchanged as the first channels
    x = _x((1, 4, 4, 5), seed=12)
    np.testing.assert_array_equal(np.asarray(DenseBlock(2, growth_rate=3)(x))[..., :5], x)
    assert TransitionBlock(0.5).compute_output_shape((None, 9, 9, 7)) == (None, 4, 4, 3)


def test_inception_3a_params_and_channels():
    block = InceptionBlock(64, 96, 128, 16, 32, 32)
    block.build((None, 28, 28, 192))
    weights = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    biases = 64 + 96 + 128 + 16 + 32 + 32
    assert block.count_params() == weights + biases == 163_328 + biases
    assert block.compute_output_shape((None, 28, 28, 192)) == (None, 28, 28, 256)


INVALID_CASES = [
    (lambda: ConvBNAct(0), r"filters.*Received: filters=0"),
    (lambda: ConvBNAct(6, groups=4), r"divisible by `groups`.*Received: filters=6, groups=4"),
    (
        lambda: ConvBNAct(8, strides=2, dilation_rate=2),
        r"Received: strides=\(2, 2\), dilation_rate=\(2, 2\)",
    ),
    (lambda: ConvBNAct(8, padding=-1), r"Received: padding=-1"),
    (lambda: ConvBNAct(8, nosuch=1), r"nosuch.*Accepted arguments: filters, kernel_size.*Received"),
    (lambda: ConvBNAct(8, padding="full"), r"Received: padding='full'"),
    (lambda: ConvBNAct(8, activation="nope"), r"Received: activation='nope'"),
    (lambda: DepthwiseSeparableConv2D(8, kernel_size=(3, 0)), r"Received: kernel_size=\(3, 0\)"),
    (lambda: SqueezeExcite(ratio=0.5, reduced_channels=4), r"not both.*Received: ratio=0.5"),
    (lambda: SqueezeExcite(ratio=1.5), r"Received: ratio=1.5"),
    (lambda: SqueezeExcite(gate="relu"), r"Received: gate='relu'"),
    (lambda: InvertedResidual(8, expansion=0), r"Received: expansion=0"),
    (lambda: InvertedResidual(8, se_gate="tanh"), r"Received: se_gate='tanh'"),
    (lambda: DilatedContextBlock(8, rates=()), r"Received: rates=\(\)"),
    (lambda: DilatedContextBlock(8, rates=(1, 0)), r"Received: rates=\(1, 0\)"),
    (lambda: Padding2D(-1), r"Received: padding=-1"),
    (lambda: Padding2D(1, mode="circular"), r"Received: mode='circular'"),
    (lambda: Padding2D(1, mode="reflect", constant_value=2), r"Received: constant_value=2"),
    (lambda: ResidualBasicBlock(8, projection="yes"), r"Received: projection='yes'"),
    (lambda: ResidualBottleneckBlock(6, groups=4), r"Received: filters=6, groups=4"),
    (lambda: DenseBlock(0), r"Received: num_layers=0"),
    (lambda: DenseBlock(2, dropout_rate=1.0), r"Received: dropout_rate=1.0"),
    (lambda: TransitionBlock(0.0), r"Received: compression=0.0"),
    (lambda: NiNBlock(8, mlp_filters=(4, 0)), r"Received: mlp_filters=\(4, 0\)"),
    (lambda: VGGBlock(8, num_convs=True), r"Received: num_convs=True"),
    (lambda: InceptionBlock(1, 1, 1, 1, 1, 0), r"Received: filters_pool_proj=0"),
]


def test_invalid_arguments_raise_clear_value_errors():
    from kerascnn.errors import ArgumentError

    for factory, match in INVALID_CASES:
        with pytest.raises(ArgumentError, match=match):
            factory()  # at construction, before any input is seen


def test_invalid_inputs_raise_clear_value_errors():
    with pytest.raises(ValueError, match=r"4D channels-last.*Received: input_shape=\(None, 8, 3\)"):
        ConvBNAct(4).build((None, 8, 3))
    with pytest.raises(
        ValueError, match=r"input channels must be divisible.*Received: input channels=6"
    ):
        ConvBNAct(8, groups=4).build((None, 8, 8, 6))
