"""DilatedContextBlock: stacked k x k dilated convolutions with growing rates."""

from __future__ import annotations

import itertools

import keras

from kerascnn.blocks import dilated_context_block
from kerascnn.geometry import effective_kernel
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class DilatedContextBlock(BlockLayer):
    """A stack of "same"-padded dilated convs: the context module of Yu & Koltun.

    The layer form of :func:`kerascnn.blocks.dilated_context_block`. From Yu & Koltun,
    "Multi-Scale Context Aggregation by Dilated Convolutions" (ICLR 2016). Stacking k x k convs
    with rates d_1, d_2, ... gives a receptive field of ``1 + sum_i (k - 1) d_i``: with k = 3 and
    rates (1, 2, 4) the fields after each conv are **3, 7 and 15** pixels
    (``cumulative_receptive_fields()``): the field grows exponentially with depth while the
    resolution and the cost per conv stay constant.

    Example::

        >>> import numpy as np
        >>> block = DilatedContextBlock(16, rates=(1, 2, 4))
        >>> block.cumulative_receptive_fields()
        (3, 7, 15)
        >>> tuple(block(np.zeros((1, 32, 32, 3), "float32")).shape)
        (1, 32, 32, 16)
    """

    block = staticmethod(dilated_context_block)

    def cumulative_receptive_fields(self) -> tuple[int, ...]:
        """Receptive field (pixels along one axis) after each conv: ``1 + sum (k - 1) d_i``."""
        spans = (effective_kernel(self.kernel_size, r) - 1 for r in self.rates)
        return tuple(1 + s for s in itertools.accumulate(spans))
