"""FGSM adversarial examples (Goodfellow et al., 2015): accuracy vs epsilon, and a picture."""

from __future__ import annotations

import numpy as np

from kerascnn.errors import ArgumentError, ConfigError
from kerascnn.experiments._common import compile_fit, load_data, predict, settings, write_report

TITLE = "FGSM adversarial examples: accuracy vs epsilon"
EPSILONS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
"""The full run's sizes: the course material's 0.005 (about 1.3/255) up to 0.3."""
FAST_EPSILONS = (0.0, 0.1, 0.3)


def input_gradient(model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d(mean cross-entropy)/d(input) for a batch, on the active Keras backend.

    The loss is ``keras.losses.sparse_categorical_crossentropy`` on the model's softmax; the
    gradient is taken with the backend's own autodiff (tf.GradientTape, jax.grad or
    torch.autograd), imported lazily.
    """
    import keras

    backend = keras.backend.backend()
    y = np.asarray(y)

    def loss_of(inp):
        return keras.ops.mean(
            keras.losses.sparse_categorical_crossentropy(y, model(inp, training=False))
        )

    if backend == "tensorflow":
        import tensorflow as tf

        t = tf.convert_to_tensor(x, dtype="float32")
        with tf.GradientTape() as tape:
            tape.watch(t)
            loss = loss_of(t)
        return tape.gradient(loss, t).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(loss_of)(np.asarray(x, dtype="float32")))
    if backend == "torch":
        import torch

        t = torch.tensor(np.asarray(x, dtype="float32"), requires_grad=True)
        loss_of(t).backward()
        return t.grad.detach().cpu().numpy()
    raise ConfigError(
        f"FGSM supports the tensorflow, jax and torch backends. Received: backend={backend!r}"
    )


def fgsm(model, x: np.ndarray, y: np.ndarray, eps: float, batch_size: int = 250) -> np.ndarray:
    """x + eps * sign(grad_x loss), clipped to the image range [0, 1]."""
    if eps < 0:
        raise ArgumentError(f"epsilon must be >= 0. Received: eps={eps}")
    out = np.empty_like(x)
    for i in range(0, len(x), batch_size):
        g = input_gradient(model, x[i : i + batch_size], y[i : i + batch_size])
        out[i : i + batch_size] = np.clip(x[i : i + batch_size] + eps * np.sign(g), 0.0, 1.0)
    return out


def examples_figure(x, adv, p_clean, p_adv, y, names, eps: float):
    """One row per image: clean, perturbation ``adv - x``, adversarial, with predictions.

    The perturbation is signed: a diverging colormap centred at 0 (``vmin=-eps``,
    ``vmax=eps``: FGSM moves a pixel by at most ``eps``) with a colorbar beside the column;
    the images are grey in [0, 1]. Panels: ``3 * len(x)`` plus the colorbar.
    """
    from kerascnn.viz import new_figure

    k = len(x)
    pic = new_figure((7.0, 1.9 * k + 0.4))
    axes = pic.subplots(k, 3, squeeze=False)
    signed = None
    for i in range(k):
        c, a = int(p_clean[i].argmax()), int(p_adv[i].argmax())
        panels = (
            (x[i, ..., 0], f"clean: {names[c]} ({p_clean[i, c]:.2f})", "gray", 0.0, 1.0),
            ((adv[i] - x[i])[..., 0], f"perturbation (eps={eps})", "RdBu_r", -eps, eps),
            (adv[i, ..., 0], f"FGSM: {names[a]} ({p_adv[i, a]:.2f})", "gray", 0.0, 1.0),
        )
        for j, (img, ttl, cmap, lo, hi) in enumerate(panels):
            im = axes[i, j].imshow(img, cmap=cmap, vmin=lo, vmax=hi)
            signed = im if j == 1 else signed
            axes[i, j].set_title(ttl, fontsize=8)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
    bar = pic.colorbar(signed, ax=list(axes[:, 1]), shrink=0.6, location="right")
    bar.set_label("pixel change (adversarial - clean)", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    pic.suptitle(f"FGSM examples (true labels: {', '.join(names[int(t)] for t in y)})", fontsize=9)
    return pic


def _train(data, seed, epochs):
    """LeNet trained on ``data`` (no validation)."""
    import keras

    from kerascnn.models import create_model

    keras.utils.set_random_seed(seed)
    model = create_model("lenet", input_shape=data.input_shape, num_classes=data.num_classes)
    compile_fit(model, keras.optimizers.Adam(1e-3), data, epochs=epochs, validation=False)
    return model


def accuracy_vs_epsilon(model, x, y, epsilons, seed: int = 0):
    """Accuracy under FGSM and under random-sign noise of each size: ``(rows, adversarials)``.

    ``rows``: one dict per epsilon (``epsilon``, ``FGSM accuracy``, ``random-sign noise
    accuracy``); the noise moves every pixel by exactly ``eps`` in a random direction (clipped to
    [0, 1] like the attack), the control that shows the gradient's direction does the damage.
    ``adversarials``: ``{eps: fgsm(model, x, y, eps)}``.
    """
    rng = np.random.default_rng(seed)
    rows, adv_by_eps = [], {}
    for eps in epsilons:
        adv = fgsm(model, x, y, eps)
        adv_by_eps[eps] = adv
        noise = np.clip(x + eps * rng.choice([-1.0, 1.0], size=x.shape).astype("float32"), 0, 1)
        rows.append(
            {
                "epsilon": eps,
                "FGSM accuracy": float((predict(model, adv).argmax(-1) == y).mean()),
                "random-sign noise accuracy": float((predict(model, noise).argmax(-1) == y).mean()),
            }
        )
    return rows, adv_by_eps


def _findings(rows, epsilons, e_mid, epochs, n_test) -> list[str]:
    clean = rows[0]["FGSM accuracy"]
    at = {r["epsilon"]: r for r in rows}
    return [
        f"Clean test accuracy {clean:.3f} (LeNet, {epochs} epoch(s), {n_test} test images).",
        f"At epsilon={e_mid} (each pixel moved by at most {e_mid} of the [0, 1] range) FGSM accuracy is "
        f"{at[e_mid]['FGSM accuracy']:.3f}, while random-sign noise of the same size gives "
        f"{at[e_mid]['random-sign noise accuracy']:.3f}"
        + (
            ": the gradient direction, not the size of the change, does the damage."
            if at[e_mid]["FGSM accuracy"] < at[e_mid]["random-sign noise accuracy"] - 0.05
            else "."
        ),
        f"At epsilon={epsilons[-1]}: FGSM {at[epsilons[-1]]['FGSM accuracy']:.3f} vs random "
        f"{at[epsilons[-1]]['random-sign noise accuracy']:.3f}.",
    ]


def accuracy_figure(rows, epsilons):
    """FGSM and random-sign-noise accuracy against epsilon (``rows`` from accuracy_vs_epsilon)."""
    from kerascnn.viz import new_figure

    fig = new_figure((6, 4))
    ax = fig.add_subplot()
    ax.plot(epsilons, [r["FGSM accuracy"] for r in rows], "o-", label="FGSM")
    ax.plot(
        epsilons, [r["random-sign noise accuracy"] for r in rows], "s--", label="random sign noise"
    )
    ax.set(
        xlabel="epsilon (L-inf, images in [0, 1])",
        ylabel="test accuracy",
        ylim=(0, 1),
        title="Accuracy vs epsilon",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def run(out, *, fast: bool = False, seed: int = 0, dataset: str = "fashion_mnist_mini"):
    train, epochs, n_test = (400, 1, 200) if fast else (6000, 4, 1000)
    data = load_data(dataset, train=train, test=n_test, seed=seed)
    model = _train(data, seed, epochs)
    x, y = data.x_test, data.y_test
    epsilons = FAST_EPSILONS if fast else EPSILONS
    rows, adv_by_eps = accuracy_vs_epsilon(model, x, y, epsilons, seed)
    e_mid = 0.1
    findings = _findings(rows, epsilons, e_mid, epochs, len(y))
    fig = accuracy_figure(rows, epsilons)
    # picture: a few test images, the perturbation, the adversarial image, with predictions
    k = 4
    adv = adv_by_eps[e_mid][:k]
    pic = examples_figure(
        x[:k], adv, predict(model, x[:k]), predict(model, adv), y[:k], data.class_names, e_mid
    )
    st = settings(
        dataset=dataset,
        train_samples=train,
        test_samples=len(y),
        epochs=epochs,
        model="lenet",
        epsilons=list(epsilons),
        fast=fast,
        seed=seed,
    )
    return write_report(
        out,
        name="fgsm",
        title=TITLE,
        intro="The fast gradient sign method moves every pixel by epsilon in the direction that increases "
        "the loss (sign of the input gradient). Random sign noise of the same size is the control.",
        rows=rows,
        findings=findings,
        figures={"accuracy_vs_epsilon.png": fig, "examples.png": pic},
        settings_=st,
    )
