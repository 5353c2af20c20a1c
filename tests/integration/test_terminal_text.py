"""Bidirectional and other format characters from remotes never reach the terminal raw
(issue 20 §5), against running peers and the real CLI (tests/peers/escape_peer.py):

- a device grant whose ``verification_uri`` holds U+202E RIGHT-TO-LEFT OVERRIDE (a
  terminal would show ``device<U+202E>fdp.exe`` as ``deviceexe.pdf``): the URI, the
  complete URI, the user code and the AS's refusal are shown escaped, in text and
  with --json (the device step is on stderr either way), and in the --trace file;
- an MCP server's names, descriptions and results, and an AS's error fields: the same
  in ``call`` and ``login``, text and --json, where the JSON value stays intact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from peers.asgi import serve_asgi
from peers.escape_peer import build_escape_as_app, build_escape_device_as_app, build_escape_mcp_app

pytestmark = pytest.mark.integration

# every format character (Unicode Cf) but the two joiners text needs, as UTF-8
RAW_FORMAT = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"} - {"\u200c", "\u200d"}


def _cli(tmp_path: Path, *args: str, code: int | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, timeout=120, env=env, cwd=tmp_path)
    out = (proc.stdout + proc.stderr).decode("utf-8")
    assert "Traceback" not in out, out
    if code is not None:
        assert proc.returncode == code, out
    return proc


def _raw_format(text: str) -> list[str]:
    return sorted(f"U+{ord(ch):04X}" for ch in set(text) & RAW_FORMAT)


def _shown_escaped(proc: subprocess.CompletedProcess) -> tuple[str, str]:
    stdout, stderr = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert _raw_format(stdout + stderr) == [], (stdout, stderr)
    return stdout, stderr


@pytest.fixture(scope="module")
def device_as():
    with serve_asgi(build_escape_device_as_app) as base:
        yield base


@pytest.fixture(scope="module")
def escape_as():
    with serve_asgi(build_escape_as_app) as base:
        yield base + "/mcp"


@pytest.fixture(scope="module")
def escape_mcp():
    with serve_asgi(build_escape_mcp_app) as base:
        yield base + "/mcp"


def test_a_reversed_verification_uri_is_shown_escaped(tmp_path, device_as):
    trace = tmp_path / "trace.jsonl"
    proc = _cli(tmp_path, "login", "--server", device_as + "/mcp", "--grant", "device-code", "--trace", str(trace), code=5)  # access_denied: exit 5
    _, stderr = _shown_escaped(proc)
    assert f"open {device_as}/device\\u202efdp.exe and enter the code WDJB\\u2067-MJHT" in stderr, stderr
    assert f"{device_as}/device\\u202efdp.exe?user_code=\\u200b\\u2060\\ufeff\\xad\\U000e0041WDJB-MJHT" in stderr, stderr
    recorded = trace.read_text("utf-8")
    assert _raw_format(recorded) == [] and "\\u202e" in recorded
    bodies = [json.loads(line)["response"]["body"] for line in recorded.splitlines()]
    assert any(f"{device_as}/device\u202efdp.exe" in str(body) for body in bodies)  # the value survives, escaped in the file


def test_a_reversed_verification_uri_is_escaped_with_json_too(tmp_path, device_as):
    stdout, stderr = _shown_escaped(_cli(tmp_path, "login", "--server", device_as + "/mcp", "--grant", "device-code", "--json", code=5))
    assert f"open {device_as}/device\\u202efdp.exe" in stderr  # the device step is the user's next step, even under --json
    doc = json.loads(stdout)
    assert doc["error"]["remote"]["error_description"].startswith(f"denied at {device_as}/device\u202efdp.exe")  # intact for programs


def test_tool_text_and_as_errors_are_shown_escaped(tmp_path, escape_mcp, escape_as):
    listing, _ = _shown_escaped(_cli(tmp_path, "call", "--server", escape_mcp, code=0))
    assert "\\x07\\u202e\\u2066" in listing  # after the C0 escapes, the reordering: visible
    result, _ = _shown_escaped(_cli(tmp_path, "call", "--server", escape_mcp, "--tool", "evil", code=0))
    assert "\\u202e" in result
    _shown_escaped(_cli(tmp_path, "call", "--server", escape_mcp, "--tool", "fails", code=None))
    tools = json.loads(_shown_escaped(_cli(tmp_path, "call", "--server", escape_mcp, "--json", code=0))[0])
    assert any(t["description"].endswith("\u202e\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u200f\u061c") for t in tools["tools"])
    _, stderr = _shown_escaped(_cli(tmp_path, "login", "--server", escape_as, "--no-browser", code=1))
    assert "\\u202e" in stderr
    stdout, _ = _shown_escaped(_cli(tmp_path, "login", "--server", escape_as, "--no-browser", "--json", code=1))
    assert "\u202e" in json.loads(stdout)["error"]["remote"]["error_description"]
