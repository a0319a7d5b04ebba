"""Cross-check the profile's MACs with XLA's cost analysis (JAX backend, in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent("""
    import json, os
    assert os.environ["KERAS_BACKEND"] == "jax"
    import keras
    from keras import layers as L
    from kerascnn import create_model
    from kerascnn.analysis.xla import compare

    models = [
        create_model("lenet"),
        keras.Sequential([keras.Input((32, 32, 3)), L.Conv2D(16, 3, padding="same"),
                          L.Conv2D(32, 3, strides=2), L.Flatten(), L.Dense(10)], name="convstack"),
        keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3)),
    ]
    print(json.dumps([compare(m) for m in models]))
""")


@pytest.fixture(scope="module")
def comparisons():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return {c["model"]: c for c in json.loads(out.stdout.strip().splitlines()[-1])}


@pytest.mark.jax
def test_xla_flops_agree_with_two_times_macs(comparisons):
    """XLA = 2 x (MACs - MACs over zero padding) + part of the elementwise "other ops"."""
    assert set(comparisons) == {"lenet", "convstack", "mobilenetv2_1.00_96"}
    for name, c in comparisons.items():
        no_pad, xla = c["flops without padding taps"], c["xla_flops"]
        # lower bound: every conv/dense multiply-add inside the input; upper bound: plus at
        # most our count of elementwise work (XLA counts BN as ~1 op/element, we count 2)
        assert no_pad <= xla <= no_pad + c["other_ops"], name
        assert xla / no_pad == pytest.approx(1.0, abs=0.025), name
    # convs and dense only, bias adds fused: XLA's count is exactly ours without padding taps
    assert (
        comparisons["convstack"]["xla_flops"]
        == comparisons["convstack"]["flops without padding taps"]
    )
    # stated tolerance on 2 x MACs itself: within 2% where padding is a small share of the work
    assert comparisons["lenet"]["xla / (2 x MACs)"] == pytest.approx(1.0, abs=0.02)
    assert comparisons["mobilenetv2_1.00_96"]["xla / (2 x MACs)"] == pytest.approx(1.0, abs=0.02)
    # (ResNet-50 at 64x64, measured once: XLA / 2 x MACs = 0.875, because its last maps are
    # 2x2 and 13% of the 3x3 taps hit padding; XLA / no-padding flops = 1.006.)


def test_xla_cost_needs_the_jax_backend():
    import keras

    from kerascnn.analysis.xla import xla_cost
    from kerascnn.errors import ArgumentError

    if keras.backend.backend() == "jax":
        pytest.skip("this process runs on JAX")
    with pytest.raises(ArgumentError, match=r"KERAS_BACKEND=jax.*Received: backend="):
        xla_cost(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
