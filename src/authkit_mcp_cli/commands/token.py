"""``atoms-auth token show|refresh``: inspect and refresh stored tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from authkit_mcp_cli.commands import options

app = typer.Typer(help="Inspect or refresh stored tokens.", no_args_is_help=True)


def session_for(ctx, server: str | None):
    from authkit_mcp_cli.config import load_environment
    from authkit_mcp_cli.errors import AuthorizationDenied, UsageError
    from authkit_mcp_cli.session import Session, load_session

    if server is None:
        from authkit_mcp_cli.config import resolve_target

        target = resolve_target(None, None, load_environment())
        server = target.server_url
    if server is None:
        stored = ctx.store.all_tokens()
        if len(stored) == 1:
            return Session.from_record(stored[0][1])
        if not stored:
            raise AuthorizationDenied("No stored tokens.", hint="Run atoms-auth login --server <URL>.")
        raise UsageError(f"{len(stored)} logins are stored; say which with --server.", hint="Servers: " + ", ".join(sorted({d.get('server_url', '?') for _, d in stored})))
    from authkit_mcp_cli.urls import parse_target_url

    server = parse_target_url(server, what="MCP server URL", flag="--server")
    session = load_session(ctx, server)
    if session is None:
        raise AuthorizationDenied(f"Not logged in to {server}.", hint=f"Run atoms-auth login --server {server}.")
    return session


@app.command("show")
def show(
    server: options.Server = None,
    json_output: options.Json = False,
    reveal: options.Reveal = False,
) -> None:
    """Show the stored token: decoded claims, scopes, audience, expiry (secrets only with --reveal)."""
    import asyncio
    import json

    from authkit_mcp_cli.commands._client import client_context
    from authkit_mcp_cli.commands._render import print_token_info, secret_view
    from authkit_mcp_cli.session import describe_tokens

    async def run():
        async with client_context(timeout=10, trace=None, allow_http=False, quiet=True) as ctx:
            return session_for(ctx, server)

    session = asyncio.run(run())
    info = describe_tokens(session)
    if json_output:
        doc = {**info, **({"secrets": secret_view(session)} if reveal else {})}
        typer.echo(json.dumps(doc, indent=2))
    else:
        print_token_info(info, session if reveal else None)


@app.command("refresh")
def refresh(
    server: options.Server = None,
    json_output: options.Json = False,
    trace: options.Trace = None,
    allow_http: options.AllowHttp = False,
    reveal: options.Reveal = False,
    http_timeout: Annotated[float, typer.Option("--http-timeout", help="Deadline for each HTTP request.")] = 15.0,
) -> None:
    """Use the refresh token now; the rotated refresh token replaces the old one."""
    import asyncio
    import json

    from authkit_mcp_cli.commands._client import client_context
    from authkit_mcp_cli.commands._render import print_token_info, secret_view
    from authkit_mcp_cli.session import describe_tokens
    from authkit_mcp_cli.session import refresh as run_refresh

    async def run():
        async with client_context(timeout=http_timeout, trace=trace, allow_http=allow_http, reveal=reveal, quiet=json_output) as ctx:
            session = session_for(ctx, server)
            old_refresh = session.tokens.refresh_token
            new = await run_refresh(ctx, session, force=True)
            return new, old_refresh

    session, old_refresh = asyncio.run(run())
    info = describe_tokens(session)
    info["refresh_token_rotated"] = bool(session.tokens.refresh_token and session.tokens.refresh_token != old_refresh)
    if json_output:
        typer.echo(json.dumps({**info, **({"secrets": secret_view(session)} if reveal else {})}, indent=2))
    else:
        print_token_info(info, session if reveal else None)
