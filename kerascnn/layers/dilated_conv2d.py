"""DilatedConv2D: a convolution whose kernel taps are ``dilation_rate`` pixels apart."""

from __future__ import annotations

import keras

from kerascnn.blocks import dilated_conv
from kerascnn.geometry import effective_kernel
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class DilatedConv2D(BlockLayer):
    """Dilated (atrous) convolution: a larger receptive field at the same cost.

    The layer form of :func:`kerascnn.blocks.dilated_conv`. From Yu & Koltun, "Multi-Scale
    Context Aggregation by Dilated Convolutions" (ICLR 2016). A k x k kernel with dilation d
    samples the input every d pixels, so it spans an **effective kernel of k + (k - 1)(d - 1)**
    pixels (3x3 with d = 2 spans 5x5, d = 4 spans 9x9) with the parameters and MACs of a k x k
    conv. Stride is always 1 (Keras does not combine strides > 1 with dilation > 1).

    Example::

        >>> import numpy as np
        >>> conv = DilatedConv2D(8, 3, dilation_rate=2, padding="valid")
        >>> conv.effective_kernel_size
        (5, 5)
        >>> tuple(conv(np.zeros((1, 9, 9, 3), "float32")).shape)
        (1, 5, 5, 8)
    """

    block = staticmethod(dilated_conv)

    @property
    def effective_kernel_size(self) -> tuple[int, int]:
        """(height, width) spanned by the dilated kernel: ``k + (k - 1)(d - 1)`` per axis."""
        return tuple(effective_kernel(k, d) for k, d in zip(self.kernel_size, self.dilation_rate))
