"""Calculators for the lessons: output sizes, padding, parameter counts, costs, receptive fields.

Pure Python (no Keras). The geometry (output sizes, padding, receptive fields) is
:mod:`kerascnn.geometry`, re-exported here under the same names; this module adds the
parameter counts and costs. Every function validates its arguments and raises
:class:`kerascnn.errors.ArgumentError` (a ``ValueError``) ending in ``Received: ...``.

- parameters of a (grouped) convolution: ``prod(k) * c_in / groups * c_out (+ c_out bias)``;
- depthwise-separable pair: ``prod(k) * c_in * m + c_in * m * c_out (+ c_out)``;
- MACs of a convolution: ``prod(out) * c_out * prod(k) * c_in / groups``; the separable /
  standard cost ratio ``1 / c_out + 1 / prod(k)`` (MobileNets, Howard et al. 2017, eq. 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kerascnn.errors import ArgumentError
from kerascnn.geometry import (
    ReceptiveField,
    check_int,
    conv_output_size,
    conv_transpose_crop,
    conv_transpose_output_size,
    effective_kernel,
    padding_amounts,
    pool_output_size,
    receptive_field,
    same_padding,
)

__all__ = [
    "effective_kernel",
    "conv_output_size",
    "pool_output_size",
    "same_padding",
    "padding_amounts",
    "conv_transpose_output_size",
    "conv_transpose_crop",
    "conv_params",
    "depthwise_separable_params",
    "separable_cost_ratio",
    "conv_macs",
    "ReceptiveField",
    "receptive_field",
]


def _kernel(k) -> tuple[int, ...]:
    ks = (k, k) if isinstance(k, int) else tuple(k)
    return tuple(check_int("kernel_size", v, 1) for v in ks)


def _groups(c_in, c_out, groups) -> tuple[int, int, int]:
    c_in, c_out = check_int("c_in", c_in, 1), check_int("c_out", c_out, 1)
    groups = check_int("groups", groups, 1)
    if c_in % groups or c_out % groups:
        raise ArgumentError(
            f"c_in and c_out must both be divisible by groups. "
            f"Received: c_in={c_in}, c_out={c_out}, groups={groups}"
        )
    return c_in, c_out, groups


def conv_params(c_in: int, c_out: int, k=3, *, groups: int = 1, bias: bool = True) -> int:
    """Parameters of a (grouped) convolution: ``prod(k) * c_in/groups * c_out (+ c_out)``.

    ``k`` is an int (square kernel) or a tuple.

    >>> conv_params(64, 128, 3)
    73856
    >>> conv_params(64, 128, 3, groups=4, bias=False)
    18432
    """
    c_in, c_out, groups = _groups(c_in, c_out, groups)
    return math.prod(_kernel(k)) * (c_in // groups) * c_out + (c_out if bias else 0)


def depthwise_separable_params(
    c_in: int, c_out: int, k=3, *, depth_multiplier: int = 1, bias: bool = True
) -> int:
    """Parameters of a depthwise (k x k, no bias) + pointwise (1 x 1) convolution pair.

    ``bias`` adds the pointwise bias (Keras ``SeparableConv2D``'s one bias vector).

    >>> depthwise_separable_params(64, 128, 3, bias=False)
    8768
    """
    c_in, c_out = check_int("c_in", c_in, 1), check_int("c_out", c_out, 1)
    m = check_int("depth_multiplier", depth_multiplier, 1)
    return math.prod(_kernel(k)) * c_in * m + c_in * m * c_out + (c_out if bias else 0)


def separable_cost_ratio(c_out: int, k=3) -> float:
    """MACs of depthwise-separable / standard convolution: ``1/c_out + 1/k^2``.

    (MobileNets, Howard et al. 2017, eq. 5; ``k^2`` is ``prod(k)`` for a non-square kernel.)

    >>> round(separable_cost_ratio(256, 3), 4)
    0.115
    """
    c_out = check_int("c_out", c_out, 1)
    return 1.0 / c_out + 1.0 / math.prod(_kernel(k))


def conv_macs(out_size: Sequence[int], c_in: int, c_out: int, k=3, *, groups: int = 1) -> int:
    """Multiply-accumulates of a (grouped) convolution producing ``out_size`` positions."""
    outs = tuple(check_int("out_size", v, 1) for v in out_size)
    c_in, c_out, groups = _groups(c_in, c_out, groups)
    return math.prod(outs) * c_out * math.prod(_kernel(k)) * (c_in // groups)
