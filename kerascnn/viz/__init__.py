"""Pictures for lessons and reports. Each ``plot_*`` returns a matplotlib Figure (Agg) and,
given ``path=...png``, saves it.

Modules, by topic: :mod:`~kerascnn.viz.canvas` (figure helpers), :mod:`~kerascnn.viz.kernels`
(learned kernels, feature maps), :mod:`~kerascnn.viz.evaluation` (confusion matrix, training
curves), :mod:`~kerascnn.viz.operations` (padding modes, dilation, augmentations) and
:mod:`~kerascnn.viz.quick` (a model trained in seconds for the pictures).
"""

from kerascnn.viz.canvas import new_figure, save_figure
from kerascnn.viz.evaluation import confusion_matrix, plot_confusion_matrix, plot_training_curves
from kerascnn.viz.kernels import conv_layers, first_conv_layer, plot_feature_maps, plot_kernels
from kerascnn.viz.operations import (
    PADDING_MODES,
    default_augmentations,
    dilation_footprints,
    pad_image,
    plot_augmentations,
    plot_dilation,
    plot_padding_modes,
)
from kerascnn.viz.quick import to_float, train_quick

__all__ = [
    "PADDING_MODES",
    "confusion_matrix",
    "conv_layers",
    "default_augmentations",
    "dilation_footprints",
    "first_conv_layer",
    "new_figure",
    "pad_image",
    "plot_augmentations",
    "plot_confusion_matrix",
    "plot_dilation",
    "plot_feature_maps",
    "plot_kernels",
    "plot_padding_modes",
    "plot_training_curves",
    "save_figure",
    "to_float",
    "train_quick",
]
