"""What every command shares: the error contract (exit codes) and the Keras backend set-up.

The error contract: kerascnn's own user errors (:class:`kerascnn.errors.KerasCNNError`) and
click's exceptions end in a one-paragraph ``Error: ...`` message; so does a full disk, a quota
or a read-only file system (:func:`disk_error`: the user's to fix, not a bug); any other
exception is a bug in kerascnn and says so in one line, with the traceback under ``--debug`` /
``KERASCNN_DEBUG=1``. An unknown command that means one of ours (``profile``) names it
(:data:`COMMAND_ALIASES`).
"""

from __future__ import annotations

import errno
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

COMMAND_ALIASES = {
    "profile": "summary",
    "flops": "summary",
    "macs": "summary",
    "params": "models",
    "list": "models",
    "train": "bench",
    "benchmark": "bench",
    "run": "bench",
    "plot": "viz",
    "visualize": "viz",
    "convert": "export",
    "quantize": "export",
    "speed": "throughput",
    "dataset": "datasets",
    "data": "datasets",
}
"""A word a user may try for a command -> the command that does it (``kerascnn profile``: did
you mean summary?); click's own suggestions only catch spellings close to a command's name."""

DISK_ERRORS = {
    errno.ENOSPC: "no space is left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
}
"""The errno values of an OSError that say the disk, not kerascnn, stopped a write."""


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


def written_file(exc: OSError) -> str | None:
    """The file a failed write was for: the ``path`` of kerascnn's atomic writer
    (:func:`kerascnn.record.files.write_text_atomic`) where it failed, else the file the error
    names, else the ``path`` or ``out`` file of the innermost kerascnn function (a figure)."""
    package = os.path.dirname(os.path.dirname(__file__))
    tb, atomic, inner = exc.__traceback__, None, None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "write_text_atomic":
            atomic = frame.f_locals.get("path")
        elif frame.f_code.co_filename.startswith(package):
            named = [frame.f_locals.get(n) for n in ("path", "out")]
            inner = next((v for v in named if isinstance(v, (str, os.PathLike))), inner)
        tb = tb.tb_next
    found = atomic or exc.filename2 or exc.filename or inner
    return os.fspath(found) if found else None


def disk_error(exc: OSError, command: click.Command | None) -> str:
    """The one-paragraph message of a write the disk refused: which file, that what was
    finished before is intact, and how to go on (``--resume`` where the command has it)."""
    name = written_file(exc)
    what = f"kerascnn could not write {name}" if name else "kerascnn could not write a file"
    resume = command is not None and any(p.name == "resume" for p in command.params)
    go_on = (
        "rerun the same command with --resume to go on from there"
        if resume
        else "run the command again"
    )
    return (
        f"{what}: {DISK_ERRORS[exc.errno]}. The results finished before it are intact (each "
        f"file is written whole or not at all). Free some space or choose another --out, then "
        f"{go_on}. Received: {type(exc).__name__}: {one_paragraph(exc)}"
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
            if isinstance(exc, OSError) and exc.errno in DISK_ERRORS:  # the disk's, not a bug
                command = self.commands.get(ctx.invoked_subcommand or "")
                raise click.ClickException(disk_error(exc, command)) from None
            report_bug(exc, debug=bool(ctx.params.get("debug")))
            ctx.exit(EXIT_BUG)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """click's, and for a word of :data:`COMMAND_ALIASES` the command it means."""
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand:
            meant = COMMAND_ALIASES.get(args[0].lower()) if args else None
            if meant is None or meant not in self.commands:
                raise
            short = self.commands[meant].get_short_help_str(limit=70)
            raise click.UsageError(
                f"No such command {args[0]!r}. Did you mean {meant!r}? (kerascnn {meant}: {short})",
                ctx,
            ) from None


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
