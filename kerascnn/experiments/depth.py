"""Plain vs residual networks with depth: He et al.'s degradation experiment at small scale.

The nets are the CIFAR-style family of He et al. (2015, section 4.2), narrowed for a CPU: a 3x3
conv stem, three stages of ``n`` two-conv blocks with ``FILTERS`` = 8, 16, 32 filters (the first
block of stages 2 and 3 halves the resolution: 28 -> 14 -> 7), global average pooling and a
softmax layer, ``6n + 2`` weighted layers in all. The residual net's blocks are
:func:`kerascnn.blocks.basic_block`; the plain net's blocks are :func:`plain_block`, the same two
conv-BN units (:func:`kerascnn.blocks.conv_bn_act`: same padding, no bias, same BatchNorm) with no
shortcut. A residual block that changes the channel count has a 1x1 projection shortcut (the
paper's option B), so the residual net has a few more parameters; the report counts them.

Every net is trained identically (same images, seed, epochs; SGD with momentum and a learning
rate decayed to 0 by a cosine, so that the final weights, and the final training error measured
with them, are not one noisy step of a large learning rate). The paper's result: the
training error of a deep plain net is *above* that of a shallower plain net (an optimisation
difficulty, not overfitting), while residual nets of the same depths do not degrade.
"""

from __future__ import annotations

import importlib.metadata
import math
import time

from kerascnn.blocks import basic_block, conv_bn_act
from kerascnn.blocks.defaults import BN_EPSILON
from kerascnn.errors import ArgumentError
from kerascnn.experiments._common import accuracy, compile_fit, load_data, settings, write_report

TITLE = "Plain vs residual nets with depth: the degradation problem (He et al., 2015)"
FILTERS = (8, 16, 32)
KINDS = ("plain", "residual")
# BN momentum 0.9 (PyTorch's 0.1): the moving statistics must catch up within a few epochs
UNIT = dict(use_bias=False, bn_epsilon=BN_EPSILON, bn_momentum=0.9)
MINI = "fashion_mnist_mini"
FULL_DATASET = "fashion_mnist"
# fast: a smoke run (seconds); full: chosen to finish within ~35 minutes on 2 shared CPU cores
PLANS = {
    True: dict(depths=(8, 14), train=256, test=256, epochs=1, batch_size=64),
    False: dict(depths=(8, 20, 32), train=12000, test=None, epochs=8, batch_size=128),
}
LEARNING_RATE = 0.05  # the start of a cosine decay to 0 over the whole run
MOMENTUM = 0.9


def blocks_per_stage(depth: int) -> int:
    """``n`` of a ``6n + 2``-layer net (8, 14, 20, 32, 56, ...)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ArgumentError(
            "depth must be 6n + 2 with n >= 1 (8, 14, 20, 26, 32, ...): a stem conv, 3 stages "
            f"of n two-conv blocks and the classifier. Received: depth={depth!r}"
        )
    return (depth - 2) // 6


def plain_block(x, filters, strides=1, *, name):
    """:func:`kerascnn.blocks.basic_block` without its shortcut: 3x3 conv (``strides``; a
    strided conv padded by 1 on every side, as in the basic block) -> BN -> ReLU -> 3x3 conv ->
    BN -> ReLU. Layers ``{name}_1_*`` and ``{name}_2_*``, the basic block's names."""
    y = conv_bn_act(
        x,
        filters,
        3,
        strides=strides,
        padding=1 if strides > 1 else "same",
        name=f"{name}_1",
        **UNIT,
    )
    return conv_bn_act(y, filters, 3, name=f"{name}_2", **UNIT)


def build_net(depth: int, kind: str, input_shape, num_classes: int, *, filters=FILTERS):
    """A ``depth``-layer plain or residual net (module docstring), named ``f"{kind}{depth}"``."""
    import keras
    from keras import layers

    if kind not in KINDS:
        raise ArgumentError(f"kind must be one of {', '.join(KINDS)}. Received: kind={kind!r}")
    n = blocks_per_stage(depth)
    name = f"{kind}{depth}"
    inputs = keras.Input(input_shape, name=f"{name}_input")
    x = conv_bn_act(inputs, filters[0], 3, name=f"{name}_stem", **UNIT)
    for stage, width in enumerate(filters, start=1):
        for b in range(1, n + 1):
            strides = 2 if stage > 1 and b == 1 else 1
            block_name = f"{name}_s{stage}_b{b}"
            if kind == "residual":
                x = basic_block(x, width, strides, name=block_name, **UNIT)
            else:
                x = plain_block(x, width, strides, name=block_name)
    x = layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name=f"{name}_predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def run_dataset(dataset: str, fast: bool) -> str:
    """The data a run reads: the embedded mini set (the CLI's default, 6,000 training images)
    is too small for the full run, which reads the full Fashion-MNIST instead."""
    return FULL_DATASET if dataset == MINI and not fast else dataset


def degradation(rows: list[dict]) -> dict:
    """The paper's two observations, as measured: the deepest plain net's final training error
    is above the shallowest plain net's; the deepest residual net's is not above the shallowest
    residual net's."""
    err = {(r["kind"], r["depth"]): r["final train error"] for r in rows}
    depths = sorted({r["depth"] for r in rows})
    lo, hi = depths[0], depths[-1]
    plain = err[("plain", hi)] > err[("plain", lo)]
    residual = err[("residual", hi)] <= err[("residual", lo)]
    return {
        "shallow": lo,
        "deep": hi,
        "plain_deep_worse": plain,
        "residual_deep_not_worse": residual,
        "showed": plain and residual,
    }


def _findings(rows, degr, fast, plan, n_train) -> list[str]:
    by = {(r["kind"], r["depth"]): r for r in rows}
    depths = sorted({r["depth"] for r in rows})

    def errors(kind, key):
        return ", ".join(f"{d} layers {by[(kind, d)][key]:.4f}" for d in depths)

    out = [
        f"Final training error (inference mode, all {n_train} training images): plain "
        f"{errors('plain', 'final train error')}; residual {errors('residual', 'final train error')}.",
        f"Test error: plain {errors('plain', 'test error')}; residual "
        f"{errors('residual', 'test error')}.",
    ]
    steps = {
        kind: ", ".join(
            f"{a}->{b} {by[(kind, b)]['final train error'] - by[(kind, a)]['final train error']:+.4f}"
            for a, b in zip(depths, depths[1:])
        )
        for kind in KINDS
    }
    if len(depths) > 1:
        out.append(
            f"Depth step by step (change in final training error): plain {steps['plain']}; "
            f"residual {steps['residual']}."
        )
    for d in depths:
        p, r = by[("plain", d)], by[("residual", d)]
        out.append(
            f"At {d} layers the shortcuts change the training error from "
            f"{p['final train error']:.4f} to {r['final train error']:.4f} "
            f"({r['final train error'] - p['final train error']:+.4f})."
        )
    if fast:
        out.append(
            f"Fast mode is a smoke run ({plan['epochs']} epoch on {n_train} images): too short to "
            "say anything about degradation; the published full run measures it."
        )
        return out
    out.append(_verdict(by, degr))
    return out


def _verdict(by, degr) -> str:
    """The finding of a full run: did the degradation show (:func:`degradation`)?"""
    lo, hi = degr["shallow"], degr["deep"]
    p_lo, p_hi = by[("plain", lo)]["final train error"], by[("plain", hi)]["final train error"]
    r_lo, r_hi = (
        by[("residual", lo)]["final train error"],
        by[("residual", hi)]["final train error"],
    )
    verdict = "The degradation showed" if degr["showed"] else "The degradation did not show"
    return (
        f"{verdict} in this run: the {hi}-layer plain net's training error {p_hi:.4f} is "
        f"{'above' if degr['plain_deep_worse'] else 'not above'} the {lo}-layer plain net's "
        f"{p_lo:.4f} ({p_hi - p_lo:+.4f}), and the {hi}-layer residual net's {r_hi:.4f} is "
        f"{'not above' if degr['residual_deep_not_worse'] else 'above'} the {lo}-layer residual "
        f"net's {r_lo:.4f} ({r_hi - r_lo:+.4f})."
    )


def _figures(curves, rows, depths):
    from kerascnn.viz import new_figure

    fig = new_figure((11, 4))
    axes = fig.subplots(1, 2, sharey=True)
    top = max(max(ys) for ys in curves.values())
    for ax, kind in zip(axes, KINDS):
        for i, d in enumerate(depths):
            ys = curves[f"{kind}-{d}"]
            ax.plot(range(1, len(ys) + 1), ys, "-", marker=".", color=f"C{i}", label=f"{d} layers")
        ax.set(xlabel="epoch", title=f"{kind} nets", ylim=(0, top * 1.05))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("training error (running mean over the epoch)")
    fig.suptitle("Training error while training, by depth")

    fig2 = new_figure((6, 4))
    ax = fig2.add_subplot()
    for i, kind in enumerate(KINDS):
        ys = [next(r for r in rows if r["kind"] == kind and r["depth"] == d) for d in depths]
        ax.plot(depths, [r["final train error"] for r in ys], "-o", color=f"C{i}", label=kind)
        ax.plot(
            depths,
            [r["test error"] for r in ys],
            "--",
            marker="x",
            color=f"C{i}",
            alpha=0.6,
            label=f"{kind} (test)",
        )
    ax.set(xticks=list(depths), xlabel="weighted layers", ylabel="final error")
    ax.set_title("Final training error (solid) and test error (dashed) vs depth")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return {"training_curves.png": fig, "error_vs_depth.png": fig2}


def _train_one(depth, kind, data, plan, steps, seed):
    """Train one net: ``(training error per epoch, table row)``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_net(depth, kind, data.input_shape, data.num_classes)
    t0 = time.perf_counter()
    h = compile_fit(
        model,
        keras.optimizers.SGD(
            keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps),
            momentum=MOMENTUM,
        ),
        data,
        epochs=plan["epochs"],
        batch_size=plan["batch_size"],
        validation=False,
    )
    seconds = time.perf_counter() - t0
    row = {
        "depth": depth,
        "kind": kind,
        "params": int(model.count_params()),
        "final train error": 1.0 - accuracy(model, data.x_train, data.y_train),
        "test error": 1.0 - accuracy(model, data.x_test, data.y_test),
        "train time (s)": round(seconds, 1),
    }
    keras.backend.clear_session()
    return [1.0 - a for a in h["accuracy"]], row


def _intro(plan, n_train, used) -> str:
    return (
        f"Plain and residual CIFAR-style nets of {', '.join(map(str, plan['depths']))} "
        f"weighted layers (3 stages of {'/'.join(map(str, FILTERS))} filters, BatchNorm after "
        "every conv; the residual nets are the plain nets plus shortcuts), trained "
        "identically (SGD with momentum, the learning rate cosine-decayed to 0) for "
        f"{plan['epochs']} epoch{'s' if plan['epochs'] != 1 else ''} on {n_train} {used} "
        "training images. "
        "'final train error' is measured after training in inference mode on all the training "
        "images; the curves are the running training error of each epoch. The question: does "
        "the deeper plain net train *worse* (higher training error) than the shallower one, "
        "and do shortcuts remove that?"
    )


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = MINI):
    from kerascnn.measure.environment import cpu_counts, device_name, load_average

    plan = PLANS[bool(fast)]
    used = run_dataset(dataset, fast)
    data = load_data(used, train=plan["train"], test=plan["test"], seed=seed)
    started, load = time.perf_counter(), load_average()
    rows, curves = [], {}
    steps = math.ceil(len(data.x_train) / plan["batch_size"]) * plan["epochs"]
    for depth in plan["depths"]:
        for kind in KINDS:
            curves[f"{kind}-{depth}"], row = _train_one(depth, kind, data, plan, steps, seed)
            rows.append(row)
    degr = degradation(rows)
    n_train = len(data.x_train)
    st = settings(
        dataset=used,
        dataset_requested=dataset,
        train_samples=n_train,
        test_samples=len(data.x_test),
        epochs=plan["epochs"],
        batch_size=plan["batch_size"],
        optimizer=f"SGD(momentum={MOMENTUM}), learning rate {LEARNING_RATE} cosine-decayed to 0 "
        f"over {steps} steps",
        model=f"6n+2 layers, stages {'/'.join(map(str, FILTERS))} filters, BN momentum 0.9",
        depths="/".join(map(str, plan["depths"])),
        device=device_name(),
        **cpu_counts(),
        load_average_at_start=load,
        tensorflow=_version("tensorflow"),
        wall_time_s=round(time.perf_counter() - started, 1),
        fast=fast,
        seed=seed,
    )
    findings = _findings(rows, degr, fast, plan, n_train)
    return write_report(
        out,
        name="depth",
        title=TITLE,
        intro=_intro(plan, n_train, used),
        rows=rows,
        findings=findings,
        figures=_figures(curves, rows, plan["depths"]),
        settings_=st,
        extra={
            "train_error_curves": curves,
            "degradation": None if fast else degr,
            "degradation_note": "not tested in fast mode (smoke run)" if fast else "measured",
        },
    )


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
