"""doctor --login against real peers, the browser leg approved by the test
BROWSER: each check of the issue's table passes on a correct peer and fails
(or skips, with the reason) on a broken one.

- oidc-provider + serve --authkit-domain: everything passes (oidc-provider is
  told to grant a second resource with every login, so a refresh can mint a
  token for another resource);
- the same oidc-provider + a server that accepts tokens for any resource:
  server.rejects-other-resource-token fails;
- oidc-provider that ignores the resource indicator (a fixed aud): token.audience
  fails with generic advice (it is not AuthKit), and serve refuses the token;
- oidc-provider + the SDK server whose verifier expects another audience, JWKS
  or issuer: the token is right (token.* pass), server.accepts-token fails and
  says the server's validation is what is wrong;
- serve's own development AS: it refuses to mint tokens for other resources,
  so that check skips with the AS's answer;
- no AS at all: token.obtained carries the login error's code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from authkit_mcp_cli.checks.token_probe import OTHER_RESOURCE_PATH
from peers.any_resource_server import build_any_resource_app
from peers.asgi import serve_asgi
from peers.oidc_as import run_oidc_as
from peers.rejecting_rs import run_rejecting_server
from peers.serve_app import serve_app
from peers.streams import paste_redirect

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
LOGIN_IDS = ("token.obtained", "token.audience", "token.issuer", "token.signature", "token.lifetime", "token.scopes", "server.accepts-token", "server.rejects-other-resource-token", "token.refresh")


@pytest.fixture
def doctor(tmp_path):
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(tmp_path / "browser.log"), "NO_COLOR": "1"}

    def run(*args: str) -> tuple[int, dict[str, dict], str]:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        doc = json.loads(proc.stdout)
        for r in doc["results"]:  # levels match statuses, whatever the peer
            assert (r["level"], r["status"]) not in (("MUST", "warn"), ("SHOULD", "fail"), ("INFO", "warn"), ("INFO", "fail")), r
        return proc.returncode, {r["id"]: r for r in doc["results"]}, proc.stderr

    run.browser_log = tmp_path / "browser.log"
    return run


def statuses(results: dict[str, dict]) -> dict[str, str]:
    return {cid: results[cid]["status"] for cid in LOGIN_IDS}


@pytest.fixture(scope="module")
def generous_as():
    """oidc-provider that grants a second resource with every login (so other-resource tokens exist)."""
    with run_oidc_as(env={"EXTRA_RESOURCE_PATH": OTHER_RESOURCE_PATH}) as issuer:
        yield issuer


def test_everything_passes_against_oidc_provider_and_serve(generous_as, doctor):
    with serve_app(authkit_domain=generous_as, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        code, results, stderr = doctor("--server", info.mcp_url, "--login")
    bad = {cid: r["message"] for cid, r in results.items() if cid in LOGIN_IDS and r["status"] != "pass"}
    assert bad == {}
    assert "new login" in results["token.obtained"]["message"]
    assert results["token.signature"]["evidence"]["alg"] == "RS256"
    assert results["server.rejects-other-resource-token"]["evidence"]["answer"]["status"] == 401
    assert results["server.rejects-other-resource-token"]["evidence"]["aud"].endswith(OTHER_RESOURCE_PATH)
    assert results["token.refresh"]["evidence"]["rotated"] is True
    assert code == 0, {cid: r["message"] for cid, r in results.items() if r["status"] in ("fail", "error")}


def test_a_stored_login_is_reused_unless_fresh(generous_as, doctor):
    with serve_app(authkit_domain=generous_as, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        doctor("--server", info.mcp_url, "--login", "--check", "token.obtained")
        visits = len(doctor.browser_log.read_text().splitlines())
        _, again, _ = doctor("--server", info.mcp_url, "--login", "--check", "token.obtained", "--check", "server.accepts-token")
        assert "stored login" in again["token.obtained"]["message"] and again["server.accepts-token"]["status"] == "pass"
        assert len(doctor.browser_log.read_text().splitlines()) == visits  # no browser this time
        _, fresh, _ = doctor("--server", info.mcp_url, "--login", "--fresh", "--check", "token.obtained")
        assert "new login" in fresh["token.obtained"]["message"]


def test_a_server_that_accepts_tokens_for_any_resource_fails(generous_as, doctor):
    with serve_asgi(lambda base: build_any_resource_app(generous_as, base)) as base:
        code, results, _ = doctor("--server", base + "/api/mcp", "--login")
    r = results["server.rejects-other-resource-token"]
    assert r["status"] == "fail" and "CRITICAL: the server accepted a token issued for" in r["message"], r
    assert r["evidence"]["answer"]["status"] == 200
    assert "Validate aud" in r["fix"]
    # what an unauthenticated probe sees is all fine: only the real token shows it
    for cid in ("token.audience", "token.signature", "server.accepts-token", "server.rejects-forged-tokens", "server.rejects-invalid-token"):
        assert results[cid]["status"] == "pass", (cid, results[cid]["message"])
    assert code == 1


def test_an_as_that_ignores_the_resource_indicator_fails_token_audience(doctor):
    with run_oidc_as(env={"FIXED_AUDIENCE": "https://api.example.com"}) as issuer, serve_app(authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        code, results, _ = doctor("--server", info.mcp_url, "--login")
    r = results["token.audience"]
    assert r["status"] == "fail" and "'https://api.example.com'" in r["message"] and info.resource in r["message"]
    assert "WorkOS" not in r["fix"] and "resource" in r["fix"]  # not AuthKit: generic advice
    # serve rightly refuses it: one cause, one finding (token.audience's), not a server fault
    r = results["server.accepts-token"]
    assert r["status"] == "skip" and "rightly" in r["message"] and "see token.audience" in r["message"]
    assert "audience" in r["evidence"]["answer"]["error_description"] and "WorkOS" not in r["evidence"]["answer"]["error_description"]
    assert results["token.issuer"]["status"] == "pass" and results["token.signature"]["status"] == "pass"
    assert code == 1


@pytest.mark.parametrize("reject", ["audience", "signature", "issuer"])
def test_a_server_that_refuses_a_right_token_is_what_fails(generous_as, doctor, reject):
    """rejecting_rs: the token's aud IS the PRM resource; the server's verifier is wrong."""
    with run_rejecting_server(generous_as, reject=reject) as server:
        _, results, _ = doctor("--server", server.mcp_url, "--login")
    s = statuses(results)
    assert s["token.audience"] == s["token.issuer"] == s["token.signature"] == "pass", results
    r = results["server.accepts-token"]
    assert r["status"] == "fail" and r["evidence"]["answer"]["status"] == 401
    assert "refused a right token" in r["message"] and "cannot verify tokens from this AS" in r["message"]
    assert "WorkOS" not in r["fix"] and "FASTMCP" not in r["fix"]  # oidc-provider is not AuthKit


def test_serve_development_as_will_not_mint_other_resources(doctor):
    with serve_app() as (info, _app):
        code, results, _ = doctor("--server", info.mcp_url, "--login")
    r = results["server.rejects-other-resource-token"]
    assert r["status"] == "skip" and "invalid_target" in r["message"], r
    passed = {cid for cid in LOGIN_IDS if results[cid]["status"] == "pass"}
    assert passed == set(LOGIN_IDS) - {"server.rejects-other-resource-token"}, statuses(results)
    assert code == 0


def test_a_failed_login_is_token_obtained_and_the_rest_skip(doctor):
    with serve_app(authkit_domain="http://127.0.0.1:9", auto_approve=False) as (info, _app):
        code, results, _ = doctor("--server", info.mcp_url, "--login", "--timeout", "3")
    r = results["token.obtained"]
    assert r["status"] == "fail" and r["evidence"]["code"].startswith(("network.", "as.")), r
    assert r["message"].startswith(f"No token: {r['evidence']['code']}: ")
    for cid in LOGIN_IDS[1:]:
        assert results[cid]["status"] == "skip" and f"No token was obtained ({r['evidence']['code']}" in results[cid]["message"], cid
    assert code == 1


def test_without_login_the_token_checks_skip_and_say_how(doctor):
    with serve_app() as (info, _app):
        _, results, _ = doctor("--server", info.mcp_url)
    for cid in LOGIN_IDS:
        assert results[cid]["status"] == "skip" and "doctor --login" in results[cid]["message"], cid


def test_opaque_tokens_skip_the_jwt_checks_with_the_reason(doctor):
    """The TypeScript SDK's example: opaque tokens, no jwks_uri, no refresh tokens."""
    from peers.oidc_as import PeerMissing
    from peers.ts_example import run_ts_example

    try:
        peer_context = run_ts_example()
        peer = peer_context.__enter__()
    except PeerMissing as exc:
        pytest.fail(str(exc))
    try:
        _, results, _ = doctor("--server", peer.mcp_url, "--login")
    finally:
        peer_context.__exit__(None, None, None)
    assert results["token.obtained"]["status"] == "pass" and "An opaque token" in results["token.obtained"]["message"]
    for cid in ("token.audience", "token.issuer", "token.signature"):
        assert results[cid]["status"] == "skip" and "opaque" in results[cid]["message"], cid
    assert results["token.lifetime"]["status"] == "pass"  # from expires_in
    assert results["server.accepts-token"]["status"] == "pass"
    for cid in ("server.rejects-other-resource-token", "token.refresh"):
        assert results[cid]["status"] == "skip" and "no refresh token" in results[cid]["message"], cid
    # no jwks_uri is fine for opaque tokens: not a warning
    assert results["as.jwks-uri"]["status"] == "pass" and "opaque" in results["as.jwks-uri"]["message"]


# --- serve's development AS made to mint one kind of wrong token (in-process, so it can be patched) ---


def mint_wrongly(local_as, *, key=None, **changes) -> None:
    """Make the development AS sign access tokens with ``changes`` to their claims (and another ``key``, same kid)."""
    import jwt

    issue = local_as._issue

    def _issue(*args, **kwargs):
        response = issue(*args, **kwargs)
        claims = jwt.decode(response["access_token"], options={"verify_signature": False})
        claims.update({k: v(claims) if callable(v) else v for k, v in changes.items()})
        response["access_token"] = jwt.encode(claims, key or local_as._key, algorithm="RS256", headers={"kid": local_as.kid, "typ": "at+jwt"})
        return response

    local_as._issue = _issue


def test_token_issuer_fails_when_iss_is_not_the_issuer(doctor):
    with serve_app() as (info, app):
        mint_wrongly(app.state.local_as, iss=info.issuer + "/")
        _, results, _ = doctor("--server", info.mcp_url, "--login")
    r = results["token.issuer"]
    assert r["status"] == "fail" and "differ only by a trailing slash" in r["message"]
    assert results["server.accepts-token"]["status"] == "skip" and "see token.issuer" in results["server.accepts-token"]["message"]  # serve rightly refuses


def test_token_signature_fails_when_signed_by_another_key(doctor):
    from cryptography.hazmat.primitives.asymmetric import rsa

    with serve_app() as (info, app):
        mint_wrongly(app.state.local_as, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        _, results, _ = doctor("--server", info.mcp_url, "--login")
    r = results["token.signature"]
    assert r["status"] == "fail" and "does not verify" in r["message"] and r["evidence"]["alg"] == "RS256"
    assert results["token.audience"]["status"] == results["token.issuer"]["status"] == "pass"
    assert results["server.accepts-token"]["status"] == "skip" and "see token.signature" in results["server.accepts-token"]["message"]


def test_token_lifetime_warns_on_a_long_lived_token(doctor):
    with serve_app() as (info, app):
        mint_wrongly(app.state.local_as, exp=lambda c: c["iat"] + 3 * 24 * 3600)
        _, results, _ = doctor("--server", info.mcp_url, "--login")
    r = results["token.lifetime"]
    assert r["status"] == "warn" and "it lives 72 h" in r["message"] and r["evidence"]["lifetime_s"] == 3 * 24 * 3600
    assert results["server.accepts-token"]["status"] == "pass"


def test_token_scopes_warns_when_the_asked_scopes_are_missing(doctor):
    with serve_app() as (info, app):
        mint_wrongly(app.state.local_as, scope="openid")
        _, results, _ = doctor("--server", info.mcp_url, "--login")
    r = results["token.scopes"]
    assert r["status"] == "warn" and "without mcp:tools" in r["message"], r
    # serve answers 403 insufficient_scope: said once, by token.scopes
    assert results["server.accepts-token"]["status"] == "skip" and "see token.scopes" in results["server.accepts-token"]["message"]


def test_token_refresh_warns_when_the_refresh_fails(doctor):
    from authkit_mcp_cli.server.local_as.model import OAuthError

    with serve_app() as (info, app):

        def refuse(*args, **kwargs):
            raise OAuthError("invalid_grant", "refresh tokens are broken here")

        app.state.local_as._refresh = refuse
        _, results, _ = doctor("--server", info.mcp_url, "--login")
    r = results["token.refresh"]
    assert r["status"] == "warn" and "The refresh failed" in r["message"] and "refresh tokens are broken here" in r["message"], r
    assert results["server.accepts-token"]["status"] == "pass"


def test_fastmcp_opaque_token_for_another_resource_is_not_blamed_on_the_server(doctor):
    """FastMCP's in-memory AS: opaque tokens and rotating refresh tokens. A token asked for another resource is
    accepted by the server, but it is opaque: whether the AS ignored resource cannot be told, so no FAIL."""
    from peers.fastmcp_peer import run_fastmcp_peer
    from peers.oidc_as import PeerMissing

    try:
        with run_fastmcp_peer() as peer:
            code, results, _ = doctor("--server", peer.mcp_url, "--login")
    except PeerMissing as exc:
        pytest.fail(str(exc))
    r = results["server.rejects-other-resource-token"]
    assert r["status"] == "skip" and "the token is opaque" in r["message"] and r["evidence"]["answer"]["status"] == 200
    assert results["server.accepts-token"]["status"] == "pass" and results["token.refresh"]["status"] == "pass"
    assert results["token.refresh"]["evidence"]["rotated"] is True
    assert results["as.jwks-uri"]["status"] == "pass"  # opaque tokens need no JWKS
    assert code == 0


# --- the login options, as login's ---


def test_no_browser_takes_the_pasted_redirect_url(tmp_path):


    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    env.pop("BROWSER", None)
    with serve_app() as (info, _app):
        proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", "--server", info.mcp_url, "--login", "--no-browser", "--check", "token.obtained"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
        try:
            out, err = paste_redirect(proc, timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    r = {x["id"]: x for x in json.loads(out)["results"]}["token.obtained"]
    assert r["status"] == "pass" and "new login" in r["message"], err


def test_client_id_is_used_as_login_uses_it(doctor, tmp_path):
    with serve_app() as (info, _app):
        env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "other-home")}
        reg = json.loads(subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "register", "--server", info.mcp_url, "--json", "--no-save"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path).stdout)
        _, results, _ = doctor("--server", info.mcp_url, "--login", "--authkit-domain", info.issuer, "--client-id", reg["client_id"], "--check", "token.obtained", "--check", "server.accepts-token")
    assert results["token.obtained"]["evidence"]["client_id"] == reg["client_id"]
    assert results["server.accepts-token"]["status"] == "pass"


def test_login_without_a_server_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", "--authkit-domain", "https://login.example.com", "--login"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home")})
    assert proc.returncode == 2 and json.loads(proc.stdout)["error"]["code"] == "usage.login-needs-server"


def test_opaque_tokens_are_judged_by_introspection_when_the_as_allows_it(doctor):
    """oidc-provider issuing opaque access tokens and letting a public client introspect its own:
    token.audience and token.issuer read the introspection; token.signature has nothing to verify;
    serve (JWT only) refuses the token, and server.accepts-token says it cannot validate opaque tokens."""
    with run_oidc_as(env={"ACCESS_TOKEN_FORMAT": "opaque", "EXTRA_RESOURCE_PATH": OTHER_RESOURCE_PATH}) as issuer, serve_app(authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        _, results, _ = doctor("--server", info.mcp_url, "--login")
    assert "(introspected)" in results["token.obtained"]["message"]
    r = results["token.audience"]
    assert r["status"] == "pass" and "(from introspection)" in r["message"], r
    assert results["token.issuer"]["status"] == "pass"
    assert results["token.signature"]["status"] == "skip" and "introspection" in results["token.signature"]["message"]
    r = results["server.accepts-token"]
    assert r["status"] == "fail" and "cannot validate this AS's opaque tokens" in r["message"], r
    # the token for another resource is opaque too: introspection says where it is for
    r = results["server.rejects-other-resource-token"]
    assert r["status"] == "pass" and r["evidence"]["aud"].endswith(OTHER_RESOURCE_PATH), r
