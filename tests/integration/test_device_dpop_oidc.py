"""The device authorization grant (RFC 8628) and DPoP (RFC 9449) from the
CLI against oidc-provider (DEVICE_FLOW=1; DPoP is its default) with serve
as the MCP server: the CLI prints the verification URI and the user code on
stderr, headless Chromium (tests/node/chromium-oidc-device.mjs) types the
code on oidc-provider's verification page (or opens the complete URI) and
clicks Continue (or Abort), and the CLI's polling ends with a stored token,
or exit 5 with login.device-denied. With INTERACTION=forms the browser also
signs in and consents on oidc-provider's devInteractions pages. With --dpop
the token comes back token_type DPoP, bound (cnf.jkt) to the key stored with
it, and a refresh keeps the binding. serve verifies the DPoP logins (their
proofs and the binding) like any other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from authkit_mcp_cli.oauth.dpop import DpopKey
from peers.oidc_as import NODE_DIR, PeerMissing, node_binary, run_oidc_as
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def issuer():
    try:
        with run_oidc_as(env={"DEVICE_FLOW": "1", "RESOURCE_SCOPES": "mcp:tools"}) as found:
            yield found
    except PeerMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def mcp_url(issuer):
    with serve_app(authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        yield info.mcp_url


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": "/bin/false", "NO_COLOR": "1", "COLUMNS": "300"}


def cli(env, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def stored(tmp_path) -> dict:
    (path,) = list((tmp_path / "home" / "tokens").glob("*.json"))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def chromium():
    if not Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium).")
    if not (NODE_DIR / "node_modules" / "playwright-core").exists():
        pytest.fail("tests/node/node_modules/playwright-core is missing: run `make test`.")


def device_login(env, *args: str, decision: str = "continue", typed: bool = True) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Run login --grant device-code; Chromium opens the verification URI and types the printed code
    (typed=True), or opens the complete URI with the code filled in (RFC 8628 §3.3.1), then clicks
    Continue or Abort on oidc-provider's pages. Return the finished login and the pages' texts by name."""
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "login", "--grant", "device-code", "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    lines: list[str] = []
    pages: dict[str, str] = {}
    try:
        for line in proc.stderr:
            lines.append(line)
            printed = re.search(r"open (\S+) and enter the code (\S+)", "".join(lines))
            complete = re.search(r"or open (\S+) \(the code filled in\)", "".join(lines))
            if printed and complete:
                target = [printed.group(1), printed.group(2)] if typed else [complete.group(1), "-"]
                browser = subprocess.run([str(node_binary()), str(NODE_DIR / "chromium-oidc-device.mjs"), *target, decision], capture_output=True, text=True, timeout=90)
                assert browser.returncode == 0, browser.stdout + browser.stderr
                pages = {part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in browser.stdout.split("--- ")[1:]}
                pages["user_code"] = printed.group(2)
                break
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = "".join(lines) + err
    assert "Traceback" not in stderr, stderr
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, stderr), pages


def saw_the_code(pages: dict[str, str]) -> None:
    """The browser went through oidc-provider's user-code form and its confirm page for this very code."""
    if "entry" in pages:  # the code typed in (with the complete URI, the page posts it by itself)
        assert "Enter the code displayed on your device" in pages["entry"], pages
    assert "Confirm Device" in pages["confirm"] and pages["user_code"] in pages["confirm"], pages
    assert "page errors" not in pages, pages


def test_device_code_login_approved_in_the_browser(issuer, mcp_url, env, tmp_path, chromium):
    done, pages = device_login(env, "--server", mcp_url, typed=True)  # the user types the code the CLI printed
    assert done.returncode == 0, done.stderr
    assert "entry" in pages and "sign-in" not in pages, pages  # INTERACTION=auto: no sign-in page
    assert re.search(r"open http://127\.0\.0\.1:\d+/device and enter the code [B-Z]{4}-[B-Z]{4}", done.stderr)
    saw_the_code(pages)
    assert "Sign-in Success" in pages["result"] and "was successful" in pages["result"], pages
    out = json.loads(done.stdout)
    assert out["logged_in"] and out["verified"] and out["claims"]["aud"] == mcp_url
    assert out["grant_type"] == "device_code" and out["dpop_bound"] is False
    record = stored(tmp_path)
    assert record["tokens"]["grant_type"] == "device_code" and record["tokens"]["token_type"] == "Bearer"
    listed = cli(env, "call", "--server", mcp_url, "--json")
    assert listed.returncode == 0, listed.stderr


@pytest.fixture(scope="module")
def forms_mcp_url():
    """oidc-provider with its devInteractions forms (INTERACTION=forms): the user signs in and consents on pages."""
    try:
        with run_oidc_as(interaction="forms", env={"DEVICE_FLOW": "1", "RESOURCE_SCOPES": "mcp:tools"}) as found, serve_app(authkit_domain=found, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
            yield info.mcp_url
    except PeerMissing as exc:
        pytest.fail(str(exc))


def test_device_code_with_sign_in_and_consent_in_the_browser(forms_mcp_url, env, tmp_path, chromium):
    done, pages = device_login(env, "--server", forms_mcp_url, typed=True)
    assert done.returncode == 0, done.stderr
    saw_the_code(pages)
    assert "Sign-in" in pages["sign-in"], pages  # any login: the browser signs in as dev@example.test
    assert forms_mcp_url in pages["consent"] and "mcp:tools" in pages["consent"], pages  # RFC 8707: consent names the resource
    assert "Sign-in Success" in pages["result"], pages
    out = json.loads(done.stdout)
    assert out["verified"] and out["claims"]["sub"] == "dev@example.test" and out["claims"]["aud"] == forms_mcp_url
    assert stored(tmp_path)["tokens"]["grant_type"] == "device_code"


def test_device_code_denied_is_exit_5(issuer, mcp_url, env, chromium):
    done, pages = device_login(env, "--server", mcp_url, decision="abort", typed=False)  # [ Abort ] on the confirm page
    assert done.returncode == 5, done.stderr
    saw_the_code(pages)
    assert "The Sign-in request was interrupted" in pages["result"], pages
    assert json.loads(done.stdout)["error"]["code"] == "login.device-denied"


def test_device_code_without_the_endpoint_is_a_usage_error(tmp_path, env):
    with serve_app() as (info, app):  # the local AS offers the device flow: hide it from its metadata
        full = app.state.local_as.metadata
        app.state.local_as.metadata = lambda: {k: v for k, v in full().items() if k != "device_authorization_endpoint"}
        proc = cli(env, "login", "--server", info.mcp_url, "--grant", "device-code", "--json")
    assert proc.returncode == 2, proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "usage.device-code-unsupported"


def _bound_to_stored_key(record: dict) -> str:
    tokens = record["tokens"]
    assert tokens["token_type"] == "DPoP"
    jkt = DpopKey.from_json(tokens["dpop_key"]).thumbprint()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": jkt}
    return jkt


def test_dpop_login_gets_a_token_bound_to_the_stored_key_and_refresh_keeps_it(issuer, mcp_url, env, tmp_path):
    env = {**env, "BROWSER": os.path.join(os.path.dirname(__file__), "..", "conformance", "browser")}  # follows the redirects (oidc-as auto-approves)
    proc = cli(env, "login", "--server", mcp_url, "--dpop", "--scope", "mcp:tools offline_access", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["dpop_bound"] is True and out["dpop_jkt"] and out["grant_type"] == "authorization_code" and out["verified"] is True
    record = stored(tmp_path)
    jkt = _bound_to_stored_key(record)
    assert out["dpop_jkt"] == jkt
    assert record["tokens"]["dpop_key"]["d"] not in proc.stdout + proc.stderr  # the private key is never printed
    refreshed = cli(env, "token", "refresh", "--server", mcp_url, "--json")
    assert refreshed.returncode == 0, refreshed.stderr
    again = stored(tmp_path)
    assert again["tokens"]["access_token"] != record["tokens"]["access_token"]
    assert _bound_to_stored_key(again) == jkt
    shown = cli(env, "token", "show", "--server", mcp_url)
    assert "DPoP" in shown.stdout and jkt in shown.stdout and record["tokens"]["dpop_key"]["d"] not in shown.stdout


def test_device_code_with_dpop(issuer, mcp_url, env, tmp_path, chromium):
    done, pages = device_login(env, "--server", mcp_url, "--dpop", typed=False)  # the complete URI: the code filled in
    assert done.returncode == 0, done.stderr
    saw_the_code(pages)
    assert "Sign-in Success" in pages["result"], pages
    assert json.loads(done.stdout)["dpop_bound"] is True and json.loads(done.stdout)["verified"] is True  # serve accepted the proof
    _bound_to_stored_key(stored(tmp_path))
