"""Logging out: revoke each token at the AS (RFC 7009), report what the AS
said about each one (§2.2), then forget the stored tokens whatever it said.

Per token the outcome is one of:
- ``revoked``: HTTP 200 (§2.2; also the answer for a token the AS no longer knows);
- ``refused``: the AS answered an error (§2.2.1: its status and ``error``);
- ``failed``: the AS could not be reached;
- ``not-possible``: the AS metadata has no ``revocation_endpoint`` (RFC 8414 §2).
A token that was refused or failed stays valid at the AS until it expires.

Client authentication (§2.1): a confidential client authenticates as at the
token endpoint; a public client sends its ``client_id`` only. Servers built on
the MCP Python SDK's revocation handler (FastMCP among them) demand a
``client_secret`` form field even from public clients (400 invalid_request
"client_secret: Field required"), while strict servers refuse a public
client that sends one: the empty field is sent only as a retry after exactly
that refusal.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.client.diagnosis import token_claims
from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.errors import AtomsAuthError, NetworkError, RemoteRefused
from authkit_mcp_cli.oauth.message import HttpRequest, form_request
from authkit_mcp_cli.oauth.revocation import parse_revocation_response, revocation_request

if TYPE_CHECKING:
    from authkit_mcp_cli.client.context import Context
    from authkit_mcp_cli.client.session import HasStore

SPEC = "RFC 7009 §2.1, §2.2"
REVOKED, REFUSED, FAILED, NOT_POSSIBLE = "revoked", "refused", "failed", "not-possible"


@dataclass
class Revocation:
    """What happened to one token."""

    token: str  # refresh_token or access_token
    outcome: str  # revoked, refused, failed, not-possible
    message: str
    status: int | None = None
    error: str | None = None
    error_description: str | None = None
    valid_until: float | None = None  # when the AS would stop accepting it (stored expires_at, else the JWT's exp)
    empty_secret_retry: bool = False  # revoked only after the retry with an empty client_secret field

    @property
    def still_valid(self) -> bool:
        """Not revoked: the AS may accept the token until it expires."""
        return self.outcome != REVOKED

    def to_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in asdict(self).items() if v is not None}
        if self.valid_until is not None:
            doc["valid_until_utc"] = utc(self.valid_until)
        return doc


@dataclass
class LogoutResult:
    server_url: str
    issuer: str
    revocations: list[Revocation] = field(default_factory=list)
    forgotten: bool = False

    @property
    def ok(self) -> bool:
        """No token was refused or failed (an AS without revocation is not a failure: nothing could be done)."""
        return all(r.outcome in (REVOKED, NOT_POSSIBLE) for r in self.revocations)

    @property
    def notes(self) -> list[str]:
        """One line per token, then the local deletion."""
        return [r.message for r in self.revocations] + (["stored tokens deleted"] if self.forgotten else [])

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server_url, "issuer": self.issuer, "ok": self.ok, "tokens": [r.to_json() for r in self.revocations], "forgotten": self.forgotten, "notes": self.notes}


def utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


async def logout(ctx: Context, session: Session) -> LogoutResult:
    """Revoke the refresh token, then the access token (RFC 7009 §2.1), and delete them, under the store's lock."""
    path = ctx.store.token_path(session.issuer, session.resource)
    with ctx.store.lock(path):
        session, current = _current(ctx, session)
        result = LogoutResult(session.server_url, session.issuer)
        for token, hint in _tokens(session):
            result.revocations.append(await _revoke(ctx, session, token, hint))
        result.forgotten = ctx.store.delete(path) or current is None
    return result


def forget(ctx: HasStore, session: Session) -> LogoutResult | None:
    """:func:`logout` at an AS without a revocation endpoint: nothing to send, so the store is all it
    needs (no HTTP client, no event loop; issue #16 item 2). None, with nothing changed, when the
    stored login names a revocation endpoint: then :func:`logout` it."""
    path = ctx.store.token_path(session.issuer, session.resource)
    with ctx.store.lock(path):
        session, current = _current(ctx, session)
        result = LogoutResult(session.server_url, session.issuer)
        for token, hint in _tokens(session):
            revocation = _not_possible(session, token, hint)
            if revocation is None:
                return None
            result.revocations.append(revocation)
        result.forgotten = ctx.store.delete(path) or current is None
    return result


def _current(ctx: HasStore, session: Session) -> tuple[Session, dict[str, Any] | None]:
    """The stored record now (under the lock): a refresh in another process may have rotated the tokens."""
    current = ctx.store.load_tokens(session.issuer, session.resource)
    return (Session.from_record(current) if current is not None else session), current


def _tokens(session: Session) -> list[tuple[str, str]]:
    """The refresh token first, then the access token (RFC 7009 §2.1: revoking the grant's refresh token may end its access tokens too)."""
    return [(token, hint) for token, hint in ((session.tokens.refresh_token, "refresh_token"), (session.tokens.access_token, "access_token")) if token]


def _until(valid_until: float | None) -> str:
    return f"it stays valid at the AS until {utc(valid_until)} (its exp)" if valid_until else "it stays valid at the AS until it expires (the AS stated no expiry)"


def _not_possible(session: Session, token: str, hint: str) -> Revocation | None:
    """The outcome when the AS metadata has no revocation_endpoint (RFC 8414 §2); None when it has one."""
    if isinstance(session.metadata.get("revocation_endpoint"), str):  # as oauth.revocation_request decides
        return None
    return _no_endpoint(hint, _expiry(session, token, hint))


def _no_endpoint(hint: str, valid_until: float | None) -> Revocation:
    return Revocation(hint, NOT_POSSIBLE, f"{hint}: not revoked: the AS offers no revocation endpoint; forgotten here only, {_until(valid_until)}", valid_until=valid_until)


async def _revoke(ctx: Context, session: Session, token: str, hint: str) -> Revocation:
    valid_until = _expiry(session, token, hint)
    until = _until(valid_until)
    request = revocation_request(session.metadata, session.registration, token=token, hint=hint)
    if request is None:
        return _no_endpoint(hint, valid_until)
    retried = False
    try:
        try:
            await _send_revocation(ctx, request)
        except RemoteRefused as exc:
            if not _wants_client_secret_field(session, exc):
                raise
            retried = True
            await _send_revocation(ctx, _with_empty_secret(request.url, session, token, hint))
    except RemoteRefused as exc:
        said = " ".join(str(p) for p in (f"HTTP {exc.status}" if exc.status else None, exc.error or "no OAuth error") if p)
        if exc.error_description:
            said += f' ("{exc.error_description}")'
        return Revocation(hint, REFUSED, f"{hint}: the AS refused to revoke it: {said}; {until}", status=exc.status, error=exc.error, error_description=exc.error_description, valid_until=valid_until, empty_secret_retry=retried)
    except AtomsAuthError as exc:
        kind = "could not reach the AS" if isinstance(exc, NetworkError) else "the revocation request failed"
        return Revocation(hint, FAILED, f"{hint}: not revoked: {kind}: {exc.message}; {until}", valid_until=valid_until, empty_secret_retry=retried)
    note = " (after a retry with an empty client_secret field, which this AS requires of public clients)" if retried else ""
    return Revocation(hint, REVOKED, f"{hint} revoked{note}", status=200, empty_secret_retry=retried)


async def _send_revocation(ctx: Context, request: HttpRequest) -> None:
    from authkit_mcp_cli.client.context import send

    status, body = await send(ctx, request)
    parse_revocation_response(status, body, url=request.url)


def _wants_client_secret_field(session: Session, exc: RemoteRefused) -> bool:
    """The MCP Python SDK's revocation handler: a public client without the field gets 400 invalid_request naming client_secret."""
    return session.registration.token_endpoint_auth_method == "none" and exc.status == 400 and exc.error == "invalid_request" and "client_secret" in (exc.error_description or "")


def _with_empty_secret(url: str, session: Session, token: str, hint: str) -> HttpRequest:
    return form_request(url, {"token": token, "token_type_hint": hint, "client_id": session.registration.client_id, "client_secret": ""}, {})


def _expiry(session: Session, token: str, hint: str) -> float | None:
    """When a token that was not revoked stops being accepted: the access token's stored expires_at, else its exp."""
    if hint == "access_token" and session.tokens.expires_at:
        return float(session.tokens.expires_at)
    exp = (token_claims(token) or {}).get("exp")
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None
