"""The client's files, terminal and trust decisions against running peers and the real CLI
(issue 14 items 9-12).

- item 9: a --trace path that is a symlink is refused (exit 2, the target untouched); an
  existing 0644 trace ends 0600; init's .env backup is never written through a symlink.
- item 10: an AS whose error fields and an MCP server whose names, descriptions and results
  carry ESC/CSI/BEL/BS/CR (tests/peers/escape_peer.py): no such byte reaches stdout or
  stderr, text or --json, NO_COLOR and piped.
- item 11: plain http to a *.localhost name is refused by the https policy (RFC 8252 §8.3).
- item 12: a real SDK resource server whose root PRM names its origin: login accepts it,
  says so in its discovery step and names the broader audience (text and --json);
  doctor's prm.resource says the same.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peers.asgi import serve_asgi
from peers.escape_peer import build_escape_as_app, build_escape_mcp_app, build_origin_prm_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
CONTROL_BYTES = (b"\x1b", b"\x9b", b"\x07", b"\x08", b"\r")


def _cli(tmp_path: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, timeout=120, env=env, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert b"Traceback" not in out, out.decode(errors="replace")
    if code is not None:
        assert proc.returncode == code, out.decode(errors="replace")
    return proc


def _no_control_bytes(proc: subprocess.CompletedProcess) -> bytes:
    out = proc.stdout + proc.stderr
    found = [b for b in CONTROL_BYTES if b in out]
    assert not found, (found, out)
    return out


# --- item 10 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def escape_as():
    with serve_asgi(build_escape_as_app) as base:
        yield base + "/mcp"


@pytest.fixture(scope="module")
def escape_mcp():
    with serve_asgi(build_escape_mcp_app) as base:
        yield base + "/mcp"


def test_an_as_error_description_cannot_drive_the_terminal(tmp_path, escape_as):
    text = _no_control_bytes(_cli(tmp_path, "login", "--server", escape_as, "--no-browser", code=1))
    assert b"refused\\x1b[2J\\x1b[H fake prompt$ \\x9b31m" in text  # shown, visibly escaped
    as_json = _cli(tmp_path, "login", "--server", escape_as, "--no-browser", "--json", code=1)
    _no_control_bytes(as_json)
    doc = json.loads(as_json.stdout)
    assert doc["error"]["remote"]["error_description"].startswith("refused\x1b[2J")  # the value is intact for programs
    _no_control_bytes(_cli(tmp_path, "login", "--server", escape_as, "--grant", "client-credentials", "--authkit-domain", escape_as.rsplit("/", 1)[0], "--client-id", "x", "--client-secret", "y", code=1))


def test_doctor_shows_a_hostile_challenge_without_its_control_bytes(tmp_path, escape_as):
    _no_control_bytes(_cli(tmp_path, "doctor", "--server", escape_as, code=None))
    verbose = _no_control_bytes(_cli(tmp_path, "doctor", "--server", escape_as, "-v", code=None))
    assert b'error_description=\\"no\\x9b2J' in verbose  # the header as evidence, CSI visibly escaped
    _cli(tmp_path, "doctor", "--server", escape_as, "-v", "--format", "text", "--output", str(tmp_path / "report.txt"), code=None)
    written = (tmp_path / "report.txt").read_bytes()
    assert b"\x9b" not in written and b'error_description=\\"no\\x9b2J' in written
    as_json = _cli(tmp_path, "doctor", "--server", escape_as, "--json", code=None)
    _no_control_bytes(as_json)
    header = next(r for r in json.loads(as_json.stdout)["results"] if r["id"] == "challenge.header")["evidence"]["header"]
    assert "no\x9b2J\x9bH fake" in header[0]  # the value itself is intact for programs


def test_tool_names_descriptions_and_results_cannot_drive_the_terminal(tmp_path, escape_mcp):
    listing = _no_control_bytes(_cli(tmp_path, "call", "--server", escape_mcp))
    assert b"Looks innocent.\\x1b[2J" in listing
    result = _no_control_bytes(_cli(tmp_path, "call", "--server", escape_mcp, "--tool", "evil"))
    assert b"result" in result and b"fake prompt$ \\x9b31m" in result
    _no_control_bytes(_cli(tmp_path, "call", "--server", escape_mcp, "--tool", "fails", code=None))
    tools = json.loads(_no_control_bytes(_cli(tmp_path, "call", "--server", escape_mcp, "--json")))
    assert any(t["description"].startswith("Looks innocent.\x1b[2J\x1b[H fake prompt$ \x9b") for t in tools["tools"])
    _no_control_bytes(_cli(tmp_path, "call", "--server", escape_mcp, "--tool", "evil", "--json"))


# --- item 9 ------------------------------------------------------------------------


def test_a_trace_symlink_is_refused_and_its_target_untouched(tmp_path, escape_mcp):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    (tmp_path / "trace.jsonl").symlink_to(victim)
    proc = _cli(tmp_path, "call", "--server", escape_mcp, "--trace", str(tmp_path / "trace.jsonl"), "--json", code=2)
    assert json.loads(proc.stdout)["error"]["code"] == "usage.unsafe-path"
    assert victim.read_text() == "precious\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_an_existing_0644_trace_ends_0600(tmp_path, escape_mcp):
    trace = tmp_path / "trace.jsonl"
    trace.write_text("an old line\n")
    trace.chmod(0o644)
    _cli(tmp_path, "call", "--server", escape_mcp, "--tool", "evil", "--trace", str(trace), "--reveal")
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    assert "an old line" not in trace.read_text() and all(json.loads(line)["url"] for line in trace.read_text().splitlines())


def test_init_never_writes_its_backup_through_a_symlink(tmp_path):
    env = tmp_path / ".env"
    env.write_text("KEEP=1\n")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    now = time.time()
    for dt in range(0, 30):  # the backup name is timestamped to the second: plant the next 30 seconds
        (tmp_path / f".env.bak-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now + dt))}").symlink_to(victim)
    proc = _cli(tmp_path, "init", "--yes", "--no-check", "--authkit-domain", "https://x.authkit.app", "--base-url", "http://127.0.0.1:8000", "--path", "/mcp", "--scopes", "", "-o", str(env), code=2)
    assert b"usage.unsafe-path" in proc.stderr and b"symbolic link" in proc.stderr
    assert victim.read_text() == "precious\n" and env.read_text() == "KEEP=1\n"


# --- item 11 -----------------------------------------------------------------------


def test_plain_http_to_a_dot_localhost_name_is_refused(tmp_path):
    proc = _cli(tmp_path, "login", "--server", "http://app.localhost:8000/mcp", "--json", code=3)
    assert json.loads(proc.stdout)["error"]["code"] == "network.insecure"


# --- item 12 -----------------------------------------------------------------------


def test_login_names_the_broader_audience_of_an_origin_prm(tmp_path, oidc_issuer):
    with serve_asgi(lambda base: build_origin_prm_app(oidc_issuer, base)) as base:
        url = base + "/api/mcp"
        proc = _cli(tmp_path, "login", "--server", url, "--json")
        doc = json.loads(proc.stdout)
        assert doc["resource"] == base and doc["broader_audience"] == base and doc["verified"] is True
        assert doc["claims"]["aud"] == base  # the token really carries the origin
        note = proc.stderr.decode()
        assert f"names {base}, an origin or path prefix of {url}" in note and f"the token's audience will be {base}" in note
        shown = _cli(tmp_path, "token", "show", "--server", url).stdout.decode()
        assert f"resource  {base} (an origin or path prefix of the server URL" in shown
        assert json.loads(_cli(tmp_path, "token", "show", "--server", url, "--json").stdout)["broader_audience"] == base
        report = json.loads(_cli(tmp_path, "doctor", "--server", url, "--json", code=None).stdout)
        prm = next(r for r in report["results"] if r["id"] == "prm.resource")
        assert prm["status"] == "pass" and "broader audience" in prm["message"] and prm["evidence"]["broader_audience"] == [base]


def test_an_exact_prm_has_no_broader_audience(tmp_path, sdk_server):
    doc = json.loads(_cli(tmp_path, "login", "--server", sdk_server, "--json").stdout)
    assert doc["resource"] == sdk_server and doc["broader_audience"] is None
