"""Random values in the weights of a model, BatchNorm statistics included, so that a wrong or
partial load shows in the outputs (a freshly built BN layer is the identity at inference)."""

import numpy as np


def randomize(model, seed=0, std=0.05, kernels=True):
    """Every variable of ``model`` drawn anew: scales and variances in [0.5, 1.5], shifts, means
    and biases ~ N(0, 0.1), kernels ~ N(0, std) (left as they are with ``kernels=False``)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        leaf = w.path.rsplit("/", 1)[-1]
        if leaf in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, w.shape)
        elif leaf in ("beta", "moving_mean", "bias"):
            value = rng.normal(0.0, 0.1, w.shape)
        elif kernels:
            value = rng.normal(0.0, std, w.shape)
        else:
            continue
        w.assign(value.astype(w.dtype))
