"""`atoms-auth init` without a terminal (issue #15 item 9): every missing flag in one error, URLs
validated even with --no-check, --json prints what was written (never the API key), and the exit
codes its --help names. Subprocesses with stdin from /dev/null or a pipe; no network (--no-check)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from authkit_mcp_cli.errors import COMMAND_EXIT_CODES

pytestmark = pytest.mark.integration
DOMAIN = "https://decent-hymn-17.authkit.app"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMCP_", "ATOMS_", "WORKOS_"))}


def init(tmp_path, *args, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "authkit_mcp_cli", "init", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        env={**CLEAN_ENV, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in COMMAND_EXIT_CODES["init"], proc.returncode  # only codes its --help names
    return proc


def test_every_missing_flag_in_one_error(tmp_path):
    proc = init(tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    first, fix, code = proc.stderr.splitlines()
    assert first == "error: Without a terminal to ask on, init needs --authkit-domain, --base-url, --path, --scopes."
    assert fix.startswith("fix: Pass --authkit-domain https://your-env.authkit.app --base-url https://mcp.example.com --path /api/mcp --scopes ''")
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN" in fix and "--yes takes the defaults of --base-url, --path, --scopes" in fix
    assert code == "code: usage.missing-options"
    assert not (tmp_path / ".env").exists()


def test_yes_leaves_only_the_flag_without_a_default(tmp_path):
    proc = init(tmp_path, "--yes", "--no-check")
    assert proc.returncode == 2 and "init needs --authkit-domain." in proc.stderr and "--yes takes" not in proc.stderr


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--authkit-domain", f"{DOMAIN}{DOMAIN}", "holds a URL twice"),
        ("--authkit-domain", "https://decent-hymn-17.authkit.app.decent-hymn-17.authkit.app", "holds a URL twice"),
        ("--authkit-domain", f"{DOMAIN}/oauth2/authorize", "must be an origin"),
        ("--authkit-domain", "decent hymn.authkit.app", "not an absolute http(s) URL"),
        ("--base-url", "https://mcp.example.com/api/mcp", "the endpoint path goes in --path"),
        ("--base-url", "https://mcp.example.comhttps://mcp.example.com", "holds a URL twice"),
    ],
)
def test_urls_are_validated_even_with_no_check(tmp_path, flag, value, said):
    args = {"--authkit-domain": DOMAIN, "--base-url": "https://mcp.example.com", flag: value}
    proc = init(tmp_path, *[x for kv in args.items() for x in kv], "--path", "/api/mcp", "--scopes", "", "--no-check")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and said in proc.stderr.splitlines()[0] and "code: usage.invalid-url" in proc.stderr
    assert not (tmp_path / ".env").exists()


def test_json_prints_what_was_written_never_the_api_key(tmp_path):
    key = "sk_test_never_printed_0123456789"
    proc = init(tmp_path, "--authkit-domain", DOMAIN, "--base-url", "https://mcp.example.com/", "--yes", "--no-check", "--json", "--workos-api-key", "-", stdin=key + "\n")
    assert proc.returncode == 0, proc.stderr
    assert key not in proc.stdout + proc.stderr and "shell history" not in proc.stderr  # read from stdin: no warning
    doc = json.loads(proc.stdout)
    assert doc["written"] == ".env" and doc["backup"] is None and doc["check"] is None
    assert doc["values"] == {
        "FASTMCP_SERVER_AUTH": "fastmcp.server.auth.providers.workos.AuthKitProvider",
        "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN": DOMAIN,
        "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL": "https://mcp.example.com",
        "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_REQUIRED_SCOPES": "",
        "ATOMS_FASTMCP_HTTP_PATH": "/api/mcp",
        "WORKOS_API_KEY": "(set, not shown)",
    }
    assert doc["resource"] == "https://mcp.example.com/api/mcp" and any("add exactly https://mcp.example.com/api/mcp" in s for s in doc["next_steps"])
    assert f"WORKOS_API_KEY={key}\n" in (tmp_path / ".env").read_text()


def test_the_api_key_from_the_environment_and_a_literal_one_is_warned_about(tmp_path):
    from_env = init(tmp_path, "--authkit-domain", DOMAIN, "--yes", "--no-check", env={"WORKOS_API_KEY": "sk_test_from_env_0123"})
    assert from_env.returncode == 0 and "warning" not in from_env.stderr
    assert "WORKOS_API_KEY=sk_test_from_env_0123\n" in (tmp_path / ".env").read_text() and "sk_test_from_env" not in from_env.stdout
    literal = init(tmp_path, "--authkit-domain", DOMAIN, "--yes", "--no-check", "--workos-api-key", "sk_test_literal_0123")
    assert literal.returncode == 0
    assert literal.stderr.startswith("warning: --workos-api-key was given on the command line, where it may stay in your shell history")
    assert "WORKOS_API_KEY, or pass --workos-api-key -" in literal.stderr and "sk_test_literal" not in literal.stdout + literal.stderr


def test_a_declined_overwrite_without_yes_is_a_usage_error_and_keeps_the_file(tmp_path):
    (tmp_path / ".env").write_text("KEEP=1\n")
    proc = init(tmp_path, "--authkit-domain", DOMAIN, "--base-url", "https://mcp.example.com", "--path", "/api/mcp", "--scopes", "", "--no-check")
    assert proc.returncode == 2 and "--yes" in proc.stderr
    assert (tmp_path / ".env").read_text() == "KEEP=1\n"


def test_a_bare_authkit_domain_is_taken_as_https(tmp_path):
    """Issue #24 item 14: the dashboard shows name.authkit.app; typed as shown, it is https://name.authkit.app."""
    proc = init(tmp_path, "--authkit-domain", "decent-hymn-17.authkit.app", "--base-url", "https://mcp.example.com", "--path", "/api/mcp", "--scopes", "", "--no-check", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["values"]["FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN"] == "https://decent-hymn-17.authkit.app"


def test_an_unreachable_domain_shows_why(tmp_path):
    """Issue #24 item 14: offline, the check says the cause (here a refused connection; DNS alike), not only 'could not be reached'."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = init(tmp_path, "--authkit-domain", f"http://127.0.0.1:{port}", "--base-url", "https://mcp.example.com", "--path", "/api/mcp", "--scopes", "")
    assert proc.returncode == 1, proc.stderr
    assert f"connection to 127.0.0.1:{port} refused" in proc.stdout + proc.stderr
