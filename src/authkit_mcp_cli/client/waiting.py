"""Waiting for a person (issue 15 item 3): whether one could answer on stdin, and
the quiet countdown the library uses unless a command hands in the terminal's
(``Context.countdown``; commands._waiting draws it)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator


def stdin_is_terminal() -> bool:
    """Whether a person could answer on stdin (a paste, Ctrl-C after a look at the browser)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False




@contextlib.asynccontextmanager
async def quiet_countdown(what: str, seconds: float, hint: str | None = None) -> AsyncIterator[None]:
    """No display: what the library waits with when no command handed in a terminal's countdown."""
    yield
