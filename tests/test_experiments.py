"""Every experiment runs in fast mode and writes its report (README table, PNG, results.json)."""

import json

import pytest

from kerascnn.errors import ArgumentError
from kerascnn.experiments import EXPERIMENTS, run_experiment

EXPECTED_PNGS = {
    "optimizers": ["loss_curves.png"],
    "init": ["init.png"],
    "overfitting": ["overfitting.png"],
    "hparam": ["search.png"],
    "transfer": ["transfer.png"],
    "tta": ["tta.png"],
    "fgsm": ["accuracy_vs_epsilon.png", "examples.png"],
    "depth": ["training_curves.png", "error_vs_depth.png"],
}

# one row per optimizer / (init, BN) pair / regularizer / trial / transfer method / view + 2 TTA /
# epsilon / (depth, plain or residual)
EXPECTED_ROWS = {
    "optimizers": 4,
    "init": 6,
    "overfitting": 3,
    "hparam": 2,
    "transfer": 5,
    "tta": 8,
    "fgsm": 3,
    "depth": 4,
}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_fast_report(name, tmp_path):
    result = run_experiment(name, tmp_path / name, fast=True, seed=0)
    out = tmp_path / name
    readme = (out / "README.md").read_text()
    assert readme.startswith("# ")
    assert "| " in readme and "---" in readme  # a markdown table
    for png in EXPECTED_PNGS[name]:
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
        assert f"]({png})" in readme
    results = json.loads((out / "results.json").read_text())
    assert results["experiment"] == name and results["settings"]["fast"] is True
    assert results["rows"] == json.loads(json.dumps(result.rows, default=float))
    assert len(results["rows"]) == EXPECTED_ROWS[name]
    # every finding is in the README, and every accuracy in the table is a probability
    for finding in result.findings:
        assert finding in readme
    for row in results["rows"]:
        for key, value in row.items():
            if "accuracy" in key:
                assert 0.0 <= value <= 1.0


def test_unknown_experiment_is_a_friendly_error(tmp_path):
    with pytest.raises(ArgumentError, match=r"Received: name='nope'"):
        run_experiment("nope", tmp_path)
    with pytest.raises(ArgumentError, match=r"Received: seed=-1"):
        run_experiment("optimizers", tmp_path, seed=-1)
    assert not any(tmp_path.iterdir())  # nothing ran, nothing written


def _tiny_softmax(n):
    """A seeded 4x4 -> 3-class softmax classifier and ``n`` images in (0.2, 0.8) with labels."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    x = np.random.default_rng(0).uniform(0.2, 0.8, (n, 4, 4, 1)).astype("float32")
    return model, x, np.arange(n) % 3


def test_fgsm_gradient_points_uphill():
    """A step along sign(grad) raises the loss; a step against it lowers it (linear model)."""
    import keras
    import numpy as np

    from kerascnn.experiments.fgsm import fgsm, input_gradient

    model, x, y = _tiny_softmax(8)

    def loss(v):
        return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(v))))

    g = input_gradient(model, x, y)
    assert g.shape == x.shape and np.abs(g).sum() > 0
    assert loss(fgsm(model, x, y, 0.05)) > loss(x) > loss(np.clip(x - 0.05 * np.sign(g), 0, 1))
    assert np.abs(fgsm(model, x, y, 0.05) - x).max() <= 0.05 + 1e-6


def test_fgsm_accuracy_vs_epsilon_has_a_random_sign_control():
    """One row per epsilon; at 0 both columns are the clean accuracy; each adversarial batch
    stays within eps of x. The full run starts at the course's 0.005."""
    import numpy as np

    from kerascnn.experiments._common import accuracy
    from kerascnn.experiments.fgsm import EPSILONS, accuracy_vs_epsilon

    assert EPSILONS[:3] == (0.0, 0.005, 0.01)
    model, x, y = _tiny_softmax(12)
    rows, adv = accuracy_vs_epsilon(model, x, y, (0.0, 0.005, 0.2), seed=0)
    assert [r["epsilon"] for r in rows] == [0.0, 0.005, 0.2] and sorted(adv) == [0.0, 0.005, 0.2]
    clean = accuracy(model, x, y)
    assert rows[0]["FGSM accuracy"] == rows[0]["random-sign noise accuracy"] == clean
    for eps, a in adv.items():
        assert np.abs(a - x).max() <= eps + 1e-6
    assert rows[2]["FGSM accuracy"] <= rows[0]["FGSM accuracy"]


def test_tta_train_augmented_augments_only_in_training():
    import numpy as np

    from kerascnn.experiments._common import load_data
    from kerascnn.experiments.tta import train_augmented

    data = load_data("fashion_mnist_mini", train=64, test=8, seed=0)
    model = train_augmented(data, seed=0, epochs=1)
    kinds = {type(la).__name__ for la in model.layers}
    assert {"RandomFlip", "RandomTranslation"} <= kinds
    a, b = (np.asarray(model(data.x_test, training=False)) for _ in range(2))
    assert np.array_equal(a, b) and np.allclose(a.sum(-1), 1.0, atol=1e-5)


def test_tta_shift_moves_pixels():
    import numpy as np

    from kerascnn.experiments.tta import shift

    x = np.zeros((1, 5, 5, 1), "float32")
    x[0, 2, 2, 0] = 1
    assert shift(x, 0, 2)[0, 2, 4, 0] == 1 and shift(x, -2, 0)[0, 0, 2, 0] == 1
    assert shift(x, 0, 3).sum() == 0  # shifted out of the frame


def test_cli_takes_names_and_texts_from_the_experiments_package():
    """`kerascnn experiment` offers exactly EXPERIMENTS, with their texts in --help."""
    from click.testing import CliRunner

    from kerascnn.cli import main

    command = main.get_command(None, "experiment")
    (name_param,) = [p for p in command.params if p.name == "name"]
    assert list(name_param.type.choices) == list(EXPERIMENTS)
    help_text = " ".join(CliRunner().invoke(main, ["experiment", "--help"]).output.split())
    for name, experiment in EXPERIMENTS.items():
        assert f"{name} {experiment.summary}" in help_text
    result = CliRunner().invoke(main, ["experiment", "nope"])
    assert result.exit_code == 2 and "optimizers" in result.output  # click's usage error


# ------------------------------------------------------------------ where a run writes


def test_default_out_dir_is_fresh_and_outside_the_published_reports(tmp_path):
    from datetime import UTC, datetime

    from kerascnn.experiments import PUBLISHED, RUNS_ROOT, default_out_dir

    assert RUNS_ROOT.parts[:2] == ("reports", "runs")  # git ignores /reports/runs/
    assert PUBLISHED == RUNS_ROOT.parent.parent / "experiments"
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = default_out_dir("fgsm", root=tmp_path, now=now)
    assert first == tmp_path / "fgsm-20260102T030405Z"
    first.mkdir()
    assert default_out_dir("fgsm", root=tmp_path, now=now) == tmp_path / "fgsm-20260102T030405Z-2"
    assert default_out_dir("fgsm").parent == RUNS_ROOT


def test_cli_default_run_leaves_the_published_report_alone(tmp_path):
    """`kerascnn experiment NAME` writes a fresh run folder; only --out rewrites the published."""
    from pathlib import Path

    from click.testing import CliRunner

    from kerascnn.cli import main

    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        published = Path("reports/experiments/fgsm")
        published.mkdir(parents=True)
        (published / "README.md").write_text("published\n")
        res = runner.invoke(main, ["experiment", "fgsm", "--fast"])  # the fastest
        assert res.exit_code == 0, res.output
        assert (published / "README.md").read_text() == "published\n"
        assert sorted(p.name for p in published.iterdir()) == ["README.md"]
        (run,) = Path("reports/runs/experiments").iterdir()
        assert run.name.startswith("fgsm-") and run.name.endswith("Z")
        assert f"wrote reports/runs/experiments/{run.name}/README.md" in res.output
        readme = (run / "README.md").read_text()
        assert f"--fast --seed 0 --out reports/runs/experiments/{run.name}`" in readme


def test_fgsm_perturbation_has_a_centred_diverging_scale_and_a_colorbar():
    import numpy as np

    from kerascnn.experiments.fgsm import examples_figure

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (2, 8, 8, 1)).astype("float32")
    adv = np.clip(x + 0.1 * np.sign(rng.normal(size=x.shape)), 0, 1).astype("float32")
    p = rng.dirichlet(np.ones(3), 2)
    fig = examples_figure(x, adv, p, p[::-1], np.array([0, 1]), ["a", "b", "c"], 0.1)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 6 and len(fig.axes) == 7  # 2 rows x 3 panels + one colorbar
    middle = [ax.images[0] for ax in panels[1::3]]
    for im in middle:
        assert im.get_clim() == (-0.1, 0.1) and im.get_cmap().name == "RdBu_r"
    assert all(ax.images[0].get_clim() == (0.0, 1.0) for ax in panels[0::3] + panels[2::3])
    (bar,) = [ax for ax in fig.axes if not ax.images]
    assert "pixel change" in bar.get_ylabel()


# ------------------------------------------------------------------ depth: plain vs residual


def test_depth_plain_net_is_the_residual_net_without_shortcuts():
    """Same convs (names, kernels, strides, padding) and BN; the residual net adds only the
    additions and the 1x1 projections where the channels change."""
    import keras

    from kerascnn.experiments.depth import build_net

    nets = {kind: build_net(14, kind, (28, 28, 1), 10) for kind in ("plain", "residual")}

    def convs(model, prefix):
        return {
            la.name.removeprefix(prefix): (la.kernel.shape, la.strides, la.padding, la.use_bias)
            for la in model.layers
            if isinstance(la, keras.layers.Conv2D)
        }

    plain, residual = convs(nets["plain"], "plain14"), convs(nets["residual"], "residual14")
    projections = {k: v for k, v in residual.items() if k.endswith("_0_conv")}
    assert sorted(projections) == ["_s2_b1_0_conv", "_s3_b1_0_conv"]  # 8 -> 16 -> 32 channels
    assert {k: v for k, v in residual.items() if k not in projections} == plain
    # weighted layers: stem + 3 stages x 2 blocks x 2 convs + the classifier = 14
    assert len(plain) + 1 == 14
    for kind, model in nets.items():
        pads = [
            la.name.split(kind + "14")[1]
            for la in model.layers
            if "ZeroPadding" in type(la).__name__
        ]
        assert pads == ["_s2_b1_1_pad", "_s3_b1_1_pad"], kind  # strided convs padded by 1
        adds = sum(isinstance(la, keras.layers.Add) for la in model.layers)
        assert adds == (6 if kind == "residual" else 0)
        assert model.output_shape == (None, 10)
    # the two 1x1 projections (no bias) and their BN (4 values per channel) are the difference
    extra = (8 * 16 + 4 * 16) + (16 * 32 + 4 * 32)
    assert nets["residual"].count_params() - nets["plain"].count_params() == extra


def test_depth_rejects_a_depth_that_is_not_6n_plus_2():
    from kerascnn.experiments.depth import blocks_per_stage, build_net

    assert [blocks_per_stage(d) for d in (8, 20, 32, 56)] == [1, 3, 5, 9]
    for bad in (2, 9, 18, 8.0, True):
        with pytest.raises(ArgumentError, match=rf"Received: depth={bad!r}$"):
            blocks_per_stage(bad)
    with pytest.raises(ArgumentError, match=r"Received: kind='wide'$"):
        build_net(8, "wide", (28, 28, 1), 10)


def test_depth_full_run_reads_the_full_fashion_mnist():
    from kerascnn.experiments.depth import run_dataset

    assert run_dataset("fashion_mnist_mini", fast=False) == "fashion_mnist"
    assert run_dataset("fashion_mnist_mini", fast=True) == "fashion_mnist_mini"
    assert run_dataset("cifar10", fast=False) == "cifar10"


def _depth_rows(errors):
    return [
        {"depth": d, "kind": k, "final train error": e, "test error": e + 0.01}
        for (k, d), e in errors.items()
    ]


def test_depth_verdict_is_measured_and_only_in_full_mode():
    from kerascnn.experiments.depth import PLANS, _findings, degradation

    shown = _depth_rows(
        {("plain", 8): 0.10, ("residual", 8): 0.10, ("plain", 32): 0.15, ("residual", 32): 0.08}
    )
    degr = degradation(shown)
    assert degr == {
        "shallow": 8,
        "deep": 32,
        "plain_deep_worse": True,
        "residual_deep_not_worse": True,
        "showed": True,
    }
    full = _findings(shown, degr, False, PLANS[False], 1000)
    assert full[-1].startswith("The degradation showed in this run")
    assert "0.1500 is above the 8-layer plain net's 0.1000 (+0.0500)" in full[-1]
    fast = _findings(shown, degr, True, PLANS[True], 256)
    assert not any("degradation showed" in f for f in fast)
    assert "smoke run" in fast[-1]

    not_shown = _depth_rows(
        {("plain", 8): 0.10, ("residual", 8): 0.10, ("plain", 32): 0.09, ("residual", 32): 0.08}
    )
    degr = degradation(not_shown)
    assert degr["showed"] is False and degr["plain_deep_worse"] is False
    verdict = _findings(not_shown, degr, False, PLANS[False], 1000)[-1]
    assert verdict.startswith("The degradation did not show") and "is not above" in verdict
