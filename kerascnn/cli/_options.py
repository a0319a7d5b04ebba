"""Command-line options declared once: a table entry per option, from which click's decorators
are made and, for ``kerascnn bench``, the :class:`~kerascnn.bench.config.BenchConfig` field each
option sets is read.

An :class:`Option` holds click's declarations and keywords as written for ``click.option``; the
options several commands share are declared here once (:data:`MODELS`, :data:`DATASET`,
:data:`DATA_DIR`, :data:`SEED`, :data:`OUT`, :data:`BACKEND`, :data:`FORMAT`, :data:`COMPARE`)
and a command that words one its own way takes a variant, ``OUT.but(help=...)``, under the same
name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import click


@dataclasses.dataclass(frozen=True)
class Option:
    """One option: ``click.option(*decls, **attrs)``, and the BenchConfig field it sets (None
    where the command uses the value itself)."""

    decls: tuple[str, ...]
    attrs: Mapping[str, Any]
    field: str | None = None

    @property
    def name(self) -> str:
        """The keyword click passes the value under (``--lr``, ``learning_rate``: learning_rate)."""
        return click.Option(self.decls, **self.attrs).name

    def but(self, *, field: str | None = None, **attrs: Any) -> Option:
        """This option with some of click's keywords (help, default, type...) or its field set."""
        return dataclasses.replace(self, attrs={**self.attrs, **attrs}, field=field or self.field)

    def __call__(self, fn: Callable) -> Callable:
        """Add the option to a click command (as ``@click.option(...)`` does)."""
        return click.option(*self.decls, **self.attrs)(fn)


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


def listed(ctx: click.Context, param: click.Parameter, value: tuple) -> list | None:
    """Callback of a repeatable option: the values given as a list, None when none was given."""
    return list(value) or None


MODELS = option("--models", "-m")
"""Comma-separated model specs (bench, throughput)."""
DATASET = option("--dataset", default="fashion_mnist_mini", show_default=True)
"""The dataset a command loads (viz, experiment; export and deploy: for loose .keras files)."""
DATA_DIR = option("--data-dir", default=None)
"""Folder holding the dataset files (bench, viz)."""
SEED = option("--seed", default=0, show_default=True, type=int)
"""The one seed of a command (viz, experiment; bench's repeatable --seed is its own)."""
OUT = option("--out", default=None)
"""Where a command writes (every command that writes; each says what and where by default)."""
BACKEND = option("--backend", default=None)
"""The Keras backend (bench, throughput; :func:`kerascnn.cli._base.uses_keras` selects it)."""
FORMAT = option("--format", "fmt")
"""What a command prints or writes (models, summary, report, export), each from its own choices."""
COMPARE = option("--compare", default=None)
"""Another output folder to set beside this one (report, throughput)."""
