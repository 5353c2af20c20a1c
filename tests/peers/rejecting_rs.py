"""oidc-provider (tests/node/oidc-as.mjs, via peers.oidc_as.run_oidc_as) in
front of an MCP server that rejects every token it issues, while the login at
the AS succeeds: what a user sees when the server's audience or JWKS/issuer
configuration does not match the AS.

How it is wired:
- The AS is the usual AuthKit-like oidc-provider: it puts the `resource` of
  the authorization and token requests (RFC 8707) into the JWT's `aud`
  (RS256, `typ: at+jwt`, `iss` = its issuer, `scope`, `client_id`).
- The MCP server is the mcp SDK's own resource server (MCPServer +
  AuthSettings, as in peers.sdk_server) at /api/mcp. Its protected-resource
  metadata (at /.well-known/oauth-protected-resource/api/mcp only) says
  `resource` = its MCP URL and `authorization_servers` = [the oidc issuer],
  `scopes_supported` = ["mcp:tools"]. A client that follows the spec sends
  that MCP URL as `resource`, so its token's `aud` is the MCP URL.
- Its token verifier checks something else, chosen by ``reject``:
    "audience"  - `aud` must equal ``expected_audience`` (default: the
                  server's origin with a trailing slash, e.g.
                  "http://127.0.0.1:PORT/", the classic confusion of the base
                  URL with the MCP URL; pass any string, e.g. an AuthKit
                  Resource Indicator). Signature and issuer are checked
                  against the AS's real JWKS, so the only fault is the audience.
    "signature" - `aud` and `iss` are right, but the signature is checked
                  against a key the AS never used (a server pointed at the
                  wrong JWKS): every token fails verification.
    "issuer"    - signature and `aud` right, `iss` must be ``expected_issuer``
                  (default: the issuer with "/tenant" appended).
- Whatever fails, the SDK's RequireAuthMiddleware answers the MCP request
  with 401 and `WWW-Authenticate: Bearer error="invalid_token",
  error_description="Authentication required", resource_metadata="<PRM URL>"`
  (the same header as for a request with no token at all) and a JSON body
  {"error": "invalid_token", "error_description": "Authentication required"}.
  Nothing in the answer says which check failed: a client must work it out
  from the token's claims and the metadata it has.

The AS side, for reference (oidc-as.mjs, INTERACTION=auto): metadata at
<issuer>/.well-known/oauth-authorization-server and openid-configuration,
issuer without a trailing slash, token_endpoint_auth_methods_supported
["none","client_secret_post","client_secret_basic"], revocation and
introspection endpoints, authorization_response_iss_parameter_supported true
(the redirect carries code, state and iss). The login is approved
automatically through oidc-provider's interaction redirects (about four hops,
cookies needed); register with application_type "native" for loopback
redirect URIs. Tokens are RS256 JWTs (typ at+jwt) with a rotating refresh
token. An unknown client_id at /oauth2/authorize: 400 HTML page "oops!
something went wrong" with error invalid_client, "client is invalid", no
redirect.

Start: about 0.3 s for both (Node AS and the in-thread uvicorn server).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from peers.asgi import serve_asgi
from peers.oidc_as import run_oidc_as

Reject = Literal["audience", "signature", "issuer"]


class MisconfiguredVerifier:
    """Verifies RS256 JWTs as a resource server does (signature, `aud`, `iss`, `exp`), with the
    expectations it is given: keys from ``jwks_url``, or, when None, a key the AS never used."""

    def __init__(self, *, jwks_url: str | None, issuer: str, audience: str) -> None:
        self.issuer, self.audience = issuer, audience
        self._jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None
        self._wrong_key = None if jwks_url else rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        self.refusals: list[str] = []  # why each token was refused (the peer's side, for tests that want it)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._wrong_key
            claims = jwt.decode(token, key, algorithms=["RS256"], audience=self.audience, issuer=self.issuer)
        except (jwt.PyJWTError, httpx.HTTPError) as exc:
            self.refusals.append(f"{type(exc).__name__}: {exc}")
            return None
        return AccessToken(token=token, client_id=str(claims.get("client_id", "")), scopes=str(claims.get("scope", "")).split(), expires_at=claims.get("exp"), resource=self.audience)


@dataclass
class RejectingServer:
    mcp_url: str  # the MCP endpoint; also the PRM `resource`, hence the `aud` the AS puts in tokens
    issuer: str  # the oidc-provider issuer (no trailing slash), named by the PRM
    reject: Reject
    expected_audience: str  # what the verifier demands in `aud`
    expected_issuer: str  # what the verifier demands in `iss`
    verifier: MisconfiguredVerifier
    prm_url: str  # the protected-resource metadata (path-inserted; the root URL is 404)


def build_rejecting_app(issuer: str, base_url: str, *, path: str = "/api/mcp", reject: Reject = "audience", expected_audience: str | None = None, expected_issuer: str | None = None):
    """(app, RejectingServer) for ``serve_asgi``: the SDK resource server whose verifier cannot accept the AS's tokens."""
    resource = base_url + path
    audience = expected_audience if expected_audience is not None else (base_url + "/" if reject == "audience" else resource)
    token_issuer = expected_issuer if expected_issuer is not None else (issuer + "/tenant" if reject == "issuer" else issuer)
    if reject == "audience" and audience == resource:
        raise ValueError("expected_audience must differ from the MCP URL, or the server would accept the tokens")
    verifier = MisconfiguredVerifier(jwks_url=None if reject == "signature" else f"{issuer}/oauth2/jwks", issuer=token_issuer, audience=audience)
    server = MCPServer(
        "rejecting-sdk-server",
        token_verifier=verifier,
        auth=AuthSettings(issuer_url=issuer, resource_server_url=resource, required_scopes=["mcp:tools"], validate_token_resource=False),
        log_level="WARNING",
    )

    @server.tool()
    def echo(text: str) -> str:
        return text

    app = server.streamable_http_app(streamable_http_path=path, host="127.0.0.1")
    return app, RejectingServer(mcp_url=resource, issuer=issuer, reject=reject, expected_audience=audience, expected_issuer=token_issuer, verifier=verifier, prm_url=f"{base_url}/.well-known/oauth-protected-resource{path}")


@contextlib.contextmanager
def run_rejecting_server(issuer: str, *, reject: Reject = "audience", expected_audience: str | None = None, expected_issuer: str | None = None, path: str = "/api/mcp") -> Iterator[RejectingServer]:
    """Serve the rejecting MCP server for an already running oidc-provider ``issuer``."""
    built: dict[str, RejectingServer] = {}

    def factory(base: str):
        app, built["server"] = build_rejecting_app(issuer, base, path=path, reject=reject, expected_audience=expected_audience, expected_issuer=expected_issuer)
        return app

    with serve_asgi(factory):
        yield built["server"]


@contextlib.contextmanager
def run_oidc_with_rejecting_server(*, reject: Reject = "audience", expected_audience: str | None = None, expected_issuer: str | None = None, interaction: str = "auto") -> Iterator[RejectingServer]:
    """A fresh oidc-provider and the rejecting MCP server in front of it."""
    with run_oidc_as(interaction=interaction) as issuer, run_rejecting_server(issuer, reject=reject, expected_audience=expected_audience, expected_issuer=expected_issuer) as server:
        yield server
