"""The third-party peers of issue 11 start, challenge, publish their metadata,
and can be logged into with a plain OAuth client: the ground the behaviour
tests stand on. Each peer is a module in tests/peers (see its docstring for
what it does on the wire):

- peers.ts_example: the TypeScript MCP SDK's simpleStreamableHttp.js --oauth
  with its demo in-memory AS. Unauthenticated MCP POST:
  401  WWW-Authenticate: Bearer error="invalid_token", error_description="Missing Authorization header",
       resource_metadata="http://localhost:<mcp port>/.well-known/oauth-protected-resource/mcp"
- peers.fastmcp_peer: FastMCP's InMemoryOAuthProvider (AS and MCP at one origin).
  401  WWW-Authenticate: Bearer scope="mcp:tools",
       resource_metadata="http://127.0.0.1:<port>/.well-known/oauth-protected-resource/mcp"
- peers.rejecting_rs: oidc-provider in front of the mcp SDK's resource server
  that refuses its tokens (audience, signature or issuer).
  401  WWW-Authenticate: Bearer error="invalid_token", error_description="Authentication required",
       resource_metadata="http://127.0.0.1:<port>/.well-known/oauth-protected-resource/api/mcp"
  (the same header with a token it refuses)
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from peers import oauth_flow as flow
from peers.oidc_as import PeerMissing
from peers.rejecting_rs import run_oidc_with_rejecting_server
from peers.ts_example import run_ts_example

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


# `make test` installs every peer: a missing one is a failure, never a skip.


@pytest.fixture(scope="module", params=["audience", "signature", "issuer"])
def rejecting(request):
    try:
        with run_oidc_with_rejecting_server(reject=request.param) as server:
            yield server
    except PeerMissing as exc:
        pytest.fail(str(exc))


def unauthenticated_initialize(url: str) -> httpx.Response:
    return flow.mcp_post(url, flow.initialize_message())


def challenge_params(header: str) -> dict[str, str]:
    assert header.startswith("Bearer "), header
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def authorization_probe(metadata: dict, client_id: str) -> httpx.Response:
    """A GET of an authorization URL for ``client_id``, not followed: what a client can check before opening a browser."""
    _, challenge = flow.pkce_pair()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": flow.REDIRECT_URI, "state": "probe", "code_challenge": challenge, "code_challenge_method": "S256", "scope": "mcp:tools"}
    return httpx.get(metadata["authorization_endpoint"], params=params, timeout=10)


# --- the TypeScript SDK example ------------------------------------------------------------


def test_ts_example_challenges_and_serves_metadata(ts_example):
    response = unauthenticated_initialize(ts_example.mcp_url)
    assert response.status_code == 401
    challenge = challenge_params(response.headers["www-authenticate"])
    assert challenge == {"error": "invalid_token", "error_description": "Missing Authorization header", "resource_metadata": ts_example.prm_url}

    prm = httpx.get(ts_example.prm_url).json()
    assert prm["resource"] == ts_example.mcp_url
    assert prm["authorization_servers"] == [ts_example.issuer]
    assert prm["scopes_supported"] == ["mcp:tools"]
    assert httpx.get(f"{ts_example.origin}/.well-known/oauth-protected-resource").status_code == 404

    metadata = flow.as_metadata(ts_example.issuer)
    assert metadata["issuer"] == ts_example.issuer  # with its trailing slash
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_post", "none"]
    assert "registration_endpoint" in metadata
    assert "revocation_endpoint" not in metadata
    assert "authorization_response_iss_parameter_supported" not in metadata
    assert ts_example.starts[0] < 10


def test_ts_example_login_then_restart_forgets_the_client(ts_example):
    metadata = flow.as_metadata(ts_example.issuer)
    login = flow.login(metadata, resource=ts_example.mcp_url, scope="mcp:tools")
    assert "iss" not in login.authorization.params  # no RFC 9207 iss on the redirect
    assert len(login.authorization.visited) == 2  # /authorize answers with the redirect at once: auto-approved
    assert "refresh_token" not in login.tokens
    response, message = flow.mcp_initialize(ts_example.mcp_url, login.access_token)
    assert response.status_code == 200, response.text
    assert message["result"]["serverInfo"]["name"] == "simple-streamable-http-server"

    client_id = login.client["client_id"]
    probe = authorization_probe(metadata, client_id)
    assert probe.status_code == 302 and probe.headers["location"].startswith(flow.REDIRECT_URI + "?code=")

    ts_example.restart()
    probe = authorization_probe(metadata, client_id)
    assert probe.status_code == 400, probe.text  # an error, not a redirect (RFC 6749 §4.1.2.1)
    assert probe.json() == {"error": "invalid_client", "error_description": "Invalid client_id"}
    # The token issued before the restart is unknown too: the example answers 500, not 401.
    stale = flow.mcp_post(ts_example.mcp_url, flow.initialize_message(), token=login.access_token)
    assert stale.status_code == 500 and "www-authenticate" not in stale.headers
    # A new registration after the restart works.
    fresh = flow.login(metadata, resource=ts_example.mcp_url, scope="mcp:tools")
    assert flow.mcp_initialize(ts_example.mcp_url, fresh.access_token)[0].status_code == 200


def test_ts_example_strict_binds_tokens_to_the_resource():
    try:
        with run_ts_example(strict=True) as strict:
            metadata = flow.as_metadata(strict.issuer)
            login = flow.login(metadata, resource=strict.mcp_url, scope="mcp:tools")
            assert flow.mcp_initialize(strict.mcp_url, login.access_token)[0].status_code == 200
            with pytest.raises(AssertionError, match="token request refused: 500"):
                flow.login(metadata, resource=strict.origin + "/", scope="mcp:tools")
    except PeerMissing as exc:
        pytest.fail(str(exc))


# --- FastMCP's in-memory OAuth provider ----------------------------------------------------


def test_fastmcp_challenges_and_serves_metadata(fastmcp_peer):
    pin = re.search(r"^FASTMCP_VERSION := (\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert pin and fastmcp_peer.fastmcp_version == pin.group(1)

    response = unauthenticated_initialize(fastmcp_peer.mcp_url)
    assert response.status_code == 401
    challenge = challenge_params(response.headers["www-authenticate"])
    assert challenge == {"scope": "mcp:tools", "resource_metadata": fastmcp_peer.prm_url}  # no error= without a token

    prm = httpx.get(fastmcp_peer.prm_url).json()
    assert prm["resource"] == fastmcp_peer.mcp_url
    assert prm["authorization_servers"] == [fastmcp_peer.issuer]
    assert prm["scopes_supported"] == ["mcp:tools"]

    metadata = flow.as_metadata(fastmcp_peer.issuer)
    assert metadata["issuer"] == fastmcp_peer.issuer
    assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_post", "client_secret_basic"]
    assert metadata["revocation_endpoint"] == fastmcp_peer.base_url + "/revoke"
    assert metadata["revocation_endpoint_auth_methods_supported"] == ["client_secret_post", "client_secret_basic"]
    assert "authorization_response_iss_parameter_supported" not in metadata


def test_fastmcp_login_and_revocation_needs_the_secret(fastmcp_peer):
    metadata = flow.as_metadata(fastmcp_peer.issuer)
    login = flow.login(metadata, resource=fastmcp_peer.mcp_url, scope="mcp:tools", auth_method="client_secret_post")
    assert login.client["client_secret"]
    assert "iss" not in login.authorization.params and len(login.authorization.visited) == 2  # auto-approved, no iss
    assert login.access_token.startswith("test_access_token_") and login.tokens["refresh_token"]  # opaque
    response, message = flow.mcp_initialize(fastmcp_peer.mcp_url, login.access_token)
    assert response.status_code == 200, response.text
    assert message["result"]["serverInfo"]["name"] == "fastmcp-in-memory-oauth"

    revoke = metadata["revocation_endpoint"]
    without_secret = httpx.post(revoke, data={"token": login.access_token, "client_id": login.client["client_id"]})
    assert without_secret.status_code == 401
    assert without_secret.json() == {"error": "unauthorized_client", "error_description": "Client secret is required"}
    assert flow.mcp_initialize(fastmcp_peer.mcp_url, login.access_token)[0].status_code == 200  # still valid

    with_secret = httpx.post(revoke, data={"token": login.access_token, "client_id": login.client["client_id"], "client_secret": login.client["client_secret"]})
    assert with_secret.status_code == 200
    after = flow.mcp_post(fastmcp_peer.mcp_url, flow.initialize_message(), token=login.access_token)
    assert after.status_code == 401 and challenge_params(after.headers["www-authenticate"])["error"] == "invalid_token"


def test_fastmcp_unknown_client_is_an_error_page(fastmcp_peer):
    metadata = flow.as_metadata(fastmcp_peer.issuer)
    probe = authorization_probe(metadata, "no-such-client")
    assert probe.status_code == 400
    assert probe.json() == {"error": "invalid_request", "error_description": "Client ID 'no-such-client' not found", "state": "probe"}


# --- oidc-provider behind a server that refuses its tokens ---------------------------------


def test_rejecting_server_challenges_and_serves_metadata(rejecting):
    response = unauthenticated_initialize(rejecting.mcp_url)
    assert response.status_code == 401
    challenge = challenge_params(response.headers["www-authenticate"])
    assert challenge == {"error": "invalid_token", "error_description": "Authentication required", "resource_metadata": rejecting.prm_url}
    prm = httpx.get(rejecting.prm_url).json()
    assert prm["resource"] == rejecting.mcp_url and prm["authorization_servers"] == [rejecting.issuer]
    metadata = flow.as_metadata(rejecting.issuer)
    assert metadata["issuer"] == rejecting.issuer
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_rejecting_server_refuses_a_good_login(rejecting):
    metadata = flow.as_metadata(rejecting.issuer)
    login = flow.login(metadata, resource=rejecting.mcp_url, scope="mcp:tools", register_extra={"application_type": "native"})
    assert login.authorization.params["iss"] == rejecting.issuer
    claims = flow.decode_jwt_claims(login.access_token)
    assert claims["aud"] == rejecting.mcp_url and claims["iss"] == rejecting.issuer and claims["scope"] == "mcp:tools"

    response, _ = flow.mcp_initialize(rejecting.mcp_url, login.access_token)
    assert response.status_code == 401
    assert challenge_params(response.headers["www-authenticate"])["error"] == "invalid_token"
    expected_refusal = {"audience": "InvalidAudienceError", "signature": "InvalidSignatureError", "issuer": "InvalidIssuerError"}[rejecting.reject]
    assert rejecting.verifier.refusals and rejecting.verifier.refusals[-1].startswith(expected_refusal)
    if rejecting.reject == "audience":
        assert rejecting.expected_audience != claims["aud"]
