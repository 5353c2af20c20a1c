"""Waits that talk (issue 15 item 3), against serve's development AS: a login
that cannot open a browser and has no terminal ends at once (exit 5, the URL
to open); on a terminal (a pseudo-terminal) the wait shows a countdown and how
to finish without a browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit"))
from test_output_ci import run_in_pty  # noqa: E402


@pytest.fixture
def local():
    with serve_app(auto_approve=False) as (info, _app):
        yield info


def login_env(tmp_path, browser: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "COLUMNS") and not k.startswith("FASTMCP_")}
    return {**env, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": browser, "NO_COLOR": "1"}


def test_no_browser_and_no_terminal_ends_at_once_with_the_url(local, tmp_path):
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "authkit_mcp_cli", "login", "--server", local.mcp_url, "--wait", "300"],
        stdin=subprocess.DEVNULL,  # not a terminal
        capture_output=True,
        text=True,
        timeout=60,
        env=login_env(tmp_path, "false"),  # a BROWSER command that fails: no browser opens
        cwd=tmp_path,
    )
    took = time.monotonic() - started
    assert run.returncode == 5, run.stdout + run.stderr
    assert took < 20, f"waited {took:.0f} s"
    assert "Traceback" not in run.stderr
    assert "no browser could be opened" in run.stderr.lower()
    assert "open the URL above yourself" not in run.stderr  # no advice that the exit right after contradicts (issue #24 item 5)
    url = re.search(r"nobody can sign in at (http://\S+)", run.stderr)
    assert url and "/authorize?" in url.group(1) and "code_challenge=" in url.group(1), run.stderr
    assert "--no-browser" in run.stderr  # how to finish without a browser
    assert "login.no-browser" in run.stderr or "error:" in run.stderr


def test_a_browser_that_opened_keeps_the_wait_without_a_terminal(local, tmp_path):
    """BROWSER=true 'opens' a browser that never signs in: the wait lasts --wait, then exit 5 as before."""
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "authkit_mcp_cli", "login", "--server", local.mcp_url, "--wait", "3"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=login_env(tmp_path, "true"),
        cwd=tmp_path,
    )
    assert run.returncode == 5, run.stdout + run.stderr
    assert time.monotonic() - started >= 3
    assert "No authorization response within 3 s" in run.stderr and "--no-browser and paste" in run.stderr
    assert "Waiting for the sign-in" not in run.stderr  # no spinner frames into a pipe


def test_on_a_terminal_the_wait_shows_the_time_left_and_the_way_without_a_browser(local, tmp_path, monkeypatch):
    for name, value in login_env(tmp_path, "true").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    out = run_in_pty(["login", "--server", local.mcp_url, "--wait", "4"], columns=160)
    assert re.search(r"Waiting for the sign-in in the browser · 0:0[1-4] left", out), out
    assert "--no-browser" in out
    assert "No authorization response within 4 s" in out


def test_on_a_terminal_the_device_wait_shows_the_code_and_the_time_left(tmp_path, monkeypatch):
    """oidc-provider's device flow (RFC 8628); nobody approves: a countdown, then exit 5 (login.device-expired)."""
    from peers.oidc_as import PeerMissing, run_oidc_as

    try:
        oidc = run_oidc_as(env={"DEVICE_FLOW": "1", "RESOURCE_SCOPES": "mcp:tools"})
        issuer = oidc.__enter__()
    except PeerMissing as exc:
        pytest.fail(str(exc))
    try:
        with serve_app(authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
            for name, value in login_env(tmp_path, "false").items():
                monkeypatch.setenv(name, value)
            monkeypatch.chdir(tmp_path)
            out = run_in_pty(["login", "--grant", "device-code", "--server", info.mcp_url, "--wait", "8"], columns=200)
    finally:
        oidc.__exit__(None, None, None)
    code = re.search(r"enter the code (\S+)", out)
    assert code, out
    assert re.search(rf"Waiting for approval at http://127\.0\.0\.1:\d+/device \(code {re.escape(code.group(1))}\) · 0:0[1-8] left", out), out
    assert "login.device-expired" in out


def test_on_a_terminal_no_browser_asks_for_the_pasted_url_while_the_time_runs(local, tmp_path, monkeypatch):
    for name, value in login_env(tmp_path, "false").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    out = run_in_pty(["login", "--server", local.mcp_url, "--no-browser", "--wait", "3"], columns=200)
    assert "paste the final redirect URL from the browser's address bar here" in out, out
    assert re.search(r"Waiting for the sign-in in the browser · 0:0[1-3] left · paste the redirect URL, or Ctrl-C", out), out
    assert "no browser could be opened" not in out  # none was tried
    assert "No authorization response within 3 s" in out
