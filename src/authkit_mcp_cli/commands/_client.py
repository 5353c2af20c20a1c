"""What the client commands (register, login, call, token, logout) share:
the HTTP client, the store, the trace, and step-by-step progress on stderr."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from rich.markup import escape

from authkit_mcp_cli.console import stderr_console
from authkit_mcp_cli.http import HttpPolicy, make_client
from authkit_mcp_cli.session import Context
from authkit_mcp_cli.store import Store
from authkit_mcp_cli.trace import TraceWriter

STEP_LABELS = {
    "discover": "discovery",
    "register": "registration",
    "authorize": "authorization",
    "authorize-url": "open",
    "callback": "callback",
    "token": "token",
    "refresh": "refresh",
    "step-up": "step-up",
    "login": "login",
    "verify": "verify",
    "warning": "warning",
}


def reporter(quiet: bool):
    console = stderr_console()

    def report(step: str, detail: str) -> None:
        if quiet and step != "warning":
            return
        label = STEP_LABELS.get(step, step)
        style = "yellow" if step == "warning" else "cyan"
        console.print(f"[{style}]{label:>13}[/] {escape(detail)}", highlight=False, soft_wrap=True)

    return report


@contextlib.asynccontextmanager
async def client_context(*, timeout: float, trace: str | None, allow_http: bool, reveal: bool = False, quiet: bool = False) -> AsyncIterator[Context]:
    writer = TraceWriter(str(Path(trace)), reveal=reveal) if trace else None
    try:
        async with make_client(timeout=timeout) as client:
            yield Context(client=client, policy=HttpPolicy(timeout=timeout, allow_insecure=allow_http), store=Store(), trace=writer, report=reporter(quiet))
    finally:
        if writer:
            writer.close()
