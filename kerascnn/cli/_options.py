"""Command-line options declared once: a table entry per option, from which click's decorators
are made and, for ``kerascnn bench``, the :class:`~kerascnn.bench.config.BenchConfig` field each
option sets is read.

An :class:`Option` holds click's declarations and keywords as written for ``click.option``; the
options several commands share are declared here once (:data:`MODELS`, :data:`DATASET`,
:data:`DATA_DIR`, :data:`SEED`, :data:`OUT`, :data:`BACKEND`, :data:`FORMAT`, :data:`COMPARE`,
and the vocabulary every command speaks alike: :data:`IMAGE_SIZE`, :data:`BATCH_SIZE`,
:data:`JIT`, :data:`PRECISION`, :data:`OPTIMIZER`, :data:`TRAIN_LIMIT`, :data:`TEST_LIMIT`)
and a command that words one its own way takes a variant, ``OUT.but(help=...)``, under the same
name. An old spelling of an option stays working as a hidden :func:`deprecated` alias that
prints a one-line note; :data:`VOCABULARY` says which spelling each concept has.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import click
from click.core import ParameterSource

from kerascnn.bench.config_checks import OPTIMIZERS, PRECISION_POLICIES
from kerascnn.data.resize import check_image_size
from kerascnn.errors import ArgumentError, ConfigError


@dataclasses.dataclass(frozen=True)
class Option:
    """One option: ``click.option(*decls, **attrs)``, and the BenchConfig field it sets (None
    where the command uses the value itself)."""

    decls: tuple[str, ...]
    attrs: Mapping[str, Any]
    field: str | None = None
    replaces: str | None = None
    """For a :func:`deprecated` alias: the keyword of the option whose value it gives."""

    @property
    def name(self) -> str:
        """The keyword click passes the value under (``--lr``, ``learning_rate``: learning_rate)."""
        return click.Option(self.decls, **self.attrs).name

    def but(self, *, field: str | None = None, name: str | None = None, **attrs: Any) -> Option:
        """This option with some of click's keywords (help, default, type...), its field or the
        keyword ``name`` its value is passed under set."""
        decls = self.decls if name is None else (*self.decls, name)
        return dataclasses.replace(
            self, decls=decls, attrs={**self.attrs, **attrs}, field=field or self.field
        )

    @property
    def flag(self) -> str:
        """The option as typed: its first long spelling (``--lr``, ``--jit/--no-jit``)."""
        return self.decls[0]

    def __call__(self, fn: Callable) -> Callable:
        """Add the option to a click command (as ``@click.option(...)`` does); an alias also
        hands its value on to the option it replaces."""
        fn = click.option(*self.decls, **self.attrs)(fn)
        return fn if self.replaces is None else _feeding(fn, self)


def option(*decls: str, field: str | None = None, **attrs: Any) -> Option:
    """An :class:`Option`, written as ``click.option`` is, with the BenchConfig ``field`` it sets."""
    return Option(decls, attrs, field)


def options(*table: Option) -> Callable[[Callable], Callable]:
    """A decorator adding the options of ``table`` to a click command, in the table's order."""

    def add(fn: Callable) -> Callable:
        for opt in reversed(table):
            fn = opt(fn)
        return fn

    return add


def fields(table: tuple[Option, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``given`` (a command's keyword arguments) that the options of ``table`` with
    a field set, keyed by that field."""
    return {opt.field: given[opt.name] for opt in table if opt.field}


@contextlib.contextmanager
def flag_names(table: tuple[Option, ...]):
    """Inside, a ConfigError about a field that an option of ``table`` given on the command
    line sets names that option as the user typed it: ``Invalid --lr: ... Received: --lr -0.1``
    instead of the field's ``learning_rate`` (a value from a suite file keeps its key)."""
    try:
        yield
    except ConfigError as exc:
        key, ctx = getattr(exc, "key", None), click.get_current_context()
        for opt in table:
            if key is None or opt.field != key:
                continue
            if ctx.get_parameter_source(opt.name) is ParameterSource.COMMANDLINE:
                raise ConfigError(
                    f"Invalid {opt.flag}: {exc.accepted}. Received: {_typed(opt, exc.value)}"
                ) from None
        raise


def _typed(opt: Option, value: Any) -> str:
    """``value`` as given to ``opt`` on a command line (``--seed 1 --seed 1``, ``--augment a,b``)."""
    if opt.attrs.get("multiple") and isinstance(value, list):
        return " ".join(f"{opt.flag} {v}" for v in value)
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"{opt.flag} {value}"


def listed(ctx: click.Context, param: click.Parameter, value: tuple) -> list | None:
    """Callback of a repeatable option: the values given as a list, None when none was given."""
    return list(value) or None


MODELS = option("--models", "-m")
"""Comma-separated model specs (bench, throughput)."""
DATASET = option(
    "--dataset",
    default="fashion_mnist_mini",
    show_default=True,
    help="Dataset to load (kerascnn datasets lists the names).",
)
"""The dataset a command loads (viz, experiment; export and deploy: for loose .keras files)."""
DATA_DIR = option("--data-dir", default=None)
"""Folder holding the dataset files (bench, viz)."""
SEED = option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Random seed (weights, data order, augmentation): the same seed, the same result.",
)
"""The one seed of a command (viz, experiment; bench's repeatable --seed is its own)."""
OUT = option("--out", default=None)
"""Where a command writes (every command that writes; each says what and where by default)."""
BACKEND = option("--backend", default=None)
"""The Keras backend (bench, throughput; :func:`kerascnn.cli._base.uses_keras` selects it)."""
FORMAT = option("--format", "fmt")
"""What a command prints or writes (models, summary, report, export), each from its own choices."""
COMPARE = option("--compare", default=None)
"""Another output folder to set beside this one (report, throughput)."""


# ------------------------------------------------------------------ old spellings


def deprecated(old: str, new: Option) -> Option:
    """A hidden option under ``old``, the former spelling of ``new`` (``"--xla/--no-xla"`` of
    ``--jit/--no-jit``): it takes the same values, prints a one-line deprecation note on stderr
    and gives its value to ``new``'s keyword; giving both is a usage error."""
    kept = {k: v for k, v in new.attrs.items() if k in ("type", "is_flag", "metavar")}
    name = old.split("/")[0].lstrip("-").replace("-", "_") + "_deprecated"
    return Option(
        (old, name),
        {
            **kept,
            "default": None,
            "hidden": True,
            "help": f"Deprecated spelling of {new.flag}.",
            "callback": _note(old, new.flag),
        },
        replaces=new.name,
    )


def _note(old: str, new: str) -> Callable:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if (
            value is not None
            and ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE
        ):
            click.echo(f"Note: {old} is deprecated and will be removed; use {new}.", err=True)
        return value

    return callback


def _feeding(fn: Callable, alias: Option) -> Callable:
    """``fn`` taking the value of ``alias`` under the keyword of the option it replaces."""
    old, new = alias.name, alias.replaces

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        value = kwargs.pop(old)
        if value is not None:
            ctx = click.get_current_context()
            if ctx.get_parameter_source(new) is ParameterSource.COMMANDLINE:
                raise click.UsageError(
                    f"{alias.flag} is the deprecated spelling of --{new.replace('_', '-')}: give "
                    f"one of them. Received: both",
                    ctx,
                )
            kwargs[new] = value
        return fn(*args, **kwargs)

    return wrapper


# ------------------------------------------------------------------ the shared vocabulary


class ImageSize(click.ParamType):
    """``--image-size``: ``96`` (96 x 96) or ``H,W`` (also ``HxW``) -> ``(height, width)``."""

    name = "H[,W]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return check_image_size(str(value))
        except ArgumentError:
            self.fail(
                f"a positive size H or H,W in pixels (96 means 96x96; 96,128 is height,width). "
                f"Received: {value!r}",
                param,
                ctx,
            )


def _policy(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--precision``'s callback: the Keras dtype policy the name stands for."""
    return None if value is None else PRECISION_POLICIES[value]


PRECISION_HELP = (
    "float32; mixed_float16 or mixed_bfloat16: Keras mixed precision (float32 variables, 16-bit "
    "compute; the loss and softmax in float32); bfloat16 is short for mixed_bfloat16."
)
OPTIMIZER_HELP = (
    "sgd = plain SGD (no momentum); momentum = SGD with Nesterov momentum 0.9; adam; adamw "
    "(Adam with decoupled weight decay)."
)

IMAGE_SIZE = option("--image-size", type=ImageSize(), default=None)
"""Height and width the models see (bench, throughput, summary)."""
BATCH_SIZE = option("--batch-size", type=click.IntRange(min=1), default=None)
"""One batch size (bench: training; deploy: the batch-N throughput); a sweep is --batch-sizes."""
JIT = option("--jit/--no-jit", "jit", default=None)
"""XLA compilation on or off (bench, throughput; --xla is the old spelling)."""
PRECISION = option(
    "--precision", type=click.Choice(tuple(PRECISION_POLICIES)), callback=_policy, default=None
)
"""The precision, one of :data:`PRECISION_POLICIES`'s names, given as its Keras dtype policy."""
OPTIMIZER = option("--optimizer", type=click.Choice(OPTIMIZERS), default=None)
"""The training optimizer, the same names everywhere (bench, throughput): see OPTIMIZER_HELP."""
TRAIN_LIMIT = option("--train-limit", type=click.IntRange(min=1), default=None)
"""Train on a subset of this many training images (bench, viz)."""
TEST_LIMIT = option("--test-limit", type=click.IntRange(min=1), default=None)
"""Evaluate (or check) on a subset of this many test images (bench, deploy, export)."""

VOCABULARY = {
    "model list": "--models",
    "image size (height, width)": "--image-size",
    "input shape (height, width, channels)": "--input-shape",
    "one batch size": "--batch-size",
    "a sweep of batch sizes": "--batch-sizes",
    "XLA compilation": "--jit/--no-jit",
    "precision": "--precision",
    "optimizer": "--optimizer",
    "training subset": "--train-limit",
    "test subset": "--test-limit",
}
"""Each concept a command takes -> its one spelling (tests/test_vocabulary.py holds it)."""
