"""Report plots that hold up: SI tick labels on parameter/MAC axes, integer epoch ticks, SI bar
labels. Drawn from the stored results of reports/fashion-cpu (read only; figures go to tmp)."""

from pathlib import Path

import pytest

from kerascnn.report import load_run
from kerascnn.report import plots as P

RUN = Path(__file__).resolve().parents[1] / "reports" / "fashion-cpu"


@pytest.mark.parametrize(
    "value,text",
    [
        (0, "0"),
        (999, "999"),
        (1000, "1k"),
        (61_706, "61.7k"),
        (865_000, "865k"),
        (999_999, "1M"),  # rounded up a unit, not '1e+03k'
        (1e6, "1M"),
        (1e7, "10M"),
        (29_360_000, "29.4M"),
        (2.5e9, "2.5G"),
        (-2e6, "-2M"),
        (0.5, "0.5"),
    ],
)
def test_si(value, text):
    assert P.si(value) == text


def _labels(ax, which="x", minor=False):
    ax.figure.canvas.draw()
    axis = ax.xaxis if which == "x" else ax.yaxis
    ticks = axis.get_minorticklabels() if minor else axis.get_majorticklabels()
    return [t.get_text() for t in ticks if t.get_text()]


def test_si_axis_on_log_and_linear_axes():
    plt = P._plt()
    fig, (log_ax, lin_ax) = plt.subplots(1, 2)
    log_ax.plot([4e5, 3e7], [0, 1])
    log_ax.set_xscale("log")
    P.si_axis(log_ax)
    shown = _labels(log_ax) + _labels(log_ax, minor=True)
    assert {"1M", "10M"} <= set(shown) and not any("e" in s or "^" in s for s in shown)
    lin_ax.plot([0, 4e5], [0, 1])
    P.si_axis(lin_ax)
    assert "200k" in _labels(lin_ax) and not any(len(s) > 5 for s in _labels(lin_ax))
    plt.close(fig)


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions close, kept for inspection."""
    plt, kept = P._plt(), []

    class Keep:
        def __getattr__(self, name):
            return getattr(plt, name)

        def close(self, fig):
            kept.append(fig)

    monkeypatch.setattr(P, "_plt", lambda: Keep())
    yield kept
    for fig in kept:
        plt.close(fig)


@pytest.fixture(scope="module")
def data():
    if not (RUN / "results").is_dir():
        pytest.skip("reports/fashion-cpu has no stored results")
    return load_run(RUN)


def test_accuracy_vs_macs_ticks_in_si(data, figures, tmp_path):
    assert P.accuracy_vs_macs(data, tmp_path / "a.png").is_file()
    (ax,) = figures[0].axes[:1]
    assert ax.get_xscale() == "log"  # 417k .. 29.4M MACs
    assert {"1M", "10M"} <= set(_labels(ax)) and not any("10^" in s for s in _labels(ax))


def test_training_curves_have_integer_epoch_ticks(data, figures, tmp_path):
    assert P.training_curves(data, tmp_path / "t.png").is_file()
    for ax in figures[0].axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_params_macs_bars_label_in_si(data, figures, tmp_path):
    assert P.params_macs_bars(data, tmp_path / "b.png").is_file()
    params_ax, macs_ax = figures[0].axes
    texts = {t.get_text().strip() for t in params_ax.texts + macs_ax.texts}
    assert {"61.7k", "374k", "29.4M", "417k"} <= texts  # lenet, simple_cnn params, MACs
    assert not any("," in t for t in texts)
    assert {"1M", "10M"} <= set(_labels(macs_ax))
    assert "200k" in _labels(params_ax)
