"""``atoms-auth token show|refresh``: inspect and refresh stored tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.commands._help import typer_app
from authkit_mcp_cli.commands.option_groups import with_option_groups

if TYPE_CHECKING:
    from authkit_mcp_cli.client.session import Session

app = typer_app(help="Inspect or refresh stored tokens.", no_args_is_help=True)


@app.command("show")
def show(
    server: options.Server = None,
    json_output: options.Json = False,
    reveal: options.Reveal = False,
) -> None:
    """Show the stored token: decoded claims, scopes, audience, expiry (secrets only with --reveal)."""
    import json

    from authkit_mcp_cli.client.describe import describe_tokens
    from authkit_mcp_cli.commands._client import LocalContext, stored_session
    from authkit_mcp_cli.commands._render import print_token_info, secret_view

    session = stored_session(LocalContext(), server)  # a file read: no HTTP client, no event loop (issue #16 item 2)
    info = describe_tokens(session)
    if json_output:
        doc = {**info, **({"secrets": secret_view(session)} if reveal else {})}
        typer.echo(json.dumps(doc, indent=2))
    else:
        print_token_info(info, session if reveal else None)
        print_binding(info)


def print_binding(info: dict) -> None:
    """How the token was obtained and what it is bound to (RFC 9449: the DPoP key's thumbprint, never the key)."""
    from authkit_mcp_cli.commands._render import print_row

    binding = f"DPoP (RFC 9449), key thumbprint {info['dpop_jkt']}" if info.get("dpop_bound") else "none (Bearer)"
    for name, value in (("grant", info.get("grant_type") or "not recorded"), ("binding", binding)):
        print_row(name, value)


@app.command("refresh")
@with_option_groups
def refresh(
    server: options.Server = None,
    json_output: options.Json = False,
    reveal: options.Reveal = False,
    *,
    http: options.HttpOptions,
) -> None:
    """Use the refresh token now; the rotated refresh token replaces the old one.

    When the AS issued no refresh token for this login, it says so
    (token.no-refresh-token, exit 1) and when the access token stops being
    usable; log in again then.
    """
    import asyncio
    import json

    from authkit_mcp_cli.client.describe import describe_tokens
    from authkit_mcp_cli.client.refresh import refresh as run_refresh
    from authkit_mcp_cli.commands._client import client_context, stored_session
    from authkit_mcp_cli.commands._render import print_token_info, secret_view

    async def run() -> tuple[Session, str | None]:
        async with client_context(http, reveal=reveal, quiet=json_output) as ctx:
            session = stored_session(ctx, server)
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
        print_binding(info)
