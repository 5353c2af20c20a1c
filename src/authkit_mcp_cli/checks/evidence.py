"""What doctor learned, as plain data: ``checks.gather`` fills it, checks read it
and never do I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.discovery import authorization_servers, describe_attempt
from authkit_mcp_cli.http import Exchange

if TYPE_CHECKING:
    from authkit_mcp_cli.client.session import Session

# The MCP Inspector's origin: what a browser-based client sends.
BROWSER_ORIGIN = "http://localhost:6274"
MCP_REQUEST_HEADERS = "authorization, content-type, mcp-protocol-version, mcp-session-id"


@dataclass
class ASDiscovery:
    """Everything learned about one AS issuer string."""

    issuer: str
    attempts: list[tuple[str, str, Exchange]] = field(default_factory=list)  # (kind, url, exchange), spec order
    metadata: dict[str, Any] | None = None  # the first usable document in spec order
    metadata_url: str | None = None
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # first usable per kind: oauth / oidc
    doc_urls: dict[str, str] = field(default_factory=dict)
    jwks: Exchange | None = None
    cors_get: Exchange | None = None
    cors_preflight: Exchange | None = None

    def attempt_errors(self) -> list[str]:
        return [describe_attempt(url, ex) for _kind, url, ex in self.attempts]

    def found(self) -> FoundAS | None:
        if self.metadata is None or self.metadata_url is None:
            return None
        return FoundAS(self.issuer, self.metadata, self.metadata_url, self.docs, self.doc_urls, self.jwks, self.cors_get, self.cors_preflight)


@dataclass(frozen=True)
class FoundAS:
    """An AS discovery that found metadata: what ``as.*`` checks work on."""

    issuer: str
    metadata: dict[str, Any]
    metadata_url: str
    docs: dict[str, dict[str, Any]]
    doc_urls: dict[str, str]
    jwks: Exchange | None
    cors_get: Exchange | None
    cors_preflight: Exchange | None


@dataclass
class TokenEvidence:
    """What doctor --login learned with a real token (``checks.token_probe`` fills it)."""

    server_url: str
    source: str = ""  # how it was obtained: "stored login", "new login", ...
    error: dict[str, Any] | None = None  # the login error: code, message, hint
    session: Session | None = None  # the login the checks judge (its token, resource, issuer, client)
    latest: Session | None = None  # the newest stored login after refreshes (its refresh token is the live one)
    header: dict[str, Any] | None = None  # the access token's JOSE header (None: opaque)
    claims: dict[str, Any] | None = None  # its claims, unverified (None: opaque)
    jwks_uri: str | None = None
    jwks: Exchange | None = None
    introspection: dict[str, Any] | None = None  # an opaque token's introspection (RFC 7662): used, claims or why not
    use: dict[str, Any] | None = None  # the authenticated initialize + tools/list
    refresh: dict[str, Any] | None = None  # the refresh, and the rotated refresh token's
    other: dict[str, Any] | None = None  # the token for another resource, and the server's answer to it
    used_refresh_token: str | None = None  # a refresh token already redeemed (token.refresh's first), for as.refresh-rotation; a secret
    expired_token: str | None = None  # an expired access token the AS signed, when one is at hand (doctor --active)
    expired_source: str | None = None  # where it came from
    expired_at: float | None = None  # when it expired
    active_server: dict[str, Any] | None = None  # doctor --active: the server's answers (token in query, session alone, expired token)
    active_as: dict[str, Any] | None = None  # doctor --active: the AS's answers (password grant, bad and reused refresh tokens)

    @property
    def jwt(self) -> bool:
        return self.claims is not None

    @property
    def readable_claims(self) -> dict[str, Any] | None:
        """The JWT's claims, else what introspection said of the opaque token, else None."""
        if self.claims is not None:
            return self.claims
        if self.introspection and self.introspection.get("used"):
            claims = self.introspection.get("claims")
            return claims if isinstance(claims, dict) else None
        return None


@dataclass
class Evidence:
    target: Target  # server_url: the canonical URL when the typed one differed only in form
    typed_server: str | None = None  # the URL as given, when it differed (checks.canonical)
    url_differences: list[str] = field(default_factory=list)
    # MCP server
    challenge: Exchange | None = None
    challenges: Challenges = field(default_factory=Challenges)  # of the 401, read by the one rule (challenge.py)
    cors_post: Exchange | None = None
    cors_preflight: Exchange | None = None
    prm_cors: Exchange | None = None  # the chosen PRM URL fetched with an Origin
    prm_urls: dict[str, str] = field(default_factory=dict)  # location -> url: header, path, root
    prm: dict[str, Exchange] = field(default_factory=dict)  # location -> exchange
    prm_doc: dict[str, Any] | None = None
    prm_location: str | None = None
    compat: dict[str, Exchange] = field(default_factory=dict)  # oauth / oidc
    token_probes: dict[str, Exchange] = field(default_factory=dict)
    # authorization server
    as_issuer: str | None = None
    as_issuer_source: str | None = None  # "--authkit-domain" / env var name / "protected-resource metadata"
    as_kind: str | None = None  # why the AS is known to be AuthKit ("--as-kind authkit", FASTMCP_SERVER_AUTH), else None
    token: TokenEvidence | None = None  # doctor --login
    discoveries: dict[str, ASDiscovery] = field(default_factory=dict)
    # bookkeeping
    request_count: int = 0
    probe_errors: dict[Probe, str] = field(default_factory=dict)  # a probe that crashed: why

    @property
    def discovery(self) -> ASDiscovery | None:
        return self.discoveries.get(self.as_issuer) if self.as_issuer else None

    @property
    def prm_issuers(self) -> list[str]:
        """PRM's authorization_servers that are strings (RFC 9728 §2)."""
        return authorization_servers(self.prm_doc)
