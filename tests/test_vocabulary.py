"""One name per concept across every command (issue 26): the table below is the vocabulary, a
walk over the click tree of ``kerascnn.cli.main`` holds every command to it, and the old
spellings keep working as hidden aliases that say they are deprecated."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from kerascnn.cli import _options, main

VOCABULARY = {
    # concept: (its one spelling, the spellings that would mean the same)
    "model list": ("--models", r"--(models?|model-list|archs?|networks?|nets?)"),
    "image size (height, width)": (
        "--image-size",
        r"--(image-sizes?|img-size|input-size|size|resolution|height|width|side)",
    ),
    "input shape (height, width, channels)": ("--input-shape", r"--(input-shape|shape)"),
    "one batch size": ("--batch-size", r"--(batch|batch-size|bs)"),
    "a sweep of batch sizes": ("--batch-sizes", r"--(batches|batch-sizes)"),
    "XLA compilation": ("--jit/--no-jit", r"--(no-)?(jit|xla)"),
    "precision": ("--precision", r"--(precision|dtype|dtype-policy|mixed-precision|amp)"),
    "optimizer": ("--optimizer", r"--(optimizer|opt|optim)"),
    "training subset": (
        "--train-limit",
        r"--(train-limit|samples|train-samples|train-images|n-train|limit)",
    ),
    "test subset": (
        "--test-limit",
        r"--(test-limit|check-images|test-samples|test-images|n-test|eval-limit)",
    ),
}

OLD_SPELLINGS = {  # command path -> {old spelling: the one it became}
    ("throughput",): {"--xla": "--jit/--no-jit"},
    ("export",): {"--check-images": "--test-limit"},
    ("deploy",): {"--batch": "--batch-size"},
    **{
        ("viz", name): {"--model": "--models", "--samples": "--train-limit"}
        for name in ("kernels", "feature-maps", "confusion")
    },
}


def commands(group=main, path=()):
    """(path, command) of every command under ``group``."""
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def spelling(param: click.Option) -> str:
    """The option as --help shows it: ``--jit/--no-jit``, ``--models``."""
    return "/".join([param.opts[0], *param.secondary_opts[:1]])


def visible_options():
    for path, cmd in commands():
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden:
                yield path, p


def test_the_vocabulary_is_the_one_the_cli_declares():
    assert {k: v for k, (v, _) in VOCABULARY.items()} == _options.VOCABULARY


def test_no_visible_option_spells_a_concept_another_way():
    wrong = []
    for path, p in visible_options():
        for concept, (one, others) in VOCABULARY.items():
            long_names = [o for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]
            if any(re.fullmatch(others, o) for o in long_names) and spelling(p) != one:
                wrong.append(f"kerascnn {' '.join(path)} {spelling(p)}: {concept} is {one}")
    assert wrong == []


def test_each_concept_is_spoken_where_expected():
    """The walk above is not vacuous: the one spellings are where the issue asked for them."""
    where = {}
    for path, p in visible_options():
        where.setdefault(spelling(p), set()).add(path[0])
    assert where["--image-size"] >= {"bench", "throughput", "summary"}
    assert where["--jit/--no-jit"] == {"bench", "throughput"}
    assert where["--precision"] == {"bench", "throughput"}
    assert where["--optimizer"] == {"bench", "throughput"}
    assert where["--batch-size"] == {"bench", "deploy"} and where["--batch-sizes"] == {"throughput"}
    assert where["--test-limit"] == {"bench", "deploy", "export"}
    assert where["--train-limit"] == {"bench", "viz"}
    assert where["--models"] == {"bench", "throughput", "viz"}


def test_old_spellings_are_hidden_aliases_of_the_one_name():
    found = {}
    for path, cmd in commands():
        for p in cmd.params:
            if isinstance(p, click.Option) and p.hidden:
                found.setdefault(path, {})[p.opts[0]] = p.help
    assert set(found) == set(OLD_SPELLINGS)
    for path, olds in OLD_SPELLINGS.items():
        assert found[path] == {old: f"Deprecated spelling of {new}." for old, new in olds.items()}
        text = CliRunner().invoke(main, [*path, "--help"]).output
        assert not [old for old in olds if re.search(rf"{old}\b(?!-)", text)], path


from kerascnn.errors import KerasCNNError  # noqa: E402


class Seen(KerasCNNError):
    """Raised by a stand-in for the work a command does, once its arguments are seen (a user
    error to the CLI: exit code 1, nothing else happens)."""


@pytest.fixture
def seen(monkeypatch):
    """Stand-ins for what throughput, export, deploy, viz and bench run: they record their
    arguments and stop the command (nothing is trained or measured)."""
    import kerascnn.accel.sweep
    import kerascnn.bench
    import kerascnn.deploy.runner
    import kerascnn.viz

    got = {}

    def record(name):
        def stand_in(*args, **kwargs):
            got[name] = (args, kwargs)
            raise Seen(name)

        return stand_in

    monkeypatch.setattr(kerascnn.accel.sweep, "run_sweep", record("run_sweep"))
    monkeypatch.setattr(kerascnn.bench, "run_suite", record("run_suite"))
    monkeypatch.setattr(kerascnn.deploy.runner, "models_of", lambda *a: [])
    monkeypatch.setattr(kerascnn.deploy.runner, "export_models", record("export_models"))
    monkeypatch.setattr(kerascnn.deploy.runner, "run_deploy", record("run_deploy"))
    monkeypatch.setattr(kerascnn.viz, "train_quick", record("train_quick"))
    return got


def _run(seen, args, name):
    """Invoke ``args``; the stand-in ``name`` must have stopped it: (its keywords, stderr)."""
    seen.pop(name, None)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and f"Error: {name}" in result.output, result.output
    args, kwargs = seen[name]
    return {**kwargs, "args": args}, result.stderr


@pytest.mark.parametrize(
    "old, new, stand_in, keyword, value",
    [
        (["throughput", "--xla"], ["throughput", "--jit"], "run_sweep", "xla", True),
        (["throughput", "--no-xla"], ["throughput", "--no-jit"], "run_sweep", "xla", False),
        (["export", "m.keras", "--format", "onnx", "--check-images", "9"],
         ["export", "m.keras", "--format", "onnx", "--test-limit", "9"],
         "export_models", "check_images", 9),
        (["deploy", "m.keras", "--out", "d", "--batch", "8"],
         ["deploy", "m.keras", "--out", "d", "--batch-size", "8"],
         "run_deploy", "settings", 8),
        (["viz", "kernels", "--model", "vgg"], ["viz", "kernels", "--models", "vgg"],
         "train_quick", "model", "vgg"),
        (["viz", "confusion", "--samples", "5"], ["viz", "confusion", "--train-limit", "5"],
         "train_quick", "samples", 5),
    ],
)  # fmt: skip
def test_an_old_spelling_works_with_a_one_line_note(seen, old, new, stand_in, keyword, value):
    def given(kwargs):  # deploy's batch size is a field of the settings it passes on
        if keyword == "settings":
            return next(a for a in kwargs["args"] if hasattr(a, "batch")).batch
        return kwargs[keyword]

    kwargs, err = _run(seen, old, stand_in)
    flag = old[-1] if old[-1].startswith("--") else old[-2]
    notes = [line for line in err.splitlines() if line.startswith("Note:")]
    assert len(notes) == 1 and f"{flag.replace('--no-', '--')}" in notes[0], err
    assert "deprecated" in notes[0]
    assert given(kwargs) == value
    kwargs, err = _run(seen, new, stand_in)
    assert given(kwargs) == value and "Note:" not in err
    both = CliRunner().invoke(main, [*new, flag] + ([] if flag.endswith("xla") else [old[-1]]))
    assert both.exit_code == 2 and "give one of them" in both.output


def test_image_size_is_h_or_h_w_everywhere(seen):
    for typed, size in (("28", (28, 28)), ("28,32", (28, 32)), ("28x32", (28, 32))):
        kwargs, _ = _run(seen, ["throughput", "--image-size", typed], "run_sweep")
        assert kwargs["image_size"] == size
        kwargs, _ = _run(seen, ["bench", "--image-size", typed], "run_suite")
        assert kwargs["args"][0].image_size == list(size)
    for typed, shown in (("32", "input 32x32x1"), ("32,40", "input 32x40x1")):
        summary = CliRunner().invoke(main, ["summary", "lenet", "--image-size", typed])
        assert summary.exit_code == 0 and shown in summary.output, summary.output
    for bad in (["--image-size", "32", "--input-shape", "32,32,1"], ["--input-shape", "32,32"]):
        result = CliRunner().invoke(main, ["summary", "lenet", *bad])
        assert result.exit_code == 2 and "--image-size" in result.output, result.output


def test_one_precision_vocabulary_mapped_to_the_dtype_policy(seen):
    from kerascnn.accel import throughput
    from kerascnn.bench.config_checks import PRECISION_POLICIES, PRECISIONS

    choices = {
        path: tuple(p.type.choices) for path, p in visible_options() if p.name == "precision"
    }
    assert set(choices) == {("bench",), ("throughput",)}
    assert set(choices.values()) == {tuple(PRECISION_POLICIES)}
    assert throughput.PRECISIONS == PRECISION_POLICIES
    assert set(PRECISION_POLICIES.values()) == set(PRECISIONS)  # what a config holds
    for name, policy in PRECISION_POLICIES.items():
        kwargs, _ = _run(seen, ["throughput", "--precision", name], "run_sweep")
        assert kwargs["precision"] == policy
        kwargs, _ = _run(seen, ["bench", "--precision", name], "run_suite")
        assert kwargs["args"][0].precision == policy


def test_one_optimizer_vocabulary_meaning_the_same_in_bench_and_throughput():
    """sgd is plain SGD and momentum SGD with Nesterov momentum 0.9 in both, and every
    --optimizer's help says which SGD is which."""
    from kerascnn.accel import throughput
    from kerascnn.bench.config import BenchConfig
    from kerascnn.bench.config_checks import OPTIMIZERS
    from kerascnn.bench.optim import make_optimizer

    helps = {path: p for path, p in visible_options() if p.name == "optimizer"}
    assert set(helps) == {("bench",), ("throughput",)}
    for p in helps.values():
        assert tuple(p.type.choices) == OPTIMIZERS
        assert "sgd = plain SGD" in p.help and "momentum = SGD with Nesterov momentum 0.9" in p.help
    assert tuple(throughput.OPTIMIZERS) == OPTIMIZERS
    for name in OPTIMIZERS:
        for fused in (False, True):  # Keras's own classes, or their fused-kernel equivalents
            ours = throughput.make_optimizer(name, fused)
            bench = make_optimizer(BenchConfig(optimizer=name), 0.01, fused=fused)
            assert type(ours) is type(bench), (name, fused)
            for attr in ("momentum", "nesterov"):
                assert getattr(ours, attr, None) == getattr(bench, attr, None), (name, attr)
    assert throughput.make_optimizer("sgd").momentum == 0
    assert throughput.make_optimizer("momentum").nesterov is True
