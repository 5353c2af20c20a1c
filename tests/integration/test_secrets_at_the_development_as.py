"""Secrets off the command line (issue #15 item 10): --client-secret from the environment
(ATOMS_AUTH_CLIENT_SECRET), from stdin with -, or a hidden prompt on a terminal; a literal one
works but is warned about on stderr (shell history). Against serve's development AS with the
client credentials grant (RFC 6749 §4.4), so the secret really authenticates the client."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import httpx
import pytest

from peers.pty_child import end_child
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMCP_", "ATOMS_", "WORKOS_"))}


@pytest.fixture(scope="module")
def served():
    with serve_app() as (info, app):
        registration = app.state.local_as.metadata()["registration_endpoint"]
        response = httpx.post(registration, json={"client_name": "ci job", "grant_types": ["client_credentials"]}, timeout=10)
        assert response.status_code == 201, response.text
        yield info, response.json()


def login(tmp_path, served, secret_args, *, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    info, client = served
    args = ["login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], *secret_args, "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "authkit_mcp_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        cwd=tmp_path,
        env={**CLEAN_ENV, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _logged_in(proc, client) -> None:
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["claims"]["sub"] == client["client_id"]
    assert client["client_secret"] not in proc.stdout + proc.stderr


def test_secret_from_stdin_with_dash(tmp_path, served):
    proc = login(tmp_path, served, ["--client-secret", "-"], stdin=served[1]["client_secret"] + "\n")
    _logged_in(proc, served[1])
    assert "warning" not in proc.stderr


def test_secret_from_the_environment(tmp_path, served):
    proc = login(tmp_path, served, [], env={"ATOMS_AUTH_CLIENT_SECRET": served[1]["client_secret"]})
    _logged_in(proc, served[1])
    assert "warning" not in proc.stderr


def test_a_literal_secret_works_and_is_warned_about(tmp_path, served):
    info, client = served
    args = ["login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--client-secret", client["client_secret"], "--json"]
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=tmp_path, env={**CLEAN_ENV, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    warning = proc.stderr.splitlines()[0]
    assert warning.startswith("warning: --client-secret was given on the command line, where it may stay in your shell history")
    assert "set ATOMS_AUTH_CLIENT_SECRET, or pass --client-secret - to read it from stdin" in warning
    assert client["client_secret"] not in proc.stderr


def test_dash_with_nothing_on_stdin_is_a_usage_error(tmp_path, served):
    proc = login(tmp_path, served, ["--client-secret", "-"], stdin="")
    assert proc.returncode == 2 and proc.stdout.count('"code": "usage.secret-missing"') == 1  # --json: the error document


def test_a_wrong_secret_from_stdin_is_refused_by_the_as(tmp_path, served):
    proc = login(tmp_path, served, ["--client-secret", "-"], stdin="not-the-secret\n")
    assert proc.returncode == 1 and json.loads(proc.stdout)["error"]["remote"]["error"] == "invalid_client"


def test_dash_on_a_terminal_is_a_hidden_prompt(tmp_path, served):
    info, client = served
    pid, fd = pty.fork()
    if pid == 0:  # the child: atoms-auth login on a terminal
        os.chdir(tmp_path)
        os.environ.clear()
        os.environ.update({**CLEAN_ENV, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"})
        os.execv(sys.executable, [sys.executable, "-m", "authkit_mcp_cli", "login", "--server", info.mcp_url, "--grant", "client-credentials", "--authkit-domain", info.issuer, "--client-id", client["client_id"], "--client-secret", "-", "--json"])
    screen, sent = b"", False
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
            if not sent and b"--client-secret (input hidden): " in screen:
                os.write(fd, client["client_secret"].encode() + b"\r")
                sent = True
    finally:
        code = end_child(pid, fd)  # killed if it outlives the deadline: a hang fails, it does not block the run
    text = screen.decode("utf-8", "replace")
    assert sent and code == 0, text[-2000:]
    assert client["client_secret"] not in text  # not echoed, not printed
    assert '"logged_in": true' in text
