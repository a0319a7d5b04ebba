"""SpatiallySeparableConv2D: a k x 1 convolution followed by a 1 x k convolution."""

from __future__ import annotations

import keras

from kerascnn.blocks import spatially_separable_block
from kerascnn.layers.block_layer import BlockLayer


@keras.saving.register_keras_serializable(package="kerascnn")
class SpatiallySeparableConv2D(BlockLayer):
    """A k x k convolution factorized into k x 1 then 1 x k (the same k x k receptive field).

    The layer form of :func:`kerascnn.blocks.spatially_separable_block`. From Szegedy et al.,
    "Rethinking the Inception Architecture for Computer Vision" (2016), section 3.2 ("spatial
    factorization into asymmetric convolutions"): two thin convs cost ``2k`` weights per
    channel pair instead of ``k^2`` (for k = 7: 14 vs 49). The stride is split the same way,
    (s, 1) then (1, s), so the output has the shape of a k x k conv with stride s.

    Example::

        >>> import numpy as np
        >>> layer = SpatiallySeparableConv2D(32, 7, use_bn=True, activation="relu",
        ...                                  intermediate_activation="relu")
        >>> tuple(layer(np.zeros((1, 17, 17, 16), "float32")).shape)
        (1, 17, 17, 32)
    """

    block = staticmethod(spatially_separable_block)
