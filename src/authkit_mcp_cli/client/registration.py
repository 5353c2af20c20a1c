"""Which client identity to use at an AS (MCP 2026-07-28 Client
Registration): a pre-registered client, else a Client ID Metadata Document
(when the AS supports it), else dynamic registration (RFC 7591), stored per
AS issuer and reused while its redirect URI and auth method still fit.

The token endpoint auth method asked for in DCR fits the AS
(:func:`choose_auth_method`): ``none`` (a public native client, RFC 8252 §8.4)
when the AS lists it or lists nothing; otherwise a secret method it lists:
client_secret_post first, then client_secret_basic. Over TLS the two protect
the secret alike; post is the one that works at both the token and the
revocation endpoint of the MCP SDKs' own authorization servers (FastMCP's
reads client_id from the body and wants client_secret as a form field at
revocation, so a Basic client can neither get a token nor revoke one there;
the TypeScript SDK's example lists post only), which is where MCP servers
that need a secret mostly come from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.client.context import Context, LoginOptions, send
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import RemoteRefused, UsageError
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.registration import parse_registration_response, registration_request
from authkit_mcp_cli.option_rules import mutually_exclusive
from authkit_mcp_cli.words import auth_method_words

CALLBACK_PATH = "/oauth/callback"  # the path the integration guide registers
SECRET_METHODS = ("client_secret_post", "client_secret_basic")  # in order of preference (see above)
KNOWN_METHODS = ("none", *SECRET_METHODS)


def secret_method(opts: LoginOptions, listed: list[str] | None) -> str:
    """A pre-registered secret client's method: --auth-method, else basic unless the AS lists only post (RFC 8414 §2 default)."""
    if opts.auth_method in SECRET_METHODS:
        return opts.auth_method or "client_secret_basic"
    return "client_secret_post" if listed and "client_secret_basic" not in listed and "client_secret_post" in listed else "client_secret_basic"


def advertised_auth_methods(metadata: dict[str, Any]) -> list[str] | None:
    """``token_endpoint_auth_methods_supported`` as a list of strings, or None when absent or not a list (RFC 8414 §2)."""
    raw = metadata.get("token_endpoint_auth_methods_supported")
    return [m for m in raw if isinstance(m, str)] if isinstance(raw, list) else None


def choose_auth_method(metadata: dict[str, Any], explicit: str | None = None) -> tuple[str, str | None]:
    """(method to register with, why when it is not the public default).

    An explicit choice wins. ``none`` when the AS lists it, or lists nothing:
    RFC 8414's default (client_secret_basic) describes the token endpoint, but
    RFC 7591 §2 lets a client ask, a CLI cannot keep a secret (RFC 8252 §8.4),
    and the registration response says what the AS granted; the official MCP
    SDKs' CLI clients register public clients the same way. Otherwise the
    first listed of :data:`SECRET_METHODS`.
    """
    if explicit:
        return explicit, None
    listed = advertised_auth_methods(metadata)
    if not listed or "none" in listed:  # absent (or an empty list, which says nothing)
        return "none", None
    for method in SECRET_METHODS:
        if method in listed:
            return method, f"the AS lists token_endpoint_auth_methods_supported {listed} without none: registering a confidential client with {method}"
    raise UsageError(
        f"The authorization server lists only {listed} as token endpoint auth methods; atoms-auth can use {', '.join(KNOWN_METHODS)}.",
        code=ErrorCode.DCR_AUTH_METHOD_UNSUPPORTED,
        hint="Use a pre-registered client (--client-id/--client-secret) the AS lets authenticate with one of those, or ask the AS operator to allow none.",
        spec="RFC 8414 §2; RFC 7591 §2",
    )


async def register_dcr(ctx: Context, metadata: dict[str, Any], *, client_name: str, redirect_uris: list[str], application_type: str, auth_method: str, scope: str | None) -> tuple[ClientRegistration, dict[str, Any]]:
    """Register with the AS (RFC 7591 §3); returns the client and the raw response."""
    if not isinstance(metadata.get("registration_endpoint"), str):
        raise UsageError(
            "The authorization server offers no dynamic client registration (no registration_endpoint).",
            code=ErrorCode.DCR_UNSUPPORTED,
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


def pick_auth_method(ctx: Context, metadata: dict[str, Any], explicit: str | None) -> str:
    """:func:`choose_auth_method`, saying why on the report when it is not the public default."""
    method, why = choose_auth_method(metadata, explicit)
    if why:
        ctx.report("register", why)
    return method


@dataclass(frozen=True)
class Chosen:
    """The client for this login, and whether it was registered just now (so the AS surely knows it)."""

    registration: ClientRegistration
    fresh: bool


def save_registration(ctx: Context, issuer: str, reg: ClientRegistration, raw: dict[str, Any], *, reveal: bool = False) -> str:
    """Store a registration the AS has already made; when the store cannot take it, the error carries the
    client id (and the secret, masked unless ``reveal``) so the registration is not lost (issue #24 item 1)."""
    try:
        return str(ctx.store.save_client(issuer, {**reg.to_json(), "registration_response": raw}))
    except UsageError as exc:
        if exc.code != ErrorCode.STORE_UNWRITABLE:
            raise
        from authkit_mcp_cli.redact import mask

        secret = f", client_secret {reg.client_secret if reveal else mask(reg.client_secret)}" if reg.client_secret else ""
        exc.message = f"The client was registered with {issuer} (client_id {reg.client_id}{secret}) but could not be saved. {exc.message}"
        exc.hint = f"{exc.hint} Then pass --client-id {reg.client_id} to use this registration, or register again."
        raise


async def register_new(ctx: Context, disc: Discovered, opts: LoginOptions, redirect_uri: str) -> ClientRegistration:
    """A fresh dynamic registration for this login, stored per AS issuer (replacing the stored one)."""
    method = pick_auth_method(ctx, disc.metadata, opts.auth_method)
    reg, raw = await register_dcr(ctx, disc.metadata, client_name=opts.client_name, redirect_uris=[redirect_uri], application_type="native", auth_method=method, scope=None)
    save_registration(ctx, disc.issuer, reg, raw)
    ctx.report("register", f"dynamic client registration: client {reg.client_id} ({auth_method_words(reg.token_endpoint_auth_method)})")
    return reg


async def pick_client(ctx: Context, disc: Discovered, opts: LoginOptions, redirect_uri: str) -> Chosen:
    """Pre-registered > CIMD > DCR (MCP 2026-07-28 Client Registration); a DCR client stored per AS issuer is reused unless ``opts.new_client``."""
    if opts.client_id:
        mutually_exclusive({"--client-id": opts.client_id, "--new-client": opts.new_client}, "--new-client registers a client dynamically")
        method = secret_method(opts, advertised_auth_methods(disc.metadata)) if opts.client_secret else "none"
        ctx.report("register", f"pre-registered client {opts.client_id} ({auth_method_words(method)})")
        return Chosen(ClientRegistration(opts.client_id, opts.client_secret, method, (redirect_uri,), "pre-registered"), fresh=False)
    if opts.client_metadata_url and not opts.new_client and disc.metadata.get("client_id_metadata_document_supported") is True:
        ctx.report("register", f"Client ID Metadata Document {opts.client_metadata_url}")
        return Chosen(ClientRegistration(opts.client_metadata_url, None, "none", (redirect_uri,), "cimd"), fresh=False)
    stored = None if opts.new_client else ctx.store.load_client(disc.issuer)
    if stored and redirect_uri in (stored.get("redirect_uris") or []) and stored.get("source") == "dcr":
        reg = ClientRegistration.from_json(stored)
        listed = advertised_auth_methods(disc.metadata)
        if opts.auth_method is None and listed and reg.token_endpoint_auth_method not in listed:
            ctx.report("register", f"the stored client {reg.client_id} uses {reg.token_endpoint_auth_method}, which the AS no longer lists ({listed}); registering again")
        else:
            ctx.report("register", f"reusing client {reg.client_id} registered with {disc.issuer}")
            return Chosen(reg, fresh=False)
    elif opts.new_client:
        ctx.report("register", "--new-client: registering a new client")
    return Chosen(await register_new(ctx, disc, opts, redirect_uri), fresh=True)


async def choose_registration(ctx: Context, disc: Discovered, opts: LoginOptions, redirect_uri: str) -> ClientRegistration:
    """Pre-registered > CIMD > DCR (MCP 2026-07-28 Client Registration), a DCR client stored per AS issuer."""
    return (await pick_client(ctx, disc, opts, redirect_uri)).registration


def stored_callback_port(ctx: Context, issuer: str, opts: LoginOptions) -> int:
    """An explicit port, else the port of this AS's stored registration (so its redirect URI still matches), else 0 (any)."""
    if opts.browser.port is not None:
        return opts.browser.port
    if opts.client_id or opts.client_metadata_url or opts.new_client:
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
