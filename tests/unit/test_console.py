"""The consoles take their width from the terminal only when there is one
(COLUMNS honoured), so piped output keeps URLs and lines whole; text from a
remote is escaped before it is printed."""

from __future__ import annotations

import io

import pytest

from authkit_mcp_cli.console import NO_WRAP_WIDTH, make_console
from authkit_mcp_cli.safe_text import bounded, escape_control, excerpt

LONG_URL = "https://example.com/" + "a" * 200


@pytest.fixture
def no_tty(monkeypatch):
    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def capture(console) -> io.StringIO:
    buffer = io.StringIO()
    console.file = buffer
    return buffer


@pytest.mark.parametrize("stderr", [False, True])
def test_a_pipe_is_not_wrapped_at_80_columns(no_tty, stderr):
    console = make_console(stderr=stderr)
    assert not console.is_terminal and console.width == NO_WRAP_WIDTH
    out = capture(console)
    console.print(f"error: {LONG_URL} refused")
    assert out.getvalue() == f"error: {LONG_URL} refused\n"


def test_columns_is_honoured_when_set(no_tty, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    assert make_console().width == 50
    monkeypatch.setenv("COLUMNS", "not-a-number")
    assert make_console().width == NO_WRAP_WIDTH


def test_a_terminal_keeps_its_own_width(no_tty, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    console = make_console()
    assert console.is_terminal and console.width != NO_WRAP_WIDTH


def test_doctor_into_a_pipe_prints_aligned_lines_without_padding(no_tty):
    from authkit_mcp_cli.checks.catalogue import CATALOGUE
    from authkit_mcp_cli.checks.model import Result, Status
    from authkit_mcp_cli.reports.text import render

    checks = [c for c in CATALOGUE if c.area == "prm"][:2]
    results = [Result(checks[0], Status.FAIL, f"Not found at {LONG_URL}", "Serve it.", {}), Result(checks[1], Status.PASS, "ok", None, {})]
    console = make_console()
    out = capture(console)
    render(console, results, server=LONG_URL, authorization_server=None)
    lines = out.getvalue().splitlines()
    assert f"MCP server           {LONG_URL}" in lines
    assert all(line == line.rstrip() for line in lines)
    failing = next(line for line in lines if line.startswith("FAIL"))
    assert failing.endswith(f"Not found at {LONG_URL}")
    fix = lines[lines.index(failing) + 1]
    assert fix.strip() == "fix: Serve it." and len(fix) - len(fix.lstrip()) == failing.index("Not found")


def test_remote_text_is_escaped_and_bounded():
    assert escape_control("red \x1b[31m bell \x07 nl \n tab \t del \x7f c1 \x9b ls \u2028") == "red \\x1b[31m bell \\x07 nl \\n tab \\t del \\x7f c1 \\x9b ls \\u2028"
    assert escape_control("a\nb", keep_newlines=True) == "a\nb"
    assert bounded("x" * 10, 4) == "xxxx… (6 more characters)"
    assert excerpt(b'{"error":\n  "server_error"}\x1b[2J') == '{"error": "server_error"}\\x1b[2J'
    assert excerpt(b"") == "(empty body)" and excerpt(b"\xff\xfe") == "\ufffd\ufffd"


def test_a_server_log_notification_becomes_one_escaped_line():
    from types import SimpleNamespace

    from authkit_mcp_cli.mcp_wire import log_line

    line = log_line(SimpleNamespace(level="warning", logger="db\x1b[2J", data="two\nlines \x1b]0;title\x07"))
    assert str(line) == "warning [db\\x1b[2J] two\\nlines \\x1b]0;title\\x07"
    assert str(log_line(SimpleNamespace(level="info", logger=None, data={"rows": 3, "note": "é"}))) == 'info {"rows": 3, "note": "é"}'
