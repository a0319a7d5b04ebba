"""BenchConfig: TOML and flags, validation before any training, overrides, run keys."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascnn import checks
from kerascnn._utils import split_list
from kerascnn.bench.config import BenchConfig
from kerascnn.bench.config_checks import RELATIONS, RULES
from kerascnn.bench.presets import QUICK
from kerascnn.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"optimizer": "rmsprop"}, ["optimizer", "sgd, momentum, adam, adamw", "'rmsprop'"]),
        ({"epochs": -1}, ["epochs", "positive integer", "-1"]),
        ({"epochs": 2.5}, ["epochs", "2.5"]),
        ({"batch_size": 0}, ["batch_size", "0"]),
        ({"schedule": "step"}, ["schedule", "one-cycle", "'step'"]),
        ({"precision": "float16"}, ["precision", "mixed_float16", "'float16'"]),
        ({"augment": ["flip", "rotate"]}, ["augment", "erasing", "rotate"]),
        ({"augment": ["mixup", "cutmix"]}, ["augment", "at most one"]),
        ({"label_smoothing": 1.5}, ["label_smoothing", "1.5"]),
        ({"learning_rate": -0.1}, ["learning_rate", "-0.1"]),
        ({"warmup_epochs": 5, "epochs": 3}, ["warmup_epochs", "below epochs"]),
        ({"seeds": [1, 1]}, ["seeds", "distinct"]),
        ({"time_budget": 0}, ["time_budget", "positive"]),
        ({"jit": "yes"}, ["jit", "'yes'"]),
        ({"models": []}, ["models", "non-empty"]),
    ],
)
def test_invalid_values_name_what_was_received(change, words):
    with pytest.raises(ConfigError) as info:
        BenchConfig.from_dict({"models": ["lenet"], **change}).validate()
    msg = str(info.value)
    assert "Received:" in msg
    for w in words:
        assert w in msg


def test_unknown_model_uses_registry_error():
    with pytest.raises(ValueError, match=r"Unknown model 'nosuchnet'.*Known models:.*lenet"):
        BenchConfig(models=["lenet", "nosuchnet"]).validate()


def test_unknown_key_lists_accepted(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) epoch\b.*Accepted keys:.*epochs"):
        BenchConfig.from_dict({"epoch": 3})


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('models = ["lenet"\nepochs = 3\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        BenchConfig.from_toml(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        BenchConfig.from_toml(tmp_path / "nope.toml")
    wrong_type = tmp_path / "wrong.toml"
    wrong_type.write_text('models = ["lenet"]\nepochs = "three"\n')
    with pytest.raises(ConfigError, match="epochs"):
        BenchConfig.from_toml(wrong_type).validate()


def test_toml_roundtrip_overrides_and_targets(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(
        'models = ["lenet", "lenet(activation=\'tanh\')"]\nepochs = 2\nrepeats = 3\n'
        "[overrides.lenet]\nepochs = 5\nlearning_rate = 0.01\n[targets]\nlenet = 0.8\n"
    )
    cfg = BenchConfig.from_toml(suite).validate()
    assert cfg.name == "s" and cfg.seeds == [0, 1, 2] and cfg.targets == {"lenet": 0.8}
    runs = cfg.runs()
    assert len(runs) == 6
    # the override matches the exact spec "lenet" and the base name of the tanh variant
    assert {r.config.epochs for r in runs} == {5}
    assert len({r.key for r in runs}) == 6
    plain = BenchConfig(models=["lenet"], epochs=5, learning_rate=0.01)
    assert plain.runs()[0].config_hash == runs[0].config_hash  # same effective config, same hash
    assert BenchConfig(models=["lenet"], epochs=4).runs()[0].config_hash != runs[0].config_hash


def test_bad_override_rejected():
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) epoch\b"):
        BenchConfig(models=["lenet"], overrides={"lenet": {"epoch": 3}}).validate()
    with pytest.raises(ConfigError, match=r"overrides for 'lenet'.*optimizer"):
        BenchConfig(models=["lenet"], overrides={"lenet": {"optimizer": "lbfgs"}}).validate()
    # settings for a model that is not in the suite are ignored (e.g. left out with --models)
    cfg = BenchConfig(models=["lenet"], epochs=3, overrides={"vgg": {"epochs": 1}}).validate()
    assert cfg.runs()[0].config.epochs == 3


PER_MODEL = {
    "models": ["lenet", "vgg", "mobilenetv2"],
    "epochs": 1,
    "overrides": {"lenet": {"epochs": 10}, "vgg": {"epochs": 3}},
}


def test_flags_override_suite_values():
    cfg = BenchConfig.from_dict(PER_MODEL).updated(
        epochs=1, models="lenet,vgg11(width=0.25, dropout=0.0)", repeats=2
    )
    assert cfg.epochs == 1 and cfg.seeds == [0, 1]
    assert cfg.models == ["lenet", "vgg11(width=0.25, dropout=0.0)"]
    # a flag applies to every model: the suite's per-model epochs give way to --epochs
    assert {r.config.epochs for r in cfg.runs()} == {1}
    # flags for other keys leave the per-model settings alone
    kept = BenchConfig.from_dict(PER_MODEL).updated(batch_size=32)
    assert {r.model: (r.config.epochs, r.config.batch_size) for r in kept.runs()} == {
        "lenet": (10, 32),
        "vgg": (3, 32),
        "mobilenetv2": (1, 32),
    }


def test_the_main_job_trains_every_model_the_steps_of_the_same_budget():
    """The steps 30 s gave each model on the reference machine (reports/main-job/steps); a
    model without them, or --budget, calibrates; --steps gives every model the same steps."""
    from kerascnn.bench.presets import REFERENCE_STEPS, main_job

    cfg = BenchConfig.from_dict(QUICK).validate()
    assert cfg.protocol == "budget" and cfg.budget == 30.0
    runs = {r.model: r.config for r in cfg.runs()}
    assert {m: (c.protocol, c.steps, c.budget) for m, c in runs.items()} == {
        m: ("steps", n, None) for m, n in REFERENCE_STEPS.items()
    }
    assert REFERENCE_STEPS == {"lenet": 8986, "vgg": 262, "mobilenetv2": 138}
    other = main_job({"models": ["lenet", "resnet18"]}).runs()
    assert [(r.config.protocol, r.config.steps) for r in other] == [
        ("steps", 8986),
        ("budget", None),
    ]
    calibrated = main_job({"budget": 30.0}).runs()
    assert {r.config.protocol for r in calibrated} == {"budget"}
    assert {r.config.steps for r in main_job({"steps": 50}).runs()} == {50}


def test_one_length_flag_picks_the_protocol_and_clears_the_others():
    main = BenchConfig.from_dict(QUICK)
    by_epochs = main.updated(epochs=2)
    assert by_epochs.protocol == "epochs" and by_epochs.budget is None
    by_steps = main.updated(steps=120)
    assert by_steps.protocol == "steps" and by_steps.budget is None and by_steps.steps == 120
    by_budget = BenchConfig.from_dict(PER_MODEL).updated(budget=5)
    assert by_budget.protocol == "budget" and by_budget.overrides == {}  # per-model epochs go
    with pytest.raises(ConfigError, match=r"one of --epochs, --budget and --steps.*Received"):
        main.updated(budget=5, steps=10)
    with pytest.raises(ConfigError, match="Invalid budget.*Received: budget=-1"):
        BenchConfig(models=["lenet"], budget=-1).validate_values()
    with pytest.raises(ConfigError, match="Invalid steps: None when budget is set.*steps=3"):
        BenchConfig(models=["lenet"], budget=5, steps=3).validate_values()
    # under a budget the warm-up is not bounded by the (unused) epochs
    BenchConfig(models=["lenet"], epochs=1, budget=5, warmup_epochs=2).validate_values()


def test_every_optimizer_has_its_own_default_learning_rate():
    main = BenchConfig.from_dict(QUICK)
    assert main.resolved_learning_rate() == 1e-3  # adam
    assert main.updated(optimizer="sgd").resolved_learning_rate() == 0.05
    assert main.updated(optimizer="sgd", learning_rate=0.2).resolved_learning_rate() == 0.2
    # a suite's explicit rate belongs to its optimizer: --optimizer without --lr resets it
    suite = BenchConfig(models=["lenet"], optimizer="adam", learning_rate=0.002)
    assert suite.updated(optimizer="momentum").resolved_learning_rate() == 0.05
    assert suite.updated(batch_size=8).resolved_learning_rate() == 0.002
    assert BenchConfig(models=["lenet"], optimizer="sgd").resolved_learning_rate() == 0.05


def test_epoch_protocol_config_hashes_are_those_of_earlier_versions():
    """--resume of a folder written before the budget protocol existed finds its runs, when
    they are evaluated as then (without the recomputed BatchNorm statistics)."""
    cfg = BenchConfig(models=["lenet"], epochs=2, optimizer="sgd", precise_bn=False)
    assert [r.config_hash for r in cfg.runs()] == ["101f9cb2c6"]
    budget = BenchConfig(models=["lenet"], budget=10.0, optimizer="sgd", precise_bn=False)
    assert budget.runs()[0].config_hash != "101f9cb2c6"
    assert "epochs" not in budget.training_dict() and "budget" not in cfg.training_dict()
    # evaluated otherwise: another run, whatever the folder holds
    precise = BenchConfig(models=["lenet"], epochs=2, optimizer="sgd")
    assert precise.runs()[0].config_hash != "101f9cb2c6"
    assert precise.updated(precise_bn_batches=5).runs()[0].config_hash not in (
        "101f9cb2c6",
        precise.runs()[0].config_hash,
    )


def test_split_list_keeps_spec_commas():
    assert split_list("lenet, vgg11(width=0.5, dropout=0.0),mobilenetv2") == [
        "lenet",
        "vgg11(width=0.5, dropout=0.0)",
        "mobilenetv2",
    ]


def test_main_job_toml_holds_the_main_job_defaults():
    cfg = BenchConfig.from_toml(ROOT / "benchmarks" / "main-job.toml")
    assert cfg.to_dict() == BenchConfig.from_dict(QUICK).to_dict()
    assert cfg.models == ["lenet", "vgg", "mobilenetv2"] and cfg.datasets == ["fashion_mnist_mini"]


def test_fashion_cpu_suite_is_valid():
    cfg = BenchConfig.from_toml(ROOT / "benchmarks" / "fashion-cpu.toml").validate_values()
    assert cfg.datasets == ["fashion_mnist"]
    assert {"lenet", "simple_cnn"} <= set(cfg.targets)


def test_the_main_job_keeps_its_name_only_while_its_description_holds():
    from kerascnn.bench.presets import QUICK, main_job

    assert main_job({}).name == "main-job" and main_job({}).description == QUICK["description"]
    assert main_job({"batch_size": 32, "seeds": [1]}).name == "main-job"  # not what it describes
    for flags in (
        {"models": ["lenet", "resnet18"]},
        {"datasets": ["folder:/tmp/photos"]},
        {"epochs": 1},
        {"image_size": [64, 64]},
    ):
        cfg = main_job(flags)
        assert (cfg.name, cfg.description) == ("bench", ""), flags


@pytest.fixture
def recipe_model(monkeypatch):
    """A throwaway model that registers its own recipe (the registry restored after the test)."""
    import keras

    from kerascnn.models import Recipe, list_models, register_model
    from kerascnn.models import _registry as registry

    list_models()  # the zoo first: the copy restored after the test must hold it
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    recipe = Recipe("momentum", 0.02, why="a fixture")

    @register_model(
        family="t", paper="t", year=2000, reference="t", name="_kc_recipe", recipe=recipe
    )
    def _net(input_shape=None, num_classes=10, **kwargs):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Dense(num_classes)(keras.layers.Flatten()(inputs)))

    return "_kc_recipe"


def test_each_model_trains_with_its_recipe_unless_an_optimizer_is_named(recipe_model):
    cfg = BenchConfig(models=[recipe_model, "lenet"], budget=5.0)
    own, default = cfg.runs()
    assert (own.config.optimizer, own.config.learning_rate) == ("momentum", 0.02)
    assert own.recipe == {
        "name": "_kc_recipe", "optimizer": "momentum", "learning_rate": 0.02, "why": "a fixture"
    }  # fmt: skip
    assert (default.config.optimizer, default.config.learning_rate) == ("adam", 1e-3)
    assert default.recipe["name"] == "default"
    assert own.config_hash != cfg.updated(learning_rate=0.05).runs()[0].config_hash
    # --lr alone: the recipe's optimizer at that rate
    rate = cfg.updated(learning_rate=0.01).runs()[0]
    assert (rate.config.optimizer, rate.config.learning_rate) == ("momentum", 0.01)
    # --optimizer: every model, at that optimizer's own rate; no recipe recorded
    named = cfg.updated(optimizer="adam").runs()
    assert [(r.config.optimizer, r.config.resolved_learning_rate(), r.recipe) for r in named] == [
        ("adam", 1e-3, None),
        ("adam", 1e-3, None),
    ]
    # a suite's per-model optimizer is named too
    per = BenchConfig(models=[recipe_model], overrides={recipe_model: {"optimizer": "sgd"}})
    (run,) = per.runs()
    assert (run.config.optimizer, run.config.resolved_learning_rate(), run.recipe) == (
        "sgd",
        0.05,
        None,
    )
    assert BenchConfig(models=[recipe_model]).validate() is not None


def test_the_main_job_trains_each_model_with_its_measured_recipe():
    """reports/main-job/recipes: MobileNetV2 learns faster at 3e-3; LeNet and VGG-11 keep the
    default (VGG's shortfall was its warm-up, the package default of 0.5 epochs now)."""
    from kerascnn.bench.presets import main_job

    got = {r.model: r for r in main_job({}).runs()}
    assert (got["mobilenetv2"].config.optimizer, got["mobilenetv2"].config.learning_rate) == (
        "adam",
        3e-3,
    )
    assert got["mobilenetv2"].recipe["name"] == "mobilenetv2" and got["mobilenetv2"].recipe["why"]
    for name in ("lenet", "vgg"):
        assert got[name].recipe["name"] == "default" and got[name].config.learning_rate == 1e-3
    assert {r.config.warmup_epochs for r in got.values()} == {0.5}


# ---------------------------------------------------------------- the rule table (issue 24)

BAD_VALUES = {  # one value each rule refuses, with today's message (checked in this order)
    "models": ([], "a non-empty list of model spec strings, e.g. ['lenet', 'vgg11(width=0.25)']"),
    "datasets": ([" "], "a non-empty list of dataset names (kerascnn datasets lists them)"),
    "name": ("", "a non-empty string"),
    "data_dir": (3, "a folder path or None"),
    "epochs": (0, "a positive integer"),
    "budget": (0, "a positive number of seconds of training per run, or None"),
    "steps": (0, "a positive integer number of optimizer steps, or None"),
    "eval_points": (0, "a positive integer"),
    "batch_size": (True, "a positive integer"),
    "optimizer": ("rmsprop", "one of sgd, momentum, adam, adamw, or None for each model's recipe"),
    "learning_rate": (0, "a positive number (or omit it for the optimizer's default)"),
    "momentum": (1, "a number in [0, 1)"),
    "schedule": ("step", "one of constant, cosine, one-cycle"),
    "warmup_epochs": (-1, "a number >= 0"),
    "weight_decay": (1.0, "a number in [0, 1)"),
    "label_smoothing": (-0.1, "a number in [0, 1)"),
    "augment": (
        ["rotate"],
        "a list drawn from flip, translate, crop, erasing, mixup, cutmix (empty = none)",
    ),
    "precision": ("float16", "one of float32, mixed_float16, mixed_bfloat16"),
    "jit": (1, 'true, false or "auto"'),
    "seeds": ([], "a non-empty list of non-negative integers"),
    "time_budget": (0, "a positive number of seconds, or None for no limit"),
    "train_limit": (0, "a positive integer, or None for the whole split"),
    "test_limit": (1.5, "a positive integer, or None for the whole split"),
    "eval_every_epoch": ("yes", "true or false"),
    "precise_bn": (1, "true or false"),
    "precise_bn_batches": (0, "a positive integer number of training batches"),
    "latency_batch": (0, "a positive integer"),
    "latency_seconds": (float("inf"), "a positive number of seconds"),
    "save_models": (None, "true or false"),
    "tensorboard": ("no", "true or false"),
    "steps_per_execution": (0, "a positive integer"),
    "distribute": (0, "true or false"),
    "image_size": ([0, 5], "a size in pixels (96) or height,width (96,128), or None"),
    "aspect": ("stretch", "one of squash, crop, pad"),
    "normalize": ("per_pixel", "one of none, per_channel"),
    "test_fraction": (1, "a number between 0 and 1 (the share held out for testing)"),
    "skip_bad_images": (1, "true or false"),
    "splits": (["train"], "two TFDS split names, training then test (train,test), or None"),
}
RELATED = [  # the checks that read another field too: (change, field, accepted)
    ({"budget": 5, "steps": 3}, "steps", "None when budget is set (give one of epochs, budget, steps)"),
    ({"epochs": 2, "warmup_epochs": 2}, "warmup_epochs", "a number >= 0 and below epochs (2)"),
    ({"augment": ["mixup", "cutmix"]}, "augment", "at most one of mixup and cutmix"),
    ({"seeds": [1, 1]}, "seeds", "distinct seeds"),
    ({"splits": ["train", "test"]}, "splits", "TFDS split names: only for tfds:NAME datasets"),
]  # fmt: skip


def test_every_field_has_a_rule_or_a_reason_for_none():
    from kerascnn.bench.config_checks import NOT_RULED, RELATIONS, RULES

    fields = set(BenchConfig.field_names())
    assert set(RULES) | set(NOT_RULED) == fields and not set(RULES) & set(NOT_RULED)
    assert set(RELATIONS) <= set(RULES)
    assert list(BAD_VALUES) == list(RULES)  # every rule is pinned below, in the table's order
    assert {field for _, field, _ in RELATED} == set(RELATIONS)


def test_each_rule_and_relation_keeps_its_message():
    """One loop, not a parameter each: every test here pays the Keras session clean-up."""
    cases = [({key: value}, key, accepted) for key, (value, accepted) in BAD_VALUES.items()]
    for change, key, accepted in cases + RELATED:
        with pytest.raises(ConfigError) as info:
            BenchConfig(**change).validate_values()
        expected = f"Invalid {key}: {accepted}. Received: {key}={change[key]!r}"
        assert str(info.value) == expected, change


def test_errors_come_in_the_order_of_the_table():
    """Everything bad at once: the first field of the table is reported, then the next."""
    bad = {key: value for key, (value, _) in BAD_VALUES.items()}
    reported = []
    while bad:
        with pytest.raises(ConfigError) as info:
            BenchConfig(**bad).validate_values()
        key = str(info.value).split(":")[0].removeprefix("Invalid ")
        reported.append(key)
        bad.pop(key)
    assert reported == list(BAD_VALUES)


_ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.floats(allow_nan=True),
    st.sampled_from(["", " ", "sgd", "auto", "mixup", "cutmix", "cosine", "none", "crop", "x"]),
    st.lists(st.one_of(st.integers(-2, 9), st.sampled_from(["", "train", "flip", "tfds:m"]))),
)


@settings(max_examples=300)
@given(key=st.sampled_from(sorted(RULES)), value=_ANY_VALUE)
def test_one_changed_field_is_accepted_or_is_the_one_named(key, value):
    """A single changed field passes, or the error names it with its rule's (or relation's)
    words and what was received; the rule's verdict is kerascnn.checks' validator's."""
    cfg = BenchConfig(**{key: value})
    rule = RULES[key]
    try:
        cfg.validate_values()
    except ConfigError as exc:
        ok = checks.accepts(rule.check, value)
        accepted = RELATIONS[key](vars(cfg)) if ok else rule.accepted
        assert accepted is not None
        assert str(exc) == f"Invalid {key}: {accepted}. Received: {key}={value!r}"
    else:
        assert checks.accepts(rule.check, value)


def test_the_generic_checks_the_rules_use():
    from kerascnn.errors import ArgumentError

    names = checks.list_of(checks.string())
    assert names("suite", "models", ["lenet"]) == ["lenet"]
    for bad in ([], ("lenet",), ["lenet", " "], "lenet"):
        assert not checks.accepts(names, bad)
    with pytest.raises(ArgumentError, match=r"`seeds\[1\]` must be an integer >= 0.*seeds\[1\]=-1"):
        checks.list_of(checks.non_negative_int)("suite", "seeds", [0, -1])
    pair = checks.list_of(checks.positive_int, length=2)
    assert checks.accepts(pair, [3, 4]) and not checks.accepts(pair, [3])
    assert checks.accepts(checks.list_of(checks.boolean, allow_empty=True), [])
    assert checks.accepts(checks.string(blank=True), "") and not checks.accepts(checks.string(), "")


def test_config_checks_never_imports_config_and_config_imports_it_at_the_top():
    import ast

    def imports(tree):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                yield node, [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                yield node, [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]

    bench = ROOT / "kerascnn" / "bench"
    checks_tree = ast.parse((bench / "config_checks.py").read_text(encoding="utf-8"))
    for _, names in imports(checks_tree):
        assert not [n for n in names if n.split(".")[:3] == ["kerascnn", "bench", "config"]]
    config_tree = ast.parse((bench / "config.py").read_text(encoding="utf-8"))
    at_top = [node for node in config_tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    for node, names in imports(config_tree):
        if any("config_checks" in n for n in names):
            assert node in at_top, ast.unparse(node)
