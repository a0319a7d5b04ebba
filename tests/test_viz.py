"""Pictures: files are written, non-empty PNGs, with the expected number of panels."""

import numpy as np
import pytest

from kerascnn import viz
from kerascnn.errors import ArgumentError
from kerascnn.layers.padding2d import MODES


def is_png(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


@pytest.fixture(scope="module")
def trained():
    net, ds, history = viz.train_quick("lenet", epochs=1, samples=256)
    return net, ds, history


def test_kernels_one_panel_per_filter(trained, tmp_path):
    net, _, _ = trained
    fig = viz.plot_kernels(net, path=tmp_path / "k.png")
    assert len(fig.axes) == 6 + 1  # LeNet's first conv has 6 filters; a colorbar
    assert is_png(tmp_path / "k.png")
    rgb = np.random.default_rng(0).normal(size=(3, 3, 3, 10))
    assert len(viz.plot_kernels(rgb, max_filters=4).axes) == 4  # RGB: no colorbar


def test_signed_kernels_share_a_diverging_scale_centred_at_zero():
    kernel = np.zeros((3, 3, 2, 4), dtype="float32")
    kernel[0, 0, :, 1] = -0.5  # the largest |weight| (channel mean -0.5)
    kernel[1, 1, :, 2] = 0.2
    fig = viz.plot_kernels(kernel)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 4 and len(fig.axes) == 5  # 4 kernels + the colorbar
    for im in images:
        assert im.get_clim() == (-0.5, 0.5) and im.get_cmap().name == "RdBu_r"
    np.testing.assert_allclose(images[2].get_array()[1, 1], 0.2)  # the weight, not rescaled


def test_feature_maps_rows_per_conv_layer(trained, tmp_path):
    net, ds, _ = trained
    fig = viz.plot_feature_maps(net, ds.x_test[0], max_channels=8, path=tmp_path / "f.png")
    # input + conv1 (6 channels) + conv2 (first 8 of 16) + one colorbar per conv layer
    assert len(fig.axes) == 1 + 6 + 8 + 2
    for ax in fig.axes[1:]:  # one scale per row: signed rows centred at 0
        if ax.images:
            lo, hi = ax.images[0].get_clim()
            assert lo == 0.0 or lo == -hi
    assert is_png(tmp_path / "f.png")


def test_confusion_matrix_counts_and_figure(trained, tmp_path):
    cm = viz.confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    scores = np.eye(3)[[0, 2, 1, 2]]
    np.testing.assert_array_equal(viz.confusion_matrix([0, 1, 1, 2], scores, 3), cm)
    net, ds, _ = trained
    fig = viz.plot_confusion_matrix(
        ds.y_test[:50],
        np.asarray(net(viz.to_float(ds.x_test[:50]))),
        ds.class_names,
        normalize=True,
        path=tmp_path / "c.png",
    )
    assert len(fig.axes) == 2  # the matrix and its colorbar
    assert is_png(tmp_path / "c.png")
    with pytest.raises(ArgumentError, match="Received: y_true=2 samples, y_pred=3 samples"):
        viz.confusion_matrix([0, 1], [0, 1, 1])


def test_padding_modes(tmp_path):
    img = np.arange(16, dtype="float32").reshape(4, 4) / 16
    for mode in viz.PADDING_MODES:
        out = viz.pad_image(img, 2, mode)
        assert out.shape == (8, 8)
        np.testing.assert_allclose(out[2:6, 2:6], img)  # the original sits in the middle
    np.testing.assert_allclose(viz.pad_image(img, 1, "zero")[0], 0.0)
    np.testing.assert_allclose(viz.pad_image(img, 1, "replicate")[1:5, 0], img[:, 0])
    np.testing.assert_allclose(viz.pad_image(img, 1, "wrap")[1:5, 0], img[:, -1])
    np.testing.assert_allclose(viz.pad_image(img, 1, "reflect")[1:5, 0], img[:, 1])
    np.testing.assert_allclose(viz.pad_image(img, 1, "symmetric")[1:5, 0], img[:, 0])
    fig = viz.plot_padding_modes(img, pad=2, path=tmp_path / "p.png")
    assert len(fig.axes) == 1 + len(viz.PADDING_MODES)
    assert is_png(tmp_path / "p.png")
    with pytest.raises(ArgumentError, match="Received: mode='mirror'"):
        viz.pad_image(img, 1, "mirror")
    with pytest.raises(ArgumentError, match="Received: pad=-1"):
        viz.pad_image(img, -1, "zero")
    # the constant mode fills with `value`; the picture comes from the Padding2D layer itself
    np.testing.assert_allclose(viz.pad_image(img, 1, "constant", value=0.25)[0], 0.25)
    assert viz.PADDING_MODES == MODES


def test_bad_arguments_are_argument_errors(trained):
    net, ds, _ = trained
    with pytest.raises(ArgumentError, match="Received: max_channels=0"):
        viz.plot_feature_maps(net, ds.x_test[0], max_channels=0)
    with pytest.raises(ArgumentError, match="Received: max_filters=0"):
        viz.plot_kernels(net, max_filters=0)
    with pytest.raises(ArgumentError, match=r"Received: rates=\(1, 0\)"):
        viz.dilation_footprints((1, 0))
    with pytest.raises(ArgumentError, match="Received: kernel_size=0"):
        viz.dilation_footprints((1, 2), kernel_size=0)
    with pytest.raises(ArgumentError, match=r"Received: range \[0, 3\]"):
        viz.confusion_matrix([0, 1], [3, 1], 3)
    with pytest.raises(ArgumentError, match="Received: samples=0"):
        viz.train_quick("lenet", samples=0)


def test_dilation_receptive_fields(tmp_path):
    fps = viz.dilation_footprints((1, 2, 4))
    extents = {}
    for key, fp in fps.items():
        rows, cols = np.nonzero(fp)
        extents[key] = rows.max() - rows.min() + 1
    # one 3x3 layer spans r*(k-1)+1; the stack spans 1 + sum(r*(k-1)) = 15
    assert extents == {"rate 1": 3, "rate 2": 5, "rate 4": 9, "stack 1,2,4": 15}
    assert all((fps[f"rate {r}"] > 0).sum() == 9 for r in (1, 2, 4))  # always 9 taps
    assert (fps["stack 1,2,4"] > 0).sum() == 15 * 15  # the stack covers every pixel: no gaps
    fig = viz.plot_dilation((1, 2, 4), path=tmp_path / "d.png")
    assert len(fig.axes) == 4
    assert is_png(tmp_path / "d.png")


def test_augmentations_grid(tmp_path):
    imgs = (np.random.default_rng(0).uniform(size=(2, 28, 28, 1)) * 255).astype("uint8")
    fig = viz.plot_augmentations(imgs, path=tmp_path / "a.png")
    assert len(fig.axes) == 2 * (1 + len(viz.default_augmentations()))
    assert is_png(tmp_path / "a.png")


def test_training_curves_from_history_and_dicts(trained, tmp_path):
    _, _, history = trained
    fig = viz.plot_training_curves(history, path=tmp_path / "t.png")
    assert len(fig.axes) == 2  # loss and accuracy, val_ drawn in the same panels
    assert is_png(tmp_path / "t.png")
    runs = {"a": {"loss": [1.0, 0.5]}, "b": {"loss": [1.2, 0.7], "val_loss": [1.3, 0.9]}}
    assert len(viz.plot_training_curves(runs).axes) == 1
    with pytest.raises(ArgumentError, match="Received"):
        viz.plot_training_curves({})
    with pytest.raises(ArgumentError, match="Received: path="):
        viz.save_figure(fig, tmp_path / "t.jpg")


def test_cli_viz_commands_write_pngs(tmp_path):
    from click.testing import CliRunner

    from kerascnn.cli import main

    runner = CliRunner()
    for args in (
        ["padding", "--pad", "3"],
        ["dilation", "--rates", "1,2"],
        ["augment", "--n", "2"],
        ["kernels", "--epochs", "0"],
        ["feature-maps", "--epochs", "0", "--index", "3"],
        ["confusion", "--epochs", "0"],
    ):
        out = tmp_path / f"{args[0]}.png"
        result = runner.invoke(main, ["viz", *args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert is_png(out)
    bad = runner.invoke(
        main, ["viz", "dilation", "--rates", "1,x", "--out", str(tmp_path / "x.png")]
    )
    assert bad.exit_code == 1 and "Received: --rates 1,x" in bad.output
