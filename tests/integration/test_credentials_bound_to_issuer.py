"""A pre-registered client's credentials go only to the AS that issued them
(issue #20 item 1; MCP 2026-07-28 Client Registration; RFC 9700 §4.4).

Each case is the real CLI against an MCP server that names an authorization
server of its own (peers.hostile_as), which records every request: the
command must stop before that AS hears anything, naming both issuers and the
fix. The positive cases log in for real at serve's development AS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from peers.hostile_as import run_server_naming_hostile_as
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
ENV_DOMAIN = "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN"
CONFIGURED = "https://acme.authkit.app"  # where the user's client was really registered (never contacted)


@pytest.fixture
def hostile():
    with run_server_naming_hostile_as() as found:
        yield found


@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "home"

    def run(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMCP_", "WORKOS_", "ATOMS_AUTH_"))}
        full = {**base, "ATOMS_AUTH_HOME": str(home), "BROWSER": str(BROWSER), "NO_COLOR": "1", "COLUMNS": "300", **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=full, input=input, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    run.home = home
    run.cwd = tmp_path
    return run


def error_of(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)["error"]


def test_a_secret_from_dotenv_never_reaches_the_as_a_server_names(hostile, cli):
    """The guide's .env (WORKOS_CLIENT_ID, its AuthKit domain) and the secret in the environment:
    a server naming another AS gets a stop, not the secret (today: sent with no warning)."""
    url, evil, recording = hostile
    (cli.cwd / ".env").write_text(f"WORKOS_CLIENT_ID=client_01PREREG\n{ENV_DOMAIN}={CONFIGURED}\n")
    for grant in ("authorization-code", "client-credentials"):
        proc = cli("login", "--server", url, "--grant", grant, "--json", env={"ATOMS_AUTH_CLIENT_SECRET": "sk-very-secret"})
        assert proc.returncode == 2, proc.stderr
        err = error_of(proc)
        assert err["code"] == "login.client-issuer-mismatch"
        assert evil in err["message"] and CONFIGURED in err["message"] and ENV_DOMAIN in err["message"]
        assert "authorization_servers" in err["hint"] and "drop --client-id" in err["hint"]
        assert "sk-very-secret" not in proc.stdout + proc.stderr
    assert recording.requests == []  # not even its metadata was fetched


def test_the_authkit_domain_flag_binds_the_client_too(hostile, cli):
    url, evil, recording = hostile
    proc = cli("login", "--server", url, "--authkit-domain", CONFIGURED, "--client-id", "client_01PREREG", "--client-secret", "-", "--grant", "client-credentials", input="sk-very-secret\n")
    assert proc.returncode == 2
    assert "login.client-issuer-mismatch" in proc.stderr and "(--authkit-domain)" in proc.stderr and evil in proc.stderr
    assert "warning: the server names" not in proc.stderr  # no warning-then-send
    assert recording.requests == []


def test_a_client_with_no_known_issuer_is_not_sent_anywhere(hostile, cli):
    url, evil, recording = hostile
    proc = cli("login", "--server", url, "--json", env={"WORKOS_CLIENT_ID": "client_01PREREG", "ATOMS_AUTH_CLIENT_SECRET": "sk-very-secret"})
    assert proc.returncode == 2
    err = error_of(proc)
    assert err["code"] == "login.client-issuer-unknown" and "--authkit-domain" in err["hint"] and ENV_DOMAIN in err["hint"]
    assert recording.requests == []


def test_call_with_login_stops_the_same_way(hostile, cli):
    url, _evil, recording = hostile
    proc = cli("call", "--server", url, "--login", "--json", env={"WORKOS_CLIENT_ID": "client_01PREREG", ENV_DOMAIN: CONFIGURED})
    assert proc.returncode == 2 and error_of(proc)["code"] == "login.client-issuer-mismatch"
    assert recording.requests == []


def test_the_issuer_stored_with_a_registered_client_binds_it(hostile, cli):
    """A client registered with `register` belongs to that AS: used against a server naming
    another one, it stops (source: the store); against its own AS it logs in."""
    url, evil, recording = hostile
    with serve_app() as (local, _app):
        reg = cli("register", "--server", local.mcp_url, "--json")
        assert reg.returncode == 0, reg.stderr
        client_id = json.loads(reg.stdout)["client_id"]
        refused = cli("login", "--server", url, "--client-id", client_id, "--json")
        assert refused.returncode == 2
        err = error_of(refused)
        assert err["code"] == "login.client-issuer-mismatch" and "the store" in err["message"] and local.issuer in err["message"]
        assert recording.requests == []
        ok = cli("login", "--server", local.mcp_url, "--client-id", client_id, "--json")
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["client_id"] == client_id


def test_a_configured_domain_with_a_trailing_slash_still_matches(cli):
    with serve_app() as (local, _app):
        reg = json.loads(cli("register", "--server", local.mcp_url, "--auth-method", "client_secret_post", "--json", "--reveal", "--no-save").stdout)
        proc = cli("login", "--server", local.mcp_url, "--client-id", reg["client_id"], "--auth-method", "client_secret_post", "--json", env={ENV_DOMAIN: local.issuer + "/", "ATOMS_AUTH_CLIENT_SECRET": reg["client_secret"]})
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["client_source"] == "pre-registered"


def test_a_jwt_bearer_assertion_for_another_as_is_not_sent(hostile, cli, tmp_path):
    """RFC 7523 §3 item 3: an assertion names its AS; sent to another, it could be replayed there."""
    url, evil, recording = hostile
    assertion = jwt.encode({"iss": "https://ci.example", "sub": "repo:acme/app", "aud": CONFIGURED, "exp": 4102444800}, "k" * 32, algorithm="HS256")
    proc = cli("login", "--server", url, "--grant", "jwt-bearer", "--assertion", "-", "--json", input=assertion + "\n")
    assert proc.returncode == 2
    err = error_of(proc)
    assert err["code"] == "login.assertion-audience" and CONFIGURED in err["message"] and evil in err["message"]
    assert recording.posts("/token") == [] and not any(carried for _, _, carried in recording.requests)


def test_a_code_from_the_preflight_is_never_exchanged(hostile, cli):
    """The pre-flight GET of the authorization URL is not followed, and an AS that answers it with
    a code at once does not get that code exchanged: tokens come only through the browser."""
    url, evil, recording = hostile
    proc = cli("login", "--server", url, "--authkit-domain", evil, "--client-id", "client_01PREREG", "--no-browser", "--wait", "3", env={"BROWSER": "/bin/false"}, input="")
    assert proc.returncode == 5, proc.stderr  # no browser and nothing pasted: not logged in
    assert [r[:2] for r in recording.requests if r[1] == "/authorize"] == [("GET", "/authorize")]  # the pre-flight, once, not followed
    assert recording.posts("/token") == []
    assert "discarded" in proc.stderr


def test_the_browser_still_logs_in_at_an_as_that_approves_at_once(cli):
    """serve's development AS with --auto-approve answers the pre-flight with a code; the login
    goes on through the browser (the BROWSER helper) and succeeds."""
    with serve_app() as (local, _app):
        reg = json.loads(cli("register", "--server", local.mcp_url, "--json").stdout)
        proc = cli("login", "--server", local.mcp_url, "--client-id", reg["client_id"], "--json")
        assert proc.returncode == 0, proc.stderr
        assert "discarded: the browser completes the login" in proc.stderr
        assert json.loads(proc.stdout)["verified"]  # the token from the browser's code works at the server
