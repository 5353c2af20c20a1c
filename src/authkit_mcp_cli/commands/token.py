"""``atoms-auth token show|refresh``: inspect and refresh stored tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.commands._help import typer_app
from authkit_mcp_cli.commands.option_groups import with_option_groups

if TYPE_CHECKING:
    from authkit_mcp_cli.client.session import Session

app = typer_app(help="List, inspect, print or refresh stored tokens.", no_args_is_help=True)


@app.command("list")
def list_logins(json_output: options.Json = False) -> None:
    """Every stored login: server, authorization server, audience, scopes, expiry and grant (no secret).

    Like gh auth status: what atoms-auth call, token and logout can use
    without logging in again. A file read only: nothing is sent.
    """
    import json

    from authkit_mcp_cli.client.describe import describe_tokens, login_summary
    from authkit_mcp_cli.client.session import Session
    from authkit_mcp_cli.commands._client import LocalContext
    from authkit_mcp_cli.commands._render import print_line, print_row

    logins = [login_summary(describe_tokens(Session.from_record(record))) for _, record in LocalContext().store.all_tokens()]
    if json_output:
        typer.echo(json.dumps({"schema": 1, "logins": logins}, indent=2))
        return
    if not logins:
        typer.echo("No stored logins: run atoms-auth login --server <URL>.", err=True)
        return
    from authkit_mcp_cli.commands._render import expiry_text

    for i, login in enumerate(logins):
        if i:
            typer.echo("")
        print_line(login["server"], bold=len(login["server"]))
        for name, value in (
            ("issuer", login["issuer"]),
            ("audience", login["audience"] if login["audience"] is not None else f"{login['resource']} (resource; the token is {login['access_token_format']})"),
            ("scope", login["scope"] or "none granted"),
            ("expires", expiry_text(login["expires_at"]) + ("" if not login["expired"] else ", refreshable" if login["has_refresh_token"] else ", log in again")),
            ("grant", login["grant_type"] or "not recorded"),
        ):
            print_row(name, value)
        for problem in login["problems"]:
            print_row("problem", problem)


@app.command("print")
def print_token(
    server: options.Server = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the token on a terminal too (into a pipe or a file it is printed anyway: that is what this command is for).")] = False,
) -> None:
    """Print the stored access token alone, for scripts: TOKEN=$(atoms-auth token print --server URL).

    This prints a secret. Into a pipe, a file or $( ) it is printed as is;
    on a terminal only with --reveal, so it does not land in the scrollback
    by accident (token.print-to-terminal, exit 2). Nothing is sent and
    nothing refreshed: an expired token is printed with a warning on stderr
    (atoms-auth token refresh gets a new one). Like gh auth token.
    """
    import sys
    import time

    from authkit_mcp_cli.commands._client import LocalContext, stored_session
    from authkit_mcp_cli.error_codes import ErrorCode
    from authkit_mcp_cli.errors import UsageError

    if not reveal and sys.stdout.isatty():
        raise UsageError("token print would show the access token on this terminal.", code=ErrorCode.TOKEN_PRINT_TO_TERMINAL, hint="Pass --reveal to show it here, or capture it: TOKEN=$(atoms-auth token print).")
    session = stored_session(LocalContext(), server)
    expires_at = session.tokens.expires_at
    if expires_at and expires_at <= time.time():
        typer.echo(f"warning: this access token expired {int(time.time() - expires_at)} s ago; atoms-auth token refresh gets a new one.", err=True)
    typer.echo(session.tokens.access_token)


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
        typer.echo(json.dumps({"schema": 1, **doc}, indent=2))
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
        typer.echo(json.dumps({"schema": 1, **info, **({"secrets": secret_view(session)} if reveal else {})}, indent=2))
    else:
        print_token_info(info, session if reveal else None)
        print_binding(info)
