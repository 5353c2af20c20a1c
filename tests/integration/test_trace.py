"""--trace is a transport: every request any client makes is in the file, redacted.

Issue #10 §2: `call --trace` used to write an empty file (the MCP SDK's
requests bypassed the trace) and `login --trace` showed the MCP endpoint once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr + proc.stdout
    return proc


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _mcp_methods(entries: list[dict], mcp_url: str) -> list[str]:
    """The JSON-RPC methods of the POSTs to the MCP endpoint, in order."""
    methods = []
    for e in entries:
        if e["method"] == "POST" and e["url"] == mcp_url and e["request"]["body"]:
            methods.append(json.loads(e["request"]["body"]).get("method"))
    return methods


def test_call_trace_holds_every_mcp_exchange_redacted(tmp_path):
    with serve_app() as (info, _app):
        url = info.mcp_url
        login = json.loads(_run(tmp_path, "login", "--server", url, "--json", "--reveal").stdout)
        token = login["secrets"]["access_token"]
        trace = tmp_path / "call.jsonl"
        _run(tmp_path, "call", "--server", url, "--tool", "whoami", "--json", "--trace", str(trace))

    text = trace.read_text()
    entries = _entries(trace)
    methods = _mcp_methods(entries, url)
    # the MCP conversation itself, request and response, not an empty file
    assert "tools/list" in methods and "tools/call" in methods, methods
    call = next(e for e in entries if e["request"]["body"] and '"tools/call"' in e["request"]["body"])
    assert call["response"]["status"] == 200 and "whoami" in call["request"]["body"]
    assert call["response"]["body"], "the MCP response body is recorded"
    # the bearer token is masked, its claims decoded for the reader
    assert token not in text
    auth = dict((k.lower(), v) for k, v in call["request"]["headers"])["authorization"]
    assert auth.startswith("Bearer ") and token not in auth
    assert any(j["where"] == "authorization header" and j["claims"]["aud"] == info.resource for j in call["jwts"])
    assert oct(trace.stat().st_mode & 0o777) == "0o600"


def test_login_trace_holds_discovery_oauth_and_the_proof(tmp_path):
    with serve_app() as (info, _app):
        url = info.mcp_url
        trace = tmp_path / "login.jsonl"
        _run(tmp_path, "login", "--server", url, "--json", "--trace", str(trace))
    entries = _entries(trace)
    urls = [(e["method"], e["url"].split("?")[0]) for e in entries]
    assert ("POST", url) in urls  # the 401 probe and the proof
    assert any(u.endswith("/.well-known/oauth-protected-resource/api/mcp") or "oauth-protected-resource" in u for _, u in urls)
    assert any(m == "POST" and u.endswith("/token") for m, u in urls)
    # the proof after the token: an authenticated initialize/tools/list, recorded like the rest
    authed = [e for e in entries if e["url"] == url and any(k.lower() == "authorization" for k, _ in e["request"]["headers"])]
    assert len(authed) >= 2, [e["url"] for e in entries]
    assert "tools/list" in _mcp_methods(authed, url)
