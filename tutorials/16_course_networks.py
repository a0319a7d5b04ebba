# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 16 · The course networks: SimpleCNN and CifarCNN
#
# The course trains two small networks again and again: SimpleCNN (three conv-BN-ReLU-pool
# blocks and a global-average-pool head, on Fashion-MNIST and CIFAR-10) and CifarCNN (a
# VGG-style network with a large dense head, on CIFAR-10). Both are in the zoo
# (`create_model("simple_cnn")`, `create_model("cifar_cnn")`). This lesson
#
# 1. counts their parameters layer by layer, by formula, next to Keras' count;
# 2. turns CifarCNN's count into the size of its model file (the course's "22.33 MB");
# 3. works out the initialisations the course uses (He/Kaiming with fan_in or fan_out, Xavier);
# 4. copies a convolution kernel from PyTorch's layout into a Keras `Conv2D`;
# 5. builds the CIFAR-10 input recipe (random crop with padding 4, horizontal flip,
#    per-channel normalisation) from Keras preprocessing layers;
# 6. trains SimpleCNN for a few steps to see that it learns.

# %%
# ruff: noqa: E402
from kerascnn._quiet import quiet_backend_import

quiet_backend_import()  # no TensorFlow start-up log lines (KERASCNN_VERBOSE=1 shows them)

import os
import tempfile
import tomllib
from pathlib import Path

import keras
import numpy as np

import kerascnn
from kerascnn import scratch
from kerascnn.bench.augment import PadRandomCrop
from kerascnn.viz import new_figure, save_figure

FAST = os.environ.get("KERASCNN_FAST", "0") not in ("", "0")
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
OUT = Path(os.environ.get("KERASCNN_OUT", HERE / "_out")) / "16_course_networks"
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Counting the parameters, layer by layer
#
# Three formulas cover both networks. A $k \times k$ convolution from $C_{in}$ to $C_{out}$
# channels with a bias has
#
# $$
# k^2 C_{in} C_{out} + C_{out}
# $$
#
# parameters; a BatchNormalization over $C$ channels trains $2C$ (gamma and beta) and keeps
# $2C$ more that are not trained (the moving mean and variance); a dense layer from $n_{in}$ to
# $n_{out}$ units has $(n_{in} + 1) n_{out}$. Pooling, ReLU and dropout have none. We compute
# each layer's count from its configuration and put Keras' count beside it.


# %%
def count_by_formula(layer):
    """(formula text, trainable, non-trainable) for a Conv2D, BatchNormalization or Dense."""
    c_in = layer.input.shape[-1]
    if isinstance(layer, keras.layers.Conv2D):
        k, c_out = layer.kernel_size[0], layer.filters
        bias = c_out if layer.use_bias else 0
        text = f"{k}^2*{c_in}*{c_out}" + (f"+{c_out}" if bias else "")
        return text, k * k * c_in * c_out + bias, 0
    if isinstance(layer, keras.layers.BatchNormalization):
        return f"2*{c_in} (+2*{c_in})", 2 * c_in, 2 * c_in
    if isinstance(layer, keras.layers.Dense):
        return f"({c_in}+1)*{layer.units}", (c_in + 1) * layer.units, 0
    raise TypeError(layer)


def size(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def parameter_table(model):
    """Print one row per layer with weights; assert formula == Keras; return the totals."""
    print(f"{model.name}: input {model.input_shape[1:]}")
    print(f"  {'layer':<26} {'type':<19} {'formula':>20} {'trainable':>11} {'Keras':>11}")
    totals = [0, 0]
    for layer in model.layers:
        if not layer.weights:
            continue
        text, trainable, frozen = count_by_formula(layer)
        keras_trainable = size(layer.trainable_weights)
        assert (trainable, frozen) == (keras_trainable, size(layer.non_trainable_weights))
        name, kind = layer.name, type(layer).__name__
        print(f"  {name:<26} {kind:<19} {text:>20} {trainable:>11,} {keras_trainable:>11,}")
        totals[0] += trainable
        totals[1] += frozen
    print(f"  {'total':<26} {'':<19} {'':>20} {totals[0]:>11,} (+ {totals[1]:,} not trained)")
    return tuple(totals)


simple = kerascnn.create_model("simple_cnn", input_shape=(28, 28, 1), num_classes=10)
simple_counts = parameter_table(simple)
print()
cifar = kerascnn.create_model("cifar_cnn", input_shape=(32, 32, 3), num_classes=10)
cifar_counts = parameter_table(cifar)

assert simple_counts == (373_130, 896) and simple.count_params() == 374_026
assert cifar_counts == (5_852_170, 832) and cifar.count_params() == 5_853_002
assert size(simple.trainable_weights) == 373_130 and size(cifar.trainable_weights) == 5_852_170

# %% [markdown]
# The course's numbers: SimpleCNN has 373,130 trainable parameters at 28x28x1 with 10 classes,
# CifarCNN 5,852,170 at 32x32x3; the zoo gives exactly these. Two things the tables show:
#
# - SimpleCNN's head is tiny. After the global average pool only 256 numbers reach the
#   classifier, $(256 + 1) \cdot 10 = 2{,}570$ parameters; almost everything is in the
#   convolutions.
# - CifarCNN is the opposite: three poolings take 32x32 to 4x4, the flatten hands
#   $4 \cdot 4 \cdot 256 = 4{,}096$ numbers to a 1,024-unit dense layer, and that one layer holds
#   most of the network.
#
# The course's SimpleCNN keeps a bias in each conv although the BatchNormalization right after
# it subtracts the batch mean, bias included (exercise 2). kerascnn once built it without those
# biases; `conv_bias=False` still gives that layout, 448 parameters fewer:

# %%
fc1 = cifar.get_layer("cifar_cnn_fc1")
fc1_share = fc1.count_params() / cifar_counts[0]
print(f"CifarCNN's first dense layer: {fc1.count_params():,} = {fc1_share:.1%} of the network")
assert fc1.count_params() == (4 * 4 * 256 + 1) * 1024 == 4_195_328 and 0.71 < fc1_share < 0.72
head = simple.get_layer("simple_cnn_predictions").count_params()
print(f"SimpleCNN's classifier: {head:,} = {head / simple_counts[0]:.2%} of the network")
assert head == (256 + 1) * 10 == 2_570 and head / simple_counts[0] < 0.01

no_bias = kerascnn.create_model("simple_cnn(conv_bias=False)", input_shape=(28, 28, 1))
no_bias_trainable = size(no_bias.trainable_weights)
print(f"simple_cnn: {simple_counts[0]:,} with conv biases, {no_bias_trainable:,} without")
assert no_bias_trainable == 372_682 == 373_130 - (64 + 128 + 256)

# %% [markdown]
# ## 2. How big is the model file?
#
# Every parameter is a float32, 4 bytes, and a saved model stores all of them, the moving
# statistics included. For CifarCNN:
#
# $$
# (5{,}852{,}170 + 832) \times 4 = 23{,}412{,}008 \text{ bytes}
# $$
#
# The course reports its model file as "22.33 MB". Dividing by $2^{20}$ gives 22.33, so that
# figure is in MiB (binary megabytes); in decimal megabytes ($10^6$ bytes) the same file is
# 23.41 MB. This is the same binary-versus-decimal trap as the "192M" of lesson 01. A `.keras`
# file is a zip of the weights plus the model's configuration, so it is a little larger than
# the bare weights.

# %%
weight_bytes = sum(cifar_counts) * 4
assert weight_bytes == sum(np.asarray(w).nbytes for w in cifar.weights) == 23_412_008
mib, mb = weight_bytes / 2**20, weight_bytes / 1e6
print(f"CifarCNN weights: {weight_bytes:,} bytes = {mib:.2f} MiB = {mb:.2f} MB")
assert f"{mib:.2f}" == "22.33" and f"{mb:.2f}" == "23.41"

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "cifar_cnn.keras"
    cifar.save(path)
    file_bytes = path.stat().st_size
overhead = file_bytes / weight_bytes - 1
print(f"cifar_cnn.keras: {file_bytes:,} bytes, {overhead:+.2%} over the float32 weights")
assert 0 < overhead < 0.02

# %% [markdown]
# ## 3. Initialisation: He, Kaiming fan_out, Xavier
#
# A ReLU layer whose weights have variance $\sigma^2$ passes on, on average,
# $\frac{1}{2} \mathrm{fan\_in} \cdot \sigma^2$ times the second moment of its input (half the
# units are zeroed). He et al. choose $\sigma$ so that this factor is 1:
#
# $$
# \sigma = \sqrt{\frac{2}{\mathrm{fan\_in}}}
# $$
#
# For a dense layer `fan_in` is the number of inputs $n_{in}$. For a convolution each output
# value sums over a $k \times k$ window of all $C_{in}$ channels, so $\mathrm{fan\_in} = k^2
# C_{in}$ (and Keras' $\mathrm{fan\_out} = k^2 C_{out}$). The course's four examples:
# `fan_in` 9 (a 3x3 conv on a grey image: SimpleCNN's first layer), 72 (a 3x3 conv over 8
# channels), 784 (a dense layer on a flattened 28x28 image) and 64 (a dense layer fed by 64
# units). `keras.initializers.HeNormal` draws from a normal truncated at two standard
# deviations and rescales it so that the samples' standard deviation is the formula's; we
# sample kernels of those fan-ins and measure.

# %%
he_cases = {9: (3, 3, 1, 4096), 72: (3, 3, 8, 4096), 784: (784, 64), 64: (64, 1024)}
he_expected = {9: 0.471, 72: 0.167, 784: 0.0505, 64: 0.177}
for fan_in, shape in he_cases.items():
    formula = np.sqrt(2 / fan_in)
    w = np.asarray(keras.initializers.HeNormal(seed=fan_in)(shape))
    print(
        f"fan_in {fan_in:>3} (kernel {str(shape):<17}): sqrt(2/fan_in) = {formula:.4f}, "
        f"HeNormal sample std {w.std():.4f}, largest |w| {np.abs(w).max() / formula:.2f} std"
    )
    assert round(formula, 4 if fan_in == 784 else 3) == he_expected[fan_in]
    assert abs(w.std() / formula - 1) < 0.02
    assert np.abs(w).max() <= 2 * formula / 0.87962566 + 1e-6  # truncated at 2 std before rescaling

# %% [markdown]
# **fan_in or fan_out.** Scaling by `fan_in` keeps the forward signal's size; scaling by
# $\mathrm{fan\_out} = k^2 C_{out}$ keeps the size of the gradient flowing backwards. PyTorch's
# ResNets use `kaiming_normal_(mode="fan_out")`, and so does the course's SimpleCNN; in Keras
# that is `VarianceScaling(2.0, "fan_out", "untruncated_normal")`. The zoo's `simple_cnn`
# uses it, which we can read off its kernels: the third conv (128 to 256 channels) has
# $\sqrt{2 / (9 \cdot 256)} = 0.0295$, not the fan_in value $\sqrt{2 / (9 \cdot 128)} = 0.0417$.
#
# **Xavier/Glorot** (for tanh and sigmoid, which do not halve the signal) averages the two:
#
# $$
# \sigma = \sqrt{\frac{2}{\mathrm{fan\_in} + \mathrm{fan\_out}}}
# $$

# %%
kernel3 = np.asarray(simple.get_layer("simple_cnn_block3_conv").kernel)
fan_in3, fan_out3 = 9 * 128, 9 * 256
print(
    f"simple_cnn block 3 kernel {kernel3.shape}: std {kernel3.std():.4f}; fan_out formula "
    f"{np.sqrt(2 / fan_out3):.4f}, fan_in formula {np.sqrt(2 / fan_in3):.4f}"
)
assert abs(kernel3.std() / np.sqrt(2 / fan_out3) - 1) < 0.01

shape = (3, 3, 64, 128)  # a 3x3 conv, 64 -> 128 channels
fan_in, fan_out = 9 * 64, 9 * 128
inits = {
    "HeNormal (fan_in)": (keras.initializers.HeNormal(seed=1), np.sqrt(2 / fan_in)),
    "VarianceScaling(2, fan_out)": (
        keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=1),
        np.sqrt(2 / fan_out),
    ),
    "GlorotNormal (Xavier)": (
        keras.initializers.GlorotNormal(seed=1),
        np.sqrt(2 / (fan_in + fan_out)),
    ),
}
for name, (init, formula) in inits.items():
    w = np.asarray(init(shape))
    print(f"{name:>28}: formula {formula:.4f}, sample std {w.std():.4f}")
    assert abs(w.std() / formula - 1) < 0.02

# %% [markdown]
# ## 4. PyTorch's kernels in Keras
#
# PyTorch stores a `Conv2d` kernel as $(C_{out}, C_{in}, k, k)$ and feeds it images laid out
# $(N, C, H, W)$; Keras stores $(k, k, C_{in}, C_{out})$ and feeds $(N, H, W, C)$. Moving
# trained weights from one to the other is a transpose, `w.transpose(2, 3, 1, 0)`: the two
# spatial axes first (in their order: rows, then columns), then input, then output channels.
#
# We write PyTorch's convolution in NumPy (channels first, kernel $(C_{out}, C_{in}, k, k)$,
# a cross-correlation like every framework's), copy its kernel into a Keras `Conv2D` and
# compare. `kerascnn.scratch.Convolution` is a third witness: the NumPy reference of lesson
# 06 uses Keras' layout, so it takes the transposed kernel too. If `torch` is installed, a real
# `torch.nn.Conv2d` joins in.


# %%
def conv2d_torch_layout(x, w, b, pad):
    """PyTorch's Conv2d (stride 1) in NumPy: x (N, C_in, H, W), w (C_out, C_in, k, k)."""
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    return np.einsum("ncyxij,ocij->noyx", windows, w) + b[None, :, None, None]


c_in, c_out, k = 3, 5, 3
w_pt = rng.normal(0, 0.3, size=(c_out, c_in, k, k))  # PyTorch layout
b_pt = rng.normal(0, 0.1, size=c_out)
x_nchw = rng.normal(size=(2, c_in, 9, 9))
y_ref = conv2d_torch_layout(x_nchw, w_pt, b_pt, pad=1).transpose(0, 2, 3, 1)  # to NHWC
x_nhwc = x_nchw.transpose(0, 2, 3, 1).astype("float32")

conv = keras.layers.Conv2D(c_out, k, padding="same")
conv.build((None, 9, 9, c_in))
print("Keras kernel shape", tuple(conv.kernel.shape), "| PyTorch kernel shape", w_pt.shape)
conv.set_weights([w_pt.transpose(2, 3, 1, 0), b_pt])
y_keras = np.asarray(conv(x_nhwc))
y_scratch = scratch.Convolution(w_pt.transpose(2, 3, 1, 0), b_pt, pad=1)(x_nhwc)
err = {"Keras": np.abs(y_keras - y_ref).max(), "scratch": np.abs(y_scratch - y_ref).max()}
try:
    import torch
except ImportError:
    print("torch is not installed here: the NumPy version of its Conv2d stands in")
else:
    t_conv = torch.nn.Conv2d(c_in, c_out, k, padding=1)
    with torch.no_grad():
        t_conv.weight.copy_(torch.from_numpy(w_pt))
        t_conv.bias.copy_(torch.from_numpy(b_pt))
        y_torch = t_conv(torch.from_numpy(x_nchw.astype("float32"))).numpy().transpose(0, 2, 3, 1)
    err["torch"] = np.abs(y_torch - y_ref).max()
print("largest difference from PyTorch-layout NumPy:", {n: f"{e:.1e}" for n, e in err.items()})
assert max(err.values()) < 1e-5 * np.abs(y_ref).max()

# %% [markdown]
# Two transposes that also produce a $(k, k, C_{in}, C_{out})$ array, and so load without
# complaint, give a different network: `w.transpose(3, 2, 1, 0)` swaps the kernel's rows and
# columns, and `w.reshape(k, k, C_in, C_out)` scrambles everything. Loading the PyTorch array
# unchanged fails outright because its shape is wrong.

# %%
for name, wrong in {
    "transpose(3, 2, 1, 0)": w_pt.transpose(3, 2, 1, 0),
    "reshape(k, k, C_in, C_out)": w_pt.reshape(k, k, c_in, c_out),
}.items():
    conv.set_weights([wrong, b_pt])
    bad = np.abs(np.asarray(conv(x_nhwc)) - y_ref).max()
    print(f"{name:>27}: largest difference {bad:.2f}")
    assert bad > 0.1 * np.abs(y_ref).max()
try:
    conv.set_weights([w_pt, b_pt])
except ValueError as e:
    print("loading the PyTorch array unchanged:", str(e).splitlines()[0][:90])
else:
    raise AssertionError("a (C_out, C_in, k, k) kernel should not load into Keras' Conv2D")

# %% [markdown]
# ## 5. The CIFAR-10 input recipe
#
# The course trains CifarCNN with three input transformations, as torchvision writes them:
# a random crop of 32x32 from the image padded by 4 pixels of zeros (a shift of up to 4 pixels
# in each direction), a random horizontal flip, and per-channel normalisation with the training
# set's mean $\mu_c$ and standard deviation $\sigma_c$ of each colour channel,
#
# $$
# \hat{x}_{c} = \frac{x_{c} - \mu_c}{\sigma_c}
# $$
#
# In Keras these are preprocessing layers: `ZeroPadding2D(4)` then `RandomCrop(32, 32)`,
# `RandomFlip("horizontal")`, and `Normalization(axis=-1)` adapted to the training images. The
# recipe lives in `benchmarks/cifar10-course.toml` (it runs where CIFAR-10 is on disk).
#
# CIFAR-10 is not available on this machine (no download), so we stand in with 32x32x3 images
# made from Fashion-MNIST: each 28x28 image padded to 32x32, its three channels the grey
# value $g$, $0.5 g + 64$ and $255 - g$, so that the channels differ in mean and spread.

# %%
kerascnn_root = Path(kerascnn.__file__).resolve().parents[1]
recipe = tomllib.loads((kerascnn_root / "benchmarks" / "cifar10-course.toml").read_text())
print(
    f"cifar10-course.toml: normalize={recipe['normalize']!r}, augment={recipe['augment']}, "
    f"batch {recipe['batch_size']}, Adam {recipe['learning_rate']}, {recipe['epochs']} epochs"
)
assert recipe["normalize"] == "per_channel" and recipe["augment"] == ["crop", "flip"]
assert (recipe["batch_size"], recipe["learning_rate"], recipe["epochs"]) == (128, 1e-4, 20)
assert recipe["targets"]["cifar_cnn"] == 0.8647  # the course's reported test accuracy
print(f"the course reports {recipe['targets']['cifar_cnn']:.2%} test accuracy (not our run)")

ds = kerascnn.load_dataset("fashion_mnist_mini")
grey = np.pad(ds.x_train[:1000, ..., 0].astype("float32"), ((0, 0), (2, 2), (2, 2)))
colour = np.stack([grey, 0.5 * grey + 64, 255 - grey], axis=-1) / 255.0  # (1000, 32, 32, 3)
assert colour.shape == (1000, 32, 32, 3)

# %% [markdown]
# **Crop and flip.** We pad 16 images and crop them, then look for each crop inside its padded
# image: every crop must be the padded image shifted by at most 4 pixels (possibly mirrored).
# A catch: Keras' `RandomCrop` draws *one* position per call, so all images of a batch get the
# same shift; torchvision's `RandomCrop` draws one per image. kerascnn's benchmark uses its own
# `PadRandomCrop` layer (pad, then crop at an offset drawn for every image), which does what
# torchvision does; this lesson found the benchmark moving whole batches as one before that.


# %%
def find_shift(padded, crop):
    """(dy, dx, mirrored) with crop == padded shifted by (dy, dx), |dy|, |dx| <= 4; else None."""
    for mirrored in (False, True):
        target = crop[:, ::-1] if mirrored else crop
        for dy in range(9):
            for dx in range(9):
                if np.array_equal(padded[dy : dy + 32, dx : dx + 32], target):
                    return dy - 4, dx - 4, mirrored
    return None


batch = colour[:16].astype("float32")
pad = keras.layers.ZeroPadding2D(4)
crop = keras.layers.RandomCrop(32, 32, seed=1)
flip = keras.layers.RandomFlip("horizontal", seed=2)
padded = np.asarray(pad(batch))
assert padded.shape == (16, 40, 40, 3)

one_call = np.asarray(crop(padded, training=True))
shifts_batch = {find_shift(p, c) for p, c in zip(padded, one_call)}
print("RandomCrop on the batch: shifts", shifts_batch)
assert len(shifts_batch) == 1 and None not in shifts_batch  # one shift for all 16

per_image = np.asarray(PadRandomCrop(32, 32, 4, seed=3)(batch, training=True))
augmented = np.asarray(flip(per_image, training=True))
assert augmented.shape == batch.shape
shifts = [find_shift(p, a) for p, a in zip(padded, augmented)]
assert None not in shifts  # every output is a shifted (and maybe mirrored) padded image
mirrored = [not np.array_equal(a, c) for a, c in zip(augmented, per_image)]
print("per image: shifts (dy, dx)", [s[:2] for s in shifts])
print(f"flipped: {sum(mirrored)} of {len(mirrored)}")
assert all(max(abs(dy), abs(dx)) <= 4 for dy, dx, _ in shifts)
assert len({s[:2] for s in shifts}) > 5 and 0 < sum(mirrored) < len(mirrored)

# %% [markdown]
# **Normalisation.** `Normalization(axis=-1)` keeps one mean and one variance per channel;
# `adapt` computes them from the training images. After it every channel has mean 0 and
# standard deviation 1 on those images, up to the float32 rounding of `adapt`'s running sums
# over a million values (here up to 0.003 of a standard deviation). The crop's padding is
# black in raw pixels: like the course, we crop first and normalise after.

# %%
norm = keras.layers.Normalization(axis=-1)
norm.adapt(colour)
mu = colour.mean(axis=(0, 1, 2), dtype=np.float64)  # float64 sums: exact enough to judge by
sigma = colour.astype(np.float64).std(axis=(0, 1, 2))
print("per-channel mean", np.round(mu, 3), "std", np.round(sigma, 3))
assert np.allclose(np.asarray(norm.mean).ravel(), mu, atol=1e-3)
assert np.allclose(np.sqrt(np.asarray(norm.variance).ravel()), sigma, rtol=1e-3)
normalised = np.asarray(norm(colour)).astype(np.float64)
after_mean, after_std = normalised.mean(axis=(0, 1, 2)), normalised.std(axis=(0, 1, 2))
print("after Normalization: mean", np.round(after_mean, 4), "std", np.round(after_std, 4))
assert np.all(np.abs(after_mean) < 0.01) and np.all(np.abs(after_std - 1) < 0.01)
assert np.abs(after_mean).max() < 0.005  # the rounding named above
pipeline_out = np.asarray(norm(augmented))
assert pipeline_out.shape == (16, 32, 32, 3)

fig = new_figure((9, 6))
axes = fig.subplots(4, 7)
for row, i in enumerate((0, 3, 7, 11)):
    views = [padded[i, 4:36, 4:36]]
    for _ in range(6):
        views.append(np.asarray(flip(crop(padded[i][None], training=True), training=True))[0])
    for col, (ax, img) in enumerate(zip(axes[row], views)):
        ax.imshow(np.clip(img, 0, 1))
        ax.set_xticks([])
        ax.set_yticks([])
        if row == 0:
            ax.set_title("original" if col == 0 else f"crop+flip {col}", fontsize=8)
fig.suptitle("pad 4, random 32x32 crop, random horizontal flip (per image)")
print("saved", save_figure(fig, OUT / "cifar_augmentation.png"))

# %% [markdown]
# ## 6. SimpleCNN learns
#
# A short run on the embedded Fashion-MNIST subset (6,000 training and 1,000 test images):
# Adam at $10^{-3}$ with a cosine decay, as the course trains SimpleCNN, batch 32. Fast mode
# takes 100 steps; the full run three epochs.

# %%
x_train = ds.x_train.astype("float32") / 255.0
x_test = ds.x_test.astype("float32") / 255.0
n_train = 100 * 32 if FAST else len(x_train)
epochs = 1 if FAST else 3
steps = epochs * (n_train // 32)
keras.utils.set_random_seed(0)
model = kerascnn.create_model("simple_cnn", input_shape=(28, 28, 1), num_classes=10)
model.compile(
    optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-3, steps)),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    x_train[:n_train], ds.y_train[:n_train], batch_size=32, epochs=epochs, verbose=0
)
test_loss, test_acc = model.evaluate(x_test, ds.y_test, verbose=0)
print(
    f"SimpleCNN, {steps} steps of 32 images: train accuracy "
    f"{history.history['accuracy'][-1]:.3f}, test accuracy {test_acc:.3f} (chance 0.100)"
)
assert test_acc > 0.5  # five times chance after a few seconds of training
if not FAST:
    assert test_acc > 0.75

# %% [markdown]
# Takeaway: a parameter count is a sum of three formulas, and for CifarCNN one dense layer
# dominates it; the count times 4 bytes is the model file, in MiB or MB depending on who
# writes it; He's $\sqrt{2 / \mathrm{fan\_in}}$ (or its fan_out form) sets the first weights;
# a PyTorch kernel reaches Keras through `transpose(2, 3, 1, 0)`; and the CIFAR-10 recipe is
# three preprocessing layers, with a per-batch crop in Keras unless you ask for more.

# %% [markdown]
# ## Exercises
#
# 1. **Which count depends on the image size?** Build SimpleCNN and CifarCNN at the other
#    network's canonical input (32x32x3 and 28x28x1). Predict both trainable counts from the
#    formulas of section 1 before building them.
# 2. **The bias before BatchNormalization.** Show that adding a constant to every value of a
#    channel before a BatchNormalization in training mode changes nothing after it, so the
#    conv's bias is redundant, and count what `conv_bias=False` saves in SimpleCNN.
# 3. **Copy a PyTorch dense layer that follows a flatten.** PyTorch flattens $(C, H, W)$,
#    Keras $(H, W, C)$, so after a flatten `W.T` is not enough (this is CifarCNN's first dense
#    layer, 4,096 inputs from 4x4x256). Find the permutation and check it.
# 4. **A global-average-pool head for CifarCNN.** Replace the flatten by a global average pool
#    (keep the 1,024 and 512 hidden units). Predict the new count and the share of parameters
#    it removes.
# 5. **Why the 2 in He's formula.** Push a batch through 20 ReLU dense layers of width 256 with
#    He's and with Glorot's standard deviation. Predict how the mean square of the last
#    activation compares to the first in each case.
#
# The solutions are folded away below each exercise in the book; try first.

# %% [markdown]
# ### Exercise 1 · Which count depends on the image size?
# SimpleCNN at 32x32x3 and CifarCNN at 28x28x1: predict, then build.

# %% tags=["solution", "hide-cell"]
# SimpleCNN: the global average pool makes the head independent of H and W; only the first
# conv sees C_in, so 3 channels instead of 1 add 3^2 * (3 - 1) * 64 = 1,152 weights.
simple_32 = size(kerascnn.create_model("simple_cnn", input_shape=(32, 32, 3)).trainable_weights)
assert simple_32 == 373_130 + 9 * 2 * 64 == 374_282
# CifarCNN: the flatten ties the first dense layer to the map size, 28 -> 14 -> 7 -> 3, so it
# gets 3*3*256 = 2,304 inputs instead of 4,096; the first conv loses 9 * (3 - 1) * 32 weights.
cifar_28 = size(kerascnn.create_model("cifar_cnn", input_shape=(28, 28, 1)).trainable_weights)
predicted = 5_852_170 - (4096 - 2304) * 1024 - 9 * 2 * 32
print(
    f"simple_cnn 32x32x3: {simple_32:,}; cifar_cnn 28x28x1: {cifar_28:,} (predicted {predicted:,})"
)
assert cifar_28 == predicted == 4_016_586

# %% [markdown]
# ### Exercise 2 · The bias before BatchNormalization
# Show that BN (training mode) cancels a per-channel constant, and count the conv biases.

# %% tags=["solution", "hide-cell"]
# BN subtracts each channel's batch mean; a bias b_c shifts that mean by exactly b_c, so
# (x + b - mean(x + b)) = (x - mean(x)) and the variance is unchanged.
bn = keras.layers.BatchNormalization()
maps = rng.normal(size=(8, 6, 6, 4)).astype("float32")
bias = np.array([3.0, -2.0, 0.5, 10.0], dtype="float32")
same_out = np.abs(np.asarray(bn(maps + bias, training=True)) - np.asarray(bn(maps, training=True)))
print(f"largest change from adding a bias before BN: {same_out.max():.1e}")
assert same_out.max() < 1e-4
# SimpleCNN's three convs have 64 + 128 + 256 biases: exactly the difference of section 1.
assert simple_counts[0] - no_bias_trainable == 64 + 128 + 256 == 448

# %% [markdown]
# ### Exercise 3 · Copy a PyTorch dense layer that follows a flatten
# Find the row permutation for a dense layer after Flatten, and check it.

# %% tags=["solution", "hide-cell"]
# PyTorch: y = W @ x_chw.flatten() + b, W of shape (out, C*H*W). Keras: y = x_hwc.flatten() @ K
# + b, K of shape (H*W*C, out). Reshape W's columns to (C, H, W), move C last, flatten again.
C, H, W, units = 8, 4, 4, 5
w_fc = rng.normal(size=(units, C * H * W))
b_fc = rng.normal(size=units)
feats = rng.normal(size=(3, C, H, W))  # a batch in PyTorch's layout
y_pt = feats.reshape(3, -1) @ w_fc.T + b_fc
head = keras.Sequential([keras.Input((H, W, C)), keras.layers.Flatten(), keras.layers.Dense(units)])
feats_hwc = feats.transpose(0, 2, 3, 1).astype("float32")
head.layers[-1].set_weights([w_fc.T, b_fc])  # the naive copy
naive = np.abs(np.asarray(head(feats_hwc)) - y_pt).max()
kernel = w_fc.reshape(units, C, H, W).transpose(2, 3, 1, 0).reshape(H * W * C, units)
head.layers[-1].set_weights([kernel, b_fc])
right = np.abs(np.asarray(head(feats_hwc)) - y_pt).max()
print(f"W.T: largest difference {naive:.2f}; permuted: {right:.1e}")
assert naive > 0.5 and right < 1e-5 * np.abs(y_pt).max()

# %% [markdown]
# ### Exercise 4 · A global-average-pool head for CifarCNN
# Predict the count with GAP instead of flatten (hidden 1,024 and 512 kept), then build it.

# %% tags=["solution", "hide-cell"]
# Only the first dense layer changes: 256 inputs instead of 4,096.
body = kerascnn.create_model("cifar_cnn", include_top=False, pooling="avg")
z = body.output
for units in (1024, 512):
    z = keras.layers.Dense(units, activation="relu")(z)
gap_net = keras.Model(body.input, keras.layers.Dense(10, activation="softmax")(z))
gap_count = size(gap_net.trainable_weights)
predicted = 5_852_170 - (4096 - 256) * 1024
print(f"CifarCNN with a GAP head: {gap_count:,} ({1 - gap_count / 5_852_170:.0%} fewer)")
assert gap_count == predicted == 1_920_010

# %% [markdown]
# ### Exercise 5 · Why the 2 in He's formula
# 20 ReLU layers of width 256: mean square of the last activation over the first, He vs Glorot.

# %% tags=["solution", "hide-cell"]
# With fan_in = fan_out = n, Glorot gives variance 1/n and He 2/n. A ReLU layer multiplies the
# mean square by n * var / 2 (half the units are zeroed): 1 for He, 1/2 for Glorot. After 20
# layers Glorot has lost a factor 2^19 between the first and the last layer.
n, depth = 256, 20
ratios = {}
for name, std in {"He": np.sqrt(2 / n), "Glorot": np.sqrt(2 / (n + n))}.items():
    h = rng.normal(size=(512, n))
    squares = []
    for _ in range(depth):
        h = np.maximum(h @ rng.normal(0, std, size=(n, n)), 0)
        squares.append(np.mean(h**2))
    ratios[name] = squares[-1] / squares[0]
    print(f"{name:>6}: mean square, layer 20 / layer 1 = {ratios[name]:.2e}")
assert 0.3 < ratios["He"] < 3
assert abs(np.log2(ratios["Glorot"]) + 19) < 2
