"""``atoms-auth login``: the full MCP OAuth login, one visible step at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from authkit_mcp_cli.commands import options

ENV_CLIENT_SECRET = "ATOMS_AUTH_CLIENT_SECRET"
ENV_CLIENT_METADATA_URL = "ATOMS_AUTH_CLIENT_METADATA_URL"


def login_options(env, *, client_id, client_secret, client_metadata_url, scope, port, redirect_uri, no_browser, timeout, authkit_domain, client_name="atoms-auth"):
    """Flags > environment for the login settings shared by login and call."""
    import sys

    from authkit_mcp_cli.config import ENV_CLIENT_ID
    from authkit_mcp_cli.session import LoginOptions

    paste = sys.stdin.readline if no_browser and sys.stdin is not None else None
    return LoginOptions(
        client_id=client_id or env.get(ENV_CLIENT_ID) or None,
        client_secret=client_secret or env.get(ENV_CLIENT_SECRET) or None,
        client_metadata_url=client_metadata_url or env.get(ENV_CLIENT_METADATA_URL) or None,
        client_name=client_name,
        scopes=list(scope or []),
        port=port,
        redirect_uri=redirect_uri,
        open_browser=not no_browser,
        paste=(lambda: _read_line(paste)) if paste else None,
        timeout=timeout,
        authkit_domain=authkit_domain,
    )


def _read_line(read) -> str | None:
    line = read()
    return line if line else None


def login(
    server: options.Server = None,
    authkit_domain: options.AuthkitDomain = None,
    client_id: options.ClientId = None,
    client_secret: options.ClientSecret = None,
    client_metadata_url: options.ClientMetadataUrl = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Extra scope(s) to request (repeatable), added to what the server asks for.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Loopback port for the callback. Default: the stored registration's, else a free one.", show_default=False)] = None,
    redirect_uri: Annotated[str | None, typer.Option("--redirect-uri", help="Use this redirect URI (a pre-registered client's).", show_default=False)] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the URL instead of opening a browser; also accepts the final redirect URL pasted on stdin (SSH).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the browser to come back.")] = 300.0,
    json_output: options.Json = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the authenticated MCP request that proves the token.")] = False,
    wire: options.Wire = "auto",
    trace: options.Trace = None,
    allow_http: options.AllowHttp = False,
    reveal: options.Reveal = False,
    http_timeout: Annotated[float, typer.Option("--http-timeout", help="Deadline for each HTTP request.")] = 15.0,
) -> None:
    """Log in to an MCP server: discovery, registration, PKCE authorization in the browser, token, proof.

    Follows the MCP authorization spec (2026-07-28): the server's 401 and
    protected-resource metadata name the authorization server; its metadata
    is found by the spec's ordered URL list with the issuer compared exactly;
    S256 PKCE is required; registration prefers a pre-registered client, then
    a Client ID Metadata Document, then dynamic registration; resource
    (RFC 8707) is sent on both requests; state and iss (RFC 9207) are checked.
    Tokens are stored 0600 under the state directory ($ATOMS_AUTH_HOME).

    Exit codes: 0 logged in (and the token works); 1 the AS refused; 2 usage;
    3 network; 4 protocol violation; 5 denied, cancelled or timed out.
    """
    import asyncio
    import json

    from authkit_mcp_cli.commands._client import client_context
    from authkit_mcp_cli.commands._render import print_token_info, secret_view
    from authkit_mcp_cli.commands.call import resolve_server
    from authkit_mcp_cli.config import load_environment
    from authkit_mcp_cli.mcp_wire import list_tools, with_session
    from authkit_mcp_cli.session import describe_tokens
    from authkit_mcp_cli.session import login as run_login

    env = load_environment()
    server_url = resolve_server(server, env)
    opts = login_options(env, client_id=client_id, client_secret=client_secret, client_metadata_url=client_metadata_url, scope=scope, port=port, redirect_uri=redirect_uri, no_browser=no_browser, timeout=timeout, authkit_domain=authkit_domain)

    async def run():
        async with client_context(timeout=http_timeout, trace=trace, allow_http=allow_http, reveal=reveal, quiet=False) as ctx:
            session = await run_login(ctx, server_url, opts)
            tools = None
            if not no_verify:
                tools = await with_session(server_url, session.tokens.access_token, list_tools, wire=wire)
                ctx.report("verify", f"authenticated MCP request succeeded: {len(tools)} tool(s): {', '.join(t['name'] for t in tools)}")
            return session, tools

    session, tools = asyncio.run(run())
    info = describe_tokens(session)
    if json_output:
        doc = {"logged_in": True, **info, "verified": tools is not None, "tools": [t["name"] for t in tools] if tools is not None else None}
        if reveal:
            doc["secrets"] = secret_view(session)
        typer.echo(json.dumps(doc, indent=2))
    else:
        print_token_info(info, session if reveal else None)
    raise typer.Exit(0)
