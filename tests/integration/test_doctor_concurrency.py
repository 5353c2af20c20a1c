"""doctor at the speed of its dependency chain, and several servers in one run
(issue 16 item 1), against real serve stacks on loopback whose every response
is delayed. Ordering is read from doctor's own --trace (each exchange's start
and end to the millisecond), never from wall-clock budgets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from peers.asgi import serve_asgi
from peers.broken_server import Faults, build_broken_app

pytestmark = pytest.mark.integration


class Delay:
    """Every HTTP response after ``seconds``: a round trip of that length, simulated."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


@contextlib.contextmanager
def delayed_serve(seconds: float) -> Iterator[str]:
    """serve with its development AS (one origin), every response delayed; yields the MCP URL."""
    cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=None, required_scopes=None, auto_approve=True, allowed_hosts=[], stateless=False, workers=1)
    built: dict[str, Any] = {}

    def factory(base: str):
        built["app"], built["info"] = build_app(cfg, int(base.rsplit(":", 1)[1]))
        return Delay(built["app"], seconds)

    with serve_asgi(factory):
        yield built["info"].mcp_url


def doctor(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", *args], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def exchanges(trace: Path) -> list[dict]:
    out = []
    for line in trace.read_text().splitlines():
        e = json.loads(line)
        e["t0"], e["t1"] = datetime.fromisoformat(e["started"]).timestamp(), datetime.fromisoformat(e["ended"]).timestamp()
        e["h"] = {k.lower(): v for k, v in e["request"]["headers"]}
        out.append(e)
    return out


def forged(e: dict) -> bool:
    return any(j.get("where") == "authorization header" for j in e["jwts"])


def follows_the_as_metadata(e: dict) -> bool:
    """The JWKS, the AS metadata as a browser fetches it (CORS), and the forged tokens: they need the AS's answers."""
    well_known_cors = "/.well-known/oauth-authorization-server" in e["url"] and ("origin" in e["h"] or e["method"] == "OPTIONS")
    return e["url"].endswith("/jwks") or well_known_cors or forged(e)


def test_every_probe_starts_as_soon_as_its_inputs_exist(tmp_path):
    trace = tmp_path / "trace.jsonl"
    with delayed_serve(0.5) as url:
        proc = doctor("--json", "--server", url, "--trace", str(trace))
    assert proc.returncode == 0, proc.stdout[-3000:]
    ex = exchanges(trace)
    assert len(ex) == json.loads(proc.stdout)["requests"] == 18  # prm.cors: the PRM again, with an Origin
    # Nothing waits for the canonical-URL answer (the path-inserted PRM): the challenge, the other PRM, CORS,
    # compatibility and malformed-credential probes all leave before it is back.
    path_prm = next(e for e in ex if e["url"].endswith("/.well-known/oauth-protected-resource/api/mcp") and "origin" not in e["h"])
    prm_cors = next(e for e in ex if e["url"].endswith("/.well-known/oauth-protected-resource/api/mcp") and "origin" in e["h"])
    assert prm_cors["t0"] >= path_prm["t1"]  # prm.cors: the chosen PRM URL again, once it is known
    first_wave = [e for e in ex if not follows_the_as_metadata(e) and e is not prm_cors]
    assert len(first_wave) == 10
    assert all(e["t0"] < path_prm["t1"] for e in first_wave), [(e["method"], e["url"], e["h"].get("authorization")) for e in first_wave if e["t0"] >= path_prm["t1"]]
    # The forged tokens (alg none, a stranger's key, HS256 with the AS's key, expired) leave together once the
    # JWKS has answered: each after the JWKS ends, every one before any of them ends.
    jwks = next(e for e in ex if e["url"].endswith("/jwks"))
    forgeries = [e for e in ex if forged(e)]
    assert len(forgeries) == 4
    assert all(f["t0"] >= jwks["t1"] for f in forgeries)
    assert max(f["t0"] for f in forgeries) < min(f["t1"] for f in forgeries)
    # and the AS's JWKS and CORS requests leave together, after its metadata
    metadata = next(e for e in ex if e["url"].endswith("/.well-known/oauth-authorization-server") and "origin" not in e["h"] and e["method"] == "GET")
    followers = [e for e in ex if follows_the_as_metadata(e) and not forged(e)]
    assert len(followers) == 3 and all(e["t0"] >= metadata["t1"] for e in followers)
    assert max(e["t0"] for e in followers) < min(e["t1"] for e in followers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def three_servers() -> Iterator[tuple[str, str, str]]:
    """A correct serve, a server with a wrong PRM resource (a MUST failure) and a port nobody listens on."""
    with delayed_serve(0.05) as good, serve_asgi(lambda base: build_broken_app(base, Faults(wrong_resource=True))) as broken_base:
        yield good, broken_base + "/api/mcp", f"http://127.0.0.1:{free_port()}/api/mcp"


def test_several_servers_give_one_schema_1_report_each_in_order_and_the_worst_exit_code(three_servers, tmp_path):
    good, broken, down = three_servers
    alone = doctor("--json", "--server", good)
    assert alone.returncode == 0
    single = json.loads(alone.stdout)
    assert single["schema"] == 1 and "reports" not in single  # one server: the schema-1 report itself

    proc = doctor("--json", "--server", good, "--server", broken)
    assert proc.returncode == 1  # the worst: findings
    doc = json.loads(proc.stdout)
    assert set(doc) == {"schema", "reports"} and doc["schema"] == 1
    assert [r["target"]["server"] for r in doc["reports"]] == [good, broken]
    first, second = doc["reports"]
    assert set(first) == set(single) and first["summary"] == single["summary"]  # the same report as alone
    assert first["summary"]["fail"] == 0 and second["summary"]["fail"] >= 1
    assert next(r for r in second["results"] if r["id"] == "prm.resource")["status"] == "fail"

    proc = doctor("--json", "--server", down, "--server", good, "--server", broken)
    assert proc.returncode == 3  # unreachable is worse than findings
    assert [r["target"]["server"] for r in json.loads(proc.stdout)["reports"]] == [down, good, broken]


def test_several_servers_in_text_junit_and_markdown(three_servers, tmp_path):
    good, broken, _ = three_servers
    text = doctor("--server", good, "--server", broken)
    assert text.returncode == 1
    assert f"Server 1 of 2: {good}" in text.stdout and f"Server 2 of 2: {broken}" in text.stdout
    assert text.stdout.index(f"Server 1 of 2: {good}") < text.stdout.index(f"Server 2 of 2: {broken}")
    assert f"exit 0  {good}:" in text.stdout and f"exit 1  {broken}:" in text.stdout

    junit = doctor("--format", "junit", "--server", good, "--server", broken)
    assert junit.returncode == 1
    import xml.etree.ElementTree as ET

    root = ET.fromstring(junit.stdout)
    suites = root.findall("testsuite")
    assert [s.find("properties/property[@name='server']").get("value") for s in suites] == [good, broken]
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in suites))
    assert suites[0].get("failures") == "0" and int(suites[1].get("failures")) >= 1

    out = tmp_path / "report.md"
    md = doctor("--format", "markdown", "--output", str(out), "--server", good, "--server", broken)
    assert md.returncode == 1 and f"Server 2 of 2: {broken}" in md.stdout  # the text report for the CI log
    body = out.read_text()
    assert body.count("## atoms-auth doctor: ") == 2 and body.count("```mermaid") == 2
    assert body.index(f"## atoms-auth doctor: `{good}`") < body.index(f"## atoms-auth doctor: `{broken}`")


def test_several_servers_refuse_html_and_login(three_servers):
    good, broken, _ = three_servers
    html = doctor("--format", "html", "--server", good, "--server", broken)
    assert html.returncode == 2 and "code: usage.html-one-server" in html.stderr and html.stdout == ""
    login = doctor("--login", "--server", good, "--server", broken)
    assert login.returncode == 2 and "code: usage.login-one-server" in login.stderr


def test_the_tls_context_built_in_a_thread_is_httpx_default_and_honours_ssl_cert_file(tmp_path):
    """doctor loads its CA file in a thread while it imports: the same trust as httpx's default, SSL_CERT_FILE included."""
    import datetime
    import ipaddress
    import os
    import threading
    import time

    import uvicorn
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"https://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(build_broken_app(base, Faults()), ssl_certfile=str(cert_path), ssl_keyfile=str(key_path), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
        argv = [sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", "--check", "server.reachable", "--server", base + "/api/mcp"]
        untrusted = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        trusted = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**env, "SSL_CERT_FILE": str(cert_path)})
    finally:
        server.should_exit = True
        thread.join(5)
    refused = json.loads(untrusted.stdout)["results"][0]
    assert refused["status"] == "fail" and "TLS certificate of 127.0.0.1 could not be verified" in refused["message"]
    assert json.loads(trusted.stdout)["results"][0]["status"] == "pass", trusted.stdout
