"""``atoms-auth register``: dynamic client registration (RFC 7591), and Client
ID Metadata Documents (write one to host, or check a hosted one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.commands.option_groups import with_option_groups
from authkit_mcp_cli.error_codes import ErrorCode

if TYPE_CHECKING:
    from authkit_mcp_cli.http import Exchange

DEFAULT_REDIRECT = "http://127.0.0.1:3000/oauth/callback"  # the integration guide's example


@with_option_groups
def register(
    server: options.Server = None,
    authkit_domain: options.AuthkitDomain = None,
    client_name: Annotated[str, typer.Option("--client-name", metavar="NAME", help="Name shown on the consent screen.")] = "atoms-auth",
    redirect_uri: Annotated[list[str] | None, typer.Option("--redirect-uri", metavar="URL", help=f"Redirect URI (repeatable). Default: {DEFAULT_REDIRECT}.", show_default=False)] = None,
    application_type: Annotated[options.ApplicationType, typer.Option("--application-type", help="native (loopback redirects, any port) or web.")] = "native",
    auth_method: Annotated[options.AuthMethod | None, typer.Option("--auth-method", help="Client authentication at the token endpoint: none (a public client), client_secret_post or client_secret_basic. Default: none when the AS lists it (or lists nothing), else client_secret_post, else client_secret_basic, as the AS lists them.", show_default=False)] = None,
    scope: Annotated[str | None, typer.Option("--scope", metavar="SCOPES", help="Scopes to register (space separated).", show_default=False)] = None,
    cimd_url: Annotated[str | None, typer.Option("--cimd-url", metavar="URL", help="Write a Client ID Metadata Document for this https URL instead of registering (with --check: fetch and validate the hosted one).", show_default=False)] = None,
    check: Annotated[bool, typer.Option("--check", help="With --cimd-url: fetch the hosted document and validate it.")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="With --cimd-url: write the document to this file instead of stdout.", show_default=False)] = None,
    json_output: options.Json = False,
    no_save: Annotated[bool, typer.Option("--no-save", help="Do not store the registration.")] = False,
    reveal: options.Reveal = False,
    *,
    http: options.HttpOptions,
) -> None:
    """Register a client with the authorization server, or build/check a Client ID Metadata Document.

    Dynamic registration sends application_type (native by default) and a
    token_endpoint_auth_method the AS advertises: none (a public client) when
    token_endpoint_auth_methods_supported lists it or is absent (AuthKit's DCR
    has been reported to default to client_secret_basic, so it is always
    sent), else client_secret_post, else client_secret_basic (said on
    stderr); --auth-method overrides. It then compares what the AS granted
    with what was asked. The registration is stored per AS issuer and reused
    by login.
    """
    import asyncio
    import json

    from authkit_mcp_cli.errors import UsageError
    from authkit_mcp_cli.option_rules import needs

    redirects = list(redirect_uri or [DEFAULT_REDIRECT])
    if cimd_url:
        code = _cimd(cimd_url, check=check, output=output, client_name=client_name, redirects=redirects, scope=scope, json_output=json_output, http=http)
        raise typer.Exit(code)
    needs("--check", check, "--cimd-url", cimd_url, "it validates a hosted Client ID Metadata Document")

    from authkit_mcp_cli.client.registration import pick_auth_method, register_dcr, save_registration
    from authkit_mcp_cli.commands._client import client_context
    from authkit_mcp_cli.config import load_environment, resolve_target
    from authkit_mcp_cli.discovery import discover, discover_issuer
    from authkit_mcp_cli.redact import mask

    target = resolve_target(server, authkit_domain, load_environment())
    if not target.server_url and not target.authkit_domain:
        raise UsageError("Nothing to register with.", code=ErrorCode.USAGE_NO_TARGET, hint="Pass --server https://host/api/mcp (the AS is discovered) or --authkit-domain https://your-env.authkit.app.")

    server_url, authkit = target.server_url, target.authkit_domain

    async def run() -> Any:
        async with client_context(http, reveal=reveal, quiet=json_output) as ctx:
            if not no_save:
                ctx.store.require_writable()  # before the AS creates a client that could not be kept (issue #24 item 1)
            if server_url is None:
                issuer = str(authkit)
                metadata, _ = await discover_issuer(ctx.client, issuer, ctx.policy)
            else:
                disc = await discover(ctx.client, server_url, ctx.policy, prefer_issuer=authkit)
                issuer, metadata = disc.issuer, disc.metadata
                ctx.report("discover", f"authorization server {issuer}")
            method = pick_auth_method(ctx, metadata, auth_method)
            reg, raw = await register_dcr(ctx, metadata, client_name=client_name, redirect_uris=redirects, application_type=application_type, auth_method=method, scope=scope)
            saved = None if no_save else save_registration(ctx, issuer, reg, raw, reveal=reveal)
            return issuer, reg, raw, saved, method

    issuer, reg, raw, saved, method = asyncio.run(run())
    asked = {"token_endpoint_auth_method": method, "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": redirects, "application_type": application_type}
    granted = {k: raw.get(k) for k in asked}
    differences = {k: {"asked": asked[k], "granted": granted[k]} for k in asked if granted[k] is not None and granted[k] != asked[k]}
    secret = reg.client_secret if reveal or not reg.client_secret else mask(reg.client_secret)
    if json_output:
        shown = {k: (v if reveal or k not in ("client_secret", "registration_access_token") or not isinstance(v, str) else mask(v)) for k, v in raw.items()}
        typer.echo(json.dumps({"schema": 1, "issuer": issuer, "client_id": reg.client_id, "client_secret": secret, "token_endpoint_auth_method": reg.token_endpoint_auth_method, "differences": differences, "saved_to": saved, "response": shown}, indent=2))
        raise typer.Exit(0)
    from rich.markup import escape

    from authkit_mcp_cli.console import stdout_console

    out = stdout_console()
    out.print(f"[bold]registered[/] with {issuer}", highlight=False, soft_wrap=True)
    out.print(f"  client_id      {reg.client_id}", highlight=False, soft_wrap=True, markup=False)
    if reg.client_secret:
        out.print(f"  client_secret  {secret}{'' if reveal else '  (use --reveal to show)'}", highlight=False, soft_wrap=True, markup=False)
    out.print(f"  auth method    {reg.token_endpoint_auth_method}", highlight=False)
    out.print(f"  redirect URIs  {', '.join(reg.redirect_uris) or '(none returned)'}", highlight=False, soft_wrap=True, markup=False)
    for key, diff in differences.items():
        text = escape(f"{key}: asked {diff['asked']}, granted {diff['granted']}")
        out.print(f"[yellow]  differs[/]      {text}", highlight=False, soft_wrap=True)
    if saved:
        out.print(f"  saved          {saved}", highlight=False, soft_wrap=True, markup=False)


def _cimd(url: str, *, check: bool, output: str | None, client_name: str, redirects: list[str], scope: str | None, json_output: bool, http: options.HttpOptions) -> int:
    import asyncio
    import json

    from authkit_mcp_cli.cimd import build_document, document_problems, is_client_id_url
    from authkit_mcp_cli.errors import UsageError

    if not check:
        if not is_client_id_url(url):
            raise UsageError(f"{url} cannot be a client_id: it must be an https URL with a path.", code=ErrorCode.CIMD_INVALID_CLIENT_ID, hint="e.g. https://example.com/oauth/client.json", spec="MCP 2026-07-28 Client Registration: Client ID Metadata Documents")
        text = json.dumps(build_document(url, client_name=client_name, redirect_uris=redirects, scope=scope), indent=2) + "\n"
        if output:
            from authkit_mcp_cli.reports.output import write_report

            write_report(output, text)  # 0644 (it is to be hosted), never through a symlink
            typer.echo(f"wrote {output}: host it at {url} (Content-Type: application/json)", err=True)
        else:
            typer.echo(text, nl=False)
        return 0

    from authkit_mcp_cli.commands._client import client_context
    from authkit_mcp_cli.http import exchange

    async def fetch() -> Exchange:
        async with client_context(http, quiet=True) as ctx:
            return await exchange(ctx.client, "GET", url, policy=ctx.policy, headers={"Accept": "application/json"}, follow_redirects=False)

    ex = asyncio.run(fetch())
    if not ex.ok:  # not reached (DNS, connection, TLS, timeout): the network code 3, as everywhere, not "invalid"
        from authkit_mcp_cli.discovery import network_error

        raise network_error(ex, f"The Client ID Metadata Document {url} could not be fetched")
    problems: list[str] = []
    if ex.status != 200:
        problems.append(f"GET {url} answered {ex.status}{' (redirects are not followed for client IDs)' if ex.status in (301, 302, 303, 307, 308) else ''}")
    else:
        doc, err = ex.json()
        problems = [err] if err else document_problems(url, doc)
    if json_output:
        typer.echo(json.dumps({"schema": 1, "url": url, "valid": not problems, "problems": problems}, indent=2))
    else:
        from authkit_mcp_cli.console import stdout_console

        out = stdout_console()
        if problems:
            out.print(f"[bold red]invalid[/] {url}", highlight=False, soft_wrap=True)
            for p in problems:
                out.print(f"  - {p}", highlight=False, soft_wrap=True, markup=False)
        else:
            out.print(f"[bold green]valid[/] {url}: a usable Client ID Metadata Document", highlight=False, soft_wrap=True)
    return 1 if problems else 0
