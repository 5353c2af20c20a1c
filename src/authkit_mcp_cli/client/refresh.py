"""Refreshing a stored login under the store's lock (RFC 6749 §6; MCP
2026-07-28 Authorization: Refresh Tokens): another process may have rotated
the refresh token first, and a rotated token that is lost ends the grant."""

from __future__ import annotations

from authkit_mcp_cli.client.context import Context, send
from authkit_mcp_cli.client.session import Session, save_session
from authkit_mcp_cli.errors import AuthorizationDenied, RemoteRefused
from authkit_mcp_cli.oauth import parse_token_response, refresh_token_request

SPEC = "RFC 6749 §6; MCP 2026-07-28 Authorization: Refresh Tokens"


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
            raise AuthorizationDenied(
                "The stored login has no refresh token (the authorization server issued none), so the access token cannot be renewed.",
                code="login.no-refresh-token",
                hint=f"Run atoms-auth login --server {session.server_url}.",
                spec=SPEC,
            )
        request = refresh_token_request(session.metadata, session.registration, refresh_token=sent, resource=session.resource)
        status, body = await send(ctx, request)
        try:
            tokens = parse_token_response(status, body, previous_refresh_token=sent, url=request.url)
        except RemoteRefused as exc:
            if exc.error == "invalid_grant":
                # RFC 6749 §5.2: the refresh token is expired, revoked, or was used twice
                raise AuthorizationDenied(
                    f"{exc.message} The grant has ended.",
                    code="login.grant-ended",
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
