"""Model analysis: per-layer profile (shapes, params, MACs, receptive field, memory) and calculators.

    >>> from kerascnn.analysis import profile
    >>> prof = profile(model)
    >>> prof.total_macs, prof.total_params
    >>> print(prof.to_markdown())

MACs are the multiply-accumulates of conv/dense/depthwise layers per sample (torchvision/timm
"GFLOPS"/GMACs); FLOPs = 2 x MACs; BatchNorm, activations, pooling and adds are "other ops".
See :mod:`kerascnn.analysis.profile` for the full conventions and :mod:`kerascnn.analysis.calc`
for the calculators used in the lessons; every output-size, padding and receptive-field formula
is :mod:`kerascnn.geometry`'s.
"""

from kerascnn.analysis import calc
from kerascnn.analysis.profile import LayerProfile, ModelProfile, profile

__all__ = ["profile", "ModelProfile", "LayerProfile", "calc"]
