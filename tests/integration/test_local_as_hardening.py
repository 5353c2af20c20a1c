"""The development AS and the device flow under attack (issue 20 section 4),
over real HTTP against a running serve: the device decision checks serve's
own origin, not the request's Host (DNS rebinding); the wrong-code lockout
belongs to a browser session and an address; X-Forwarded-For is believed only
from proxies named with --forwarded-allow-ips (every worker); bodies never
give a 5xx (deep nesting, lone surrogates, a client that disconnects); an
openly registered client gets no admin scope without a user; two DPoP headers
are refused; polling faster than the interval is slowed down (+5 s), and the
real CLI keeps the pace it was given."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkit_mcp_cli.oauth.dpop import DpopKey, proof
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE as DEVICE_GRANT
from authkit_mcp_cli.server.config import trusted_proxies
from authkit_mcp_cli.server.local_as import device as device_module
from authkit_mcp_cli.server.local_as.model import OAuthError
from peers.asgi import serve_asgi
from peers.processes import PeerProcess
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def interactive():
    with serve_app(auto_approve=False) as (info, app):
        yield info, app


def register(info, **body) -> dict:
    response = httpx.post(info.issuer + "/oauth2/register", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def start_device(info) -> tuple[dict, dict]:
    client = register(info, client_name="tv", grant_types=[DEVICE_GRANT], token_endpoint_auth_method="none", redirect_uris=[], response_types=[])
    answer = httpx.post(info.issuer + "/oauth2/device_authorization", data={"client_id": client["client_id"], "resource": info.mcp_url}, timeout=10)
    assert answer.status_code == 200, answer.text
    return client, answer.json()


def poll(info, client: dict, device_code: str) -> httpx.Response:
    return httpx.post(info.issuer + "/oauth2/token", data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client["client_id"], "resource": info.mcp_url}, timeout=10)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name=csrf value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


# --- 1. the device decision checks serve's own origin, never the Host --------------------------


def test_a_dns_rebound_name_cannot_approve_a_device_code(interactive):
    """A page at http://rebound.example:PORT whose name now resolves to 127.0.0.1 is, to the browser,
    same-origin with itself: it can load the verification page, get its cookie, and post the form with
    Origin and Host both naming itself. serve compares the Origin with its own configured origin."""
    info, app = interactive
    _, answer = start_device(info)
    port = urlsplit(info.issuer).port
    rebound = {"Host": f"rebound.example:{port}"}
    with httpx.Client(timeout=10) as browser:
        page = browser.get(answer["verification_uri_complete"], headers=rebound)
        assert page.status_code == 200, page.text
        form = {"user_code": answer["user_code"], "csrf": csrf_of(page), "decision": "approve"}
        refused = browser.post(answer["verification_uri"], data=form, headers={**rebound, "Origin": f"http://rebound.example:{port}", "Sec-Fetch-Site": "same-origin"})
        assert refused.status_code == 403 and "another origin" in refused.text, refused.text
        assert app.state.local_as.device.grants[answer["device_code"]].status == "pending"
        done = browser.post(answer["verification_uri"], data=form, headers={"Origin": info.issuer, "Sec-Fetch-Site": "same-origin"})
        assert done.status_code == 200 and "Device approved" in done.text


# --- 2. the wrong-code lockout is per browser session and address -------------------------------


def test_wrong_codes_from_another_page_lock_out_nobody_else(interactive):
    info, app = interactive
    page_url = info.issuer + "/oauth2/device"
    with httpx.Client(timeout=10) as user:
        assert user.get(page_url).status_code == 200  # the user has the page open (and so a session)
        # any web page can make the browser send these (no cookie: cross-site requests carry no SameSite one)
        for _ in range(device_module.MAX_FAILED_LOOKUPS + 5):
            httpx.get(page_url, params={"user_code": "BBBB-BBBB"}, timeout=10)
        _, answer = start_device(info)
        confirm = user.get(page_url, params={"user_code": answer["user_code"]})
        assert confirm.status_code == 200 and "Approve a device" in confirm.text, confirm.text
    # a user opening the complete URI in a fresh browser is asked to press Continue, then sees the code
    _, answer = start_device(info)
    with httpx.Client(timeout=10) as fresh:
        first = fresh.get(answer["verification_uri_complete"])
        assert first.status_code == 200 and "Approve a device" not in first.text and answer["user_code"] in first.text
        again = fresh.get(answer["verification_uri_complete"])
        assert again.status_code == 200 and "Approve a device" in again.text, again.text


def test_a_session_that_guesses_is_locked_out_alone_and_memory_stays_bounded(interactive):
    info, app = interactive
    page_url = info.issuer + "/oauth2/device"
    with httpx.Client(timeout=10) as guesser:
        guesser.get(page_url)
        answers = [guesser.get(page_url, params={"user_code": "CCCC-CCCC"}).status_code for _ in range(device_module.MAX_FAILED_LOOKUPS + 1)]
        assert answers[:-1] == [400] * device_module.MAX_FAILED_LOOKUPS and answers[-1] == 429
        _, answer = start_device(info)
        locked = guesser.get(page_url, params={"user_code": answer["user_code"]})
        assert locked.status_code == 429 and "Too many wrong codes" in locked.text
    with httpx.Client(timeout=10) as other:
        other.get(page_url)
        assert "Approve a device" in other.get(page_url, params={"user_code": answer["user_code"]}).text


def test_sessions_are_bounded_and_an_address_has_a_ceiling(monkeypatch):
    """A script that collects fresh sessions to guess on: the stores keep their cap, and the address
    stops at its own ceiling (RFC 8628 §5.1), sessions or not; a made-up session is no session."""
    monkeypatch.setattr(device_module, "MAX_LOCKOUT_KEYS", 40)
    monkeypatch.setattr(device_module, "MAX_FAILED_LOOKUPS_PER_ADDRESS", 60)
    with serve_app(auto_approve=False) as (info, app):
        page_url = info.issuer + "/oauth2/device"
        limits = app.state.local_as.device.wrong_codes
        made_up = httpx.get(page_url, params={"user_code": "DDDD-DDDD"}, cookies={"atoms_auth_session": "x" * 22 + "." + "0" * 32}, timeout=10)
        assert made_up.status_code == 400 and "atoms_auth_session" in made_up.headers.get("set-cookie", "")  # it gets a real one
        codes = []
        for _ in range(59):
            with httpx.Client(timeout=10) as script:
                script.get(page_url)
                codes.append(script.get(page_url, params={"user_code": "DDDD-DDDD"}).status_code)
        assert set(codes) == {400} and len(limits.sessions) <= 40 and len(limits.addresses) == 1
        _, answer = start_device(info)
        with httpx.Client(timeout=10) as late:
            late.get(page_url)
            assert late.get(page_url, params={"user_code": answer["user_code"]}).status_code == 429  # the address is at its ceiling


# --- 4. no 5xx from bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,  # over the body cap
        b'{"redirect_uris": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"a": ' + b'{"b": ' * 40 + b"1" + b"}" * 41,
        b'{"redirect_uris": ["http://127.0.0.1:3000/cb"], "token_endpoint_auth_method": "none", "client_name": "\\ud800"}',
        b'{"redirect_uris": ["http://127.0.0.1:3000/cb"], "token_endpoint_auth_method": "none", "client_name": "x", "\\udfff": 1}',
        '{"client_name": "\ud800"}'.encode("utf-8", "surrogatepass"),  # raw, not escaped: not UTF-8 at all
    ],
    ids=["over-the-cap", "nested-5000", "nested-41", "lone-surrogate-value", "lone-surrogate-key", "raw-surrogate"],
)
def test_hostile_registration_bodies_get_400_invalid_client_metadata(interactive, body):
    info, _ = interactive
    answer = httpx.post(info.issuer + "/oauth2/register", content=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client_metadata", answer.text


def document_host(documents: dict[str, bytes]):
    def factory(base: str) -> Starlette:
        async def document(request: Request) -> Response:
            return Response(documents[request.path_params["name"]].replace(b"BASE", base.encode()), media_type="application/json")

        return Starlette(routes=[Route("/{name}.json", document)])

    return serve_asgi(factory)


def test_hostile_metadata_documents_get_400_invalid_client_metadata():
    documents = {
        "surrogate": b'{"client_id": "BASE/surrogate.json", "client_name": "\\ud800", "redirect_uris": ["http://127.0.0.1:3000/cb"]}',
        "nested": b'{"client_id": "BASE/nested.json", "client_name": "n", "redirect_uris": ["http://127.0.0.1:3000/cb"], "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    }
    with document_host(documents) as docs, serve_app(allow_private_cimd=True, auto_approve=False) as (info, _):
        for name in documents:
            params = {"response_type": "code", "client_id": f"{docs}/{name}.json", "redirect_uri": "http://127.0.0.1:3000/cb", "code_challenge": "c" * 43, "code_challenge_method": "S256", "resource": info.mcp_url}
            answer = httpx.get(info.issuer + "/oauth2/authorize", params=params, timeout=10)
            assert answer.status_code == 400 and "invalid_client_metadata" in answer.text, (name, answer.status_code, answer.text[:300])


# --- 5. no admin scope without a user ------------------------------------------------------------


def test_an_openly_registered_client_gets_no_admin_token_without_a_user(interactive):
    """Any web page can register (CORS *) and ask the token endpoint (CORS *): without a user the
    client gets the resource's default scopes, never mcp:admin (invalid_scope)."""
    info, _ = interactive
    origin = {"Origin": "https://evil.example"}
    answer = httpx.post(info.issuer + "/oauth2/register", json={"grant_types": ["client_credentials"], "scope": "mcp:tools mcp:admin"}, headers=origin, timeout=10)
    assert answer.status_code == 201 and answer.headers["access-control-allow-origin"] == "*"
    client = answer.json()
    form = {"grant_type": "client_credentials", "resource": info.mcp_url}
    for scope in ("mcp:admin", "mcp:tools mcp:admin"):
        refused = httpx.post(info.issuer + "/oauth2/token", data={**form, "scope": scope}, auth=(client["client_id"], client["client_secret"]), headers=origin, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope", refused.text
        assert "mcp:admin" in refused.json()["error_description"]
    token = httpx.post(info.issuer + "/oauth2/token", data=form, auth=(client["client_id"], client["client_secret"]), timeout=10)
    assert token.status_code == 200 and token.json()["scope"] == "mcp:tools", token.text
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "admin_echo", "arguments": {"text": "hi"}}}
    headers = {"Authorization": "Bearer " + token.json()["access_token"], "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    denied = httpx.post(info.mcp_url, json=call, headers=headers, timeout=10)
    assert denied.status_code == 403 and "insufficient_scope" in denied.headers["www-authenticate"], denied.text


# --- 6. DPoP headers and the polling interval ----------------------------------------------------


def test_two_dpop_headers_on_a_token_request_are_refused(interactive):
    info, _ = interactive
    client = register(info, grant_types=["client_credentials"])
    url = info.issuer + "/oauth2/token"
    first, second = DpopKey.generate(), DpopKey.generate()
    headers = [("DPoP", proof(first, "POST", url)), ("DPoP", proof(second, "POST", url))]
    answer = httpx.post(url, data={"grant_type": "client_credentials", "resource": info.mcp_url}, auth=(client["client_id"], client["client_secret"]), headers=headers, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_dpop_proof", answer.text
    one = httpx.post(url, data={"grant_type": "client_credentials", "resource": info.mcp_url}, auth=(client["client_id"], client["client_secret"]), headers={"DPoP": proof(first, "POST", url)}, timeout=10)
    assert one.status_code == 200 and one.json()["token_type"] == "DPoP", one.text


def test_polling_faster_than_the_interval_is_slowed_down_by_5_s(interactive):
    info, app = interactive
    client, answer = start_device(info)
    grant = app.state.local_as.device.grants[answer["device_code"]]
    assert answer["interval"] == 5
    for interval in (5, 10, 15):
        grant.last_poll = time.time() - (interval - 2)  # 2 s early (a loaded machine may take a while to deliver the request)
        early = poll(info, client, answer["device_code"])
        assert early.status_code == 400 and early.json()["error"] == "slow_down", early.text
        assert f"{interval + 5} s" in early.json()["error_description"]
    grant.last_poll = time.time() - 20.1
    assert poll(info, client, answer["device_code"]).json()["error"] == "authorization_pending"


def test_the_cli_polls_no_faster_than_it_was_told(tmp_path, monkeypatch):
    """The real CLI against serve, whose token endpoint records when each poll arrives: it waits the
    interval before the first poll and between polls, and 5 s more after slow_down (RFC 8628 §3.5)."""
    monkeypatch.setattr(device_module, "INTERVAL", 1)  # serve runs in this process: a 1 s interval keeps the test short
    with serve_app(auto_approve=False) as (info, app):
        flow = app.state.local_as.device
        original = flow.token
        arrivals: list[tuple[float, str]] = []
        started: list[float] = []

        def recording(client, form, jkt):
            grant = flow.grants.get(form.get("device_code") or "")
            assert grant is not None
            if not started:
                started.append(grant.last_poll)  # the device authorization's time
            now = time.time()
            if len(arrivals) == 1:  # the AS asks to slow down once
                grant.interval += device_module.SLOW_DOWN_STEP
                grant.last_poll = now
                arrivals.append((now, "slow_down (asked)"))
                raise OAuthError("slow_down", "polling too fast")
            if len(arrivals) == 2:
                flow.decide(grant, True)
            try:
                result = original(client, form, jkt)
            except OAuthError as exc:
                arrivals.append((now, exc.error))
                raise
            arrivals.append((now, "tokens"))
            return result

        flow.token = recording
        env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": "/bin/false", "NO_COLOR": "1", "COLUMNS": "300"}
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", info.mcp_url, "--grant", "device-code", "--json"], capture_output=True, text=True, timeout=90, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [what for _, what in arrivals] == ["authorization_pending", "slow_down (asked)", "tokens"], arrivals
    times = [started[0], *(t for t, _ in arrivals)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] >= 1 and gaps[1] >= 1 and gaps[2] >= 1 + device_module.SLOW_DOWN_STEP, gaps
    assert "polling every 6 s" in proc.stderr


# --- 3 and 4: the CLI's serve, X-Forwarded-For and disconnects -------------------------------------


def start_serve(*args: str) -> tuple[PeerProcess, str]:
    peer = PeerProcess([sys.executable, "-m", "authkit_mcp_cli", "serve", "--port", "0", "--log-format", "json", *args], env={"NO_COLOR": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"MCP endpoint\s+(\S+)", peer.output())
        if found:
            base = found.group(1).rsplit("/api/mcp", 1)[0]
            peer.wait_http_ok([base + "/.well-known/oauth-protected-resource"], timeout=60)
            return peer, base
        if not peer.alive():
            break
        time.sleep(0.05)
    peer.stop()
    raise peer.failure("serve did not start")


def access_clients(peer: PeerProcess, path: str) -> list[str]:
    lines = [json.loads(line) for line in peer.output().splitlines() if line.startswith("{")]
    return [line["client"].rsplit(":", 1)[0] for line in lines if line.get("path") == path and line.get("client")]


def wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_made_up_forwarded_for_bypasses_nothing():
    peer, base = start_serve()
    try:
        body = {"redirect_uris": ["http://127.0.0.1:3000/cb"], "application_type": "native", "token_endpoint_auth_method": "none"}
        with httpx.Client(timeout=10) as http:
            codes = [http.post(base + "/oauth2/register", json=body, headers={"X-Forwarded-For": f"198.51.100.{n % 250}"}).status_code for n in range(101)]
        assert codes[:100] == [201] * 100 and codes[100] == 429, codes[95:]
        wait_for(lambda: len(access_clients(peer, "/oauth2/register")) == 101)
        assert set(access_clients(peer, "/oauth2/register")) == {"127.0.0.1"}  # the log names the real peer
        # a client that disconnects mid-body is a disconnect in the log, not a 500 with a traceback
        parts = urlsplit(base)
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.sendall(f"POST /oauth2/token HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=".encode())
            time.sleep(0.3)
        wait_for(lambda: "disconnected" in peer.output())
        assert httpx.get(base + "/.well-known/oauth-authorization-server", timeout=10).status_code == 200
        output = peer.output()
        assert "Traceback" not in output and "Exception in ASGI application" not in output and '"status": 500' not in output, output[-3000:]
    finally:
        peer.stop()
        peer.remove_log()


@pytest.mark.parametrize("trusted, expected", [([], "127.0.0.1"), (["--forwarded-allow-ips", "127.0.0.1"], "203.0.113.9")], ids=["no-proxy-named", "proxy-named"])
@pytest.mark.parametrize("workers", [[], ["--authkit-domain", "http://127.0.0.1:9", "--workers", "2"]], ids=["local-as", "authkit-2-workers"])
def test_forwarded_for_is_believed_only_from_named_proxies(workers, trusted, expected):
    path = "/.well-known/oauth-protected-resource/api/mcp"
    peer, base = start_serve(*workers, *trusted)
    try:
        with httpx.Client(timeout=10) as http:
            for _ in range(6):  # new connections: with two workers, both answer some
                http.get(base + path, headers={"X-Forwarded-For": "203.0.113.9", "Connection": "close"})
        wait_for(lambda: len(access_clients(peer, path)) == 6)
        assert set(access_clients(peer, path)) == {expected}, peer.output()[-2000:]
    finally:
        peer.stop()
        peer.remove_log()


def test_forwarded_allow_ips_takes_addresses_and_networks_only(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "serve", "--port", "0", "--forwarded-allow-ips", "10.0.0.1,proxy.example"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert bad.returncode == 2 and "'proxy.example' is not an IP address or network" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    assert trusted_proxies(["10.0.0.1, 10.0.0.0/8", "::1", "10.0.0.1"]) == ("10.0.0.1", "10.0.0.0/8", "::1")
    assert trusted_proxies(["*"]) == ("*",) and trusted_proxies([]) == ()
