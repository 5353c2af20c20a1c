"""Issue 11 items 2, 3, 4 and 7 (login's part), as a user meets them, against
servers this project did not write (tests/peers): atoms-auth runs as a
subprocess with the headless BROWSER, as in test_client_cli.py.

- Item 2, the AS forgot our client: the TypeScript SDK's example AS loses
  every client on restart, and answers /authorize for an unknown client_id
  with 400 invalid_client. login re-registers and says so; a stale
  pre-registered client ends at once (login.client-unknown), long before the
  browser timeout; --new-client registers anyway; oidc-provider (whose
  /authorize redirects a known client to its sign-in page) is not disturbed.
- Item 3, 2025-03-26 servers: the conformance suite's own scenario servers
  (no PRM; AS metadata at the origin, or none at all) run standalone; login
  and call say which fallback they used.
- Item 4, registration fits the AS: FastMCP lists no "none"; login registers
  a confidential client with a method FastMCP lists, and its secret revokes.
- Item 7: the callback line claims the issuer only when the AS sent `iss`
  (oidc-provider does; the TS example and FastMCP do not); --no-browser
  exits as soon as the callback arrives, with stdin still open.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from peers import oauth_flow as flow
from peers.oidc_as import NODE_DIR, PeerMissing, node_binary
from peers.processes import PeerProcess
from peers.serve_app import serve_app
from peers.streams import LineReader

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
SUITE_JS = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
NO_ISS = "the AS sent no iss; RFC 9207 mix-up defence not available"


@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "home"
    log = tmp_path / "browser.log"
    env = {**os.environ, "ATOMS_AUTH_HOME": str(home), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(log), "NO_COLOR": "1", "COLUMNS": "200"}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        if check:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    run.home = home
    run.log = log
    run.env = env
    return run


def stored_client(home: Path) -> dict:
    (path,) = list((home / "clients").glob("*.json"))
    return json.loads(path.read_text())


def stored_tokens(home: Path) -> dict:
    (path,) = list((home / "tokens").glob("*.json"))
    return json.loads(path.read_text())["tokens"]


# --- item 2: the AS forgot our client -----------------------------------------------------


def test_login_after_the_as_forgot_the_client_registers_again(ts_example, cli):
    first = json.loads(cli("login", "--server", ts_example.mcp_url, "--json").stdout)
    assert first["verified"] and first["client_source"] == "dcr"
    ts_example.restart()  # the demo AS forgets every client
    again = cli("login", "--server", ts_example.mcp_url, "--json", "--wait", "60")
    second = json.loads(again.stdout)
    assert second["verified"] and second["client_id"] != first["client_id"]
    assert f"the AS no longer accepts client {first['client_id']} (HTTP 400 invalid_client (Invalid client_id)); registering again" in again.stderr
    assert stored_client(cli.home)["client_id"] == second["client_id"]  # the new registration replaces the forgotten one


def test_a_stale_pre_registered_client_ends_at_once(ts_example, cli):
    began = time.monotonic()
    proc = cli("login", "--server", ts_example.mcp_url, "--authkit-domain", ts_example.issuer, "--client-id", "forgotten-client", "--wait", "120", "--json", check=False)
    elapsed = time.monotonic() - began
    assert proc.returncode == 1, proc.stderr + proc.stdout
    assert elapsed < 20  # never the 120 s browser wait
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "login.client-unknown"
    assert error["remote"]["status"] == 400 and error["remote"]["error"] == "invalid_client"
    assert "forgotten-client" in error["message"] and "--client-id" in error["hint"]
    assert not cli.log.exists()  # the browser was never opened on the error page


def test_new_client_registers_even_when_the_stored_one_works(ts_example, cli):
    first = json.loads(cli("login", "--server", ts_example.mcp_url, "--json").stdout)
    again = cli("login", "--server", ts_example.mcp_url, "--new-client", "--json")
    second = json.loads(again.stdout)
    assert second["verified"] and second["client_id"] != first["client_id"]
    assert "--new-client: registering a new client" in again.stderr


def test_call_login_new_client_registers_once(ts_example, cli):
    """--new-client is shared by call --login: one fresh registration for the run, then used."""
    proc = cli("call", "--server", ts_example.mcp_url, "--login", "--new-client", "--json")
    assert "--new-client: registering a new client" in proc.stderr
    assert json.loads(proc.stdout)["tools"]
    registered = stored_client(cli.home)["client_id"]
    again = cli("call", "--server", ts_example.mcp_url, "--login", "--new-client", "--json")  # stored token: no login, no registration
    assert "registering" not in again.stderr and stored_client(cli.home)["client_id"] == registered


def test_a_known_client_at_oidc_provider_still_signs_in_through_the_browser(oidc_issuer, cli):
    """oidc-provider answers /authorize for a known client with a redirect to its own
    interaction page (and cookies): the check must read that as accepted."""
    with serve_app(authkit_domain=oidc_issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        cli("login", "--server", info.mcp_url, "--json")
        again = cli("login", "--server", info.mcp_url, "--json")
    assert json.loads(again.stdout)["verified"]
    assert "reusing client" in again.stderr and "registering again" not in again.stderr
    assert cli.log.read_text().count("/interaction/") >= 2  # both logins went through its sign-in


# --- item 4: registration fits the AS -----------------------------------------------------


def test_fastmcp_gets_a_confidential_client_whose_secret_revokes(fastmcp_peer, cli):
    metadata = flow.as_metadata(fastmcp_peer.issuer)
    assert "none" not in metadata["token_endpoint_auth_methods_supported"]
    proc = cli("login", "--server", fastmcp_peer.mcp_url, "--json")
    assert json.loads(proc.stdout)["verified"]  # the token request authenticated the client
    assert "without none: registering a confidential client with client_secret_post" in proc.stderr
    client = stored_client(cli.home)
    assert client["token_endpoint_auth_method"] in metadata["token_endpoint_auth_methods_supported"]
    assert client["client_secret"] and client["registration_response"]["token_endpoint_auth_method"] == client["token_endpoint_auth_method"]

    access = stored_tokens(cli.home)["access_token"]
    revoked = httpx.post(metadata["revocation_endpoint"], data={"token": access, "client_id": client["client_id"], "client_secret": client["client_secret"]})
    assert revoked.status_code == 200, revoked.text  # the secret is real: FastMCP refuses revocation without it
    after = flow.mcp_post(fastmcp_peer.mcp_url, flow.initialize_message(), token=access)
    assert after.status_code == 401


def test_register_picks_the_method_and_an_explicit_one_wins(fastmcp_peer, cli):
    auto = json.loads(cli("register", "--server", fastmcp_peer.mcp_url, "--json", "--no-save").stdout)
    assert auto["token_endpoint_auth_method"] == "client_secret_post" and auto["differences"] == {}
    explicit = json.loads(cli("register", "--server", fastmcp_peer.mcp_url, "--auth-method", "none", "--json", "--no-save").stdout)
    assert explicit["token_endpoint_auth_method"] == "none"


# --- item 7: what the callback proved; --no-browser ends by itself -------------------------


def test_the_callback_line_claims_the_issuer_only_when_iss_was_sent(ts_example, oidc_issuer, cli):
    without = cli("login", "--server", ts_example.mcp_url, "--json")
    assert NO_ISS in without.stderr and "issuer verified" not in without.stderr
    with serve_app(authkit_domain=oidc_issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        with_iss = cli("login", "--server", info.mcp_url, "--json")
    assert f"issuer verified (iss {oidc_issuer})" in with_iss.stderr and NO_ISS not in with_iss.stderr


def test_no_browser_exits_when_the_callback_arrives_with_stdin_open(fastmcp_peer, cli, tmp_path):
    env = {k: v for k, v in cli.env.items() if k != "BROWSER"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "authkit_mcp_cli", "login", "--server", fastmcp_peer.mcp_url, "--no-browser", "--json"],
        stdin=subprocess.PIPE,  # kept open, never written: a user who does not paste
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        stderr = LineReader(proc.stderr)  # never blocks past its deadline, unlike readline on the pipe
        found = stderr.wait_for(r"open (http://\S+)", timeout=30)
        assert found, stderr.text
        url = found.group(1)
        signed_in = httpx.get(url, follow_redirects=True, timeout=10)  # the browser elsewhere: FastMCP redirects to the loopback listener
        assert signed_in.status_code == 200 and "Signed in" in signed_in.text
        began = time.monotonic()
        returncode = proc.wait(timeout=20)
        assert returncode == 0 and time.monotonic() - began < 30, stderr.finish()  # not the 300 s wait (a 3x margin on a loaded machine)
        assert json.loads(proc.stdout.read())["logged_in"] is True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()


# --- item 3: 2025-03-26 servers -----------------------------------------------------------


@contextlib.contextmanager
def conformance_scenario(name: str) -> Iterator[tuple[str, PeerProcess]]:
    """One scenario of the conformance suite, run standalone (no --command): its MCP server URL."""
    try:
        node = node_binary()
    except PeerMissing as exc:
        pytest.fail(str(exc))
    if not SUITE_JS.exists():
        pytest.fail(f"{SUITE_JS} is missing: run `make test` (npm ci in tests/node).")
    peer = PeerProcess([str(node), str(SUITE_JS), "client", "--scenario", name, "--verbose"], cwd=NODE_DIR, env={"NO_COLOR": "1"})
    try:
        deadline = time.monotonic() + 20
        while not (match := re.search(r"Server URL: (\S+)", peer.output())):
            if time.monotonic() > deadline or not peer.alive():
                raise peer.failure("the scenario did not start")
            time.sleep(0.05)
        yield match.group(1), peer
    finally:
        peer.stop()
        peer.remove_log()


def scenario_failures(peer: PeerProcess) -> list[str]:
    """Stop the scenario; the FAILURE checks it printed (--verbose prints them as JSON)."""
    peer.stop()
    text = peer.output()
    checks = json.loads(text[text.index("[", text.index("Checks:")) :])
    return [f"{c['id']}: {c.get('description')}" for c in checks if c.get("status") == "FAILURE"]


def test_login_and_call_against_a_server_whose_origin_is_its_as(cli):
    """No PRM; RFC 8414 metadata at the origin (issuer = the origin), endpoints under /oauth."""
    with conformance_scenario("auth/2025-03-26-oauth-metadata-backcompat") as (url, peer):
        login = cli("login", "--server", url, "--json")
        assert json.loads(login.stdout)["verified"]
        assert "no protected-resource metadata (every well-known URL answered 404): 2025-03-26 fallback, the server's origin is its authorization server (metadata at" in login.stderr
        call = cli("call", "--server", url, "--tool", "test-tool", "--json")
        assert json.loads(call.stdout)["content"][0]["text"] == "test"
        assert scenario_failures(peer) == []


def test_call_login_against_a_server_with_no_metadata_at_all(cli):
    """No PRM, no AS metadata: the 2025-03-26 default endpoints /authorize, /token, /register."""
    with conformance_scenario("auth/2025-03-26-oauth-endpoint-fallback") as (url, peer):
        call = cli("call", "--server", url, "--login", "--tool", "test-tool", "--json")
        assert json.loads(call.stdout)["content"][0]["text"] == "test"
        assert "2025-03-26 fallback, default endpoints" in call.stderr and "/authorize, /token, /register" in call.stderr
        assert scenario_failures(peer) == []


def test_a_code_the_check_brings_back_is_never_exchanged(ts_example, cli, tmp_path):
    """The TS example approves at once: for a stored client, the check's own request gets an
    authorization response with a code. That code is not the user's consent and is never redeemed
    (issue #20 item 1): the browser opens again, and only its code is exchanged; the trace holds the
    check's exchange with the code masked."""
    cli("login", "--server", ts_example.mcp_url, "--json")
    assert cli.log.read_text().count("/authorize?") == 1  # the first login (a fresh client) used the browser
    trace = tmp_path / "second.jsonl"
    again = cli("login", "--server", ts_example.mcp_url, "--json", "--trace", str(trace))
    assert json.loads(again.stdout)["verified"]
    assert "that response is discarded: the browser completes the login" in again.stderr
    assert cli.log.read_text().count("/authorize?") == 2  # opened again
    entries = [json.loads(line) for line in trace.read_text().splitlines()]
    (check,) = [e for e in entries if e["method"] == "GET" and "/authorize?" in e["url"]]
    location = dict((k.lower(), v) for k, v in check["response"]["headers"])["location"]
    assert check["response"]["status"] == 302 and "code=%5Bredacted" in location
    assert len([e for e in entries if e["method"] == "POST" and e["url"].endswith("/token")]) == 1  # the browser's code only
