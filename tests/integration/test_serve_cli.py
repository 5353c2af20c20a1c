"""`atoms-auth serve` as a user runs it: no configuration, a free port, a banner,
a real client, a clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys

import pytest

from peers.sdk_client import call_whoami
from peers.streams import LineReader

pytestmark = pytest.mark.integration


def start_serve(*args: str, cwd) -> tuple[subprocess.Popen, str, LineReader]:
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "serve", "--port", "0", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
    stderr = LineReader(proc.stderr)
    if stderr.wait_for(r"Application startup complete", timeout=30):
        url = re.search(r"MCP endpoint\s+(\S+)", stderr.text).group(1)
        return proc, url, stderr
    proc.kill()
    raise AssertionError(f"serve did not start: {stderr.finish()}")


def test_serve_starts_with_no_configuration_and_a_real_client_uses_it(tmp_path):
    proc, url, stderr = start_serve("--auto-approve", cwd=tmp_path)
    try:
        out, _ = asyncio.run(call_whoami(url))
        payload = out["result"].structured_content or json.loads(out["result"].content[0].text)
        assert payload["aud"] == url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    err = stderr.finish()
    assert proc.returncode == 130, err  # the documented exit code for an interrupt
    assert "Traceback" not in err and "Application shutdown complete" in err


def test_serve_banner_names_the_mode_and_the_resource_indicator(tmp_path):
    proc, url, stderr = start_serve(cwd=tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    banner = stderr.finish()
    assert "Mode                 local DEVELOPMENT authorization server" in banner
    assert "consent page in the browser" in banner
    assert f"atoms-auth doctor --server {url}" in banner


def test_serve_rejects_workers_with_the_local_as(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "serve", "--workers", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "--workers needs --authkit-domain" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_reports_a_busy_port(tmp_path):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    try:
        proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "serve", "--port", str(port)], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    finally:
        sock.close()
    assert proc.returncode == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in proc.stderr


def run_serve(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "serve", "--port", "0", *args], cwd=cwd, capture_output=True, text=True, timeout=30, env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0"),
        (["--host", "::"], "--host ::"),
        (["--base-url", "https://mcp.example.com"], "--base-url https://mcp.example.com"),
        (["--base-url", "https://127.0.0.1.nip.io:8443"], "--base-url https://127.0.0.1.nip.io:8443"),  # a name that resolves to loopback is still a name
    ],
)
def test_serve_refuses_the_development_as_on_a_public_interface(tmp_path, args, named):
    proc = run_serve(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Refusing to expose the development authorization server" in proc.stderr and named in proc.stderr
    assert "--allow-public-dev-as" in proc.stderr and "Traceback" not in proc.stderr
    assert "listening" not in proc.stderr  # refused before anything started


def test_serve_with_allow_public_dev_as_prints_a_warning_banner(tmp_path):
    # a public --base-url asks for the flag as a public --host does, while serve still listens on loopback only
    proc, url, stderr = start_serve("--base-url", "https://mcp.example.com", "--allow-public-dev-as", cwd=tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    err = stderr.finish()
    assert "WARNING the DEVELOPMENT authorization server is reachable beyond this machine" in err
    assert "admin tokens" in err


def test_serve_loopback_binds_need_no_flag(tmp_path):
    for host in ("127.0.0.2", "::1", "localhost"):
        proc, url, stderr = start_serve("--host", host, cwd=tmp_path)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        assert "WARNING" not in stderr.finish()


def test_serve_validates_the_log_level_before_starting(tmp_path):
    proc = run_serve("--log-level", "loud", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--log-level" in proc.stderr and "'loud' is not one of" in proc.stderr and "'debug'" in proc.stderr
    assert "listening" not in proc.stderr and "Traceback" not in proc.stderr


def serve_and_log(tmp_path, *args: str) -> list[str]:
    """Start serve, send one request with a secret in its query, stop; return stderr's lines after the banner."""
    import httpx

    proc, url, stderr = start_serve(*args, cwd=tmp_path)
    try:
        base = url.rsplit("/api/mcp", 1)[0]
        httpx.get(f"{base}/oauth2/authorize", params={"client_id": "nobody", "code": "s3cr3t-code-value", "state": "xyz"})
        httpx.post(url, json={})
        stderr.wait_for(r"POST /api/mcp", timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    text = stderr.finish()
    assert "s3cr3t-code-value" not in text  # secret query parameters masked
    return text.split("Check it:", 1)[1].splitlines()[1:]


def test_serve_logs_one_json_object_per_line(tmp_path):
    lines = serve_and_log(tmp_path, "--log-format", "json")
    entries = [json.loads(line) for line in lines]  # every line is one object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"].startswith("uvicorn") and "Application startup complete" in e["message"] for e in entries)
    access = [e for e in entries if "status" in e]
    authorize = next(e for e in access if e["path"].startswith("/oauth2/authorize"))
    assert authorize["method"] == "GET" and authorize["status"] == 400 and isinstance(authorize["duration_ms"], float)
    assert "state=xyz" in authorize["path"] and "code=" in authorize["path"]
    assert any(e["method"] == "POST" and e["path"] == "/api/mcp" and e["status"] == 401 for e in access)


def test_serve_logs_text_one_line_per_event_without_source_or_wrapping(tmp_path):
    lines = serve_and_log(tmp_path, "--log-format", "text")
    pattern = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL) +[\w.]+: \S")
    assert lines and all(pattern.match(line) for line in lines), lines
    assert not any(re.search(r"\.py:\d+", line) for line in lines)  # no source file and line
    post = next(line for line in lines if "POST /api/mcp" in line)
    assert "atoms_auth.access" in post and " 401 " in post and post.rstrip().endswith(" ms")


def test_serve_banner_shows_the_listening_address_beside_the_public_url(tmp_path):
    """Issue #24 item 15: behind a tunnel the public --base-url is not where the socket listens."""
    proc, url, stderr = start_serve("--authkit-domain", "https://example-env.authkit.app", "--base-url", "https://mcp.example.com", cwd=tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    banner = stderr.finish()
    assert url == "https://mcp.example.com/api/mcp"
    assert re.search(r"Listening on\s+http://127\.0\.0\.1:\d+ \(public URL from --base-url: https://mcp\.example\.com\)", banner), banner


def test_serve_banner_without_base_url_listens_where_the_endpoint_is(tmp_path):
    proc, url, stderr = start_serve(cwd=tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    listen = re.search(r"Listening on\s+(http://\S+)", stderr.finish())
    assert listen and url.startswith(listen.group(1) + "/")
