"""Refreshing a stored login under the store's lock (RFC 6749 §6; MCP
2026-07-28 Authorization: Refresh Tokens): another process may have rotated
the refresh token first, and a rotated token that is lost ends the grant."""

from __future__ import annotations

import time

from authkit_mcp_cli.client.context import Context
from authkit_mcp_cli.client.session import Session, save_session
from authkit_mcp_cli.client.token_request import request_tokens
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AtomsAuthError, AuthorizationDenied, RemoteRefused
from authkit_mcp_cli.oauth.dpop import DpopKey
from authkit_mcp_cli.oauth.token import refresh_token_request

SPEC = "RFC 6749 §6; MCP 2026-07-28 Authorization: Refresh Tokens"


def no_refresh_token(session: Session) -> AtomsAuthError:
    """``token.no-refresh-token``: nothing to refresh with, because the AS issued none (RFC 6749 §5.1: it is optional)."""
    expires = session.tokens.expires_at
    if expires is None:
        until = "The access token's lifetime was not stated by the AS."
    elif expires > time.time():
        until = f"The access token stays usable until {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(expires))}."
    else:
        until = f"The access token expired at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(expires))}."
    return AtomsAuthError(
        f"The AS issued no refresh token for this login, so there is nothing to refresh with. {until}",
        code=ErrorCode.TOKEN_NO_REFRESH_TOKEN,
        hint=f"Run atoms-auth login --server {session.server_url} for a new access token (atoms-auth call --login does it when needed). Refresh tokens come only from an AS that offers the refresh_token grant, some only with the offline_access scope.",
        spec=SPEC + "; RFC 6749 §5.1 (refresh_token is optional)",
    )


async def refresh(ctx: Context, session: Session, *, force: bool = False) -> Session:
    """A fresh access token, stored; without ``force`` a valid token another process just stored is used instead."""
    path = ctx.store.token_path(session.issuer, session.resource)
    with ctx.store.lock(path):
        current = ctx.store.load_tokens(session.issuer, session.resource)
        if current is not None:
            latest = Session.from_record(current)
            if latest.tokens.access_token != session.tokens.access_token and not latest.tokens.expired() and not force:
                return latest  # someone else refreshed meanwhile
            session = latest  # always send the newest refresh token
        sent = session.tokens.refresh_token
        if not sent:
            raise no_refresh_token(session)
        request = refresh_token_request(session.metadata, session.registration, refresh_token=sent, resource=session.resource)
        key = DpopKey.from_json(session.tokens.dpop_key) if session.tokens.dpop_key else None  # the binding is kept (RFC 9449 §5)
        try:
            tokens = await request_tokens(ctx, request, key, grant_type=session.tokens.grant_type or "authorization_code", previous_refresh_token=sent)
        except RemoteRefused as exc:
            if exc.error == "invalid_grant":
                # RFC 6749 §5.2: the refresh token is expired, revoked, or was used twice
                raise AuthorizationDenied(
                    f"{exc.message} The grant has ended.",
                    code=ErrorCode.LOGIN_GRANT_ENDED,
                    hint=f"Run atoms-auth login --server {session.server_url}.",
                    spec="RFC 6749 §5.2; OAuth 2.1 §4.3.1",
                    url=exc.url,
                    remote=exc.remote,
                ) from None
            if exc.error == "invalid_client" and not exc.hint:
                exc.hint = "The AS no longer accepts this client (deleted, or its secret changed): check its registration, or pass the right --client-id/--client-secret to atoms-auth login."
            raise
        session = session.with_tokens(tokens)
        save_session(ctx, session)
    ctx.report("refresh", "access token refreshed" + (" (refresh token rotated)" if tokens.refresh_token != sent else ""))
    return session
