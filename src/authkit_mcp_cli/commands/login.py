"""``atoms-auth login``: the full MCP OAuth login, one visible step at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.commands.option_groups import with_option_groups

if TYPE_CHECKING:
    from authkit_mcp_cli.client.session import Session


@with_option_groups
def login(
    server: options.Server = None,
    authkit_domain: options.AuthkitDomain = None,
    scope: options.Scopes = None,
    redirect_uri: Annotated[str | None, typer.Option("--redirect-uri", metavar="URL", help="Use this redirect URI (a pre-registered client's).", show_default=False)] = None,
    *,
    flags: options.LoginFlags,
    json_output: options.Json = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the authenticated MCP request that proves the token.")] = False,
    wire: options.Wire = "auto",
    reveal: options.Reveal = False,
    http: options.HttpOptions,
) -> None:
    """Log in to an MCP server: discovery, registration, PKCE authorization in the browser, token, proof.

    Follows the MCP authorization spec (2026-07-28): the server's 401 and
    protected-resource metadata name the authorization server; its metadata
    is found by the spec's ordered URL list with the issuer compared exactly;
    S256 PKCE is required; registration prefers a pre-registered client, then
    a Client ID Metadata Document, then dynamic registration (with a
    token_endpoint_auth_method the AS lists); resource (RFC 8707) is sent on
    both requests; state and iss (RFC 9207) are checked. A server without
    protected-resource metadata (the 2025-03-26 revision) is its own
    authorization server: its metadata at the origin, else /authorize,
    /token and /register there (said on stderr).

    Before the browser opens, a GET of the authorization URL checks that the
    AS still knows a stored or given client (RFC 6749 §4.1.2.1: an unknown
    client_id gets an error, not a redirect): a forgotten dynamic
    registration is replaced (said on stderr); a refused pre-registered or
    CIMD client ends at once (login.client-unknown). That check never
    follows a redirect, and a code it brings back is not used: tokens come
    only through the browser. --new-client registers a new client anyway.

    A pre-registered client (--client-id, WORKOS_CLIENT_ID) is used only
    with the authorization server it belongs to: --authkit-domain (or
    FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN), else the issuer the
    store records for it. A server that names another AS ends the login
    before any request to that AS (login.client-issuer-mismatch); so does a
    jwt-bearer or enterprise assertion whose aud is another AS.
    Tokens are stored 0600 under the state directory ($ATOMS_AUTH_HOME).
    When the server refuses the new token, the error (mcp.token-rejected)
    compares its audience with the resource and names the fix.
    """
    import asyncio
    import json

    from authkit_mcp_cli.client.call import call_mcp
    from authkit_mcp_cli.client.describe import describe_tokens
    from authkit_mcp_cli.client.grants.registry import grant_for
    from authkit_mcp_cli.client.login import login as run_login
    from authkit_mcp_cli.commands._client import client_context, login_options, resolve_server
    from authkit_mcp_cli.commands._render import print_token_info, secret_view
    from authkit_mcp_cli.config import load_environment
    from authkit_mcp_cli.mcp_wire import list_tools
    from authkit_mcp_cli.words import plural

    env = load_environment()
    server_url = resolve_server(server, env)
    opts = login_options(env, flags, authkit_domain=authkit_domain, scope=scope, redirect_uri=redirect_uri)

    grant_obj = grant_for(opts)  # the grant's own option errors end here, before any request (exit 2)

    async def run() -> tuple[Session, list[dict[str, Any]] | None]:
        async with client_context(http, reveal=reveal, quiet=False) as ctx:
            session = await run_login(ctx, server_url, opts, grant=grant_obj)
            tools = None
            if not no_verify:
                # the proof goes through the retry policy: a refused new token ends in mcp.token-rejected
                tools, stepped_up = await call_mcp(ctx, server_url, list_tools, wire=wire, opts=opts, allow_login=False, session=session)
                session = stepped_up or session
                ctx.report("verify", f"authenticated MCP request succeeded: {plural(len(tools), 'tool')}: {', '.join(t['name'] for t in tools)}")
            return session, tools

    session, tools = asyncio.run(run())
    info = describe_tokens(session)
    if json_output:
        doc = {"logged_in": True, **info, "verified": tools is not None, "tools": [t["name"] for t in tools] if tools is not None else None}
        if reveal:
            doc["secrets"] = secret_view(session)
        typer.echo(json.dumps({"schema": 1, **doc}, indent=2))
    else:
        print_token_info(info, session if reveal else None)
    raise typer.Exit(0)
