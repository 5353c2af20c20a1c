"""The two consoles: results on stdout, progress and errors on stderr.

rich honours NO_COLOR and turns styling off when the stream is not a
terminal, so piped output is plain text. The width comes from the terminal
only when there is one: rich's default for a pipe or a file is 80 columns,
which would cut URLs and long lines in two. ``COLUMNS`` wins whenever it is
set (as rich and most programs honour it); otherwise output that is not a
terminal is never wrapped.
"""

from __future__ import annotations

import os
from functools import cache

from rich.console import Console

NO_WRAP_WIDTH = 1_000_000  # not a terminal and no COLUMNS: lines are as long as their content


def columns_from_env() -> int | None:
    """``COLUMNS`` when it is a positive integer."""
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console for stdout or stderr, as wide as the terminal, or unbounded when there is none."""
    console = Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap)
    if not console.is_terminal and columns_from_env() is None:
        console.width = NO_WRAP_WIDTH
    return console


@cache
def stdout_console() -> Console:
    return make_console(soft_wrap=False)


@cache
def stderr_console() -> Console:
    return make_console(stderr=True)
