"""`atoms-auth init`: from flags without a terminal, and interactively through
a pseudo-terminal (questionary prompts answered by keystrokes)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from peers.pty_child import end_child

pytestmark = pytest.mark.integration


def run(args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "init", *args], cwd=cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}, **kw)


def test_flags_without_a_terminal(oidc_issuer, tmp_path):
    (tmp_path / ".env").write_text("# mine\nOTHER=keep\nATOMS_FASTMCP_HTTP_PATH=/old\n")
    missing = run(["--authkit-domain", oidc_issuer], tmp_path)
    assert missing.returncode == 2 and "--base-url" in missing.stderr and "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL" in missing.stderr
    refused = run(["--authkit-domain", oidc_issuer, "--base-url", "https://mcp.example.com", "--path", "/mcp", "--scopes", "openid,email"], tmp_path)
    assert refused.returncode == 2 and "--yes" in refused.stderr  # an existing file is not overwritten without confirmation
    ok = run(["--authkit-domain", oidc_issuer, "--base-url", "https://mcp.example.com/", "--path", "/mcp", "--scopes", "openid,email", "--workos-api-key", "sk_test_hidden", "--yes"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    text = (tmp_path / ".env").read_text()
    assert "# mine\nOTHER=keep\nATOMS_FASTMCP_HTTP_PATH=/mcp\n" in text
    assert f"FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN={oidc_issuer}\n" in text
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL=https://mcp.example.com\n" in text
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_REQUIRED_SCOPES=openid,email\n" in text
    assert "WORKOS_API_KEY=sk_test_hidden" in text and "sk_test_hidden" not in ok.stdout + ok.stderr
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    backups = list(tmp_path.glob(".env.bak-*"))
    assert len(backups) == 1 and "ATOMS_FASTMCP_HTTP_PATH=/old" in backups[0].read_text()
    assert "add exactly https://mcp.example.com/mcp" in ok.stdout  # init is the AuthKit setup: its dashboard steps
    assert re.search(r"Checked http://127\.0\.0\.1:\d+: \d+ passed, 0 warnings, 0 failed\.", ok.stdout), ok.stdout  # every as.* check and authkit.domain


def test_unreachable_domain_is_not_written_without_confirmation(tmp_path):
    proc = run(["--authkit-domain", "http://127.0.0.1:9", "--base-url", "https://mcp.example.com", "--path", "/mcp", "--scopes", "", "--timeout", "2"], tmp_path)
    assert proc.returncode == 1 and "as.discovery" in proc.stdout and "--no-check" in proc.stderr  # init's help: 1 the domain check failed
    assert proc.stderr.startswith("error: The AuthKit domain check failed") and "code: init.check-failed" in proc.stderr
    assert not (tmp_path / ".env").exists()


def _interact(cwd, answers, timeout=40):
    pid, fd = pty.fork()
    if pid == 0:  # the child: atoms-auth init on a terminal
        os.chdir(cwd)
        os.environ.update({"NO_COLOR": "1", "TERM": "xterm", "COLUMNS": "120", "LINES": "40"})
        os.execv(sys.executable, [sys.executable, "-m", "authkit_mcp_cli", "init", "--no-check"])
    screen = b""
    try:
        pending = list(answers)
        deadline = time.monotonic() + timeout
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
                if b"\x1b[6n" in chunk:  # prompt_toolkit asks where the cursor is
                    os.write(fd, b"\x1b[1;1R")
            if pending and pending[0][0].encode() in screen.split(b"\x1b[?25h")[-1] + screen[-400:]:
                _, keys = pending.pop(0)
                time.sleep(0.15)
                os.write(fd, keys)
    finally:
        code = end_child(pid, fd)  # killed if it outlives the deadline: a hang fails, it does not block the run
    assert code is not None, f"init did not exit: {screen[-2000:]!r}"
    return code, screen.decode("utf-8", "replace")


def test_interactive_prompts_in_a_pseudo_terminal(tmp_path):
    answers = [
        ("AuthKit domain", b"https://decent-hymn-17.authkit.app\r"),
        ("public URL", b"\x15https://mcp.example.com\r"),  # Ctrl-U clears the default first
        ("endpoint path", b"\r"),  # accept /api/mcp
        ("Required scopes", b"openid,profile,email\r"),
    ]
    code, screen = _interact(tmp_path, answers)
    assert code == 0, screen[-2000:]
    text = (tmp_path / ".env").read_text()
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=https://decent-hymn-17.authkit.app" in text
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL=https://mcp.example.com" in text
    assert "ATOMS_FASTMCP_HTTP_PATH=/api/mcp" in text and "REQUIRED_SCOPES=openid,profile,email" in text


def test_ctrl_c_at_a_prompt_exits_130_quietly(tmp_path):
    code, screen = _interact(tmp_path, [("AuthKit domain", b"\x03")])
    assert code == 130
    assert "Traceback" not in screen and not (tmp_path / ".env").exists()


def test_a_prefilled_default_is_replaced_not_appended_to(tmp_path):
    """The .env's values are offered as defaults; typing an answer replaces the default (a placeholder),
    it is not appended to it (which gave https://old.authkit.apphttps://new.authkit.app)."""
    (tmp_path / ".env").write_text("FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=https://old-env.authkit.app\nATOMS_FASTMCP_HTTP_PATH=/old\n")
    answers = [
        ("AuthKit domain", b"https://new-env.authkit.app\r"),  # typed straight away: no Ctrl-U
        ("public URL", b"https://mcp.example.com\r"),
        ("endpoint path", b"\r"),  # empty: the default shown (/old) is taken
        ("Required scopes", b"\r"),
        ("exists", b"y"),
    ]
    code, screen = _interact(tmp_path, answers)
    assert code == 0, screen[-2000:]
    text = (tmp_path / ".env").read_text()
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=https://new-env.authkit.app\n" in text
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL=https://mcp.example.com\n" in text and "ATOMS_FASTMCP_HTTP_PATH=/old\n" in text
    assert "old-env" not in text.split("FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=")[-1].splitlines()[0]
