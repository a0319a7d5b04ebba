"""The geometry of convolution and pooling windows: output sizes, padding, receptive fields.

Plain Python (no Keras, no NumPy), one spatial dimension at a time: apply it per dimension for
2-D layers. Every other module of kerascnn takes these formulas from here. Every function checks
its arguments and raises :class:`kerascnn.errors.ArgumentError` ending in ``Received: ...``.

Names (kept stable; ``kerascnn.analysis.calc`` re-exports them for the lessons):

- ``effective_kernel(k, d=1)``: span of a dilated kernel, ``k_eff = d (k - 1) + 1``.
- ``padding_amounts(padding, n, k, s=1, d=1) -> (left, right)`` for ``padding`` one of
  ``"valid"`` (nothing), ``"same"`` (``out = ceil(n / s)``; the total
  ``max((out - 1) s + k_eff - n, 0)`` is split with the smaller half on the left/top:
  TensorFlow's rule, which Keras follows on every backend), ``"causal"`` (``k_eff - 1`` on the
  left only), ``"full"`` (``k_eff - 1`` on each side: every partial overlap), an int ``p``
  (``p`` on each side, PyTorch's ``padding=p``) or an explicit ``(left, right)`` pair.
  ``same_padding(n, k, s=1, d=1)`` is the ``"same"`` case.
- ``conv_output_size(n, k, s=1, p=0, d=1)``: ``floor((n + left + right - k_eff) / s) + 1``
  with ``p`` any padding above; ``pool_output_size(n, k, s=None, p="valid")`` is the same
  function with Keras' pooling default ``s = k``.
- ``conv_transpose_output_size(n, k, s=1, p=0, d=1, output_padding=None)``:
  ``(n - 1) s + k_eff - 2p + output_padding`` (Keras' rules for "same"/"valid");
  ``conv_transpose_crop(k, s=1, d=1, padding="valid")``: where Keras' output starts in the full
  transposed convolution (every input stamps the kernel, ``s`` apart: ``(n - 1) s + k_eff``
  positions): 0 for "valid", ``max(k_eff - s, 0) // 2`` for "same".
- The receptive-field recursion (Araujo et al., "Computing Receptive Fields of Convolutional
  Neural Networks", Distill 2019), written once in ``rf_step(size, jump, start, k, s=1, d=1,
  left=0) -> (size, jump, start)``::

      size' = size + (k_eff - 1) jump,   jump' = jump s,   start' = start - left jump

  It takes ints or :class:`fractions.Fraction` values (a stride ``s = Fraction(1, 2)`` is a
  transposed convolution or an upsampling by 2; ``left`` may be negative: a crop).
  ``receptive_field(layers, n=None) -> ReceptiveField`` applies it to a stack;
  ``rf_union`` joins the fields of parallel branches; ``conv_transpose_window`` and
  ``upsampling_window`` give the ``(k, s, left)`` that ``rf_step`` takes for those layers (an
  upper bound of their field); ``valid_taps`` counts the kernel taps that land inside the input
  (the rest multiply zero padding).

(Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016.)
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from kerascnn.errors import ArgumentError

__all__ = [
    "check_int",
    "effective_kernel",
    "padding_amounts",
    "same_padding",
    "conv_output_size",
    "pool_output_size",
    "conv_transpose_output_size",
    "conv_transpose_crop",
    "valid_taps",
    "rf_step",
    "rf_union",
    "conv_transpose_window",
    "upsampling_window",
    "ReceptiveField",
    "receptive_field",
]

PADDING_MODES = ("valid", "same", "causal", "full")


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an int if it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ArgumentError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _rational(name: str, value, *, positive: bool = False):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Rational)
        or (positive and value <= 0)
    ):
        kind = "a positive" if positive else "an"
        raise ArgumentError(
            f"{name} must be {kind} int or fractions.Fraction. Received: {name}={value!r}"
        )
    return value


def effective_kernel(k: int, d: int = 1) -> int:
    """Span of a dilated kernel: ``d (k - 1) + 1``.

    >>> effective_kernel(3, 2)
    5
    """
    return check_int("d", d, 1) * (check_int("k", k, 1) - 1) + 1


def same_padding(n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """(left, right) padding of ``"same"`` for input size ``n`` (TensorFlow/Keras rule).

    >>> same_padding(224, 7, 2)
    (2, 3)
    """
    n, s = check_int("n", n, 1), check_int("s", s, 1)
    total = max((-(-n // s) - 1) * s + effective_kernel(k, d) - n, 0)
    return total // 2, total - total // 2


def _amounts(name: str, padding, n, k, s, d) -> tuple[int, int]:
    """padding_amounts, naming the padding argument ``name`` in its messages."""
    k_eff = effective_kernel(k, d)
    check_int("s", s, 1)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "same":
            if n is None:
                raise ArgumentError(
                    f"'same' padding depends on the input size n. Received: n=None, "
                    f"{name}={padding!r}"
                )
            return same_padding(n, k, s, d)
        if mode in PADDING_MODES:
            return {"valid": (0, 0), "causal": (k_eff - 1, 0), "full": (k_eff - 1, k_eff - 1)}[mode]
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        return check_int(f"{name}[0]", padding[0], 0), check_int(f"{name}[1]", padding[1], 0)
    elif isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        p = check_int(name, padding, 0)
        return p, p
    raise ArgumentError(
        f"{name} must be 'valid', 'same', 'causal', 'full', an int >= 0 (on each side) or a "
        f"(left, right) pair of ints. Received: {name}={padding!r}"
    )


def padding_amounts(padding, n: int | None, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """(left, right) padding of ``padding`` for input size ``n`` (``n`` matters for "same" only).

    >>> padding_amounts("same", 32, 3, 2), padding_amounts("full", 32, 3, d=2)
    ((0, 1), (4, 4))
    >>> padding_amounts(2, 32, 5), padding_amounts("causal", None, 3, d=2)
    ((2, 2), (4, 0))
    """
    return _amounts("padding", padding, n, k, s, d)


def conv_output_size(n: int, k: int, s: int = 1, p=0, d: int = 1) -> int:
    """Output size of a conv/pool window along one dimension.

    ``p`` is the padding on each side (an int), a ``(left, right)`` pair or one of ``"valid"``,
    ``"same"``, ``"causal"``, ``"full"``.

    >>> conv_output_size(224, 7, s=2, p=3)
    112
    >>> conv_output_size(32, 3, s=2, p="same"), conv_output_size(32, 3, p="full")
    (16, 34)
    """
    n = check_int("n", n, 1)
    left, right = _amounts("p", p, n, k, s, d)
    k_eff = effective_kernel(k, d)
    span = n + left + right - k_eff
    if span < 0:
        raise ArgumentError(
            f"The (dilated) kernel of size {k_eff} does not fit in the padded input of size "
            f"{n + left + right}. Received: n={n}, k={k}, s={s}, p={p!r}, d={d}"
        )
    return span // s + 1


def pool_output_size(n: int, k: int, s: int | None = None, p="valid") -> int:
    """Output size of a pooling window (Keras' default stride: the pool size).

    >>> pool_output_size(7, 2), pool_output_size(7, 2, p="same"), pool_output_size(7, 3, 2)
    (3, 4, 3)
    """
    return conv_output_size(n, k, k if s is None else s, p)


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
    n, s, d = check_int("n", n, 1), check_int("s", s, 1), check_int("d", d, 1)
    k_eff = effective_kernel(k, d)
    if output_padding is not None:
        output_padding = check_int("output_padding", output_padding, 0)
        if output_padding >= max(s, d):
            raise ArgumentError(
                f"output_padding must be smaller than the stride or the dilation. "
                f"Received: output_padding={output_padding}, s={s}, d={d}"
            )
    if isinstance(p, str):
        mode = p.lower()
        if mode not in ("same", "valid"):
            raise ArgumentError(f"padding must be an int, 'valid' or 'same'. Received: p={p!r}")
        if output_padding is None:
            return n * s if mode == "same" else n * s + max(k_eff - s, 0)
        p = k_eff // 2 if mode == "same" else 0
    p = check_int("p", p, 0)
    out = (n - 1) * s + k_eff - 2 * p + (output_padding or 0)
    if out < 1:
        raise ArgumentError(
            f"The transposed convolution would have no output. "
            f"Received: n={n}, k={k}, s={s}, p={p}, d={d}, output_padding={output_padding}"
        )
    return out


def conv_transpose_crop(k: int, s: int = 1, d: int = 1, padding: str = "valid") -> int:
    """Where Keras' transposed convolution starts in the full one (``output_padding=None``).

    The full transposed convolution of ``n`` inputs (each stamps the dilated kernel, ``s``
    apart) has ``(n - 1) s + k_eff`` positions. Keras keeps :func:`conv_transpose_output_size`
    of them from this offset on (positions past the end are zeros): 0 for ``"valid"``,
    ``max(k_eff - s, 0) // 2`` for ``"same"`` (the smaller half of the crop on the left/top).

    >>> conv_transpose_crop(4, 2, padding="same"), conv_transpose_crop(5, 2, padding="same")
    (1, 1)
    """
    s, k_eff = check_int("s", s, 1), effective_kernel(k, d)
    mode = padding.lower() if isinstance(padding, str) else None
    if mode not in ("same", "valid"):
        raise ArgumentError(f"padding must be 'valid' or 'same'. Received: padding={padding!r}")
    return max(k_eff - s, 0) // 2 if mode == "same" else 0


def valid_taps(n: int, out: int, k: int, s: int = 1, d: int = 1, left: int = 0) -> int:
    """How many (output position, kernel tap) pairs read a real input pixel, not padding.

    Output ``o``'s tap ``t`` reads input ``o s + t d - left``; of the ``out * k`` pairs, those
    outside ``[0, n)`` multiply zero padding.

    >>> valid_taps(16, 16, 3, left=1)   # "same" 3x3: 2 of the 48 pairs hang over the edges
    46
    """
    n, out, k = check_int("n", n, 1), check_int("out", out, 1), check_int("k", k, 1)
    s, d, left = check_int("s", s, 1), check_int("d", d, 1), check_int("left", left, 0)
    valid = 0
    for t in range(k):
        off = t * d - left  # input index o * s + off must lie in [0, n)
        lo = -(off // s) if off < 0 else 0  # ceil(-off / s)
        hi = min(out - 1, (n - 1 - off) // s) if n - 1 - off >= 0 else -1
        valid += max(0, hi - lo + 1)
    return valid


def rf_step(size, jump, start, k: int, s=1, d: int = 1, left=0):
    """One layer of the receptive-field recursion: the new ``(size, jump, start)``.

    ``size``, ``jump``, ``start``: the field of the layer's input units on the model input;
    ``k``, ``d``: kernel and dilation; ``s``: stride (a Fraction below 1 for transposed
    convolutions and upsampling); ``left``: padding before the first input pixel (negative:
    cropping). Ints in give ints out; Fractions in give Fractions out.

    >>> rf_step(1, 1, 0, 7, 2, left=3)   # ResNet's 7x7/2 stem conv on the image
    (7, 2, -3)
    >>> rf_step(7, 2, -3, 3, 2, left=1)  # then its 3x3/2 max pool
    (11, 4, -5)
    """
    size = _rational("size", size, positive=True)
    jump = _rational("jump", jump, positive=True)
    start = _rational("start", start)
    s, left = _rational("s", s, positive=True), _rational("left", left)
    return size + (effective_kernel(k, d) - 1) * jump, jump * s, start - left * jump


def rf_union(fields: Iterable[tuple]) -> tuple:
    """``(size, start)`` of the union of ``(size, start)`` windows (parallel branches).

    >>> rf_union([(3, -1), (7, -3)])
    (7, -3)
    """
    fields = [(_rational("size", z, positive=True), _rational("start", a)) for z, a in fields]
    if not fields:
        raise ArgumentError("rf_union needs at least one (size, start) window. Received: []")
    lo = min(a for _, a in fields)
    hi = max(a + z - 1 for z, a in fields)
    return hi - lo + 1, lo


def conv_transpose_window(k: int, s: int = 1, d: int = 1, padding: str = "valid") -> tuple:
    """``(k, s, left)`` for :func:`rf_step` of a transposed convolution (an upper bound).

    Each output sees at most ``ceil(k_eff / s)`` input pixels, outputs are ``1/s`` input
    pixels apart, and output 0's first input pixel is ``(k_eff - 1 - crop) // s`` before
    input 0 (``crop``: :func:`conv_transpose_crop`).

    >>> conv_transpose_window(4, 2, padding="same")
    (2, Fraction(1, 2), 1)
    """
    s, k_eff = check_int("s", s, 1), effective_kernel(k, d)
    crop = conv_transpose_crop(k, s, d, padding)
    return -(-k_eff // s), Fraction(1, s), (k_eff - 1 - crop) // s


def upsampling_window(size: int, interpolation: str = "nearest") -> tuple:
    """``(k, s, left)`` for :func:`rf_step` of an upsampling by ``size`` (an upper bound).

    Nearest neighbour copies one input pixel; any other interpolation mixes two neighbours.

    >>> upsampling_window(2), upsampling_window(2, "bilinear")
    ((1, Fraction(1, 2), 0), (2, Fraction(1, 2), 0))
    """
    size = check_int("size", size, 1)
    return (1 if interpolation == "nearest" else 2), Fraction(1, size), 0


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


def receptive_field(layers: Iterable[Sequence], n: int | None = None) -> ReceptiveField:
    """Receptive field of a stack of conv/pool layers along one dimension.

    Each layer is ``(k, s)``, ``(k, s, d)`` or ``(k, s, d, padding)`` with ``padding`` anything
    :func:`padding_amounts` takes (an int pads that much on each side); ``"same"`` needs the
    input size ``n`` (its left padding depends on it). Without padding given, padding is 0.

    >>> receptive_field([(7, 2, 1, 3), (3, 2, 1, 1)])   # ResNet stem: conv 7/2 + pool 3/2
    ReceptiveField(size=11, jump=4, start=-5)
    """
    size, jump, start = 1, 1, 0
    cur = None if n is None else check_int("n", n, 1)
    for i, layer in enumerate(layers):
        spec = tuple(layer)
        if not 2 <= len(spec) <= 4:
            raise ArgumentError(
                f"Each layer is (k, s), (k, s, d) or (k, s, d, padding). "
                f"Received: layer {i} = {layer!r}"
            )
        k, s, d, pad = spec + (1, 0)[len(spec) - 2 :]  # d defaults to 1, padding to 0
        if cur is None and isinstance(pad, str) and pad.lower() == "same":
            raise ArgumentError(
                f"'same' padding depends on the input size; pass n=. Received: layer {i} = "
                f"{layer!r}, n=None"
            )
        left, right = padding_amounts(pad, cur, k, s, d)
        if cur is not None:
            cur = conv_output_size(cur, k, s, (left, right), d)
        size, jump, start = rf_step(size, jump, start, k, s, d, left)
    return ReceptiveField(size, jump, start)
