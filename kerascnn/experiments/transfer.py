"""Transfer learning: pretrain on five Fashion-MNIST classes, then learn the other five from a few
images: a new head on frozen features, the lower stages frozen (partial freezing), everything
fine-tuned at a smaller learning rate, layer-wise learning rates (smaller for lower stages), or
from scratch. :class:`LayerwiseAdam` is the optimizer of the layer-wise plan."""

from __future__ import annotations

import keras
import numpy as np

from kerascnn.errors import ArgumentError
from kerascnn.experiments._common import compile_fit, load_data, settings, write_report

TITLE = "Transfer learning: frozen, partly frozen, fine-tuned, layer-wise rates, from scratch"
SOURCE = (0, 1, 2, 3, 4)  # T-shirt/top, Trouser, Pullover, Dress, Coat
TARGET = (5, 6, 7, 8, 9)  # Sandal, Shirt, Sneaker, Bag, Ankle boot
STAGES = (32, 64, 128)  # the backbone's conv-BN-ReLU stages (filters), named backbone_1..3
STAGE_DECAY = 1 / 3  # layer-wise plan: each stage below the head learns 3x slower than the next


@keras.saving.register_keras_serializable(package="kerascnn")
class LayerwiseAdam(keras.optimizers.Adam):
    """Adam whose learning rate is multiplied, per variable, by ``lr_multipliers[prefix]`` for
    the longest layer-name prefix of the variable's path (1 when none matches): "discriminative
    fine-tuning", lower layers (general features) moving less than upper ones.

    Adam's step is invariant to the gradient's scale, so scaling gradients cannot do this; the
    multiplier scales the step itself (the rate passed to each variable's update).
    """

    def __init__(self, learning_rate=0.001, lr_multipliers=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.lr_multipliers = dict(lr_multipliers or {})
        bad = {
            k: v
            for k, v in self.lr_multipliers.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0
        }
        if bad:
            raise ArgumentError(
                f"LayerwiseAdam: lr_multipliers must be numbers >= 0. Received: {bad}"
            )

    def multiplier(self, variable) -> float:
        path = getattr(variable, "path", variable.name)
        matches = [p for p in self.lr_multipliers if path.startswith(p)]
        return float(self.lr_multipliers[max(matches, key=len)]) if matches else 1.0

    def update_step(self, gradient, variable, learning_rate):
        scaled = keras.ops.multiply(learning_rate, self.multiplier(variable))
        return super().update_step(gradient, variable, scaled)

    def get_config(self):
        return {**super().get_config(), "lr_multipliers": dict(self.lr_multipliers)}


def stage_multipliers(name="backbone", decay=STAGE_DECAY) -> dict[str, float]:
    """``{"backbone_3": decay, "backbone_2": decay**2, "backbone_1": decay**3}``: the top stage
    learns ``decay`` times as fast as the head, each lower one ``decay`` times slower again."""
    n = len(STAGES)
    return {f"{name}_{i}": decay ** (n - i + 1) for i in range(1, n + 1)}


def freeze_stages(base, stages, name="backbone") -> None:
    """Freeze the layers of the given backbone stages (1 = the lowest); the others stay trainable.
    A frozen BatchNormalization runs in inference mode (Keras 3)."""
    prefixes = tuple(f"{name}_{i}_" for i in stages)
    for layer in base.layers:
        if layer.name.startswith(prefixes):
            layer.trainable = False


def backbone(input_shape, name="backbone"):
    """Conv feature extractor (3 conv-BN-ReLU stages + global average pooling)."""
    from keras import layers

    from kerascnn.blocks import conv_bn_act

    inputs = keras.Input(input_shape, name=f"{name}_input")
    x = inputs
    for i, f in enumerate(STAGES, start=1):
        # BN momentum 0.9: with a few hundred steps the default 0.99 leaves the moving statistics
        # far from the data, and inference-mode accuracy falls to chance
        x = conv_bn_act(x, f, 3, bn_momentum=0.9, name=f"{name}_{i}")
        x = layers.MaxPooling2D(2, name=f"{name}_{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    return keras.Model(inputs, x, name=name)


def with_head(base, num_classes, name):
    inputs = keras.Input(base.input_shape[1:])
    # training=False keeps BatchNorm in inference mode when the base is frozen (Keras transfer guide)
    x = base(inputs, training=False) if not base.trainable else base(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name=f"{name}_head")(x)
    return keras.Model(inputs, outputs, name=name)


PLANS = {  # frozen: the backbone stages kept as pretrained; lr: the head's rate
    "from scratch": dict(pretrained=False, frozen=(), lr=1e-3),
    "frozen features": dict(pretrained=True, frozen=(1, 2, 3), lr=1e-3),
    "partial freezing": dict(pretrained=True, frozen=(1, 2), lr=1e-4),
    "fine-tuning": dict(pretrained=True, frozen=(), lr=1e-4),
    "layer-wise rates": dict(pretrained=True, frozen=(), lr=1e-3, layerwise=True),
}
"""The target-task methods: label -> how its backbone starts, what is frozen, the head's rate."""


def _target_data(dataset, test, per_class, seed):
    """The target classes with ``per_class`` labelled training images each (balanced)."""
    tgt_all = load_data(dataset, test=test, classes=TARGET, seed=seed)
    idx = np.concatenate(
        [np.flatnonzero(tgt_all.y_train == c)[:per_class] for c in range(len(TARGET))]
    )
    return type(tgt_all)(
        tgt_all.x_train[idx],
        tgt_all.y_train[idx],
        tgt_all.x_test,
        tgt_all.y_test,
        tgt_all.class_names,
        tgt_all.source,
    )


def _pretrain(src, seed, epochs):
    """Train the backbone with a source-class head: ``(history, backbone weights)``."""
    keras.utils.set_random_seed(seed)
    base = backbone(src.input_shape)
    pre = with_head(base, len(SOURCE), "pretrain")
    hp = compile_fit(pre, keras.optimizers.Adam(1e-3), src, epochs=epochs)
    return hp, base.get_weights()


def _fit_plan(label, p, tgt, w_pre, seed, epochs):
    """Train one of :data:`PLANS` on the target data: ``(history, table row)``."""
    keras.utils.set_random_seed(seed + 1)
    b = backbone(tgt.input_shape)
    if p["pretrained"]:
        b.set_weights(w_pre)
    if len(p["frozen"]) == len(STAGES):
        b.trainable = False
    else:
        freeze_stages(b, p["frozen"])
    model = with_head(b, len(TARGET), "target")
    if p.get("layerwise"):
        optimizer = LayerwiseAdam(p["lr"], lr_multipliers=stage_multipliers())
    else:
        optimizer = keras.optimizers.Adam(p["lr"])
    h = compile_fit(model, optimizer, tgt, epochs=epochs, batch_size=32)
    rates = (
        ", ".join(f"{p['lr'] * m:.1e}" for m in stage_multipliers().values())
        if p.get("layerwise")
        else ""
    )
    row = {
        "method": label,
        "pretrained on source classes": "yes" if p["pretrained"] else "no",
        "frozen stages": ", ".join(map(str, p["frozen"])) or "none",
        "trainable params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "learning rate": f"head {p['lr']:.0e}; stages 1, 2, 3: {rates}" if rates else p["lr"],
        "target test accuracy": h["val_accuracy"][-1],
        "best target test accuracy": max(h["val_accuracy"]),
    }
    return h, row


def _findings(rows, src, tgt, hp, src_epochs, per_class) -> list[str]:
    by = {r["method"]: r for r in rows}
    scratch = by["from scratch"]["target test accuracy"]
    others = ", ".join(
        f"{label} {by[label]['target test accuracy']:.3f} "
        f"({by[label]['target test accuracy'] - scratch:+.3f})"
        for label in PLANS
        if label != "from scratch"
    )
    return [
        f"Source task ({', '.join(src.class_names)}): test accuracy {hp['val_accuracy'][-1]:.3f} after {src_epochs} epoch(s).",
        f"Target task ({', '.join(tgt.class_names)}) with {per_class} images per class: from "
        f"scratch {scratch:.3f}; {others} (differences from scratch in brackets).",
        f"Frozen features train only {by['frozen features']['trainable params']:,} parameters, "
        f"partial freezing (stages 1-2 frozen) {by['partial freezing']['trainable params']:,}, "
        f"the whole network {by['from scratch']['trainable params']:,}.",
        "Layer-wise rates: the head at 1e-3 and each stage below "
        f"{round(1 / STAGE_DECAY)}x slower than the one above it.",
    ]


def _figure(hist, per_class):
    from matplotlib.ticker import MaxNLocator

    from kerascnn.viz import new_figure

    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    for i, (label, h) in enumerate(hist.items()):
        ax.plot(
            range(1, len(h["val_accuracy"]) + 1),
            h["val_accuracy"],
            marker=".",
            color=f"C{i}",
            label=label,
        )
    ax.set(
        xlabel="epoch on target data",
        ylabel="target test accuracy",
        title=f"{per_class} images per target class",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


INTRO = (
    "A conv backbone is pretrained on five Fashion-MNIST classes (the source task). The other "
    "five classes (the target task) are then learned from a few images per class: a new head "
    "on frozen pretrained features; the two lower stages frozen and the top stage fine-tuned "
    "with the head (partial freezing, at a 10x smaller rate); the whole pretrained network "
    "fine-tuned at a 10x smaller rate; the whole network with layer-wise rates (the head at "
    "the full rate, lower stages slower: kerascnn.experiments.transfer.LayerwiseAdam); or the "
    "same network from random weights."
)


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"):
    src_train, src_epochs, per_class, epochs, test = (
        (400, 1, 20, 2, 300) if fast else (3000, 4, 40, 20, None)
    )
    src = load_data(dataset, train=src_train, test=test, classes=SOURCE, seed=seed)
    tgt = _target_data(dataset, test, per_class, seed)
    hp, w_pre = _pretrain(src, seed, src_epochs)
    rows, hist = [], {}
    for label, p in PLANS.items():
        hist[label], row = _fit_plan(label, p, tgt, w_pre, seed, epochs)
        rows.append(row)
    findings = _findings(rows, src, tgt, hp, src_epochs, per_class)
    fig = _figure(hist, per_class)
    st = settings(
        dataset=dataset,
        source_classes=list(SOURCE),
        target_classes=list(TARGET),
        source_train=src_train,
        source_epochs=src_epochs,
        target_per_class=per_class,
        target_epochs=epochs,
        model="3x conv-BN-ReLU (32,64,128) + GAP + dense",
        fast=fast,
        seed=seed,
    )
    return write_report(
        out,
        name="transfer",
        title=TITLE,
        intro=INTRO,
        rows=rows,
        findings=findings,
        figures={"transfer.png": fig},
        settings_=st,
        extra={"history": hist, "source_history": hp},
    )
