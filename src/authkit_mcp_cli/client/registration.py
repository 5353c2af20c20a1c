"""Which client identity to use at an AS (MCP 2026-07-28 Client
Registration): a pre-registered client, else a Client ID Metadata Document
(when the AS supports it), else dynamic registration (RFC 7591), stored per
AS issuer and reused while its redirect URI still fits."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.client.context import Context, LoginOptions, send
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.errors import RemoteRefused, UsageError
from authkit_mcp_cli.oauth import ClientRegistration, parse_registration_response, registration_request

CALLBACK_PATH = "/oauth/callback"  # the path the integration guide registers


async def register_dcr(ctx: Context, metadata: dict[str, Any], *, client_name: str, redirect_uris: list[str], application_type: str, auth_method: str, scope: str | None) -> tuple[ClientRegistration, dict[str, Any]]:
    """Register with the AS (RFC 7591 §3); returns the client and the raw response."""
    if not isinstance(metadata.get("registration_endpoint"), str):
        raise UsageError(
            "The authorization server offers no dynamic client registration (no registration_endpoint).",
            code="dcr.unsupported",
            hint="Use a pre-registered client (--client-id, or WORKOS_CLIENT_ID), a Client ID Metadata Document (--client-metadata-url), or enable DCR in the WorkOS dashboard (Connect -> Configuration).",
            spec="MCP 2026-07-28 Client Registration",
        )
    request = registration_request(metadata, client_name=client_name, redirect_uris=redirect_uris, application_type=application_type, auth_method=auth_method, scope=scope)
    status, body = await send(ctx, request)
    try:
        return parse_registration_response(status, body, asked_method=auth_method, url=request.url)
    except RemoteRefused as exc:
        exc.hint = exc.hint or "For AuthKit: enable Dynamic Client Registration in the WorkOS dashboard (Connect -> Configuration); check the redirect URIs."
        raise


async def choose_registration(ctx: Context, disc: Discovered, opts: LoginOptions, redirect_uri: str) -> ClientRegistration:
    """Pre-registered > CIMD > DCR (MCP 2026-07-28 Client Registration), a DCR client stored per AS issuer."""
    if opts.client_id:
        method = "client_secret_basic" if opts.client_secret else "none"
        supported = disc.metadata.get("token_endpoint_auth_methods_supported")
        if opts.client_secret and isinstance(supported, list) and "client_secret_basic" not in supported and "client_secret_post" in supported:
            method = "client_secret_post"
        ctx.report("register", f"pre-registered client {opts.client_id} ({method})")
        return ClientRegistration(opts.client_id, opts.client_secret, method, (redirect_uri,), "pre-registered")
    if opts.client_metadata_url and disc.metadata.get("client_id_metadata_document_supported") is True:
        ctx.report("register", f"Client ID Metadata Document {opts.client_metadata_url}")
        return ClientRegistration(opts.client_metadata_url, None, "none", (redirect_uri,), "cimd")
    stored = ctx.store.load_client(disc.issuer)
    if stored and redirect_uri in (stored.get("redirect_uris") or []) and stored.get("source") == "dcr":
        reg = ClientRegistration.from_json(stored)
        ctx.report("register", f"reusing client {reg.client_id} registered with {disc.issuer}")
        return reg
    reg, raw = await register_dcr(ctx, disc.metadata, client_name=opts.client_name, redirect_uris=[redirect_uri], application_type="native", auth_method=opts.auth_method, scope=None)
    ctx.store.save_client(disc.issuer, {**reg.to_json(), "registration_response": raw})
    ctx.report("register", f"dynamic client registration: client {reg.client_id} ({reg.token_endpoint_auth_method})")
    return reg


def stored_callback_port(ctx: Context, issuer: str, opts: LoginOptions) -> int:
    """An explicit port, else the port of this AS's stored registration (so its redirect URI still matches), else 0 (any)."""
    if opts.port is not None:
        return opts.port
    if opts.client_id or opts.client_metadata_url:
        return 0
    stored = ctx.store.load_client(issuer)
    for uri in (stored or {}).get("redirect_uris") or []:
        try:
            parts = urlsplit(uri)
            if parts.hostname == "127.0.0.1" and parts.path == CALLBACK_PATH and parts.port:
                return parts.port
        except ValueError:
            continue
    return 0
