"""``atoms-auth serve``: the reference MCP resource server."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from authkit_mcp_cli.commands import options

if TYPE_CHECKING:
    from authkit_mcp_cli.server.app import ServeInfo


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on; 0 picks a free one.")] = 8000,
    path: Annotated[str | None, typer.Option("--path", help="MCP endpoint path. Default: $ATOMS_FASTMCP_HTTP_PATH or /api/mcp.", show_default=False)] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", metavar="URL", help="Public origin when behind a tunnel or proxy (e.g. https://x.trycloudflare.com); PRM and challenges name it. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL.", show_default=False)] = None,
    authkit_domain: options.ConfiguredAuthkitDomain = None,
    required_scopes: Annotated[str | None, typer.Option("--required-scopes", metavar="a,b", help="Scopes every token must carry. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_REQUIRED_SCOPES; mcp:tools with the local AS.", show_default=False)] = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Local AS: skip the sign-in/consent page (demos, tests).")] = False,
    allowed_host: Annotated[list[str] | None, typer.Option("--allowed-host", metavar="HOST[:PORT]", help="Also accept this Host header (tunnels, proxies); repeatable.")] = None,
    stateless: Annotated[bool, typer.Option("--stateless", help="No MCP sessions: any instance can answer any request (load balancers).")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, metavar="N", help="Worker processes (AuthKit mode only; implies --stateless).")] = 1,
    allow_private_cimd: Annotated[bool, typer.Option("--allow-private-cimd", help="Local AS: also fetch Client ID Metadata Documents from loopback and private addresses (refused by default: server-side request forgery).")] = False,
    allow_public_dev_as: Annotated[bool, typer.Option("--allow-public-dev-as", help="Run the development AS on a non-loopback --host or a public --base-url (refused by default: anyone who reaches it can get admin tokens).")] = False,
    store: Annotated[str | None, typer.Option("--store", metavar="URL", help="Redis or Valkey (redis://HOST:PORT/DB) holding DPoP replay state and the nonce key, shared by every worker and instance; without it each worker keeps its own.", show_default=False)] = None,
    forwarded_allow_ips: Annotated[list[str] | None, typer.Option("--forwarded-allow-ips", metavar="IP[,IP]", help="Believe X-Forwarded-For/-Proto only from these proxy addresses or networks (repeatable; * for any). Default: none, so the client address is the connecting peer.", show_default=False)] = None,
    log_level: Annotated[LogLevel, typer.Option("--log-level", case_sensitive=False, help="Log level (uvicorn's and serve's).")] = LogLevel.info,
    log_format: Annotated[LogFormat, typer.Option("--log-format", case_sensitive=False, help="Log lines as text, or one JSON object per line (time, level, logger, message; method, path, status, duration_ms on access lines).")] = LogFormat.text,
) -> None:
    """Run an MCP resource server that does OAuth right.

    Streamable HTTP at --path, bearer JWTs validated against the AS's JWKS
    (issuer, audience = this resource, expiry, scopes), protected-resource
    metadata at both well-known URLs, a spec-shaped 401 challenge, CORS, and
    the integration guide's compatibility endpoints.

    With no AuthKit domain configured it runs an embedded DEVELOPMENT
    authorization server that behaves like AuthKit (DCR, CIMD, PKCE, consent
    page), so everything works offline. It stays on loopback: a non-loopback
    --host or --base-url needs --allow-public-dev-as.
    """
    from authkit_mcp_cli.config import load_environment
    from authkit_mcp_cli.console import stderr_console
    from authkit_mcp_cli.server.config import resolve_serve_config
    from authkit_mcp_cli.server.runner import serve as run

    cfg = resolve_serve_config(
        load_environment(),
        host=host,
        port=port,
        path=path,
        base_url=base_url,
        authkit_domain=authkit_domain,
        required_scopes=required_scopes,
        auto_approve=auto_approve,
        allowed_hosts=allowed_host or [],
        stateless=stateless,
        workers=workers,
        allow_private_cimd=allow_private_cimd,
        allow_public_dev_as=allow_public_dev_as,
        store=store,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    console = stderr_console()
    console.soft_wrap = True  # URLs in the banner must stay on one line

    def banner(info: ServeInfo) -> None:
        console.print(f"[bold]atoms-auth serve[/] listening ({'stateless' if cfg.stateless else 'sessions'}, {cfg.workers} worker{'s' if cfg.workers > 1 else ''})")
        console.print(f"  Listening on         http://{info.listen}" + ("" if info.mcp_url.startswith(f"http://{info.listen}/") else f" (public URL from --base-url: {info.mcp_url.split('/', 3)[0]}//{info.mcp_url.split('/', 3)[2]})"), highlight=False)
        console.print(f"  MCP endpoint         {info.mcp_url}")
        console.print(f"  Resource metadata    {info.prm_url}")
        console.print(f"  Authorization server {info.issuer}")
        if info.mode == "local":
            console.print("  Mode                 [bold red]local DEVELOPMENT authorization server[/] (in memory, signing key generated at start: tokens from earlier runs are rejected)")
            console.print(f"  Sign-in              {'automatic (--auto-approve)' if cfg.auto_approve else 'consent page in the browser'}; user dev@atoms-auth.local")
        else:
            console.print("  Mode                 AuthKit")
            console.print(f"  Resource Indicator   add [bold]{info.resource}[/] in the WorkOS dashboard so AuthKit tokens carry it as their audience")
        console.print(f"  Required scopes      {' '.join(cfg.required_scopes) or '(none)'}")
        if cfg.store:
            from authkit_mcp_cli.server.dpop_store import shown_store_url

            console.print(f"  DPoP replay store    {shown_store_url(cfg.store)} (shared by every worker and instance using it)")
        elif cfg.workers > 1:
            console.print(
                f"  DPoP replay store    [bold yellow]per worker[/]: each of the {cfg.workers} workers remembers only the proofs it saw,"
                " so a captured proof can be replayed once to each worker. Share one with --store redis://HOST:PORT/DB."
            )
        console.print(f"  Check it:            atoms-auth doctor --server {info.mcp_url}")
        if cfg.allow_public_dev_as:
            console.print(
                "[bold red]WARNING[/] the DEVELOPMENT authorization server is reachable beyond this machine (--allow-public-dev-as):"
                " anyone who can reach it can sign in as its user and get admin tokens. Do not leave it running."
            )
        if cfg.forwarded_allow_ips:
            console.print(f"  Trusted proxies      {', '.join(cfg.forwarded_allow_ips)} (X-Forwarded-For/-Proto believed from these only)")
        if cfg.allow_private_cimd and info.mode == "local":
            console.print("  CIMD fetches         loopback and private addresses allowed (--allow-private-cimd)")

    try:
        run(cfg, on_ready=banner, log_level=log_level.value, log_format=log_format.value)
    except OSError as exc:
        from authkit_mcp_cli.errors import UsageError

        raise UsageError(f"Cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}.", hint="Pick another --port (0 picks a free one), or stop what is using it.") from None
