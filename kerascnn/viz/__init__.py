"""Pictures for lessons and reports. Each function returns a matplotlib Figure (Agg) and,
given ``path=...png``, saves it. See :mod:`kerascnn.viz.figures`."""

from kerascnn.viz.figures import (
    PADDING_MODES,
    confusion_matrix,
    conv_layers,
    default_augmentations,
    dilation_footprints,
    first_conv_layer,
    new_figure,
    pad_image,
    plot_augmentations,
    plot_confusion_matrix,
    plot_dilation,
    plot_feature_maps,
    plot_kernels,
    plot_padding_modes,
    plot_training_curves,
    save_figure,
)
from kerascnn.viz.quick import to_float, train_quick

__all__ = [
    "PADDING_MODES", "confusion_matrix", "conv_layers", "default_augmentations",
    "dilation_footprints", "first_conv_layer", "new_figure", "pad_image", "plot_augmentations",
    "plot_confusion_matrix", "plot_dilation", "plot_feature_maps", "plot_kernels",
    "plot_padding_modes", "plot_training_curves", "save_figure", "to_float", "train_quick",
]
