"""The two consoles: results on stdout, progress and errors on stderr.

rich honours NO_COLOR and turns styling off when the stream is not a
terminal, so piped output is plain text. The width comes from the terminal
only when there is one: rich's default for a pipe or a file is 80 columns,
which would cut URLs and long lines in two. ``COLUMNS`` wins whenever it is
set (as rich and most programs honour it); otherwise output that is not a
terminal is never wrapped.

Every character that reaches the stream goes through :class:`SafeConsole`:
text a remote sent (an AS's ``error_description``, a tool's description or
result, a server name) may hold ESC, CSI (``\x9b``), BEL, backspace or
``\r``, which a terminal would obey (clear the screen, forge a prompt). rich
escapes markup, not control characters, so they are written as visible
escapes (``\x1b``) here, the one seam all console output crosses, whether or
not colour is on. rich's own control segments (cursor moves of a live
display) and its styling escapes are added after this point and kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache

from rich.console import Console
from rich.segment import Segment

from authkit_mcp_cli.safe_text import escape_control

NO_WRAP_WIDTH = 1_000_000  # not a terminal and no COLUMNS: lines are as long as their content


class SafeConsole(Console):
    """A rich Console that never writes a control character it did not make itself."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # Segments marked ``control`` are rich's own (cursor movement); every other
        # segment's text is content, and content gets no C0/C1 controls but newline and tab.
        return super()._render_buffer(segment if segment.control else Segment(escape_control(segment.text, keep_newlines=True), segment.style) for segment in buffer)

    def on_broken_pipe(self) -> None:
        # rich's default exits 1 here, which reads as a finding; the reader went away (``| head``), and
        # every command ends quietly with 141 for that: the error boundary turns this into it (issue #24 item 7).
        self.quiet = True
        raise BrokenPipeError


def columns_from_env() -> int | None:
    """``COLUMNS`` when it is a positive integer."""
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


COLOR_ENV = "ATOMS_AUTH_COLOR"  # set by --color (auto, always, never); read here and by commands._render


def color_choice() -> str:
    """--color's choice: always and never win over NO_COLOR and the terminal test; auto leaves both to decide."""
    value = os.environ.get(COLOR_ENV, "auto")
    return value if value in ("always", "never") else "auto"


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console for stdout or stderr, as wide as the terminal, or unbounded when there is none."""
    choice = color_choice()
    colour: dict = {"no_color": True, "color_system": None} if choice == "never" else {"no_color": False, "color_system": "standard"} if choice == "always" else {}
    console = SafeConsole(stderr=stderr, highlight=False, soft_wrap=soft_wrap, **colour)
    if not console.is_terminal and columns_from_env() is None:
        console.width = NO_WRAP_WIDTH
    return console


@cache
def stdout_console() -> Console:
    return make_console(soft_wrap=False)


@cache
def stderr_console() -> Console:
    return make_console(stderr=True)
