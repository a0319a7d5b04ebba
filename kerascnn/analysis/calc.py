"""Calculators for the lessons: output sizes, padding, parameter counts, costs, receptive fields.

Pure Python (no Keras). One spatial dimension at a time; apply per dimension for 2-D layers.
Every function validates its arguments and raises ``ValueError`` ending in ``Received: ...``.

The formulas (Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016;
Keras/TensorFlow padding rules):

- output size of a convolution or pooling window::

      out = floor((n + 2p - d(k - 1) - 1) / s) + 1

  with input size ``n``, padding ``p`` on each side, kernel ``k``, stride ``s``, dilation ``d``;
- ``"valid"`` pads nothing; ``"same"`` gives ``out = ceil(n / s)`` and pads
  ``max((out - 1) s + d(k - 1) + 1 - n, 0)`` in total, the smaller half on the left/top
  (TensorFlow's rule, which Keras follows on every backend);
- transposed convolution: ``out = (n - 1) s + d(k - 1) + 1 - 2p + output_padding``;
- receptive field of a stack (Araujo et al., "Computing Receptive Fields of CNNs", Distill
  2019): ``r_l = r_{l-1} + (k_eff - 1) j_{l-1}``, ``j_l = j_{l-1} s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = [
    "conv_output_size",
    "same_padding",
    "padding_amounts",
    "conv_transpose_output_size",
    "conv_params",
    "depthwise_separable_params",
    "separable_cost_ratio",
    "conv_macs",
    "ReceptiveField",
    "receptive_field",
]


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        hasattr(value, "__index__")
    ):
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return value


def conv_output_size(n: int, k: int, s: int = 1, p: int | str = 0, d: int = 1) -> int:
    """Output size of a conv/pool window along one dimension.

    ``p`` is the padding on each side (an int) or ``"valid"``/``"same"``.

    >>> conv_output_size(224, 7, s=2, p=3)
    112
    >>> conv_output_size(32, 3, s=2, p="same")
    16
    """
    n, k, s, d = _int("n", n, 1), _int("k", k, 1), _int("s", s, 1), _int("d", d, 1)
    k_eff = d * (k - 1) + 1
    if isinstance(p, str):
        mode = p.lower()
        if mode == "same":
            return -(-n // s)
        if mode == "valid":
            p = 0
        else:
            raise ValueError(f"padding must be an int, 'valid' or 'same'. Received: p={p!r}")
    p = _int("p", p, 0)
    span = n + 2 * p - k_eff
    if span < 0:
        raise ValueError(
            f"The (dilated) kernel of size {k_eff} does not fit in the padded input of size "
            f"{n + 2 * p}. Received: n={n}, k={k}, s={s}, p={p}, d={d}"
        )
    return span // s + 1


def same_padding(n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """(left, right) padding of ``"same"`` for input size ``n`` (TensorFlow/Keras rule).

    >>> same_padding(224, 7, 2)
    (2, 3)
    """
    n, k, s, d = _int("n", n, 1), _int("k", k, 1), _int("s", s, 1), _int("d", d, 1)
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def padding_amounts(padding: str, n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """(left, right) padding for Keras' ``padding`` strings: valid, same, causal."""
    mode = str(padding).lower()
    if mode == "valid":
        return 0, 0
    if mode == "same":
        return same_padding(n, k, s, d)
    if mode == "causal":
        return _int("d", d, 1) * (_int("k", k, 1) - 1), 0
    raise ValueError(f"padding must be 'valid', 'same' or 'causal'. Received: padding={padding!r}")


def conv_transpose_output_size(
    n: int, k: int, s: int = 1, p: int | str = 0, d: int = 1, output_padding: int | None = None
) -> int:
    """Output size of a transposed convolution along one dimension (Keras' rules).

    With an explicit ``output_padding`` (or an int ``p``): ``(n - 1) s + d(k - 1) + 1 - 2p +
    output_padding``, where ``"same"`` means ``p = k_eff // 2``. With ``output_padding=None``
    (Keras' default) ``"same"`` gives ``n * s`` and ``"valid"`` gives
    ``n * s + max(k_eff - s, 0)``.

    >>> conv_transpose_output_size(16, 3, s=2, p="same")
    32
    >>> conv_transpose_output_size(16, 3, s=2, p=1, output_padding=1)
    32
    """
    n, k, s, d = _int("n", n, 1), _int("k", k, 1), _int("s", s, 1), _int("d", d, 1)
    k_eff = d * (k - 1) + 1
    if output_padding is not None:
        output_padding = _int("output_padding", output_padding, 0)
        if output_padding >= max(s, d):
            raise ValueError(
                f"output_padding must be smaller than the stride or the dilation. "
                f"Received: output_padding={output_padding}, s={s}, d={d}"
            )
    if isinstance(p, str):
        mode = p.lower()
        if mode not in ("same", "valid"):
            raise ValueError(f"padding must be an int, 'valid' or 'same'. Received: p={p!r}")
        if output_padding is None:
            return n * s if mode == "same" else n * s + max(k_eff - s, 0)
        p = k_eff // 2 if mode == "same" else 0
    p = _int("p", p, 0)
    out = (n - 1) * s + k_eff - 2 * p + (output_padding or 0)
    if out < 1:
        raise ValueError(
            f"The transposed convolution would have no output. "
            f"Received: n={n}, k={k}, s={s}, p={p}, d={d}, output_padding={output_padding}"
        )
    return out


def _kernel(k) -> tuple[int, ...]:
    ks = (k, k) if isinstance(k, int) else tuple(k)
    return tuple(_int("kernel_size", v, 1) for v in ks)


def conv_params(c_in: int, c_out: int, k=3, *, groups: int = 1, bias: bool = True) -> int:
    """Parameters of a (grouped) convolution: ``prod(k) * c_in/groups * c_out (+ c_out)``.

    ``k`` is an int (square kernel) or a tuple.

    >>> conv_params(64, 128, 3)
    73856
    >>> conv_params(64, 128, 3, groups=4, bias=False)
    18432
    """
    c_in, c_out, groups = _int("c_in", c_in, 1), _int("c_out", c_out, 1), _int("groups", groups, 1)
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"c_in and c_out must both be divisible by groups. "
            f"Received: c_in={c_in}, c_out={c_out}, groups={groups}"
        )
    return math.prod(_kernel(k)) * (c_in // groups) * c_out + (c_out if bias else 0)


def depthwise_separable_params(
    c_in: int, c_out: int, k=3, *, depth_multiplier: int = 1, bias: bool = True
) -> int:
    """Parameters of a depthwise (k x k, no bias) + pointwise (1 x 1) convolution pair.

    ``bias`` adds the pointwise bias (Keras ``SeparableConv2D``'s one bias vector).

    >>> depthwise_separable_params(64, 128, 3, bias=False)
    8768
    """
    c_in, c_out = _int("c_in", c_in, 1), _int("c_out", c_out, 1)
    m = _int("depth_multiplier", depth_multiplier, 1)
    return math.prod(_kernel(k)) * c_in * m + c_in * m * c_out + (c_out if bias else 0)


def separable_cost_ratio(c_out: int, k=3) -> float:
    """MACs of depthwise-separable / standard convolution: ``1/c_out + 1/k^2``.

    (MobileNets, Howard et al. 2017, eq. 5; ``k^2`` is ``prod(k)`` for a non-square kernel.)

    >>> round(separable_cost_ratio(256, 3), 4)
    0.115
    """
    c_out = _int("c_out", c_out, 1)
    return 1.0 / c_out + 1.0 / math.prod(_kernel(k))


def conv_macs(out_size: Sequence[int], c_in: int, c_out: int, k=3, *, groups: int = 1) -> int:
    """Multiply-accumulates of a (grouped) convolution producing ``out_size`` positions."""
    outs = tuple(_int("out_size", v, 1) for v in out_size)
    c_in, c_out, groups = _int("c_in", c_in, 1), _int("c_out", c_out, 1), _int("groups", groups, 1)
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"c_in and c_out must both be divisible by groups. "
            f"Received: c_in={c_in}, c_out={c_out}, groups={groups}"
        )
    return math.prod(outs) * c_out * math.prod(_kernel(k)) * (c_in // groups)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one output unit, along one dimension, in input pixels.

    ``size``: how many input pixels (edge to edge) one output unit sees; ``jump``: the
    distance in input pixels between neighbouring output units (the product of strides);
    ``start``: input coordinate of the first pixel seen by output unit 0 (negative when the
    window hangs over zero padding). Output unit ``i`` sees ``[start + i*jump,
    start + i*jump + size - 1]``.
    """

    size: int
    jump: int
    start: int

    def window(self, i: int) -> tuple[int, int]:
        """First and last input coordinate seen by output unit ``i`` (inclusive, unclipped)."""
        lo = self.start + i * self.jump
        return lo, lo + self.size - 1


def receptive_field(
    layers: Iterable[Sequence], n: int | None = None
) -> ReceptiveField:
    """Receptive field of a stack of conv/pool layers along one dimension.

    Each layer is ``(k, s)``, ``(k, s, d)`` or ``(k, s, d, padding)`` with ``padding`` an int
    (left padding), ``"valid"``, ``"same"`` or ``"causal"``; ``"same"`` needs the input size
    ``n`` (its left padding depends on it). Without padding given, padding is 0.

    >>> receptive_field([(7, 2, 1, 3), (3, 2, 1, 1)])   # ResNet stem: conv 7/2 + pool 3/2
    ReceptiveField(size=11, jump=4, start=-5)
    """
    size, jump, start = 1, 1, 0
    cur = n
    for i, layer in enumerate(layers):
        spec = tuple(layer)
        if not 2 <= len(spec) <= 4:
            raise ValueError(
                f"Each layer is (k, s), (k, s, d) or (k, s, d, padding). "
                f"Received: layer {i} = {layer!r}"
            )
        k = _int("k", spec[0], 1)
        s = _int("s", spec[1], 1)
        d = _int("d", spec[2], 1) if len(spec) > 2 else 1
        pad = spec[3] if len(spec) > 3 else 0
        if isinstance(pad, str):
            if pad.lower() == "same" and cur is None:
                raise ValueError(
                    f"'same' padding depends on the input size; pass n=. Received: layer {i} = "
                    f"{layer!r}, n=None"
                )
            left = padding_amounts(pad, cur or 1, k, s, d)[0]
        else:
            left = _int("padding", pad, 0)
        k_eff = d * (k - 1) + 1
        if cur is not None:
            if isinstance(pad, str):
                right = padding_amounts(pad, cur, k, s, d)[1]
                if pad.lower() == "same":
                    cur = -(-cur // s)
                else:
                    cur = conv_output_size(cur + left + right, k, s, 0, d)
            else:
                cur = conv_output_size(cur, k, s, left, d)
        size += (k_eff - 1) * jump
        start -= left * jump
        jump *= s
    return ReceptiveField(size, jump, start)
