"""Transfer learning: pretrain on five Fashion-MNIST classes, then learn the other five from a few
images with frozen features, with fine-tuning (smaller learning rate), or from scratch."""

from __future__ import annotations

from kerascnn.experiments._common import compile_fit, load_data, settings, write_report

TITLE = "Transfer learning: frozen features vs fine-tuning vs from scratch"
SOURCE = (0, 1, 2, 3, 4)  # T-shirt/top, Trouser, Pullover, Dress, Coat
TARGET = (5, 6, 7, 8, 9)  # Sandal, Shirt, Sneaker, Bag, Ankle boot


def backbone(input_shape, name="backbone"):
    """Conv feature extractor (3 conv-BN-ReLU stages + global average pooling)."""
    import keras
    from keras import layers

    from kerascnn.blocks import conv_bn_act

    inputs = keras.Input(input_shape, name=f"{name}_input")
    x = inputs
    for i, f in enumerate((32, 64, 128), start=1):
        # BN momentum 0.9: with a few hundred steps the default 0.99 leaves the moving statistics
        # far from the data, and inference-mode accuracy falls to chance
        x = conv_bn_act(x, f, 3, bn_momentum=0.9, name=f"{name}_{i}")
        x = layers.MaxPooling2D(2, name=f"{name}_{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    return keras.Model(inputs, x, name=name)


def with_head(base, num_classes, name):
    import keras

    inputs = keras.Input(base.input_shape[1:])
    # training=False keeps BatchNorm in inference mode when the base is frozen (Keras transfer guide)
    x = base(inputs, training=False) if not base.trainable else base(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name=f"{name}_head")(x)
    return keras.Model(inputs, outputs, name=name)


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"):
    import keras

    from kerascnn.viz import new_figure

    src_train, src_epochs, per_class, epochs, test = (
        (400, 1, 20, 2, 300) if fast else (3000, 4, 40, 20, None)
    )
    src = load_data(dataset, train=src_train, test=test, classes=SOURCE, seed=seed)
    tgt_all = load_data(dataset, test=test, classes=TARGET, seed=seed)
    # a few labelled images per target class (balanced)
    import numpy as np

    idx = np.concatenate(
        [np.flatnonzero(tgt_all.y_train == c)[:per_class] for c in range(len(TARGET))]
    )
    tgt = type(tgt_all)(
        tgt_all.x_train[idx],
        tgt_all.y_train[idx],
        tgt_all.x_test,
        tgt_all.y_test,
        tgt_all.class_names,
        tgt_all.source,
    )

    keras.utils.set_random_seed(seed)
    base = backbone(src.input_shape)
    pre = with_head(base, len(SOURCE), "pretrain")
    hp = compile_fit(pre, keras.optimizers.Adam(1e-3), src, epochs=src_epochs)
    w_pre = base.get_weights()

    rows, hist = [], {}
    plans = {
        "from scratch": dict(pretrained=False, trainable=True, lr=1e-3),
        "frozen features": dict(pretrained=True, trainable=False, lr=1e-3),
        "fine-tuning": dict(pretrained=True, trainable=True, lr=1e-4),
    }
    for label, p in plans.items():
        keras.utils.set_random_seed(seed + 1)
        b = backbone(tgt.input_shape)
        if p["pretrained"]:
            b.set_weights(w_pre)
        b.trainable = p["trainable"]
        model = with_head(b, len(TARGET), "target")
        h = compile_fit(model, keras.optimizers.Adam(p["lr"]), tgt, epochs=epochs, batch_size=32)
        hist[label] = h
        rows.append(
            {
                "method": label,
                "pretrained on source classes": "yes" if p["pretrained"] else "no",
                "trainable params": int(
                    sum(int(np.prod(w.shape)) for w in model.trainable_weights)
                ),
                "learning rate": p["lr"],
                "target test accuracy": h["val_accuracy"][-1],
                "best target test accuracy": max(h["val_accuracy"]),
            }
        )
    by = {r["method"]: r for r in rows}
    scratch = by["from scratch"]["target test accuracy"]
    findings = [
        f"Source task ({', '.join(src.class_names)}): test accuracy {hp['val_accuracy'][-1]:.3f} after {src_epochs} epoch(s).",
        f"Target task ({', '.join(tgt.class_names)}) with {per_class} images per class: from scratch {scratch:.3f}, "
        f"frozen features {by['frozen features']['target test accuracy']:.3f} "
        f"({by['frozen features']['target test accuracy'] - scratch:+.3f}), fine-tuning "
        f"{by['fine-tuning']['target test accuracy']:.3f} ({by['fine-tuning']['target test accuracy'] - scratch:+.3f}).",
        f"Frozen features train only {by['frozen features']['trainable params']:,} parameters "
        f"vs {by['from scratch']['trainable params']:,} for the whole network.",
    ]
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
    ax.grid(alpha=0.3)
    ax.legend()
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
        intro="A conv backbone is pretrained on five Fashion-MNIST classes (the source task). The other "
        "five classes (the target task) are then learned from a few images per class: a new head "
        "on frozen pretrained features, the whole pretrained network fine-tuned with a 10x "
        "smaller learning rate, or the same network from random weights.",
        rows=rows,
        findings=findings,
        figures={"transfer.png": fig},
        settings_=st,
        extra={"history": hist, "source_history": hp},
    )
