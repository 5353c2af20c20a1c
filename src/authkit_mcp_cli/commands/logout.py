"""``atoms-auth logout``: revoke at the AS when it can, then forget."""

from __future__ import annotations

from typing import Annotated

import typer

from authkit_mcp_cli.commands import options


def logout(
    server: options.Server = None,
    all_: Annotated[bool, typer.Option("--all", help="Log out of every stored server.")] = False,
    json_output: options.Json = False,
    trace: options.Trace = None,
    allow_http: options.AllowHttp = False,
    http_timeout: options.HttpTimeout = 15.0,
) -> None:
    """Revoke the stored tokens (RFC 7009, when the AS offers it) and delete them."""
    import asyncio
    import json

    from authkit_mcp_cli.client import Session
    from authkit_mcp_cli.client import logout as run_logout
    from authkit_mcp_cli.commands._client import client_context, stored_session
    from authkit_mcp_cli.errors import UsageError

    if all_ and server:
        raise UsageError("Pass either --server or --all, not both.", code="usage.conflicting-options")

    async def run():
        async with client_context(timeout=http_timeout, trace=trace, allow_http=allow_http, quiet=True) as ctx:
            sessions = [Session.from_record(d) for _, d in ctx.store.all_tokens()] if all_ else [stored_session(ctx, server)]
            return [(s.server_url, await run_logout(ctx, s)) for s in sessions]

    results = asyncio.run(run())
    if json_output:
        typer.echo(json.dumps({"logged_out": [{"server": s, "notes": n} for s, n in results]}, indent=2))
    else:
        from authkit_mcp_cli.console import stdout_console

        out = stdout_console()
        if not results:
            out.print("No stored logins.")
        for server_url, notes in results:
            out.print(f"{server_url}: {'; '.join(notes)}", highlight=False, soft_wrap=True, markup=False)
