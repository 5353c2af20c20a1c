"""Hostile remotes and races: huge and odd bodies, TLS failures, giant headers,
markup and control characters, two processes refreshing at once."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from peers.asgi import serve_asgi

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"


def doctor(*args, human=False):
    cmd = [sys.executable, "-m", "authkit_mcp_cli", "doctor", *args] + ([] if human else ["--json"])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def hostile_app(base: str, kind: str) -> Starlette:
    prm = f"{base}/.well-known/oauth-protected-resource/api/mcp"

    async def mcp(request):
        if kind == "giant-header":
            return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="' + "a" * 65536 + '"'})
        if kind == "markup":
            return Response(status_code=401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{prm}", scope="[bold red]x[/] \\u202e"'})
        return Response(status_code=401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{prm}"'})

    async def metadata(request):
        if kind == "drip":
            async def drip():
                for _ in range(100):
                    yield b" "
                    await asyncio.sleep(0.3)

            return StreamingResponse(drip(), media_type="application/json")
        if kind == "huge":
            return Response(b'{"resource": "' + b"x" * (5 * 1024 * 1024) + b'"}', media_type="application/json")
        if kind == "markup":
            return JSONResponse({"resource": base + "/api/mcp\u0000[/]", "authorization_servers": ["[link=https://evil]x[/link]", "\u202ehttps://x"], "scopes_supported": ["\x1b[31mred", "ok"]})
        return JSONResponse({"resource": base + "/api/mcp", "authorization_servers": [base]})

    return Starlette(routes=[Route("/api/mcp", mcp, methods=["POST", "OPTIONS", "GET"]), Route("/.well-known/oauth-protected-resource/api/mcp", metadata), Route("/.well-known/oauth-protected-resource", metadata)])


def test_huge_body_is_capped_and_reported():
    with serve_asgi(lambda base: hostile_app(base, "huge")) as base:
        doc = json.loads(doctor("--server", base + "/api/mcp").stdout)
    r = {x["id"]: x for x in doc["results"]}
    assert r["prm.discovery"]["status"] == "fail"
    assert "larger than 1024 KiB" in json.dumps(r["prm.discovery"]["evidence"])


def test_giant_challenge_header_is_a_finding():
    with serve_asgi(lambda base: hostile_app(base, "giant-header")) as base:
        doc = json.loads(doctor("--server", base + "/api/mcp").stdout)
    r = {x["id"]: x for x in doc["results"]}
    assert not [x for x in doc["results"] if x["status"] == "error"]
    assert r["challenge.header"]["status"] == "fail" or r["server.reachable"]["status"] == "fail"


def test_markup_and_control_characters_are_printed_as_text():
    with serve_asgi(lambda base: hostile_app(base, "markup")) as base:
        proc = doctor("--server", base + "/api/mcp", human=True)
        doc = json.loads(doctor("--server", base + "/api/mcp").stdout)
    assert proc.returncode == 1
    assert "[link=https://evil]" in proc.stdout  # shown literally, not interpreted by rich
    assert not [x for x in doc["results"] if x["status"] == "error"]


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_failure_is_named(tmp_path):
    import socket
    import threading
    import time

    import uvicorn

    cert, key = _self_signed(tmp_path)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(hostile_app(f"https://127.0.0.1:{port}", "plain"), ssl_certfile=str(cert), ssl_keyfile=str(key), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        doc = json.loads(doctor("--server", f"https://127.0.0.1:{port}/api/mcp").stdout)
        login = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", f"https://127.0.0.1:{port}/api/mcp"], capture_output=True, text=True, timeout=60)
    finally:
        server.should_exit = True
        thread.join(5)
    r = {x["id"]: x for x in doc["results"]}
    assert r["server.reachable"]["status"] == "fail" and "TLS certificate of 127.0.0.1 could not be verified" in r["server.reachable"]["message"]
    assert login.returncode == 3 and "TLS certificate" in login.stderr and "Traceback" not in login.stderr


def test_two_processes_refreshing_at_once_keep_a_working_grant(tmp_path):
    """Rotation + reuse detection: without the store's lock one of them would burn the grant."""
    from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig
    from authkit_mcp_cli.server.runner import serve_in_thread

    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "NO_COLOR": "1"}
    with serve_in_thread(ServeConfig(port=0, required_scopes=LOCAL_REQUIRED_SCOPES, admin_scope=LOCAL_ADMIN_SCOPE, auto_approve=True)) as info:
        cli = [sys.executable, "-m", "authkit_mcp_cli"]
        assert subprocess.run([*cli, "login", "--server", info.mcp_url], env=env, capture_output=True, timeout=60).returncode == 0
        racers = [subprocess.Popen([*cli, "token", "refresh", "--server", info.mcp_url, "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outcomes = [(p.wait(60), p.stderr.read()) for p in racers]
        assert all(code == 0 for code, _ in outcomes), outcomes
        final = subprocess.run([*cli, "token", "refresh", "--server", info.mcp_url, "--json"], env=env, capture_output=True, text=True, timeout=60)
        assert final.returncode == 0, final.stderr
        call = subprocess.run([*cli, "call", "--server", info.mcp_url, "--tool", "whoami", "--json"], env=env, capture_output=True, text=True, timeout=60)
        assert call.returncode == 0, call.stderr


def test_secrets_in_every_command_output(tmp_path):
    """register, login, call, token show/refresh, logout with --json and --trace: no secret anywhere without --reveal."""
    from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig
    from authkit_mcp_cli.server.runner import serve_in_thread

    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(tmp_path / "browser.log"), "NO_COLOR": "1"}
    outputs: list[str] = []
    with serve_in_thread(ServeConfig(port=0, required_scopes=LOCAL_REQUIRED_SCOPES, admin_scope=LOCAL_ADMIN_SCOPE, auto_approve=True)) as info:
        url = info.mcp_url
        commands = [
            ["register", "--server", url, "--auth-method", "client_secret_basic", "--json"],
            ["login", "--server", url, "--json"],
            ["call", "--server", url, "--tool", "whoami", "--json"],
            ["token", "show", "--server", url, "--json"],
            ["token", "refresh", "--server", url, "--json"],
        ]
        secrets: list[str] = []
        for i, args in enumerate(commands):
            trace = tmp_path / f"trace{i}.jsonl"
            traced = args + (["--trace", str(trace)] if args[0] != "token" or args[1] == "refresh" else [])
            proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *traced], env=env, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, proc.stderr
            outputs += [proc.stdout, proc.stderr] + ([trace.read_text()] if trace.exists() else [])
            for record in (tmp_path / "home").rglob("*.json"):
                data = json.loads(record.read_text())
                tokens = data.get("tokens") or {}
                secrets += [tokens.get("access_token"), tokens.get("refresh_token"), tokens.get("id_token"), data.get("client_secret"), (data.get("client") or {}).get("client_secret")]
        logout_trace = tmp_path / "logout.jsonl"
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "logout", "--server", url, "--json", "--trace", str(logout_trace)], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        outputs += [proc.stdout, proc.stderr, logout_trace.read_text()]
    import re

    browser_log = tmp_path / "browser.log"
    if browser_log.exists():  # an AS that approves without a page answers login's pre-flight with the code: no browser
        secrets += re.findall(r"code=([^&\s]+)", browser_log.read_text())
    else:
        login_trace = [json.loads(line) for line in (tmp_path / "trace1.jsonl").read_text().splitlines()]
        locations = [v for e in login_trace if e["response"] for k, v in e["response"]["headers"] if k.lower() == "location" and "code=" in v]
        assert locations and all("redacted" in v for v in locations), locations  # the code was there, and masked
    secrets = {s for s in secrets if s and len(s) >= 8}
    assert len(secrets) >= 5
    leaks = [s[:12] for s in secrets for text in outputs if s in text]
    assert leaks == []


def test_a_dripping_server_cannot_hold_doctor_past_its_timeout():
    with serve_asgi(lambda base: hostile_app(base, "drip")) as base:
        started = time.monotonic()
        doc = json.loads(doctor("--server", base + "/api/mcp", "--timeout", "1").stdout)
        elapsed = time.monotonic() - started
    r = {x["id"]: x for x in doc["results"]}
    assert r["prm.discovery"]["status"] == "fail" and "within 1 s (timeout)" in json.dumps(r["prm.discovery"]["evidence"])
    assert elapsed < 20  # the drip lasts 30 s


@pytest.mark.parametrize(("fault", "code", "message"), [("prm_html", 4, "No protected-resource metadata"), ("prm_500", 4, "mcp: 500"), ("prm_redirect_loop", 4, "redirect loop"), ("no_pkce", 4, "PKCE"), ("wrong_issuer", 4, "must not be used")])
def test_login_against_broken_servers_fails_clearly(tmp_path, fault, code, message):
    from peers.broken_server import Faults, build_broken_app

    with serve_asgi(lambda base: build_broken_app(base, Faults(**{fault: True}))) as base:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", base + "/api/mcp", "--wait", "5"], capture_output=True, text=True, timeout=60, env={**os.environ, "ATOMS_AUTH_HOME": str(tmp_path), "NO_COLOR": "1"})
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
