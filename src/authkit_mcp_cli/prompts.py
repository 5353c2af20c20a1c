"""Asking for a value the user did not pass: questionary on a terminal,
otherwise a usage error naming the flag and the environment variable.

questionary is imported only when a prompt is really shown (it costs start-up
time). Ctrl-C at a prompt ends the command quietly with exit code 130.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError


def interactive() -> bool:
    return bool(sys.stdin and sys.stdin.isatty() and sys.stdout and sys.stdout.isatty())


def _answer(question) -> object:
    value = question.ask()  # returns None on Ctrl-C
    if value is None:
        raise KeyboardInterrupt  # the command boundary makes it exit 130, as everywhere
    return value


def ask_text(message: str, *, flag: str, env: str | None = None, default: str | None = None, yes: bool = False, validate: Callable[[str], str | None] | None = None, missing: ErrorCode = ErrorCode.USAGE_MISSING_OPTIONS) -> str:
    """The value from a prompt; ``--yes`` takes the default; no terminal: a usage error coded ``missing``."""
    if yes and default is not None:
        return default
    if not interactive():
        where = f" or set {env}" if env else ""
        raise UsageError(f"{message.rstrip('?: ')} is needed.", code=missing, hint=f"Pass {flag}{where}" + (" (or --yes for the default)." if default is not None else "."))
    import questionary

    def check(text: str) -> bool | str:
        if validate is None:
            return True
        problem = validate(text or default or "")
        return True if problem is None else problem

    # The default is a placeholder, not pre-filled text: what the user types replaces it instead of
    # being appended to it (issue #15 item 9); an empty answer takes the default.
    placeholder = [("fg:ansibrightblack", default)] if default else None
    answer = str(_answer(questionary.text(message, default="", validate=check, placeholder=placeholder)))
    return answer or default or ""


def confirm(message: str, *, flag: str, default: bool = False, yes: bool = False) -> bool:
    if yes:
        return True
    if not interactive():
        raise UsageError(f"{message.rstrip('?')}: confirmation needed.", hint=f"Pass {flag} to confirm without a prompt.")
    import questionary

    return bool(_answer(questionary.confirm(message, default=default)))
