"""Help pages and the CLI framework's own errors, in atoms-auth's shape.

- :func:`exit_codes_epilog` renders one command's "Exit codes" paragraph from
  ``errors.COMMAND_EXIT_CODES`` (the one table; the README's comes from it too).
- :func:`command_help` is a command's docstring without a hand-written
  "Exit codes" paragraph, so each page has exactly one.
- :class:`AtomsGroup` lists each command's full one-line summary, and turns
  click's usage errors (bad values, ranges, choices, unknown or missing
  options) into ``error:`` / ``fix:`` / ``code:`` lines on stderr, or the
  ``--json`` error document, still exit 2.

Only typer (already loaded for any command) is imported here: ``--help`` stays fast.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup, TyperOption  # public: typer's documented way to customise a group

from authkit_mcp_cli.commands._json_error import write_error_document
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import COMMAND_EXIT_CODES, EXIT_CODE_MEANINGS, ExitCode, UsageError, sentence
from authkit_mcp_cli.seams import typer_private as typer_click  # typer 0.29 vendors its click; the seam reaches it

JSON_ERRORS = 'With --json, a failing command prints one JSON document on stdout: {"schema": 1, "error": {"code", "message", "hint", "spec", "url", "remote"}}.'
_EXIT_SENTENCE = re.compile(r"\s*\bExit codes?\b[^.]*\.(?=\s|$)")  # a hand-written one inside a paragraph


def _join(codes: dict[int, str]) -> str:
    return "; ".join(f"{code} {meaning}" for code, meaning in codes.items())


def exit_codes_epilog(command: str | None = None) -> str:
    """The "Exit codes" paragraph of ``command``'s --help (None: the root page, every code)."""
    codes = EXIT_CODE_MEANINGS if command is None else COMMAND_EXIT_CODES[command]
    tail = "" if command in ("serve", "mcp") else " " + JSON_ERRORS  # the two without --json
    return f"Exit codes: {_join(codes)}.{tail}"


def command_help(fn: Callable[..., Any]) -> str:
    """The docstring as typer shows it, minus any paragraph that starts with "Exit code"."""
    doc = inspect.getdoc(fn) or ""
    paragraphs = (_EXIT_SENTENCE.sub("", p).rstrip() for p in doc.split("\n\n") if not p.lstrip().startswith("Exit code"))
    return "\n\n".join(p for p in paragraphs if p)


class ShapedUsageError(typer_click.UsageError):
    """A click usage error that prints the way AtomsAuthError does (exit 2)."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, hint: str, *, as_json: bool) -> None:
        super().__init__(message)
        self.hint = hint
        self.as_json = as_json

    def show(self, file: Any = None) -> None:
        if self.as_json:
            write_error_document(UsageError(self.message, code=ErrorCode.USAGE_CLI, hint=self.hint))
            return
        err = file or sys.stderr
        err.write(f"error: {self.message}\nfix: {self.hint}\ncode: {ErrorCode.USAGE_CLI}\n")
        err.flush()


def shaped(exc: typer_click.UsageError, *, as_json: bool) -> typer_click.UsageError:
    if isinstance(exc, (ShapedUsageError, typer_click.NoArgsIsHelpError)):
        return exc
    message = sentence(exc.format_message().replace(": Value error, ", ": "))  # typer's converter prefix
    path = exc.ctx.command_path if exc.ctx is not None else "atoms-auth"
    if message.startswith(("No such command", "Missing command")):
        hint = f"Run '{path} --help' for the commands."
    else:
        hint = f"Run '{path} --help' for the options and the values they take."
    return ShapedUsageError(message, hint, as_json=as_json)


COMPLETION_OPTIONS = ("--install-completion", "--show-completion")


def _completion_shell_optional(args: list[str]) -> list[str]:
    """``--install-completion`` / ``--show-completion`` with the shell left out mean the login shell.

    click has no optional option values here, so a bare one gets the value ``auto`` before parsing.
    """
    out = list(args)
    for i, arg in enumerate(out):
        if arg in COMPLETION_OPTIONS and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, "auto")
            break
    return out


class AtomsGroup(TyperGroup):
    """The root and ``token`` groups: full command summaries, click errors in atoms-auth's shape."""

    _as_json = False

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # click ends a broken pipe (``--help | head``) with exit 1 after swapping stdout for a
        # PacifyFlushWrapper; every atoms-auth command ends it quietly with 141 (issue #24 item 7)
        try:
            return super().main(*args, **kwargs)
        except SystemExit as exc:
            if exc.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":  # by name: the class is typer-private
                from authkit_mcp_cli.commands._boundary import stdout_reader_gone
                from authkit_mcp_cli.error_codes import ExitCode

                stdout_reader_gone()
                raise SystemExit(ExitCode.PIPE_CLOSED) from None
            raise

    def make_context(self, info_name: str | None, args: list[str], parent: typer_click.Context | None = None, **extra: Any) -> typer_click.Context:
        if parent is None:  # the root: remember whether --json was asked anywhere on the line
            args = _completion_shell_optional(args)
            AtomsGroup._as_json = "--json" in args or "--format=json" in args or any(a == "--format" and b == "json" for a, b in zip(args, args[1:], strict=False))
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except typer_click.UsageError as exc:
            raise shaped(exc, as_json=AtomsGroup._as_json) from None

    def invoke(self, ctx: typer_click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except typer_click.UsageError as exc:
            raise shaped(exc, as_json=AtomsGroup._as_json) from None

    def get_command(self, ctx: typer_click.Context, cmd_name: str) -> typer_click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            name_metavars(cmd, ctx)
        return cmd

    def format_commands(self, ctx: typer_click.Context, formatter: typer_click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))  # never truncated with "..."
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def name_metavars(cmd: typer_click.Command, ctx: typer_click.Context) -> None:
    """An option that takes a value and declares no metavar shows its own name (--host HOST), never the
    type (<str>, <list[str]>, <int range>); choices keep their list (issue #15 item 8)."""
    for param in cmd.params:
        if not isinstance(param, TyperOption) or getattr(param, "is_flag", False) or param.metavar is not None:
            continue
        shown = param.display_type(ctx) or ""
        if "|" not in shown:  # a type, not a list of choices
            param.metavar = (param.name or "value").upper()


def typer_app(**kwargs: Any) -> typer.Typer:
    """A Typer app whose group is :class:`AtomsGroup`."""
    return typer.Typer(cls=AtomsGroup, **kwargs)
