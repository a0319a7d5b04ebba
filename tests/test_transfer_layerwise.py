"""Partial freezing and layer-wise learning rates of the transfer experiment (issue 14)."""

import keras
import numpy as np
import pytest

from kerascnn.errors import ArgumentError
from kerascnn.experiments.transfer import (
    STAGE_DECAY,
    LayerwiseAdam,
    backbone,
    freeze_stages,
    stage_multipliers,
    with_head,
)


def _two_layers():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="low")(inputs)
    x = keras.layers.Dense(3, name="low_extra")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="top")(x))


def test_each_variable_steps_at_its_multiple_of_the_rate(tmp_path):
    model = _two_layers()
    before = [w.copy() for w in model.get_weights()]
    # the longest matching prefix wins: "low_extra" over "low"; "top" has none (1)
    optimizer = LayerwiseAdam(1e-2, lr_multipliers={"low": 0.1, "low_extra": 0.0})
    model.compile(optimizer, "mse")
    x = np.random.default_rng(0).uniform(size=(8, 4))
    model.fit(x, x[:, :2], batch_size=8, epochs=1, verbose=0)
    step = [np.abs(a - b).max() for a, b in zip(model.get_weights(), before)]
    # Adam's first step moves every weight with a gradient by the rate itself (m / sqrt(v) = 1)
    np.testing.assert_allclose(step, [1e-3, 1e-3, 0.0, 0.0, 1e-2, 1e-2], rtol=1e-3, atol=1e-9)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras").optimizer
    assert isinstance(loaded, LayerwiseAdam) and loaded.lr_multipliers == optimizer.lr_multipliers


@pytest.mark.parametrize("bad", [{"low": -1}, {"low": "x"}, {"low": True}])
def test_bad_multipliers_are_named(bad):
    with pytest.raises(ArgumentError, match="Received"):
        LayerwiseAdam(lr_multipliers=bad)


def test_stage_rates_fall_by_the_decay_and_freezing_keeps_the_top_stage():
    assert stage_multipliers() == pytest.approx(
        {"backbone_3": STAGE_DECAY, "backbone_2": STAGE_DECAY**2, "backbone_1": STAGE_DECAY**3}
    )
    base = backbone((28, 28, 1))
    freeze_stages(base, (1, 2))
    model = with_head(base, 5, "t")
    trainable = {w.path.split("/")[0] for w in model.trainable_weights}
    assert trainable == {"backbone_3_conv", "backbone_3_bn", "t_head"}
