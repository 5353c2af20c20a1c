"""Rules between options, checked in one shape (gh: ``cmdutil.MutuallyExclusive``).

- :func:`mutually_exclusive`: options that may not be given together;
- :func:`needs`: an option that only means something with another.

Both end in ``usage.conflicting-options`` (exit 2) naming the options given,
before any request. Plain functions of values, so the client layer (which
checks a grant's options when ``LoginOptions`` come from code, not flags) and
the commands use the same rule; nothing here imports the CLI framework.
"""

from __future__ import annotations

from collections.abc import Mapping

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError


def mutually_exclusive(given: Mapping[str, object], reason: str, *, hint: str | None = None) -> None:
    """At most one of ``given`` (option -> its value; given when truthy), else
    "--a and --b cannot be combined: {reason}."."""
    present = [name for name, value in given.items() if value]
    if len(present) > 1:
        raise UsageError(f"{' and '.join(present)} cannot be combined: {reason}.", code=ErrorCode.USAGE_CONFLICTING_OPTIONS, hint=hint or f"Pass only one of {', '.join(present)}.")


def needs(option: str, value: object, required: str, present: object, reason: str | None = None) -> None:
    """``option`` (given when ``value`` is truthy) only with ``required`` (given when ``present`` is), else
    "--a needs --b: {reason}."."""
    if value and not present:
        raise UsageError(f"{option} needs {required}{': ' + reason if reason else ''}.", code=ErrorCode.USAGE_CONFLICTING_OPTIONS, hint=f"Pass {required} too, or leave out {option}.")
