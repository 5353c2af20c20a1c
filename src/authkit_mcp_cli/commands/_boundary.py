"""The one place where errors become output and an exit code.

``cli.py`` wraps every command in :func:`command_boundary` where it registers
it, so the boundary sits inside the Typer app: ``CliRunner`` tests see the
same exit codes as a shell. An error from the tree in ``errors.py`` prints
one message (what happened, how to fix it, the spec section, its code) on
stderr, or one JSON document on stdout under ``--json``, and exits with its
documented code. Anything else is a bug in atoms-auth: exit 70 (EX_SOFTWARE),
so CI can tell a crash from a finding. ``ATOMS_AUTH_DEBUG=1`` re-raises
instead, to show the traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from authkit_mcp_cli.commands._json_error import write_error_document
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AtomsAuthError, ExitCode, sentence
from authkit_mcp_cli.safe_text import escape_control

F = TypeVar("F", bound=Callable[..., Any])


def command_boundary(fn: F) -> F:
    """Wrap a Typer command: errors from the tree -> message + exit code; anything else -> exit 70."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("json_output"))
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own control flow and usage errors (exit 2)
        except AtomsAuthError as exc:
            if _debug():
                raise
            report_error(exc, as_json=as_json)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except BrokenPipeError:
            stdout_reader_gone()
            raise typer.Exit(ExitCode.PIPE_CLOSED) from None
        except Exception as exc:
            if _debug():
                raise
            report_bug(exc, as_json=as_json)
            raise typer.Exit(ExitCode.SOFTWARE) from None

    return run  # type: ignore[return-value]


def stdout_reader_gone() -> None:
    """stdout's reader closed the pipe (``| head``): nothing more can be shown there, and Python's flush of
    stdout at exit must not fail again with a second BrokenPipeError on stderr."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real descriptor (CliRunner): nothing to redirect
        pass


def _debug() -> bool:
    return bool(os.environ.get("ATOMS_AUTH_DEBUG"))


def report_error(exc: AtomsAuthError, *, as_json: bool) -> None:
    # One shape everywhere (issue #15 item 7): error: what happened / fix: what to do / spec: only when
    # relevant / code:; a message built from a remote's sentence never ends in "..".
    exc.message = sentence(exc.message)
    exc.hint = sentence(exc.hint) if exc.hint else exc.hint
    if as_json:
        write_error_document(exc)
        return
    from rich.markup import escape

    from authkit_mcp_cli.console import stderr_console

    console = stderr_console()
    # soft_wrap: long URLs and messages stay whole lines (grep-able, copy-able)
    console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        console.print(f"[bold]fix:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
    if exc.spec:
        console.print(f"[dim]spec: {escape(exc.spec)}[/]", highlight=False, soft_wrap=True)
    console.print(f"[dim]code: {escape(exc.code)}[/]", highlight=False, soft_wrap=True)


def report_bug(exc: BaseException, *, as_json: bool) -> None:
    message = f"internal error: {type(exc).__name__}: {exc}"
    hint = "This is a bug in atoms-auth; rerun with ATOMS_AUTH_DEBUG=1 and report the traceback."
    if as_json:
        write_error_document(AtomsAuthError(message, code=ErrorCode.INTERNAL_BUG, hint=hint))
        return
    sys.stderr.write(f"error: {escape_control(message)}\nfix: {hint}\ncode: {ErrorCode.INTERNAL_BUG}\n")  # the shape of every other error
