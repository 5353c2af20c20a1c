"""The two consoles: results on stdout, progress and errors on stderr.

rich honours NO_COLOR and turns styling off when the stream is not a
terminal, so piped output is plain text.
"""

from __future__ import annotations

from functools import cache

from rich.console import Console


@cache
def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


@cache
def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)
