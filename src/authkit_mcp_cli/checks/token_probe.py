"""doctor --login: obtain a real token the way ``login`` does, and learn what
only a real token shows (``token.*``, ``server.accepts-token``,
``server.rejects-other-resource-token``). Not read-only: it may log in, it
stores the login, and it refreshes.

Each step fills part of :class:`~authkit_mcp_cli.checks.evidence.TokenEvidence`;
a step that fails records the error's code and message, never raises.
``gather`` runs them one after another (one refresh token in flight at a time:
a rotating AS revokes the whole grant when an old refresh token is reused).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from authkit_mcp_cli.checks.evidence import TokenEvidence
from authkit_mcp_cli.client.context import Context, LoginOptions, send
from authkit_mcp_cli.client.login import login
from authkit_mcp_cli.client.refresh import refresh
from authkit_mcp_cli.client.session import Session, load_session, save_session
from authkit_mcp_cli.errors import AtomsAuthError, AuthChallenge, RemoteRefused
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.oauth.client_auth import client_auth
from authkit_mcp_cli.oauth.message import form_request, load_json
from authkit_mcp_cli.oauth.token import parse_token_response, refresh_token_request
from authkit_mcp_cli.redact import decode_jwt_unverified
from authkit_mcp_cli.urls import origin

# A resource on the same origin, so a server that checks only the host (or a prefix) is caught.
OTHER_RESOURCE_PATH = "/atoms-auth-doctor/another-resource"

Post = Callable[[str], Awaitable[Exchange]]  # an unauthenticated-shaped initialize with this bearer token
GetJson = Callable[[str], Awaitable[Exchange]]


@dataclass
class LoginPlan:
    """How doctor --login obtains its token: the client's context and login options (as ``login``'s)."""

    ctx: Context
    opts: LoginOptions
    fresh: bool = False  # ignore a stored login
    wire: str = "auto"
    active: bool = False  # doctor --active: also the probes that DO things (checks.active_probes)


def error_record(exc: AtomsAuthError) -> dict[str, Any]:
    record: dict[str, Any] = {"code": exc.code, "message": exc.message, "hint": exc.hint}
    if exc.remote is not None:
        record["remote"] = exc.remote.to_json()
    return record


def other_resource(resource: str) -> str:
    return origin(resource) + OTHER_RESOURCE_PATH


def _decode(te: TokenEvidence) -> None:
    assert te.session is not None
    decoded = decode_jwt_unverified(te.session.tokens.access_token)
    te.header, te.claims = (decoded["header"], decoded["claims"]) if decoded else (None, None)


async def obtain(plan: LoginPlan, server_url: str, get_json: GetJson, metadata_for: Callable[[str], Awaitable[dict[str, Any] | None]]) -> TokenEvidence:
    """A stored valid login for this server (unless ``fresh``), else refreshed, else a new login."""
    te = TokenEvidence(server_url=server_url)
    ctx = plan.ctx
    session: Session | None = None
    try:
        stored = None if plan.fresh else load_session(ctx, server_url)
        if stored is not None and not stored.tokens.expired():
            session, te.source = stored, "stored login"
        elif stored is not None:
            # an expired access token the AS signed: what server.rejects-expired-token sends (doctor --active)
            te.expired_token, te.expired_source = stored.tokens.access_token, "the stored login's expired access token"
            te.expired_at = stored.tokens.expires_at
        if session is None and stored is not None and stored.tokens.refresh_token:
            try:
                session, te.source = await refresh(ctx, stored, force=True), "stored login, refreshed"
            except AtomsAuthError as exc:
                ctx.report("warning", f"the stored login could not be refreshed ({exc.code}); logging in again")
        if session is None:
            session, te.source = await login(ctx, server_url, plan.opts), "new login"
    except AtomsAuthError as exc:
        te.error = error_record(exc)
        return te
    te.session = session
    _decode(te)
    metadata = await metadata_for(session.issuer)
    if not te.jwt:
        await _introspect(ctx, {**session.metadata, **(metadata or {})}, te)
    uri = (metadata or {}).get("jwks_uri")
    if isinstance(uri, str):
        te.jwks_uri = uri
        if te.jwt:
            te.jwks = await get_json(uri)
    return te


async def _introspect(ctx: Context, metadata: dict[str, Any], te: TokenEvidence) -> None:
    """An opaque token's claims from the AS (RFC 7662 §2), when it offers introspection and lets this client use it."""
    assert te.session is not None
    claims, why = await introspect(ctx, metadata, te.session, te.session.tokens.access_token)
    te.introspection = {"used": True, "endpoint": metadata.get("introspection_endpoint"), "claims": claims} if claims is not None else {"used": False, "why": why}


async def introspect(ctx: Context, metadata: dict[str, Any], session: Session, token: str) -> tuple[dict[str, Any] | None, str]:
    """(the active token's introspection response, "") or (None, why not)."""
    endpoint = metadata.get("introspection_endpoint")
    if not isinstance(endpoint, str):
        return None, "the AS advertises no introspection_endpoint"
    form = {"token": token, "token_type_hint": "access_token"}
    request = form_request(endpoint, form, client_auth(session.registration, form))
    try:
        status, body = await send(ctx, request)
    except AtomsAuthError as exc:
        return None, f"introspection at {endpoint} failed: {exc.code}: {exc.message}"
    doc = load_json(body)
    if status != 200 or not isinstance(doc, dict):
        return None, f"the AS refused introspection at {endpoint} to this client (HTTP {status})"
    if doc.get("active") is not True:
        return None, f"introspection at {endpoint} says the token is not active"
    return doc, ""


async def use(plan: LoginPlan, te: TokenEvidence) -> None:
    """server.accepts-token: an authenticated initialize (or 2026-07-28 discovery) and tools/list."""
    from authkit_mcp_cli.mcp_wire import list_tools, with_session

    assert te.session is not None
    ctx = plan.ctx
    try:
        tools = await with_session(te.server_url, te.session.tokens.access_token, list_tools, http=ctx.http, wire=plan.wire)
    except AuthChallenge as refused:
        te.use = {"ok": False, "status": refused.status, "error": refused.error, "error_description": refused.error_description, "scope": refused.scope, "challenge": refused}
        return
    except AtomsAuthError as exc:
        te.use = {"ok": False, "failure": error_record(exc)}
        return
    te.use = {"ok": True, "tools": [t["name"] for t in tools]}


async def refresh_twice(plan: LoginPlan, te: TokenEvidence) -> None:
    """token.refresh: a refresh for the same resource; when the refresh token rotated, the new one must work too."""
    assert te.session is not None
    if not te.session.tokens.refresh_token:
        te.refresh = {"issued": False}
        return
    ctx = plan.ctx
    first = te.session.tokens.refresh_token
    record: dict[str, Any] = {"issued": True}
    te.refresh = record
    try:
        renewed = await refresh(ctx, te.session, force=True)
    except AtomsAuthError as exc:
        record["failure"] = error_record(exc)
        return
    record["rotated"] = renewed.tokens.refresh_token != first
    te.used_refresh_token = first
    record["claims"] = _claims(renewed.tokens.access_token)
    record["scope"] = renewed.tokens.scope
    te.latest = renewed
    if record["rotated"]:
        try:
            te.latest = await refresh(ctx, renewed, force=True)
            record["rotated_token_works"] = True
        except AtomsAuthError as exc:
            record["rotated_token_works"] = False
            record["second_failure"] = error_record(exc)


async def _authorize_other_resource(plan: LoginPlan, te: TokenEvidence, session: Session, other: str, record: dict[str, Any], post: Post) -> None:
    """doctor --active: a second authorization request whose resource is the sibling URL (same browser
    session, so usually no second consent), its token not stored; sent to the server like the refreshed one."""
    from authkit_mcp_cli.client.grants.registry import grant_for
    from authkit_mcp_cli.discovery import discover

    ctx = plan.ctx
    ctx.report("active", f"the AS refused to refresh into {other} (invalid_target); a second authorization request asks for a token for it (the browser may ask for consent again)")
    try:
        disc = await discover(ctx.client, te.server_url, ctx.policy, prefer_issuer=session.issuer, browser_flow=plan.opts.browser_flow)
        _reg, tokens = await grant_for(plan.opts).obtain(ctx, replace(disc, resource=other), session.tokens.scope)
    except AtomsAuthError as exc:
        record["second_authorization"] = error_record(exc)
        record["not_issued"] += f"; a second authorization request for it failed too: {exc.code}: {exc.message.rstrip('.')}"
        return
    del record["not_issued"]
    record["via"] = "a second authorization request (the AS refused to refresh into another resource: invalid_target)"
    record["claims"] = _claims(tokens.access_token)
    if record["claims"] is None and te.introspection and te.introspection.get("used"):
        record["claims"], _ = await introspect(ctx, {"introspection_endpoint": te.introspection["endpoint"]}, session, tokens.access_token)
    record["answer"] = await post(tokens.access_token)
    record["own_answer"] = await post(session.tokens.access_token)


def _claims(token: str) -> dict[str, Any] | None:
    decoded = decode_jwt_unverified(token)
    return decoded["claims"] if decoded else None


async def other_resource_token(plan: LoginPlan, te: TokenEvidence, post: Post) -> None:
    """server.rejects-other-resource-token: trade the refresh token for a token whose resource is
    another URL (RFC 8707 §2.2), and send it to the server next to the real one."""
    session = te.latest or te.session
    assert session is not None
    other = other_resource(session.resource)
    record: dict[str, Any] = {"resource": other}
    te.other = record
    refresh_token = session.tokens.refresh_token
    if not refresh_token:
        record["not_issued"] = "the authorization server issued no refresh token, so no token for another resource can be obtained without a second login"
        return
    ctx = plan.ctx
    request = refresh_token_request(session.metadata, session.registration, refresh_token=refresh_token, resource=other)
    try:
        status, body = await send(ctx, request)
        tokens = parse_token_response(status, body, previous_refresh_token=refresh_token, url=request.url)
    except RemoteRefused as exc:
        record["not_issued"] = f"the authorization server refused a refresh with resource={other}: {exc.error or exc.code}" + (f" ({exc.error_description})" if exc.error_description else "")
        record["refused"] = error_record(exc)
        if plan.active and exc.error == "invalid_target":  # legal (RFC 8707 §2): ask for one in a second authorization request
            await _authorize_other_resource(plan, te, session, other, record, post)
        return
    except AtomsAuthError as exc:
        record["not_issued"] = f"the refresh with resource={other} failed: {exc.code}: {exc.message}"
        return
    if tokens.refresh_token and tokens.refresh_token != refresh_token:
        # the same grant's rotated refresh token: keep it with the stored login (its access token is unchanged)
        kept = session.with_tokens(replace(session.tokens, refresh_token=tokens.refresh_token))
        save_session(ctx, kept)
        te.latest = kept
    record["claims"] = _claims(tokens.access_token)
    if record["claims"] is None and te.introspection and te.introspection.get("used"):
        record["claims"], _ = await introspect(ctx, {"introspection_endpoint": te.introspection["endpoint"]}, session, tokens.access_token)
    record["answer"] = await post(tokens.access_token)  # Exchange
    record["own_answer"] = await post(session.tokens.access_token)
