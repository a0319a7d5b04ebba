"""Squeeze-and-Excitation (Hu, Shen & Sun, "Squeeze-and-Excitation Networks", 2018)."""

from __future__ import annotations

from keras import layers

from kerascnn import checks
from kerascnn._utils import make_divisible
from kerascnn.blocks._block import block
from kerascnn.errors import ArgumentError

SE_RATIO = 1 / 16  # the paper's reduction r = 16


def se_channels(channels: int, ratio: float = SE_RATIO, divisor: int = 1) -> int:
    """Width of an SE bottleneck for ``channels`` input channels.

    ``divisor=1``: ``floor(channels * ratio)``, at least 1 (the paper; keras.applications'
    EfficientNet). ``divisor > 1``: rounded to the nearest multiple of ``divisor``
    (``make_divisible``, timm's and MobileNetV3's rule).

    >>> se_channels(64), se_channels(64, divisor=8), se_channels(96, 0.25)
    (4, 8, 24)
    """
    value = channels * ratio
    if divisor <= 1:
        return max(1, int(value + 1e-6))
    return make_divisible(value, divisor)


def _one_width(owner, values):
    if values["ratio"] is not None and values["reduced_channels"] is not None:
        raise ArgumentError(
            f"{owner}: give either `ratio` or `reduced_channels`, not both. "
            f"Received: ratio={values['ratio']!r}, reduced_channels={values['reduced_channels']!r}"
        )


@block(
    ratio=checks.optional(checks.ratio),
    reduced_channels=checks.optional(checks.positive_int),
    divisor=checks.positive_int,
    activation=checks.activation,
    gate=checks.choice("sigmoid", "hard_sigmoid"),
    relations=_one_width,
)
def se_block(
    x, *, ratio=None, reduced_channels=None, divisor=1, activation="relu", gate="sigmoid", name
):
    """Channel attention: rescale each channel by a gate in (0, 1) computed from the whole map.

    squeeze: global average pool kept as 1 x 1 x C (``{name}_squeeze``); excite: a 1 x 1 conv to
    R channels with ``activation`` (``{name}_reduce``) and back to C with the ``gate``
    (``{name}_expand``); scale: ``x * gate`` (``{name}_excite``). The 1 x 1 convs (with bias) on
    the pooled map hold the paper's two FC layers, 2CR + R + C parameters, in the layout of
    keras.applications' EfficientNet. R is ``reduced_channels``, else
    ``se_channels(C, ratio or 1/16, divisor)``.
    """
    c = x.shape[-1]
    r = reduced_channels or se_channels(c, SE_RATIO if ratio is None else ratio, divisor)
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
    s = layers.Conv2D(r, 1, activation=activation, name=f"{name}_reduce")(s)
    s = layers.Conv2D(c, 1, activation=gate, name=f"{name}_expand")(s)
    return layers.Multiply(name=f"{name}_excite")([x, s])
