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
