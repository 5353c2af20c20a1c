"""Waits that talk (issue 15 item 3): while a login waits for a person (the
browser's sign-in, a device's approval), a terminal shows a spinner with the
time left on stderr; outside a terminal nothing is drawn (the progress lines
already said what is awaited, and CI logs keep no spinner frames).

The library asks for this through ``Context.countdown`` (it never prints); the
client commands hand this one in (commands._client.client_context)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator


def time_left(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    return f"{seconds // 60}:{seconds % 60:02d}"


@contextlib.asynccontextmanager
async def countdown(what: str, seconds: float, hint: str | None = None) -> AsyncIterator[None]:
    """A spinner "<what> · m:ss left · <hint>" on a terminal's stderr, ticking each second, for the block's duration."""
    from rich.markup import escape

    from authkit_mcp_cli.console import stderr_console

    console = stderr_console()
    if not console.is_terminal or seconds <= 0:
        yield
        return
    deadline = time.monotonic() + seconds

    def label() -> str:
        line = f"{escape(what)} · [bold]{time_left(deadline - time.monotonic())}[/] left"
        return line + (f" · [dim]{escape(hint)}[/]" if hint else "")

    with console.status(label(), spinner="dots") as status:

        async def tick() -> None:
            while True:
                await asyncio.sleep(1)
                status.update(label())

        ticker = asyncio.ensure_future(tick())
        try:
            yield
        finally:
            ticker.cancel()
