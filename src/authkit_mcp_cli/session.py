"""The MCP OAuth client, step by step: registration (pre-registered > CIMD >
DCR), the authorization-code + PKCE login through the loopback receiver,
token storage, refresh with rotation, authenticated MCP calls with step-up,
and logout. Library code: it reports progress through ``Reporter`` and never
prints or exits.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from authkit_mcp_cli import oauth
from authkit_mcp_cli.discovery import Challenge401, Discovered, discover, network_error, select_scope
from authkit_mcp_cli.errors import AtomsAuthError, AuthorizationDenied, RemoteRefused, UsageError
from authkit_mcp_cli.http import HttpPolicy, exchange
from authkit_mcp_cli.loopback import LoopbackReceiver, callback_params_from_url
from authkit_mcp_cli.mcp_wire import AuthChallenge, with_session
from authkit_mcp_cli.oauth import ClientRegistration, Tokens
from authkit_mcp_cli.redact import decode_jwt_unverified
from authkit_mcp_cli.store import Store
from authkit_mcp_cli.trace import TraceWriter
from authkit_mcp_cli.urls import is_loopback_host

CALLBACK_PATH = "/oauth/callback"
MAX_STEP_UPS = 2  # at most 3 authorizations in all (the conformance suite's limit)
Reporter = Callable[[str, str], None]  # (step, detail)


@dataclass
class Context:
    client: httpx.AsyncClient
    policy: HttpPolicy
    store: Store
    trace: TraceWriter | None = None
    report: Reporter = lambda step, detail: None


@dataclass
class LoginOptions:
    client_id: str | None = None
    client_secret: str | None = None
    client_metadata_url: str | None = None
    client_name: str = "atoms-auth"
    auth_method: str = "none"
    scopes: list[str] = field(default_factory=list)
    port: int | None = None
    redirect_uri: str | None = None
    open_browser: bool = True
    paste: Callable[[], str | None] | None = None  # reads a pasted redirect URL (--no-browser)
    browser: Callable[[str], Awaitable[None]] | None = None  # replaces webbrowser (the demo's automated leg)
    timeout: float = 300.0
    authkit_domain: str | None = None


@dataclass
class Session:
    """A stored login: what call/token/logout need without rediscovering."""

    server_url: str
    resource: str
    issuer: str
    metadata: dict[str, Any]
    registration: ClientRegistration
    tokens: Tokens

    def to_record(self) -> dict[str, Any]:
        keep = ("issuer", "token_endpoint", "revocation_endpoint", "authorization_endpoint", "authorization_response_iss_parameter_supported", "scopes_supported", "grant_types_supported", "code_challenge_methods_supported", "registration_endpoint")
        return {
            "server_url": self.server_url,
            "metadata": {k: self.metadata[k] for k in keep if k in self.metadata},
            "client": self.registration.to_json(),
            "tokens": self.tokens.to_json(),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Session:
        try:
            return cls(
                server_url=data["server_url"],
                resource=data["resource"],
                issuer=data["issuer"],
                metadata=data["metadata"],
                registration=ClientRegistration.from_json(data["client"]),
                tokens=Tokens.from_json(data["tokens"]),
            )
        except (KeyError, TypeError) as exc:
            raise UsageError(f"The stored login is incomplete ({exc}).", hint="Run atoms-auth login again.") from None


async def send(ctx: Context, request: oauth.HttpRequest) -> tuple[int, bytes]:
    ex = await exchange(ctx.client, request.method, request.url, policy=ctx.policy, headers=request.headers, content=request.body, follow_redirects=False, trace=ctx.trace)
    if not ex.ok:
        raise network_error(ex, f"{request.method} {request.url} failed")
    return ex.status or 0, ex.body


# --- registration ------------------------------------------------------------


async def register_dcr(ctx: Context, metadata: dict[str, Any], *, client_name: str, redirect_uris: list[str], application_type: str, auth_method: str, scope: str | None) -> tuple[ClientRegistration, dict[str, Any]]:
    if not isinstance(metadata.get("registration_endpoint"), str):
        raise UsageError(
            "The authorization server offers no dynamic client registration (no registration_endpoint).",
            hint="Use a pre-registered client (--client-id, or WORKOS_CLIENT_ID), a Client ID Metadata Document (--client-metadata-url), or enable DCR in the WorkOS dashboard (Connect -> Configuration).",
            spec="MCP 2026-07-28 Client Registration",
        )
    request = oauth.registration_request(metadata, client_name=client_name, redirect_uris=redirect_uris, application_type=application_type, auth_method=auth_method, scope=scope)
    status, body = await send(ctx, request)
    try:
        return oauth.parse_registration_response(status, body, asked_method=auth_method)
    except RemoteRefused as exc:
        exc.hint = exc.hint or "For AuthKit: enable Dynamic Client Registration in the WorkOS dashboard (Connect -> Configuration); check the redirect URIs."
        raise


async def choose_registration(ctx: Context, disc: Discovered, opts: LoginOptions, redirect_uri: str) -> ClientRegistration:
    """MCP Client Registration priority: pre-registered > CIMD > DCR (stored per AS issuer)."""
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


def preferred_port(ctx: Context, issuer: str, opts: LoginOptions) -> int:
    """An explicit port, else the port of this AS's stored registration (so its redirect URI still matches), else any."""
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


# --- login ---------------------------------------------------------------------


async def login(ctx: Context, server_url: str, opts: LoginOptions, *, disc: Discovered | None = None) -> Session:
    if disc is None:
        disc = await discover(ctx.client, server_url, ctx.policy, ctx.trace, prefer_issuer=opts.authkit_domain)
        ctx.report("discover", f"resource {disc.resource}; authorization server {disc.issuer} (metadata {disc.metadata_url})")
    if opts.authkit_domain and opts.authkit_domain != disc.issuer:
        ctx.report("warning", f"the server names {disc.issuer} as its authorization server, not {opts.authkit_domain}; using the server's")
    scope = select_scope(disc.challenge_scope, disc, opts.scopes)
    state = secrets.token_urlsafe(24)
    pkce = oauth.Pkce.new()

    def validate(params: dict[str, str]) -> str:
        return oauth.validate_callback(params, expected_state=state, issuer=disc.issuer, iss_advertised=disc.iss_advertised)

    port, path = _listen_address(opts, ctx, disc.issuer)
    try:
        receiver_cm = LoopbackReceiver(port=port, path=path, expected_state=state, validate=validate)
        receiver = await receiver_cm.__aenter__()
    except UsageError:
        if opts.port is None and not opts.redirect_uri and port:
            ctx.report("warning", f"port {port} of the stored registration is busy; registering again on a free port")
            receiver_cm = LoopbackReceiver(port=0, path=path, expected_state=state, validate=validate)
            receiver = await receiver_cm.__aenter__()
        else:
            raise
    try:
        redirect_uri = opts.redirect_uri or receiver.redirect_uri
        reg = await choose_registration(ctx, disc, opts, redirect_uri)
        url = oauth.authorization_url(disc.metadata, client_id=reg.client_id, redirect_uri=redirect_uri, scope=scope, resource=disc.resource, state=state, pkce=pkce)
        ctx.report("authorize", f"scope {scope or '(none)'}; waiting for the browser on {receiver.redirect_uri}")
        ctx.report("authorize-url", url)
        browser = None
        if opts.browser is not None:
            browser = asyncio.ensure_future(opts.browser(url))
        elif opts.open_browser:
            browser = asyncio.ensure_future(_open_browser(ctx, url))
        waiters = [asyncio.ensure_future(receiver.wait(opts.timeout))]
        if opts.paste is not None:
            waiters.append(asyncio.ensure_future(_pasted(receiver, opts.paste)))
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        code = done.pop().result()
        if browser is not None and not browser.done():
            browser.cancel()  # the page is answered; a BROWSER command that lingers is not waited for
    finally:
        await receiver_cm.__aexit__(None, None, None)
    ctx.report("callback", "authorization code received; state and issuer verified")
    status, body = await send(ctx, oauth.code_token_request(disc.metadata, reg, code=code, redirect_uri=redirect_uri, pkce=pkce, resource=disc.resource))
    tokens = oauth.parse_token_response(status, body)
    ctx.report("token", f"access token received{' with a refresh token' if tokens.refresh_token else ''}")
    session = Session(server_url, disc.resource, disc.issuer, disc.metadata, reg, tokens)
    save_session(ctx, session)
    return session


async def _open_browser(ctx: Context, url: str) -> None:
    """In a thread: webbrowser may run a BROWSER command and wait for it."""
    if not await asyncio.to_thread(webbrowser.open, url):
        ctx.report("warning", "no browser could be opened; open the URL above yourself")


def _listen_address(opts: LoginOptions, ctx: Context, issuer: str) -> tuple[int, str]:
    if opts.redirect_uri:
        parts = urlsplit(opts.redirect_uri)
        if not (parts.scheme == "http" and is_loopback_host(parts.hostname)):
            raise UsageError(f"--redirect-uri {opts.redirect_uri} is not a loopback http URL atoms-auth can listen on.", hint="Use http://127.0.0.1:<port>/oauth/callback; with --no-browser you can paste the final URL from any redirect.")
        return parts.port or 80, parts.path or "/"
    return preferred_port(ctx, issuer, opts), CALLBACK_PATH


async def _pasted(receiver: LoopbackReceiver, read: Callable[[], str | None]) -> str:
    """--no-browser: accept the final redirect URL pasted on stdin (SSH sessions)."""
    while True:
        line = await asyncio.to_thread(read)
        if line is None:
            await asyncio.sleep(3600)  # stdin closed: only the listener can finish
            continue
        if not line.strip():
            continue
        accepted, message = receiver.offer(callback_params_from_url(line))
        if accepted:
            return await receiver.wait(1)
        if receiver.finished:  # the pasted response failed validation: surface that error
            return await receiver.wait(1)


def save_session(ctx: Context, session: Session) -> None:
    ctx.store.save_tokens(session.issuer, session.resource, session.to_record())


def load_session(ctx: Context, server_url: str) -> Session | None:
    matches = ctx.store.find_tokens_for_server(server_url)
    if not matches:
        return None
    matches.sort(key=lambda item: item[1].get("saved_at", 0), reverse=True)
    return Session.from_record(matches[0][1])


# --- refresh -------------------------------------------------------------------


async def refresh(ctx: Context, session: Session, *, force: bool = False) -> Session:
    """Refresh under the store's lock; another process may have rotated first."""
    path = ctx.store.token_path(session.issuer, session.resource)
    with ctx.store.lock(path):
        current = ctx.store.load_tokens(session.issuer, session.resource)
        if current is not None:
            latest = Session.from_record(current)
            if latest.tokens.access_token != session.tokens.access_token and not latest.tokens.expired() and not force:
                return latest  # someone else refreshed meanwhile
            session = latest
        if not session.tokens.refresh_token:
            raise AuthorizationDenied("The access token has expired and there is no refresh token.", hint=f"Run atoms-auth login --server {session.server_url}.", spec="MCP 2026-07-28 Authorization: Refresh Tokens")
        sent = session.tokens.refresh_token
        request = oauth.refresh_token_request(session.metadata, session.registration, refresh_token=sent, resource=session.resource)
        status, body = await send(ctx, request)
        try:
            tokens = oauth.parse_token_response(status, body, previous_refresh_token=session.tokens.refresh_token)
        except RemoteRefused as exc:
            raise AuthorizationDenied(f"{exc.message} The grant has ended.", hint=f"Run atoms-auth login --server {session.server_url}.", spec="OAuth 2.1 §4.3") from None
        session = Session(session.server_url, session.resource, session.issuer, session.metadata, session.registration, tokens)
        save_session(ctx, session)
    ctx.report("refresh", "access token refreshed" + (" (refresh token rotated)" if tokens.refresh_token != sent else ""))
    return session


# --- authenticated MCP calls with refresh and step-up --------------------------


async def call_mcp(ctx: Context, server_url: str, operation, *, wire: str, opts: LoginOptions, allow_login: bool) -> tuple[Any, Session | None]:
    """Run an MCP operation, authorizing as the server demands.

    Without a stored login the request goes out anonymously first: the server's
    own 401 (or 403) on the real request starts discovery, as the spec's flow
    begins, even on servers that guard only some methods.
    """
    session = load_session(ctx, server_url)
    if session is not None and session.tokens.expired():
        session = await _refresh_or_login(ctx, session, opts, allow_login)
    step_ups = 0
    refreshed = relogged = False
    while True:
        try:
            result = await with_session(server_url, session.tokens.access_token if session else None, operation, wire=wire)
            return result, session
        except AuthChallenge as challenge:
            if session is None:
                if not allow_login:
                    raise AuthorizationDenied(f"Not logged in to {server_url}, and it asks for authorization ({challenge}).", hint=f"Run atoms-auth login --server {server_url} (or pass --login).") from None
                disc = await _rediscover(ctx, server_url, challenge, opts.authkit_domain)
                ctx.report("discover", f"resource {disc.resource}; authorization server {disc.issuer}")
                session = await login(ctx, server_url, opts, disc=disc)
                continue
            if challenge.status == 403 and challenge.error == "insufficient_scope":
                if step_ups >= MAX_STEP_UPS:
                    raise AuthorizationDenied(f"The server still answers 403 insufficient_scope after {MAX_STEP_UPS + 1} authorizations.", hint="The AS does not grant the scope the server asks for; check the scopes in the dashboard.", spec="MCP 2026-07-28 Authorization: Step-Up Authorization Flow") from None
                step_ups += 1
                union = _union_scopes(session.tokens.scope, challenge.scope)
                ctx.report("step-up", f"403 insufficient_scope: authorizing again with {union}")
                disc = await _rediscover(ctx, server_url, challenge, session.issuer)
                session = await login(ctx, server_url, replace(opts, scopes=[union]), disc=disc)
                continue
            if challenge.status == 401 and not relogged:
                disc = await _rediscover(ctx, server_url, challenge, session.issuer)
                if disc.issuer != session.issuer:
                    # MCP: credentials are bound to the AS that issued them; never reuse them with another
                    ctx.report("discover", f"the server now names {disc.issuer} (was {session.issuer}): registering and logging in there")
                    if not allow_login:
                        raise AuthorizationDenied(f"The server moved to authorization server {disc.issuer}.", hint=f"Run atoms-auth login --server {server_url}.") from None
                    relogged = True
                    session = await login(ctx, server_url, opts, disc=disc)
                    continue
                if not refreshed and session.tokens.refresh_token:
                    refreshed = True
                    try:
                        session = await refresh(ctx, session, force=True)
                        continue
                    except AtomsAuthError:
                        if not allow_login:
                            raise
                if allow_login:
                    relogged = True
                    ctx.report("login", "the token was refused; logging in again")
                    session = await login(ctx, server_url, opts, disc=disc)
                    continue
            raise AuthorizationDenied(f"The MCP server refused the token: {challenge}.", hint=f"Run atoms-auth login --server {server_url}; atoms-auth token show explains the token.") from None


async def _rediscover(ctx: Context, server_url: str, challenge: AuthChallenge, prefer_issuer: str | None) -> Discovered:
    """Discovery from the challenge the server just sent on a real request (no extra probe)."""
    found = Challenge401(status=challenge.status, resource_metadata=challenge.resource_metadata, scope=challenge.scope, error=challenge.error)
    return await discover(ctx.client, server_url, ctx.policy, ctx.trace, prefer_issuer=prefer_issuer, challenge=found)


def _union_scopes(*scope_strings: str | None) -> str:
    scopes: list[str] = []
    for s in scope_strings:
        scopes.extend((s or "").split())
    return " ".join(dict.fromkeys(scopes))


async def _refresh_or_login(ctx: Context, session: Session, opts: LoginOptions, allow_login: bool) -> Session:
    try:
        return await refresh(ctx, session, force=True)
    except AtomsAuthError:
        if not allow_login:
            raise
        ctx.report("login", "refresh failed; logging in again")
        return await login(ctx, session.server_url, opts)


# --- logout --------------------------------------------------------------------


async def logout(ctx: Context, session: Session) -> list[str]:
    """Revoke at the AS when it offers revocation (RFC 7009), then forget."""
    notes = []
    for token, hint in ((session.tokens.refresh_token, "refresh_token"), (session.tokens.access_token, "access_token")):
        if not token:
            continue
        request = oauth.revocation_request(session.metadata, session.registration, token=token, hint=hint)
        if request is None:
            notes.append("the AS offers no revocation endpoint; tokens were only forgotten locally")
            break
        try:
            status, _ = await send(ctx, request)
            notes.append(f"{hint} revoked" if status == 200 else f"revoking the {hint} answered HTTP {status}")
        except AtomsAuthError as exc:
            notes.append(f"revoking the {hint} failed: {exc.message}")
    ctx.store.delete(ctx.store.token_path(session.issuer, session.resource))
    notes.append("stored tokens deleted")
    return notes


# --- inspection ----------------------------------------------------------------


def describe_tokens(session: Session) -> dict[str, Any]:
    """What a user wants to know about a token, without the secret."""
    info: dict[str, Any] = {
        "server": session.server_url,
        "resource": session.resource,
        "issuer": session.issuer,
        "client_id": session.registration.client_id,
        "client_source": session.registration.source,
        "scope": session.tokens.scope,
        "expires_at": session.tokens.expires_at,
        "expires_in": int(session.tokens.expires_at - time.time()) if session.tokens.expires_at else None,
        "has_refresh_token": bool(session.tokens.refresh_token),
        "problems": [],
    }
    decoded = decode_jwt_unverified(session.tokens.access_token)
    if decoded is None:
        info["access_token_format"] = "opaque (not a JWT)"
    else:
        claims = decoded["claims"]
        info["access_token_format"] = "JWT"
        info["claims"] = {k: claims.get(k) for k in ("iss", "sub", "aud", "scope", "client_id", "exp", "iat") if k in claims}
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if session.resource not in audiences:
            info["problems"].append(
                f"the token's audience is {aud!r}, not this resource {session.resource!r}: a correct server rejects it. "
                f"For AuthKit, add {session.resource} as an MCP Resource Indicator in the WorkOS dashboard (exact string)."
            )
        if claims.get("iss") != session.issuer:
            info["problems"].append(f"the token's issuer is {claims.get('iss')!r}, not {session.issuer!r}")
    if session.tokens.id_token:
        id_claims = (decode_jwt_unverified(session.tokens.id_token) or {}).get("claims", {})
        if id_claims.get("email"):
            info["email"] = id_claims["email"]
    return info
