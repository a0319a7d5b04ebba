"""Reports from fixture results only: tables, failures, seeds aggregation, plots, compare."""

import json
from pathlib import Path

import pytest

from kerascnn.errors import ReportError
from kerascnn.report import build_report, entries, load_run
from kerascnn.report.plots import pareto_front


def _latency(p50, p95, n, batch):
    return {
        "p50_ms": p50,
        "p95_ms": p95,
        "mean_ms": p50,
        "std_ms": 0.1,
        "min_ms": p50 / 2,
        "n": n,
        "batch": batch,
    }


def _result(
    model,
    top1,
    *,
    seed=0,
    dataset="fashion_mnist_mini",
    macs=1000,
    params=100,
    lat=1.0,
    status="ok",
    chash="abc123def0",
):
    r = {
        "schema": 1,
        "model": model,
        "dataset": dataset,
        "seed": seed,
        "config_hash": chash,
        "status": status,
        "config": {
            "epochs": 2,
            "batch_size": 64,
            "optimizer": "adam",
            "learning_rate": 0.001,
            "schedule": "cosine",
            "warmup_epochs": 0.5,
            "weight_decay": 0.0,
            "label_smoothing": 0.0,
            "augment": [],
            "precision": "float32",
            "jit": "auto",
            "time_budget": None,
            "latency_batch": 32,
        },
        "dataset_info": {
            "name": dataset,
            "source": "fixture",
            "input_shape": [28, 28, 1],
            "num_classes": 3,
            "class_names": ["a", "b", "c"],
            "train_images": 600,
            "test_images": 100,
        },
        "environment": {
            "backend": "tensorflow",
            "versions": {"keras": "3.15.1", "tensorflow": "2.21.0"},
            "device": "CPU: fixture",
            "cpu": "fixture",
            "logical_cpus": 2,
            "usable_cpus": 2,
            "git": {"commit": "0123456789abcdef", "dirty": False},
            "command": "kerascnn bench --models fixture",
        },
        "load_average_before": [3.5, 2, 1],
        "load_average_after": [1.0, 1, 1],
    }
    if status == "ok":
        r.update(
            {
                "params": params,
                "macs": macs,
                "epochs_completed": 2,
                "history": {
                    "loss": [1.0, 0.5],
                    "val_loss": [1.1, 0.7],
                    "acc": [0.5, 0.8],
                    "val_acc": [0.45, top1],
                },
                "train": {
                    "seconds": 12.5,
                    "images": 600,
                    "steps_per_epoch": 10,
                    "epoch_seconds": [7.0, 5.5],
                    "first_step_seconds": 2.0,
                    "warmup_seconds": 1.9,
                    "images_per_s": 500.0,
                    "steps_timed": 17,
                    "step_p50_ms": 100.0,
                },
                "test": {
                    "top1": top1,
                    "top5": 1.0,
                    "loss": 0.5,
                    "n": 100,
                    "confusion": [[30, 2, 1], [3, 30, 0], [1, 1, 32]],
                },
                "inference": {
                    "latency_b1": _latency(lat, lat * 2, 100, 1),
                    "latency_bN": _latency(lat * 5, lat * 6, 50, 32),
                    "device_throughput": {
                        "images_per_s": 4000.0,
                        "batch": 32,
                        "calls": 125,
                        "seconds": 1.0,
                    },
                    "first_call_seconds": {"eval_batch": 0.3, "batch_1": 0.2, "batch_32": 0.1},
                },
            }
        )
    else:
        r["error"] = {"type": "RuntimeError", "message": "boom | the builder failed"}
    return r


def _write_run(folder: Path, results, suite=None):
    (folder / "results").mkdir(parents=True)
    for r in results:
        (
            folder
            / "results"
            / f"{r['dataset']}__{r['model']}__{r['config_hash']}__s{r['seed']}.json"
        ).write_text(json.dumps(r))
    if suite is not None:
        (folder / "suite.json").write_text(json.dumps(suite))
    return folder


@pytest.fixture
def run_a(tmp_path):
    return _write_run(
        tmp_path / "a",
        [
            _result("small", 0.70, macs=1_000, params=50, lat=0.5),
            _result("big", 0.90, seed=0, macs=50_000, params=5000, lat=4.0),
            _result("big", 0.80, seed=1, macs=50_000, params=5000, lat=4.0),
            _result("mid", 0.60, macs=10_000, params=500, lat=2.0),
            _result("broken", 0.0, status="failed"),
        ],
        suite={
            "schema": 1,
            "name": "fixture-suite",
            "config": {"targets": {"big": 0.9, "small": 0.6, "broken": 0.5}},
            "sessions": [{"command": "kerascnn bench --suite fixture.toml", "resume": False}],
        },
    )


def test_entries_aggregate_seeds_and_sort(run_a):
    es = entries(load_run(run_a))
    assert [e.model for e in es] == ["big", "small", "mid"]
    big = es[0]
    assert big.top1 == pytest.approx(0.85) and big.top1_std == pytest.approx(0.0707107, rel=1e-4)
    assert big.seeds == [0, 1]
    assert big.confusion()[0][0] == 60  # summed over the two seeds


def test_report_readme_and_plots(run_a):
    readme = build_report(run_a)
    text = readme.read_text()
    assert "# Benchmark report: fixture-suite" in text
    assert (
        "CPU: fixture" in text
        and "kerascnn bench --suite fixture.toml" in text
        and "`0123456789ab`" in text
    )
    table = text.split("### fashion_mnist_mini")[1]
    rows = [
        line
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| model")
    ]
    assert [r.split("|")[1].strip() for r in rows[:3]] == ["big", "small", "mid"]
    assert "0.8500 ± 0.0707 (n=2)" in text
    assert "50.00k" in text and "4.00 / 8.00" in text and "20.00 / 24.00" in text
    assert "## Failed runs" in text and "broken" in text and "RuntimeError" in text
    assert "boom \\| the builder failed" in text  # pipes escaped inside the table
    assert "## Targets" in text
    targets = text.split("## Targets")[1].split("##")[0]
    assert "| big | fashion_mnist_mini | 0.90 | 0.8500 | **missed** |" in targets
    assert "| small | fashion_mnist_mini | 0.60 | 0.7000 | met |" in targets
    assert "**missed** (run failed)" in targets
    assert "timings and throughputs may be noisy" in text  # load 3.5 on 2 CPUs
    for png in (
        "accuracy_vs_macs.png",
        "accuracy_vs_latency.png",
        "training_curves.png",
        "params_macs.png",
        "confusion_fashion_mnist_mini.png",
    ):
        assert (run_a / png).stat().st_size > 5000
        assert f"]({png})" in text


def test_compare_shows_deltas(run_a, tmp_path):
    run_b = _write_run(
        tmp_path / "b",
        [_result("big", 0.80, lat=8.0, macs=50_000, params=5000), _result("other", 0.5)],
    )
    text = build_report(run_a, compare=run_b, plots=False).read_text()
    section = text.split("## Comparison with")[1]
    assert (
        "| big | fashion_mnist_mini | 0.8000 | 0.8500 | +0.0500 | 0.50x | 1.00x | 1.00x | same |"
        in section
    )
    assert "Only here: mid (fashion_mnist_mini), small (fashion_mnist_mini)" in section
    assert "Only in the other run: other (fashion_mnist_mini)" in section


def test_compare_warns_naming_each_difference_and_keeps_the_table(run_a, tmp_path):
    # the case: a 20-step run on a 300-image subset against an epochs run on 600
    short = []
    for model, top1 in (("big", 0.3), ("small", 0.4)):
        r = _result(model, top1, macs=50_000, params=5000)
        r["protocol"] = {"kind": "steps", "steps": 20, "warmup_steps": 0}
        r["dataset_info"].update(train_images=300, test_images=50, image_size=[32, 32])
        r["precise_bn"] = {
            "layers": 5, "batches": 20, "batch_size": 64, "calls": 1, "seconds": 1.0,
        }  # fmt: skip
        short.append(r)
    run_b = _write_run(tmp_path / "b", short)
    text = build_report(run_a, compare=run_b, plots=False).read_text()
    section = text.split("## Comparison with")[1].split("\n## ")[0]
    note = section.split("\n\n")[1]
    assert note.startswith("⚠ **Not comparable**: the runs differ in")
    for difference in (
        "protocol: epochs here vs steps there",
        "steps: 2 epochs here vs 20 steps there",
        "train images: 600 here vs 300 there",
        "test images: 100 here vs 50 there",
        "image size: 28x28 here vs 32x32 there",
        "precise BN: off here vs 20 batches of 64 there",
        "seeds: big 0,1 here vs 0 there",
    ):
        assert difference in note, difference
    assert "dataset:" not in note  # the same data (name and source)
    assert "| big | fashion_mnist_mini | 0.3000 | 0.8500 | +0.5500 |" in section  # warned, kept
    # the command prints the warning too
    from click.testing import CliRunner

    from kerascnn.cli import main

    res = CliRunner().invoke(main, ["report", str(run_a), "--compare", str(run_b), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert f"Warning: {run_a} and {run_b} are not comparable: protocol: epochs here" in res.stderr
    assert "train images: 600 here vs 300 there" in res.stderr


def test_comparable_runs_get_no_warning_and_the_params_are_labelled(run_a, tmp_path):
    same = _write_run(tmp_path / "same", [_result("small", 0.60, macs=1_000, params=50, lat=0.5)])
    text = build_report(run_a, compare=same, plots=False).read_text()
    assert "Not comparable" not in text
    header = next(line for line in text.splitlines() if line.startswith("| model | params"))
    assert header.startswith("| model | params (total) | MACs |")  # Keras' count, BN stats in
    assert "| Δ params (total) |" in text


def test_report_never_drops_failures_even_if_all_failed(tmp_path):
    folder = _write_run(tmp_path / "f", [_result("broken", 0.0, status="failed")])
    text = build_report(folder).read_text()
    assert (
        "0 successful and 1 failed" in text
        and "| broken | fashion_mnist_mini | 0 | RuntimeError |" in text
    )


def test_unreadable_files_are_reported_not_fatal(run_a):
    (run_a / "results" / "junk.json").write_text("{not json")
    (run_a / "results" / ".x.json.123.tmp").write_text("{")
    text = build_report(run_a, plots=False).read_text()
    section = text.split("## Unreadable result files")[1]
    assert "- `junk.json`: not valid JSON (" in section and ".x.json" not in text


def test_missing_or_empty_run_dir(tmp_path):
    with pytest.raises(ReportError, match="does not exist.*Received"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="holds no results"):
        load_run(tmp_path / "empty")


def test_pareto_front():
    pts = [(1, 0.5), (2, 0.4), (3, 0.7), (3, 0.6), (5, 0.7), (8, 0.9)]
    assert pareto_front(pts) == [(1, 0.5), (3, 0.7), (8, 0.9)]


def test_a_model_at_chance_is_flagged_and_explained(tmp_path):
    # 3 classes: guessing is 0.333; within 2 points (or below) is at chance
    stale = _result("stale", 0.35)
    stale["precise_bn"] = {
        "layers": 52, "batches": 30, "batch_size": 64, "calls": 4, "seconds": 12.0,
        "top1_stale": 0.34,
    }  # fmt: skip
    folder = _write_run(tmp_path / "c", [_result("fine", 0.80), stale, _result("near", 0.36)])
    text = build_report(folder, plots=False).read_text()
    assert "| stale |" in text.split("| fine |")[1]
    row = next(line for line in text.splitlines() if line.startswith("| stale |"))
    assert "0.3500 ⚠ chance" in row
    near = next(line for line in text.splitlines() if line.startswith("| near |"))
    assert "chance" not in near  # 2.7 points above guessing
    assert "⚠ **stale is at chance**: its top-1 0.350 is within 2 points of guessing (1/3" in text
    assert "stale 0.340 → 0.350 (52 layers, 12.0 s)" in text  # the protocol names the recompute
    from kerascnn.record.flat import at_chance
    from kerascnn.record.run import read_record

    record = read_record(next((folder / "results").glob("*stale*")))
    assert at_chance(record) is True
    record.test.top1 = 0.3534
    assert at_chance(record) is False


def test_the_rising_sentence_reads_right_with_and_without_models(tmp_path):
    flat = _write_run(tmp_path / "flat", [_result("done", 0.45)])  # val_acc 0.45 then 0.45
    text = build_report(flat, plots=False).read_text()
    assert "No model was still rising at the end (↑ would mark one whose final evaluation" in text
    assert "none;" not in text
    up = _write_run(tmp_path / "up", [_result("climbing", 0.9)])
    text = build_report(up, plots=False).read_text()
    assert "↑ **Still rising** at the end" in text and ": climbing. These had not converged" in text


def test_the_table_shows_training_time_and_evaluation_time_apart(tmp_path):
    r = _result("timed", 0.8)
    r["train"]["step_seconds_total"] = 30.2  # the steps; the fit took 12.5 + evaluations
    r["eval_seconds"] = 9.4
    text = build_report(_write_run(tmp_path / "t", [r]), plots=False).read_text()
    header = next(line for line in text.splitlines() if line.startswith("| model"))
    assert header.endswith("| train time (s) | eval time (s) |")
    row = next(line for line in text.splitlines() if line.startswith("| timed |"))
    assert row.endswith("| 28.3 | 9.4 |")  # 30.2 s of steps less the first's 1.9 s of compiling


def test_training_curves_are_drawn_against_the_data_seen_and_end_at_the_final_evaluation():
    from kerascnn.record.run import CurvePoint, RunRecord
    from kerascnn.report.plots import segment_epochs

    record = RunRecord.from_dict(_result("m", 0.8))
    record.history = {"loss": [1.0, 0.8, 0.6, 0.5]}
    record.curve = [
        CurvePoint(step=s, epoch=s * 64 / 6000, train_seconds=s * 0.3, top1=a)
        for s, a in ((20, 0.3), (40, 0.5), (60, 0.6), (78, 0.7))
    ]
    assert segment_epochs(record) == pytest.approx([20 * 64 / 6000, 40 * 64 / 6000, 0.64, 0.832])
    record.curve = None  # no test curve: the epochs seen, spread over the segments
    record.train.epochs_equivalent = 0.8
    assert segment_epochs(record) == pytest.approx([0.2, 0.4, 0.6, 0.8])


def test_the_pareto_front_is_drawn_even_when_one_model_dominates(tmp_path, monkeypatch):
    import matplotlib.axes

    drawn = []
    original = matplotlib.axes.Axes.step

    def step(self, *args, **kwargs):
        drawn.append((list(args[0]), kwargs.get("color"), kwargs.get("label")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "step", step)
    folder = _write_run(
        tmp_path / "p", [_result("cheap", 0.9, macs=100), _result("dear", 0.5, macs=10_000)]
    )
    build_report(folder)
    assert ([100], "tab:red", "Pareto front (1 of 2)") in drawn


def test_the_readme_is_its_sections_in_order_written_once(run_a, monkeypatch):
    from kerascnn.report import markdown

    assert [s.__name__ for s in markdown.SECTIONS] == [
        "_header",
        "_environment",
        "_targets",
        "_results",
        "_failures",
        "_unreadable",
        "_comparison",
        "_deployment",
        "_plots",
        "_machine_readable",
    ]
    writes = []
    real = markdown.write_text_atomic
    monkeypatch.setattr(
        markdown, "write_text_atomic", lambda path, text: writes.append(path) or real(path, text)
    )
    readme = build_report(run_a, plots=False)
    assert writes == [readme] and readme.name == "README.md"
    assert (run_a / "results.csv").is_file()  # written beside it, by its own step
    # the README is exactly the sections' lines, joined, in the order of SECTIONS
    page = markdown.Page(load_run(run_a), run_a)
    lines = [line for section in markdown.SECTIONS for line in section(page)]
    assert readme.read_text() == "\n".join(lines).rstrip() + "\n"
    heads = [line for line in readme.read_text().splitlines() if line.startswith("## ")]
    assert heads == ["## Environment", "## Targets", "## Results", "## Failed runs"]


def test_sections_only_read_the_page(run_a, tmp_path):
    """A section writes nothing: rendering every section leaves the folder as it was."""
    from kerascnn.report import markdown

    before = sorted(p.name for p in run_a.iterdir())
    page = markdown.Page(load_run(run_a), run_a, other=load_run(run_a))
    for section in markdown.SECTIONS:
        assert isinstance(section(page), list)
    assert sorted(p.name for p in run_a.iterdir()) == before


def test_report_imports_only_the_record_never_bench_or_accel():
    import ast

    folder = Path(__file__).resolve().parents[1] / "kerascnn" / "report"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("kerascnn.bench", "kerascnn.accel")), (path, name)
