"""Logging out: revoke at the AS when it offers revocation (RFC 7009), then
forget the stored tokens whatever the AS said."""

from __future__ import annotations

from authkit_mcp_cli.client.context import Context, send
from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.errors import AtomsAuthError
from authkit_mcp_cli.oauth import parse_revocation_response, revocation_request


async def logout(ctx: Context, session: Session) -> list[str]:
    """Revoke the refresh token, then the access token (RFC 7009 §2.1), delete them, and say what happened."""
    notes = []
    for token, hint in ((session.tokens.refresh_token, "refresh_token"), (session.tokens.access_token, "access_token")):
        if not token:
            continue
        request = revocation_request(session.metadata, session.registration, token=token, hint=hint)
        if request is None:
            notes.append("the AS offers no revocation endpoint; tokens were only forgotten locally")
            break
        try:
            status, body = await send(ctx, request)
            parse_revocation_response(status, body, url=request.url)
            notes.append(f"{hint} revoked")
        except AtomsAuthError as exc:  # a refusal or a network failure must not keep the tokens on disk
            notes.append(f"revoking the {hint} failed: {exc.message}")
    ctx.store.delete(ctx.store.token_path(session.issuer, session.resource))
    notes.append("stored tokens deleted")
    return notes
