"""doctor --active (issue 22) against real peers and a corpus of broken servers
and authorization servers written for these tests, one deviation each: every
active check fails on its broken peer and passes on a correct one, and the
correct setups (serve with its own development AS, serve with oidc-provider)
raise no false alarm.

The broken resource servers are serve's own app behind one ASGI middleware
that adds the deviation (the token read from the query, a session served on
its id alone); the broken authorization servers are serve's development AS
with one method patched in-process (a password grant honoured, no refresh
rotation, reuse that does not end the family, a wrong error code).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peers.active_corpus import broken_serve
from peers.asgi import serve_asgi
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
ACTIVE_IDS = (
    "server.rejects-token-in-query",
    "server.rejects-session-without-token",
    "server.rejects-expired-token",
    "as.password-grant",
    "as.refresh-invalid-grant",
    "as.refresh-rotation",
    "as.refresh-reuse-ends-grant",
    "as.redirect-exact",
    "as.pkce-enforced",
    "as.code-single-use",
)


@pytest.fixture
def doctor(tmp_path):
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(tmp_path / "browser.log"), "NO_COLOR": "1"}

    def run(*args: str) -> tuple[int, dict[str, dict], str]:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", *args], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        doc = json.loads(proc.stdout)
        assert "results" in doc, (doc, proc.stderr[-2000:])
        for r in doc["results"]:
            assert (r["level"], r["status"]) not in (("MUST", "warn"), ("SHOULD", "fail"), ("INFO", "warn"), ("INFO", "fail")), r
        return proc.returncode, {r["id"]: r for r in doc["results"]}, proc.stderr

    return run


def alarms(results: dict[str, dict]) -> dict[str, str]:
    return {cid: r["message"] for cid, r in results.items() if r["status"] in ("fail", "warn", "error")}


def test_serve_with_its_own_as_raises_no_alarm_and_says_what_it_sends(doctor):
    with serve_app() as (info, _app):
        code, results, stderr = doctor("--server", info.mcp_url, "--active")
    assert stderr.splitlines()[0].startswith("doctor --active is NOT read-only"), stderr
    assert alarms(results) == {} and set(ACTIVE_IDS) <= set(results)
    for cid in (
        "server.rejects-token-in-query",
        "server.rejects-session-without-token",
        "as.password-grant",
        "as.refresh-invalid-grant",
        "as.refresh-rotation",
        "as.refresh-reuse-ends-grant",
        "as.redirect-exact",
        "as.pkce-enforced",
        "as.code-single-use",
    ):
        assert results[cid]["status"] == "pass", (cid, results[cid]["message"])
    assert results["server.rejects-expired-token"]["status"] == "skip" and "no expired access token is at hand" in results["server.rejects-expired-token"]["message"]
    # serve's AS refuses to refresh into another resource, and to authorize one: the skip says both
    other = results["server.rejects-other-resource-token"]
    assert other["status"] == "skip" and "invalid_target" in other["message"] and "a second authorization request for it failed too" in other["message"], other["message"]
    assert "access_token=%5Bredacted" in results["server.rejects-token-in-query"]["evidence"]["answer"]["request"]
    assert code == 0


@pytest.fixture(scope="module")
def oidc_as():
    """oidc-provider as it ships: it refuses to refresh into another resource (invalid_target), but authorizes one."""
    from peers.oidc_as import run_oidc_as

    with run_oidc_as() as issuer:
        yield issuer


def test_oidc_provider_and_serve_raise_no_alarm_and_the_other_resource_token_is_authorized(oidc_as, doctor):
    with serve_app(authkit_domain=oidc_as, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        code, results, _ = doctor("--server", info.mcp_url, "--active")
    assert alarms(results) == {}
    other = results["server.rejects-other-resource-token"]
    assert other["status"] == "pass" and other["evidence"]["answer"]["status"] == 401, other["message"]
    assert code == 0


def test_a_server_without_an_audience_check_fails_although_the_as_will_not_refresh_into_another_resource(oidc_as, doctor):
    """The blind spot of issue 22: such an AS made the server's missing audience check invisible."""
    from peers.any_resource_server import build_any_resource_app

    with serve_asgi(lambda base: build_any_resource_app(oidc_as, base)) as base:
        _, results, _ = doctor("--server", base + "/api/mcp", "--active")
    r = results["server.rejects-other-resource-token"]
    assert r["status"] == "fail" and "CRITICAL" in r["message"] and r["evidence"]["answer"]["status"] == 200, r["message"]


# --- the corpus: one deviation each; its check fails, the others raise no alarm ---------------

BROKEN = {
    "query-token": ("server.rejects-token-in-query", "fail", "in the URL query"),
    "session-auth": ("server.rejects-session-without-token", "fail", "only its Mcp-Session-Id and no token was served"),
    "password": ("as.password-grant", "fail", "issued tokens for a password grant with a made-up user"),
    "refresh-error": ("as.refresh-invalid-grant", "fail", "a refresh token the AS never issued got HTTP 400 error=invalid_request"),
    "no-rotation": ("as.refresh-rotation", "fail", "still worked after it was used"),
    "reuse-keeps-family": ("as.refresh-reuse-ends-grant", "warn", "does not end the token family"),
    "redirect-prefix": ("as.redirect-exact", "fail", "a longer path"),
    "code-reuse": ("as.code-single-use", "fail", "redeemed twice"),
    "verifier-ignored": ("as.pkce-enforced", "fail", "an authorization code sent without verifier"),
    "no-pkce": ("as.pkce-enforced", "fail", "issued an authorization code for a request with no code_challenge and with code_challenge_method=plain"),
}


@pytest.mark.parametrize("deviation", list(BROKEN))
def test_each_broken_peer_fails_its_check_and_only_that(doctor, deviation):
    cid, status, said = BROKEN[deviation]
    with broken_serve(deviation) as info:
        _, results, _ = doctor("--server", info.mcp_url, "--active")
    r = results[cid]
    assert r["status"] == status and said in r["message"], (r["status"], r["message"])
    assert r["fix"]
    assert set(alarms(results)) == {cid}, alarms(results)


def test_an_expired_token_is_refused_by_serve_and_accepted_by_a_server_that_ignores_exp(doctor):
    """Tokens that live 5 s: doctor waits them out (plus the clock skew servers may allow) and sends one."""
    import threading

    outcomes: dict[str, dict] = {}

    def run(name: str, *deviations: str) -> None:
        with broken_serve("short-tokens", *deviations) as info:
            outcomes[name] = doctor("--server", info.mcp_url, "--active", "--check", "server.rejects-expired-token", "--check", "token.obtained")[1]

    threads = [threading.Thread(target=run, args=("right",)), threading.Thread(target=run, args=("broken", "expired-ok"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    right, broken = outcomes["right"]["server.rejects-expired-token"], outcomes["broken"]["server.rejects-expired-token"]
    assert right["status"] == "pass" and right["evidence"]["answer"]["status"] == 401 and "waited out" in right["evidence"]["source"], right["message"]
    assert broken["status"] == "fail" and "does not check exp" in broken["message"], broken["message"]


def test_read_only_prm_cors_passes_on_serve_and_warns_when_the_metadata_has_no_cors_header(doctor):
    with serve_app() as (info, _app):
        _, right, _ = doctor("--server", info.mcp_url, "--check", "prm.cors")
    assert right["prm.cors"]["status"] == "pass", right["prm.cors"]["message"]
    with broken_serve("no-prm-cors") as info:
        _, broken, _ = doctor("--server", info.mcp_url, "--check", "prm.cors")
    r = broken["prm.cors"]
    assert r["status"] == "warn" and "no Access-Control-Allow-Origin" in r["message"] and "MCP Inspector" in r["message"], r["message"]


# --- the other real peers: no false alarm (or a finding that is true of the peer, said why) ----


def test_the_typescript_sdk_example_raises_one_true_finding(doctor):
    """Opaque tokens, no refresh tokens: the refresh probes skip with the reason. One finding is true of
    this peer: its demo AS answers a refresh token it never issued with HTTP 500 server_error (its
    in-memory provider throws), where RFC 6749 §5.2 requires invalid_grant."""
    from peers.ts_example import run_ts_example

    with run_ts_example() as peer:
        _, results, _ = doctor("--server", peer.mcp_url, "--active")
    active = {cid: (results[cid]["status"], results[cid]["message"]) for cid in ACTIVE_IDS}
    assert {cid: v for cid, v in active.items() if v[0] in ("fail", "warn", "error")}.keys() == {"as.refresh-invalid-grant"}, active
    r = results["as.refresh-invalid-grant"]
    assert r["evidence"]["a_refresh_token_the_AS_never_issued"]["status"] == 500 and "server_error" in r["message"], r["message"]
    assert results["as.refresh-rotation"]["status"] == "skip" and "No refresh token was redeemed" in results["as.refresh-rotation"]["message"]
    assert results["as.password-grant"]["status"] == "pass" and results["server.rejects-token-in-query"]["status"] == "pass", active


def test_fastmcp_in_memory_provider_raises_no_false_alarm(doctor):
    """FastMCP's InMemoryOAuthProvider makes doctor's client confidential (client_secret_post): the rotation
    checks skip, saying rotation is required only for public clients; its odd password-grant answer
    (invalid_request, not unsupported_grant_type) skips too, since it does not say whether the grant is offered."""
    from peers.fastmcp_peer import run_fastmcp_peer

    with run_fastmcp_peer() as peer:
        _, results, _ = doctor("--server", peer.mcp_url, "--active")
    active = {cid: (results[cid]["status"], results[cid]["message"]) for cid in ACTIVE_IDS}
    assert {cid: v for cid, v in active.items() if v[0] in ("fail", "warn", "error")} == {}
    assert results["as.refresh-invalid-grant"]["status"] == "pass", active["as.refresh-invalid-grant"]
    for cid in ("as.refresh-rotation", "as.refresh-reuse-ends-grant"):
        assert results[cid]["status"] == "skip" and "confidential" in results[cid]["message"], active[cid]


def mint_expired(info, app) -> tuple[str, float]:
    """An access token serve's development AS signed for this server, expired 200 s ago."""
    import time

    import jwt

    local = app.state.local_as
    now = int(time.time())
    claims = {"iss": local.issuer, "sub": "doctor-test", "aud": info.resource, "client_id": "kept", "scope": "mcp:tools", "iat": now - 900, "nbf": now - 900, "exp": now - 200, "jti": "kept-token"}
    return jwt.encode(claims, local._key, algorithm="RS256", headers={"kid": local.kid, "typ": "at+jwt"}), float(now - 200)


@pytest.mark.parametrize("broken", [False, True])
def test_a_kept_expired_token_is_used_by_the_next_active_run(doctor, tmp_path, broken):
    """doctor --active keeps the last token it used per server; once it has expired, the next run sends it."""
    from authkit_mcp_cli.checks import kept_token
    from authkit_mcp_cli.store import Store

    with serve_app() as (info, app):
        if broken:
            app.state.validator.leeway = 24 * 3600
        _, first, _ = doctor("--server", info.mcp_url, "--active", "--check", "server.rejects-expired-token")
        store = Store(tmp_path / "home")
        kept = kept_token.load(store, info.mcp_url)
        assert kept is not None and first["server.rejects-expired-token"]["status"] == "skip"  # the fresh token lives an hour
        _, second, _ = doctor("--server", info.mcp_url, "--active", "--check", "server.rejects-expired-token")
        r = second["server.rejects-expired-token"]
        assert r["status"] == "skip" and "the token kept from an earlier doctor --active run is the one in use" in r["message"], r["message"]
        kept_token.keep(store, info.mcp_url, *mint_expired(info, app))
        _, third, _ = doctor("--server", info.mcp_url, "--active", "--check", "server.rejects-expired-token")
    r = third["server.rejects-expired-token"]
    assert r["evidence"]["source"] == "the access token an earlier doctor --active run used"
    if broken:
        assert r["status"] == "fail" and "does not check exp" in r["message"], r["message"]
    else:
        assert r["status"] == "pass" and r["evidence"]["answer"]["status"] == 401, r["message"]


def test_active_is_opt_in_one_server_only_and_its_help_says_what_it_sends(tmp_path):
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "COLUMNS": "200"}
    many = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--server", "http://127.0.0.1:9/a", "--server", "http://127.0.0.1:9/b", "--active"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert many.returncode == 2 and "--active checks one server" in many.stdout + many.stderr, (many.stdout, many.stderr)
    assert "Traceback" not in many.stderr
    help_text = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60).stdout
    flat = " ".join(help_text.replace("│", " ").split())
    assert "--active" in flat and "Implies --login" in flat and "NOT read-only" in flat and "made-up user" in flat
