"""The device authorization grant (RFC 8628) and DPoP (RFC 9449) from the
CLI against oidc-provider (DEVICE_FLOW=1; DPoP is its default) with serve
as the MCP server: the CLI prints the verification URI and the user code on
stderr, a test browser approves (or aborts) on oidc-provider's verification
page, and the CLI's polling ends with a stored token, or exit 5 with
login.device-denied. With --dpop the token comes back token_type DPoP,
bound (cnf.jkt) to the key stored with it, and a refresh keeps the binding.
serve verifies the DPoP logins (their proofs and the binding) like any other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser

import httpx
import jwt
import pytest

from authkit_mcp_cli.oauth.dpop import DpopKey
from peers.oidc_as import PeerMissing, run_oidc_as
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


class _Form(HTMLParser):
    """The verification page's first form: its action and named inputs (xsrf, user_code, confirm)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        if tag == "input" and a.get("name") and self.action is not None and not self.fields.get("_done"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self.action is not None:
            self.fields.setdefault("_done", "1")


def approve_on_page(url: str, *, abort: bool = False) -> str:
    """A browser on the verification page: submit the code (filled in), then confirm (or abort) it,
    and follow the interaction (auto sign-in and consent) to the end."""
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        page = browser.get(url)
        for _ in range(3):
            form = _Form()
            form.feed(page.text)
            if form.action is None:
                return page.text
            fields = {k: v for k, v in form.fields.items() if k != "_done"}
            assert "xsrf" in fields, page.text[:500]
            if abort and "confirm" in fields:
                fields.pop("confirm")
                fields["abort"] = "yes"
            page = browser.post(str(page.url.join(form.action)), data=fields)
        return page.text


def device_login(env, *args: str, abort: bool = False) -> tuple[subprocess.CompletedProcess, str]:
    """Run login --grant device-code; approve on the complete URI it prints; return the finished process and the page."""
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "login", "--grant", "device-code", "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    page: list[str] = []
    worker = threading.Thread(target=lambda: None)
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        found = re.search(r"or open (\S+) \(the code filled in\)", line)
        if found:
            worker = threading.Thread(target=lambda url=found.group(1): page.append(approve_on_page(url, abort=abort)))
            worker.start()
            break
    rest = proc.communicate(timeout=90)
    if worker.is_alive() or worker.ident:
        worker.join(30)
    stderr = "".join(lines) + rest[1]
    assert "Traceback" not in stderr, stderr
    return subprocess.CompletedProcess(proc.args, proc.returncode, rest[0], stderr), page[0] if page else ""


def test_device_code_login_approved_in_the_browser(issuer, mcp_url, env, tmp_path):
    done, page = device_login(env, "--server", mcp_url)
    assert done.returncode == 0, done.stderr
    assert re.search(r"open http://127\.0\.0\.1:\d+/device and enter the code \S+", done.stderr)
    assert "Success" in page
    out = json.loads(done.stdout)
    assert out["logged_in"] and out["verified"] and out["claims"]["aud"] == mcp_url
    assert out["grant_type"] == "device_code" and out["dpop_bound"] is False
    record = stored(tmp_path)
    assert record["tokens"]["grant_type"] == "device_code" and record["tokens"]["token_type"] == "Bearer"
    listed = cli(env, "call", "--server", mcp_url, "--json")
    assert listed.returncode == 0, listed.stderr


def test_device_code_denied_is_exit_5(issuer, mcp_url, env):
    done, _ = device_login(env, "--server", mcp_url, abort=True)
    assert done.returncode == 5, done.stderr
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


def test_device_code_with_dpop(issuer, mcp_url, env, tmp_path):
    done, _ = device_login(env, "--server", mcp_url, "--dpop")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dpop_bound"] is True and json.loads(done.stdout)["verified"] is True  # serve accepted the proof
    _bound_to_stored_key(stored(tmp_path))
