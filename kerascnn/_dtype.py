"""One way to build under a Keras dtype policy and put the previous one back."""

from __future__ import annotations

import contextlib

import keras


@contextlib.contextmanager
def dtype_policy_scope(policy):
    """Layers created inside take ``policy`` (Keras reads the global policy when a layer is
    made); the policy in force before is restored on the way out, error or not."""
    old = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(old)
