"""Cross-check :func:`kerascnn.analysis.profile` against XLA's own operation count (JAX backend).

:func:`xla_cost` compiles the model's inference function for one sample with ``jax.jit`` and
returns XLA's ``cost_analysis()`` (``flops``, ``transcendentals``, ``bytes accessed``).
:func:`compare` puts it beside the profile.

What XLA counts differently from our MACs convention (measured with jax 0.10 on CPU):

- **Padding.** XLA counts 2 flops per multiply-add of a convolution *that lands inside the
  unpadded input*; taps over zero padding are skipped. torchvision/timm (and our ``macs``)
  count every tap. ``ModelProfile.padding_macs`` is that difference, so
  ``2 * (macs - padding_macs)`` is XLA's convolution/dense count exactly (a 3x3 "same" conv
  on a 16x16 map: 8% fewer). Transposed convolutions are not corrected.
- **Elementwise work is in XLA's flops.** Activations (ReLU 1/element, sigmoid 3, swish 4),
  BatchNorm at inference (about 1/element after XLA folds its constants), pooling windows
  (max pool 2x2: 3 comparisons per output), residual adds, softmax. Our ``other_ops``
  counts these with its own fixed rules (documented in :mod:`kerascnn.analysis.profile`), so
  XLA's flops lie between ``2 * (macs - padding_macs)`` and that plus ``other_ops``-ish work.
- **Bias adds fused into a convolution or dot are not counted by XLA on CPU.**
- Exponentials, logs and divisions by a tensor are ``transcendentals``, not ``flops``.

So for conv nets the XLA figure is within a few percent of ``2 * macs``: below it where
"same" padding dominates (small maps: LeNet, CIFAR nets), above it where BN/activations are
heavy relative to convolutions (MobileNetV2). ``compare`` reports all the terms.
"""

from __future__ import annotations

from typing import Any

import keras

from kerascnn.errors import ArgumentError

__all__ = ["xla_cost", "compare"]


def xla_cost(model, batch_size: int = 1) -> dict[str, float]:
    """XLA's cost analysis of ``model``'s inference function (needs ``KERAS_BACKEND=jax``).

    Returns a dict with ``flops``, ``transcendentals`` and ``bytes accessed`` for a batch of
    ``batch_size`` (default 1: per sample).
    """
    if keras.backend.backend() != "jax":
        raise ArgumentError(
            "xla_cost() needs the JAX backend: run with KERAS_BACKEND=jax. "
            f"Received: backend={keras.backend.backend()!r}"
        )
    import jax

    shapes = [tuple(t.shape[1:]) for t in model.inputs]
    if any(d is None for s in shapes for d in s):
        raise ArgumentError(
            f"xla_cost() needs a fixed input shape. Received: input shapes {shapes}"
        )
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def infer(*xs):
        y, _ = model.stateless_call(
            trainable, non_trainable, xs[0] if len(xs) == 1 else list(xs), training=False
        )
        return y

    args = [
        jax.ShapeDtypeStruct((batch_size,) + s, str(t.dtype)) for s, t in zip(shapes, model.inputs)
    ]
    cost = jax.jit(infer).lower(*args).compile().cost_analysis()
    if isinstance(cost, (list, tuple)):  # older jax: one dict per computation
        cost = cost[0]
    return {
        k: float(cost.get(k, 0.0) or 0.0) for k in ("flops", "transcendentals", "bytes accessed")
    }


def compare(model) -> dict[str, Any]:
    """Our profile beside XLA's count for one sample: the terms that explain the difference."""
    from kerascnn.analysis.profile import profile

    prof = profile(model)
    xla = xla_cost(model)
    ours = prof.total_flops
    no_pad = 2 * (prof.total_macs - prof.padding_macs)
    return {
        "model": model.name,
        "macs": prof.total_macs,
        "flops (2 x MACs)": ours,
        "flops without padding taps": no_pad,
        "other_ops": prof.other_ops,
        "xla_flops": xla["flops"],
        "xla_transcendentals": xla["transcendentals"],
        "xla / (2 x MACs)": xla["flops"] / ours if ours else float("nan"),
        "xla / flops without padding": xla["flops"] / no_pad if no_pad else float("nan"),
        "xla excess over no-padding flops / other_ops": (xla["flops"] - no_pad) / prof.other_ops
        if prof.other_ops
        else float("nan"),
    }
