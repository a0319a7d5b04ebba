"""kerascnn.analysis.profile: parameters, MACs, receptive fields, memory, against Keras and papers."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import layers as L

from kerascnn import create_model, list_models, model_info
from kerascnn.analysis import profile
from kerascnn.errors import ArgumentError


def _seq(shape, *layers, name="m"):
    return keras.Sequential([keras.Input(shape), *layers], name=name)


# --------------------------------------------------------------------- totals vs Keras


@pytest.mark.parametrize("name", list_models())
def test_profile_params_equal_count_params_for_every_registered_model(name):
    size = max(32, model_info(name).min_input_size)
    model = create_model(name, input_shape=(size, size, 3), num_classes=10)
    prof = profile(model)
    assert prof.total_params == model.count_params()
    assert prof.trainable_params == sum(math.prod(w.shape) for w in model.trainable_weights)
    assert prof.total_macs > 0
    assert prof.unknown_layers == [], f"{name}: layers not understood: {prof.unknown_layers}"


# Published multiply-accumulates at 224x224x3 (per image, 1000 classes):
#   ResNet-50 v1 (Keras layout, stride in the first 1x1): 3.88 G (issue 4; He et al. 2015,
#     Table 1: "3.8 x 10^9 FLOPs", i.e. multiply-adds);
#   MobileNetV2 1.0: 300 M (Sandler et al. 2018, Table 4);
#   VGG-16: 15.47 G (torchvision model table "GFLOPS"; Simonyan & Zisserman: 15.5 G);
#   DenseNet-121: 2.85 G (issue 4; torchvision 2.83);
#   EfficientNet-B0: 0.39 G (Tan & Le 2019, Table 2 "FLOPS").
APPLICATIONS = [
    ("ResNet50", 3.88e9),
    ("MobileNetV2", 0.300e9),
    ("VGG16", 15.5e9),
    ("DenseNet121", 2.85e9),
    ("EfficientNetB0", 0.39e9),
]


@pytest.mark.parametrize("app,published_macs", APPLICATIONS, ids=[a for a, _ in APPLICATIONS])
def test_keras_applications_params_and_macs(app, published_macs):
    model = getattr(keras.applications, app)(weights=None)
    prof = profile(model)
    assert prof.total_params == model.count_params()
    assert prof.non_trainable_params == sum(math.prod(w.shape) for w in model.non_trainable_weights)
    assert prof.unknown_layers == []
    assert prof.total_macs == pytest.approx(published_macs, rel=0.02)
    assert prof.total_flops == 2 * prof.total_macs
    if app == "VGG16":  # a plain chain: the classic receptive field of conv5_3 + pool5
        assert prof.receptive_field == (212, 212)


# Zoo models built by other modules; skipped cleanly until they are registered.
# torchvision's model table ("GFLOPS" = multiply-accumulates): resnet18 1.81, resnet50 (v1.5)
# 4.09, alexnet 0.71, googlenet 1.50.
ZOO = [("resnet18", 1.81e9), ("resnet50", 4.09e9), ("alexnet", 0.71e9), ("googlenet", 1.50e9)]


@pytest.mark.parametrize("name,published_macs", ZOO, ids=[n for n, _ in ZOO])
def test_zoo_macs_match_published(name, published_macs):
    if name not in list_models():
        pytest.skip(f"{name} is not registered yet")
    model = create_model(name, input_shape=(224, 224, 3), num_classes=1000)
    prof = profile(model)
    assert prof.total_params == model.count_params()
    assert prof.total_macs == pytest.approx(published_macs, rel=0.02)


# ------------------------------------------------------------------- per-layer formulas


def test_lenet_rows_by_hand():
    prof = profile(create_model("lenet"))
    rows = {r.name: r for r in prof.rows}
    # conv1: 28x28 positions x 6 filters x 5x5x1 taps
    assert rows["lenet_conv1"].macs == 28 * 28 * 6 * 25
    assert rows["lenet_conv2"].macs == 10 * 10 * 16 * 25 * 6
    assert rows["lenet_fc1"].macs == 400 * 120
    assert rows["lenet_conv1"].output_shape == (28, 28, 6)
    # receptive field: conv5 (pad 2) -> pool2/2 -> conv5 -> pool2/2
    assert (rows["lenet_conv1"].rf_size, rows["lenet_conv1"].rf_start) == ((5, 5), (-2, -2))
    assert rows["lenet_pool2"].rf_size == (16, 16) and rows["lenet_pool2"].rf_jump == (4, 4)
    assert rows["lenet_fc1"].rf_jump == (None, None)  # every unit sees the whole input
    assert prof.total_macs == 416_520
    assert prof.activation_bytes == sum(4 * math.prod(r.output_shape) for r in prof.rows)


def test_conv_variants_macs():
    x = keras.Input((16, 16, 8))
    y1 = L.Conv2D(16, 3, groups=4, padding="same", name="grouped")(x)
    y2 = L.Conv2D(8, 3, dilation_rate=2, name="dilated")(x)
    y3 = L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", name="dw")(x)
    y4 = L.SeparableConv2D(12, 5, name="sep")(x)
    y5 = L.Conv2DTranspose(4, 3, strides=2, padding="same", name="tconv")(x)
    y6 = L.Conv1D(5, 3, name="c1d")(L.Reshape((256, 8), name="r")(x))
    y7 = L.Dense(7, name="dense_on_map")(x)
    model = keras.Model(x, [y1, y2, y3, y4, y5, y6, y7])
    rows = {r.name: r for r in profile(model).rows}
    assert rows["grouped"].macs == 16 * 16 * 16 * 9 * (8 // 4)
    assert rows["dilated"].macs == 12 * 12 * 8 * 9 * 8 and rows["dilated"].rf_size == (5, 5)
    assert rows["dw"].macs == 8 * 8 * 16 * 9
    assert rows["sep"].macs == 12 * 12 * 8 * 25 + 12 * 12 * 8 * 12
    assert rows["tconv"].macs == 16 * 16 * 8 * 9 * 4
    assert rows["c1d"].macs == 254 * 5 * 3 * 8
    assert rows["dense_on_map"].macs == 16 * 16 * 8 * 7
    assert sum(r.params for r in rows.values()) == model.count_params()


def test_other_ops_rules():
    model = _seq(
        (8, 8, 4),
        L.Conv2D(4, 3, padding="same", activation="relu", name="c"),
        L.BatchNormalization(name="bn"),
        L.MaxPooling2D(2, name="mp"),
        L.GlobalAveragePooling2D(name="gap"),
        L.Dense(3, use_bias=False, name="d"),
    )
    rows = {r.name: r for r in profile(model).rows}
    assert rows["c"].other_ops == 2 * 8 * 8 * 4  # bias + relu
    assert rows["bn"].other_ops == 2 * 8 * 8 * 4 and rows["bn"].macs == 0
    assert rows["bn"].non_trainable_params == 8 and rows["bn"].trainable_params == 8
    assert rows["mp"].other_ops == 4 * 4 * 4 * 4
    assert rows["gap"].other_ops == 4 * 4 * 4
    assert rows["d"].other_ops == 0 and rows["d"].macs == 12


def test_padding_macs_count_taps_over_zero_padding():
    model = _seq((16, 16, 8), L.Conv2D(4, 3, padding="same", use_bias=False, name="c"))
    row = profile(model).rows[-1]
    # along each axis 46 of the 48 (position, tap) pairs land inside the 16-pixel input
    assert row.macs - row.padding_macs == round(row.macs * (46 / 48) ** 2)


def test_multi_branch_receptive_field_is_the_union():
    x = keras.Input((32, 32, 3))
    a = L.Conv2D(4, 3, padding="same", name="a")(x)
    b = L.Conv2D(4, 7, padding="same", name="b")(x)
    s = L.Add(name="add")([a, b])
    c = L.Concatenate(name="cat")([a, L.MaxPooling2D(3, strides=1, padding="same", name="p")(a)])
    model = keras.Model(x, [s, c])
    rows = {r.name: r for r in profile(model).rows}
    assert rows["add"].rf_size == (7, 7) and rows["add"].rf_start == (-3, -3)
    assert rows["cat"].rf_size == (5, 5)
    assert rows["add"].other_ops == 32 * 32 * 4


def test_squeeze_excite_multiply_makes_the_field_global():
    x = keras.Input((8, 8, 16))
    s = L.GlobalAveragePooling2D(keepdims=True, name="sq")(x)
    s = L.Conv2D(16, 1, activation="sigmoid", name="ex")(s)
    y = L.Multiply(name="scale")([x, s])
    rows = {r.name: r for r in profile(keras.Model(x, y)).rows}
    assert rows["scale"].rf_size == (8, 8)  # every output pixel depends on the whole map
    assert rows["scale"].other_ops == 8 * 8 * 16


def test_nested_models_and_shared_layers():
    inner = _seq(
        (16, 16, 3), L.Conv2D(8, 3, padding="same", name="ic"), L.ReLU(name="ir"), name="block"
    )
    shared = L.Conv2D(8, 3, padding="same", name="shared")
    x = keras.Input((16, 16, 3))
    y = inner(x)
    y = shared(y)
    y = shared(y)  # same weights, called twice
    model = keras.Model(x, y)
    prof = profile(model)
    names = [r.name for r in prof.rows]
    assert "block/ic" in names and names.count("shared") == 2
    assert prof.total_params == model.count_params()
    assert prof.total_macs == 16 * 16 * 8 * 27 + 2 * 16 * 16 * 8 * 72
    assert prof.rows[-1].rf_size == (7, 7)


def test_custom_layer_protocol_and_unknown_layers():
    class Protocol(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(3,), initializer="ones")

        def call(self, x):
            return x[:, ::2, ::2, :] * self.w[0]

        def compute_output_shape(self, s):
            return (s[0], s[1] // 2, s[2] // 2, s[3])

        def count_macs(self, input_shape):
            assert input_shape[0] is None  # build()-style shape, batch axis included
            return 1234

        def receptive_field(self, input_shape=None):
            return 3, 2, 1

    class Mystery(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(5,), initializer="ones")

        def call(self, x):
            return x * self.w[0]

    model = _seq((8, 8, 3), Protocol(name="proto"), Mystery(name="mystery"))
    prof = profile(model)
    rows = {r.name: r for r in prof.rows}
    assert rows["proto"].macs == 1234 and rows["proto"].rf_size == (3, 3)
    assert rows["proto"].rf_jump == (2, 2) and rows["proto"].rf_start == (-1, -1)
    assert prof.unknown_layers == ["mystery (Mystery)"]
    assert "unknown" in rows["mystery"].note and rows["mystery"].params == 5
    assert rows["mystery"].rf_size is None  # not understood: no made-up receptive field
    assert "mystery" in prof.to_markdown()


def test_kerascnn_layers_through_the_protocol():
    from kerascnn.layers import DepthwiseSeparableConv2D

    layer = DepthwiseSeparableConv2D(16, 3, name="dsc")
    model = _seq((16, 16, 8), layer)
    row = profile(model).rows[-1]
    assert row.macs == layer.count_macs((None, 16, 16, 8)) == 16 * 16 * 8 * 9 + 16 * 16 * 8 * 16
    assert row.rf_size == (3, 3)
    assert row.params == layer.count_params()


def test_keras_ops_in_a_functional_graph():
    x = keras.Input((8, 8, 4))
    y = keras.ops.add(L.Conv2D(4, 3, padding="same", name="c")(x), x)
    y = keras.ops.relu(y)
    prof = profile(keras.Model(x, y))
    assert prof.unknown_layers == []
    assert prof.other_ops == 8 * 8 * 4 * 3  # bias, add, relu


def test_tables_and_totals():
    prof = profile(create_model("lenet"))
    df = prof.to_dataframe()
    assert len(df) == len(prof.rows) and int(df["macs"].sum()) == prof.total_macs
    assert int(df["params"].sum()) == 61_706
    md = prof.to_markdown()
    assert md.startswith("| name") and "lenet_conv2" in md and "Params: 61,706" in md
    t = prof.totals()
    assert t["total_flops"] == 2 * t["total_macs"] == 833_040
    assert t["unknown_layers"] == [] and t["activation_bytes"] == prof.activation_bytes


def test_print_shows_the_summary_table_and_repr_is_one_line():
    prof = profile(create_model("lenet"))
    assert str(prof) == prof.to_text()  # what `kerascnn summary lenet` prints
    assert "lenet_conv2" in str(prof) and "Params: 61,706 (total) = 61,706 trainable" in str(prof)
    assert repr(prof) == "Profile(lenet: 61,706 params, 0.42 M MACs, 8 layers)"
    assert len(repr(prof)) < 80  # not the 2,335-character dataclass dump
    with_bn = profile(create_model("simple_cnn"))
    assert repr(with_bn).startswith(
        "Profile(simple_cnn: 374,026 params (total; 373,130 trainable), "
    )
    line = next(x for x in with_bn.totals_lines() if x.startswith("Params:"))
    assert line.startswith("Params: 374,026 (total) = 373,130 trainable + 896 non-trainable")


def test_the_params_column_is_labelled_like_kerascnn_models():
    prof = profile(create_model("lenet"))
    header = prof.to_text().splitlines()[0]
    assert "params (total)" in header and "params (total)" in prof.to_markdown().splitlines()[0]


def test_mixed_precision_activation_bytes_follow_the_dtype():
    m32 = _seq((8, 8, 3), L.Conv2D(4, 3, name="c"))
    m16 = _seq((8, 8, 3), L.Conv2D(4, 3, name="c", dtype="mixed_float16"))
    assert profile(m32).rows[-1].activation_bytes == 6 * 6 * 4 * 4
    assert profile(m16).rows[-1].activation_bytes == 6 * 6 * 4 * 2


def test_input_shape_override_and_errors():
    model = keras.Sequential([keras.Input((None, None, 3)), L.Conv2D(4, 3, name="c")])
    with pytest.raises(ArgumentError, match=r"fixed input shape.*Received: "):
        profile(model)
    x = keras.Input((None, None, 3))
    fmodel = keras.Model(x, L.Conv2D(4, 3, name="c")(x))
    assert profile(fmodel, input_shape=(10, 10, 3)).total_macs == 8 * 8 * 4 * 27

    class Sub(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ArgumentError, match=r"subclassed.*Received: "):
        profile(Sub())
    with pytest.raises(ArgumentError, match=r"Received: "):
        profile(L.Dense(3))
    with pytest.raises(ArgumentError, match=r"Received: "):
        profile(fmodel, input_shape=(0, 10, 3))


def test_profile_matches_keras_output_shapes():
    model = create_model("lenet", input_shape=(32, 32, 3), num_classes=10)
    prof = profile(model)
    out = model(np.zeros((1, 32, 32, 3), "float32"))
    assert prof.rows[-1].output_shape == tuple(out.shape[1:])


def test_einsum_dense_and_transposed_receptive_field():
    x = keras.Input((6, 10))
    y = L.EinsumDense("abc,cd->abd", output_shape=(None, 4), name="ein")(x)
    rows = {r.name: r for r in profile(keras.Model(x, y)).rows}
    assert rows["ein"].macs == 6 * 10 * 4 and rows["ein"].note == ""

    x = keras.Input((8, 8, 2))
    y = L.Conv2DTranspose(2, 4, strides=2, padding="same", name="up")(x)
    row = profile(keras.Model(x, y)).rows[-1]
    assert row.rf_jump == (0.5, 0.5) and row.rf_size == (2, 2)  # k/s = 2 input pixels per output
    assert row.note.startswith("~")


# ------------------------------------- small graphs of primitives: the field of the whole block

_INIT = keras.initializers.Constant(0.1)  # positive and small: no ReLU6/sigmoid saturation


def _conv(filters, k, **kw):
    return L.Conv2D(filters, k, kernel_initializer=_INIT, **kw)


def residual_s2(x):  # ResNet basic block, PyTorch-style explicit padding, 1x1 projection
    y = _conv(4, 3, strides=2, use_bias=False)(L.ZeroPadding2D(1)(x))
    y = L.Activation("relu")(L.BatchNormalization()(y))
    y = L.BatchNormalization()(_conv(4, 3, use_bias=False)(L.ZeroPadding2D(1)(y)))
    shortcut = L.BatchNormalization()(_conv(4, 1, strides=2, use_bias=False)(x))
    return L.Activation("relu")(L.Add()([y, shortcut]))


def inverted_s2(x):  # MobileNetV2 block: expand, depthwise 3x3/2 "same", project
    y = L.Activation("relu6")(L.BatchNormalization()(_conv(6, 1)(x)))
    y = L.DepthwiseConv2D(3, strides=2, padding="same", depthwise_initializer=_INIT)(y)
    return L.BatchNormalization()(_conv(4, 1)(L.Activation("relu6")(L.BatchNormalization()(y))))


def inception(x):
    b1 = _conv(2, 1)(x)
    b3 = _conv(2, 3, padding="same")(_conv(2, 1)(x))
    b5 = _conv(2, 5, padding="same")(_conv(2, 1)(x))
    bp = _conv(2, 1)(L.MaxPooling2D(3, strides=1, padding="same")(x))
    return L.Dropout(0.2)(L.Concatenate()([b1, b3, b5, bp]))


def squeeze_excite(x):
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    s = _conv(3, 1, activation="sigmoid")(_conv(2, 1, activation="relu")(s))
    return L.Multiply()([x, s])


def _block_model(block, n):
    x = keras.Input((n, n, 3))
    return keras.Model(x, block(x), name=block.__name__)


def _support(model, n, centre):
    """Rows whose change moves the centre output (summed over channels), by perturbation."""
    base = np.random.default_rng(n).uniform(0.5, 1.5, (1, n, n, 3)).astype("float32")
    batch = np.repeat(base, n + 1, axis=0)
    for r in range(n):
        batch[r + 1, r] += 100.0  # sample r + 1 moves input row r
    y = np.asarray(model(batch, training=False))[:, centre, centre, :].sum(axis=-1)
    moved = np.nonzero(np.abs(y[1:] - y[0]) > 1e-5 * np.abs(y[0]))[0]
    return int(moved.min()), int(moved.max())


# (block, n) -> the field of its output: (size, jump, start) per spatial dimension
BLOCK_FIELDS = [
    (residual_s2, 15, (7, 2, -3)),  # pad 1 + 3x3/2, pad 1 + 3x3: 1 + 2 + 2*2; the 1x1 inside
    (residual_s2, 16, (7, 2, -3)),
    (inverted_s2, 15, (3, 2, -1)),  # "same" 3x3/2 pads 1 on the top of an odd input
    (inverted_s2, 16, (3, 2, 0)),  # and nothing on the top of an even one
    (inception, 15, (5, 1, -2)),  # the union of 1x1, 3x3, 5x5 and the 3x3 pool branch
    (squeeze_excite, 12, (12, 1, 0)),  # the squeeze sees the whole map
]


@pytest.mark.parametrize(
    "block,n,field", BLOCK_FIELDS, ids=[f"{b.__name__}-{n}" for b, n, _ in BLOCK_FIELDS]
)
def test_last_row_is_the_field_of_the_whole_block(block, n, field):
    model = _block_model(block, n)
    prof = profile(model)
    last = prof.rows[-1]
    size, jump, start = field
    assert (last.rf_size, last.rf_jump, last.rf_start) == ((size,) * 2, (jump,) * 2, (start,) * 2)
    assert prof.unknown_layers == [] and prof.total_params == model.count_params()
    # the field by perturbation: output unit i sees [start + i jump, start + i jump + size - 1]
    # clipped to the image, for unit 0 and the centre unit; after the squeeze every unit sees the
    # whole map, and the row keeps unit 0's window (the spatial input's jump spaces the units)
    for i in (0, last.output_shape[0] // 2):
        lo = start + i * jump
        window = (0, n - 1) if block is squeeze_excite else (max(lo, 0), min(lo + size - 1, n - 1))
        assert _support(model, n, i) == window, i


class ProfiledBlock(keras.layers.Layer):
    """A layer made from a block function whose MACs and field are profile() of its inner graph.

    (How kerascnn.layers get theirs: profile() runs inside an outer profile().)
    """

    def __init__(self, block, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def build(self, input_shape):
        self.inner = _block_model(self.block, input_shape[1])

    def call(self, x):
        return self.inner(x)

    def compute_output_shape(self, input_shape):
        return self.inner.compute_output_shape(input_shape)

    def count_macs(self, input_shape):
        return profile(self.inner).total_macs

    def count_other_ops(self, input_shape):
        return profile(self.inner).other_ops

    def receptive_field(self, input_shape):
        last = profile(self.inner).rows[-1]
        return last.rf_size, last.rf_jump, tuple(-s for s in last.rf_start)


@pytest.mark.parametrize("block", [residual_s2, inverted_s2, squeeze_excite])
def test_profile_inside_count_macs_equals_the_flat_graph(block):
    def stem(x):
        return _conv(3, 3, strides=2, padding="same")(x)

    x = keras.Input((32, 32, 3))
    flat = profile(keras.Model(x, block(stem(x))))
    x = keras.Input((32, 32, 3))
    wrapped = profile(keras.Model(x, ProfiledBlock(block, name="blk")(stem(x))))
    assert wrapped.rows[-1].name == "blk" and len(wrapped.rows) == 3
    assert (wrapped.total_macs, wrapped.other_ops) == (flat.total_macs, flat.other_ops)
    assert wrapped.total_params == flat.total_params
    last, flat_last = wrapped.rows[-1], flat.rows[-1]
    assert (last.rf_size, last.rf_jump, last.rf_start) == (
        flat_last.rf_size,
        flat_last.rf_jump,
        flat_last.rf_start,
    )


def test_cost_table_follows_the_class_hierarchy():
    from kerascnn.analysis.costs import COSTS, cost_function

    class WideConv(L.Conv2D):  # a user's subclass costs what its Keras base costs
        pass

    assert cost_function(WideConv(4, 3)) is COSTS[L.Conv2D]
    model = _seq((8, 8, 2), WideConv(4, 3, name="wide"))
    assert profile(model).rows[-1].macs == 6 * 6 * 4 * 9 * 2
