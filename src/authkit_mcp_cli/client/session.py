"""A stored login (what call, token and logout need without rediscovering),
and its persistence: keyed by AS issuer and resource, because credentials
are bound to the AS that issued them (MCP 2026-07-28 Authorization)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AuthorizationDenied, UsageError
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.token import Tokens

if TYPE_CHECKING:
    from authkit_mcp_cli.store import Store


class HasStore(Protocol):
    """What reading a stored login needs: a Context, or just the store (token show and logout build no
    HTTP client for that, issue #16 item 2)."""

    @property
    def store(self) -> Store: ...

# What a stored login needs of the AS metadata to refresh, revoke and log in again.
KEPT_METADATA = (
    "issuer",
    "token_endpoint",
    "revocation_endpoint",
    "authorization_endpoint",
    "authorization_response_iss_parameter_supported",
    "scopes_supported",
    "grant_types_supported",
    "code_challenge_methods_supported",
    "registration_endpoint",
    "device_authorization_endpoint",
    "dpop_signing_alg_values_supported",
)


@dataclass
class Session:
    """A stored login: where, at which AS, as which client, with which tokens."""

    server_url: str
    resource: str
    issuer: str
    metadata: dict[str, Any]
    registration: ClientRegistration
    tokens: Tokens

    def with_tokens(self, tokens: Tokens) -> Session:
        return Session(self.server_url, self.resource, self.issuer, self.metadata, self.registration, tokens)

    def to_record(self) -> dict[str, Any]:
        return {
            "server_url": self.server_url,
            "metadata": {k: self.metadata[k] for k in KEPT_METADATA if k in self.metadata},
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
            raise UsageError(f"The stored login is incomplete ({exc}).", code=ErrorCode.LOGIN_CORRUPT_RECORD, hint="Run atoms-auth login again.") from None


def save_session(ctx: HasStore, session: Session) -> None:
    ctx.store.save_tokens(session.issuer, session.resource, session.to_record())


def load_session(ctx: HasStore, server_url: str) -> Session | None:
    """The newest stored login for this server, or None."""
    matches = ctx.store.find_tokens_for_server(server_url)
    if not matches:
        return None
    matches.sort(key=lambda item: item[1].get("saved_at", 0), reverse=True)
    return Session.from_record(matches[0][1])


def require_session(ctx: HasStore, server_url: str) -> Session:
    """The stored login for this server; not being logged in is an error (``login.not-logged-in``)."""
    session = load_session(ctx, server_url)
    if session is None:
        raise not_logged_in(server_url)
    return session


def not_logged_in(server_url: str, why: str = "") -> AuthorizationDenied:
    return AuthorizationDenied(f"Not logged in to {server_url}{why}.", code=ErrorCode.LOGIN_NOT_LOGGED_IN, hint=f"Run atoms-auth login --server {server_url}.")
