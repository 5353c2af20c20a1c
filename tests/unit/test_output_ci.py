"""Output that survives CI (issue 15 item 1): into pipes nothing is wrapped or
padded, whatever COLUMNS says; on a terminal (a pseudo-terminal here) rich
lays the report out at the terminal's width. doctor -v shows evidence as
indented JSON under each result."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import time

LONG_PATH = "/mcp/" + "very-long-segment-" * 11  # a URL of about 220 characters
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMCP_", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM"))}
    return {**base, **extra}


def run_piped(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, env=env(**extra), timeout=60)


def test_piped_output_is_never_wrapped_nor_padded():
    url = f"http://127.0.0.1:{closed_port()}{LONG_PATH}"
    assert len(url) > 200
    for extra in ({}, {"COLUMNS": "40"}):  # COLUMNS sets a terminal's width; a pipe's lines stay whole
        run = run_piped("doctor", "--server", url, "--timeout", "3", **extra)
        assert run.returncode == 3
        for stream in (run.stdout, run.stderr):
            for line in stream.splitlines():
                assert line == line.rstrip(), f"padded line: {line!r}"
        lines = run.stdout.splitlines()
        assert any(url in line for line in lines), "the URL was cut in two"
        assert lines[0] == f"MCP server           {url}"
        assert "\x1b[" not in run.stdout  # no styling into a pipe


def test_piped_tables_are_one_line_per_row():
    run = run_piped("doctor", "--list-checks")
    assert run.returncode == 0
    from authkit_mcp_cli.checks.catalogue import CATALOGUE

    rows = [line for line in run.stdout.splitlines() if line.split(" ", 1)[0] in {c.id for c in CATALOGUE}]
    assert len(rows) == len(CATALOGUE)  # a title never continues on a second line
    for row in rows:
        assert row == row.rstrip()


def test_verbose_evidence_is_indented_readable_json_under_the_result():
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    run = run_piped("doctor", "--server", url, "--timeout", "3", "-v", "--check", "server.reachable")
    lines = run.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL   server.reachable"))
    block = []
    for line in lines[at + 1 :]:
        if line.startswith("       {") or block:
            block.append(line)
            if line == "       }":
                break
    assert block, run.stdout
    evidence = json.loads("\n".join(block))  # the block is JSON as printed, one key per line
    assert evidence["response"]["request"] == f"POST {url}"
    assert any(line.startswith('         "response": {') for line in block)


def run_in_pty(args: list[str], *, columns: int, timeout: float = 60) -> str:
    """Run the CLI on a pseudo-terminal of ``columns`` columns; its whole output, ANSI removed."""
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", *args], stdin=follower, stdout=follower, stderr=follower, env=env(TERM="xterm-256color"), close_fds=True)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        os.close(leader)
    return ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r", "")


def test_on_a_terminal_the_report_is_laid_out_at_the_terminal_width():
    url = f"http://127.0.0.1:{closed_port()}{LONG_PATH}"
    out = run_in_pty(["doctor", "--server", url, "--timeout", "3"], columns=100)
    lines = out.splitlines()
    assert any(line.startswith("Root cause (server.reachable)") for line in lines), out
    table = [line for line in lines if line.startswith(("FAIL  ", "SKIP  ", "PASS  ", " " * 20))]
    assert table and max(len(line) for line in table) <= 100  # the tables are laid out at the terminal's width
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL  server.reachable"))
    assert lines[at + 1].strip().startswith("(is the server running")  # the finding folds inside its column
    # lines outside the tables (the target, the root cause) are left to the terminal to wrap: a URL stays one string to copy
    assert any(url in line for line in lines)
    assert "Summary:" in out


def test_on_a_terminal_verbose_evidence_is_indented_json_under_its_result():
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    out = run_in_pty(["doctor", "--server", url, "--timeout", "3", "-v", "--check", "server.reachable", "--check", "server.https"], columns=80)
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL   server.reachable"))
    assert lines[at + 1].strip().startswith("fix: Start the server")
    assert lines[at + 2] == "       {" and lines[at + 3] == '         "response": {'
    assert lines[at + 4] == f'           "request": "POST {url}",'


def test_help_is_not_wrapped_into_a_pipe_and_honours_columns():
    """click wraps --help at 80 columns whatever the output (issue #15 §1)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    piped = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--help"], capture_output=True, text=True, env=env, timeout=60).stdout
    summary = next(line for line in piped.splitlines() if "Log in to an MCP server" in line)
    assert summary.rstrip().endswith("token, proof."), summary  # the paragraph on one line
    assert not any(line != line.rstrip() for line in piped.splitlines())
    narrow = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--help"], capture_output=True, text=True, env={**env, "COLUMNS": "60"}, timeout=60).stdout
    examples = narrow.split("Examples:")[1].split("Exit codes:")[0].splitlines()  # command lines are shown whole, to copy
    long_lines = [line for line in narrow.splitlines() if len(line) > 60 and " " in line.strip()[:60] and line not in examples]
    assert len(long_lines) <= 3, long_lines  # only unbreakable words (URLs, variable names) may overflow


def test_help_into_a_pager_keeps_the_terminals_width():
    """Issue #24 item 12: `atoms-auth login --help | less`: stdout is a pipe, the terminal (stderr) is 70 wide."""
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 70, 0, 0))
    try:
        piped = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--help"], stdout=subprocess.PIPE, stderr=follower, text=True, env=env(), timeout=60).stdout
    finally:
        os.close(follower)
        os.close(leader)
    examples = piped.split("Examples:")[1].split("Exit codes:")[0].splitlines()
    long_lines = [line for line in piped.splitlines() if len(line) > 70 and " " in line.strip()[:70] and line not in examples]
    assert len(long_lines) <= 3, long_lines
    assert any(len(line) > 60 for line in piped.splitlines())  # laid out at the width, not at 40
