"""What every command shares: the error contract (exit codes) and the Keras backend set-up.

The error contract: kerascnn's own user errors (:class:`kerascnn.errors.KerasCNNError`) and
click's exceptions end in a one-paragraph ``Error: ...`` message; any other exception is a bug
in kerascnn and says so in one line, with the traceback under ``--debug`` / ``KERASCNN_DEBUG=1``.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback

import click

from kerascnn.errors import ConfigError, KerasCNNError

EXIT_USER_ERROR = 1
"""A user error (the message says what was received and what works), or a failed bench run."""
EXIT_USAGE = 2
"""click's usage error: an unknown command or option, a flag value of the wrong type."""
EXIT_BUG = 3
"""An exception that is not a user error: a bug in kerascnn."""
EXIT_INTERRUPTED = 130
"""``kerascnn bench`` stopped by Ctrl-C (finished runs stay stored)."""

_MAX_BUG_MESSAGE = 400  # characters of the exception's text in the one-line bug report


def one_paragraph(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def report_bug(exc: BaseException, *, debug: bool) -> None:
    """Print the one-line bug report of ``exc`` on stderr (after its traceback when ``debug``)."""
    if debug:
        click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
    text = one_paragraph(exc)
    if len(text) > _MAX_BUG_MESSAGE:
        text = text[: _MAX_BUG_MESSAGE - 3] + "..."
    where = "traceback above" if debug else "rerun with --debug for the traceback"
    click.echo(
        f"kerascnn: internal error (a bug in kerascnn, please report it): "
        f"{type(exc).__name__}: {text}; {where}",
        err=True,
    )


class KerasCNNGroup(click.Group):
    """The top-level click group: applies the error contract to every command below it."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except KerasCNNError as exc:
            raise click.ClickException(one_paragraph(exc)) from None
        except Exception as exc:  # not a user error: a bug, reported as one (the contract)
            report_bug(exc, debug=bool(ctx.params.get("debug")))
            ctx.exit(EXIT_BUG)


def select_backend(backend: str) -> None:
    """Set KERAS_BACKEND for a ``--backend`` flag; it must come before Keras is first imported."""
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != backend:
        raise click.ClickException(
            f"Keras is already loaded with the {keras.backend.backend()!r} backend; "
            f"set KERAS_BACKEND={backend} before starting. Received: --backend {backend}"
        )
    os.environ["KERAS_BACKEND"] = backend


def joins_cluster(kwargs) -> bool:
    """Whether the command will join a multi-process run (flags or a launcher's variables)."""
    from kerascnn.distributed.cluster import ENVIRONMENTS

    launcher = os.environ.get("TF_CONFIG") or any(os.environ.get(n[1]) for n in ENVIRONMENTS)
    return bool(kwargs.get("num_processes") or launcher)


def uses_keras(fn):
    """For a command that runs Keras: select its ``--backend`` (if it has one), then import the
    backend quietly (without TensorFlow's C++ start-up chatter; ``--debug`` shows it and every
    framework log line after it) before the command runs."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from kerascnn._quiet import quiet_backend_import

        if kwargs.get("backend"):
            select_backend(kwargs["backend"])
        try:
            ctx = click.get_current_context(silent=True)
            debug = bool(ctx and ctx.find_root().params.get("debug"))
            quiet_backend_import(list_devices=not joins_cluster(kwargs), verbose_logs=debug)
        except ImportError as exc:  # the chosen backend's package is not installed
            backend = os.environ.get("KERAS_BACKEND", "tensorflow")
            raise ConfigError(
                f"The Keras backend {backend!r} could not be imported ({type(exc).__name__}: "
                f"{exc}). Install it or choose another with --backend or KERAS_BACKEND "
                f"(tensorflow, jax, torch). Received: KERAS_BACKEND={backend}"
            ) from None
        return fn(*args, **kwargs)

    return wrapper
