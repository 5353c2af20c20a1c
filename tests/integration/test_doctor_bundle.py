"""doctor --bundle FILE.zip against real servers: what a vendor needs is in it (the report as JSON and
Markdown, the trace also as HAR 1.2, each metadata document exactly as the server sent it, versions,
the command line, a README), and no secret is: after a real doctor --login against serve's
development AS (the browser leg approved by the test BROWSER), the zip is grepped for the access and
refresh tokens the login stored, the authorization code the browser carried, and the client secret
passed on the command line."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from authkit_mcp_cli.redact import SECRET_FIELDS
from authkit_mcp_cli.reports.bundle import command_line
from peers.asgi import serve_asgi
from peers.broken_server import Faults, build_broken_app
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
SECRET_VALUE = "cs-0123456789-not-for-the-bundle"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(tmp_path / "browser.log"), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def every_byte(path: Path) -> bytes:
    """The zip as stored and each member uncompressed: a secret cannot hide in either."""
    raw = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return raw + b"\n".join(z.read(name) for name in z.namelist())


def stored_secrets(home: Path) -> set[str]:
    """Every token-like string value the login stored (access and refresh tokens, client secrets)."""
    found: set[str] = set()

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and (key in SECRET_FIELDS or re.search("(_token|secret|verifier)$", key)) and len(value) >= 16 and "://" not in value:
            found.add(value)

    for file in home.rglob("*"):
        if file.is_file():
            try:
                walk(json.loads(file.read_text(encoding="utf-8")))
            except ValueError:
                continue
    return found


def test_a_bundle_after_a_real_login_holds_the_evidence_and_no_secret(tmp_path):
    bundle = tmp_path / "evidence.zip"
    with serve_app() as (info, _app):
        proc = run(tmp_path, "--server", info.mcp_url, "--login", "--bundle", str(bundle))
    assert f"Wrote the evidence bundle to {bundle}" in proc.stderr
    secrets = stored_secrets(tmp_path / "home")
    assert any(len(s) > 20 for s in secrets), "the login stored no token: the grep below would prove nothing"
    codes = {c for line in (tmp_path / "browser.log").read_text().splitlines() for c in parse_qs(urlsplit(line).query).get("code", [])}
    assert codes, "the browser carried no authorization code"
    data = every_byte(bundle)
    leaked = [s[:6] + "…" for s in secrets | codes if s.encode() in data]
    assert leaked == []
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        report = json.loads(z.read("report.json"))
        har = json.loads(z.read("trace.har"))
        trace = [json.loads(line) for line in z.read("trace.jsonl").decode().splitlines()]
        assert names[0] == "README.txt" and "report.md" in names and "versions.json" in names and "command.txt" in names
        assert {r["id"]: r["status"] for r in report["results"]}["token.obtained"] == "pass"
        assert har["log"]["version"] == "1.2" and len(har["log"]["entries"]) == len(trace) > 5
        token_requests = [e for e in har["log"]["entries"] if e["request"]["method"] == "POST" and "grant_type=" in (e["request"].get("postData") or {}).get("text", "")]
        assert any("code_verifier=%5Bredacted" in e["request"]["postData"]["text"] for e in token_requests)  # the code and verifier are there, masked
        assert all("%5Bredacted" in e["request"]["postData"]["text"] for e in token_requests)
        assert "--login" in z.read("command.txt").decode()
        assert json.loads(z.read("versions.json"))["atoms-auth"]


def test_a_bundle_keeps_each_metadata_document_exactly_as_fetched(tmp_path):
    bundle = tmp_path / "b.zip"
    with serve_asgi(lambda base: build_broken_app(base, Faults(no_pkce=True))) as base:
        proc = run(tmp_path, "--server", base + "/api/mcp", "--bundle", str(bundle), "--format", "json")
        import httpx

        prm_url = base + "/.well-known/oauth-protected-resource/api/mcp"
        as_url = base + "/.well-known/oauth-authorization-server/as"
        live = {prm_url: httpx.get(prm_url).content, as_url: httpx.get(as_url).content}
    assert proc.returncode == 1 and json.loads(proc.stdout)["schema"] == 1  # stdout is still the report asked for
    with zipfile.ZipFile(bundle) as z:
        index = json.loads(z.read("metadata/index.json"))
        by_url = {d["url"]: z.read(d["file"]) for d in index}
        assert all(d["as_fetched"] for d in index) and len(by_url) == len(index)  # each URL once
        for url, body in live.items():
            assert by_url[url] == body  # byte for byte
        readme = z.read("README.txt").decode()
        assert "exactly as fetched" in readme and f"Server: {base}/api/mcp" in readme and "Exit code: 1" in readme
        assert "as.pkce" in z.read("report.md").decode()


def test_the_command_line_loses_every_secret():
    argv = ["atoms-auth", "doctor", "--client-secret", SECRET_VALUE, "--token=tok-123456789", "--server", "https://user:pw@host/mcp?access_token=at-123456789&x=1", "--fail-on", "warn"]
    line = command_line(argv)
    for secret in (SECRET_VALUE, "tok-123456789", "pw@", "at-123456789"):
        assert secret not in line
    assert "--client-secret '[redacted]'" in line and "--fail-on warn" in line and "https://host/mcp?" in line and "x=1" in line
