"""Issue #24 item 9: -V, --color, and an Examples section in every command's help whose options exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from authkit_mcp_cli.commands._examples import EXAMPLES


def atoms(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200", **(env or {})})


@pytest.mark.parametrize("command", sorted(EXAMPLES))
def test_every_command_help_has_examples_that_use_only_its_options(command):
    proc = atoms(*command.split(), "--help")
    assert proc.returncode == 0, proc.stderr
    help_text = proc.stdout
    assert "Examples:" in help_text
    options = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", help_text.split("Examples:")[0]))
    for line, _what in EXAMPLES[command]:
        assert line in help_text  # shown whole, not re-wrapped
        typed = line[line.index("atoms-auth") :].split(")")[0]
        assert typed.startswith(f"atoms-auth {command}")
        for flag in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", typed):
            assert flag in options, f"{command}: example uses {flag}, which its --help does not list"


def test_every_command_has_examples():
    from authkit_mcp_cli.cli import app

    names = {c.callback.__name__ for c in app.registered_commands if c.callback}
    assert names <= set(EXAMPLES)


def test_dash_capital_v_prints_the_version():
    from authkit_mcp_cli._version import __version__

    assert atoms("-V").stdout == f"atoms-auth {__version__}\n"


@pytest.mark.parametrize(("choice", "coloured"), [("always", True), ("never", False), ("auto", False)])
def test_color_choice_decides_over_the_pipe(choice, coloured):
    """Into a pipe, auto means no colour; always colours anyway (e.g. for less -R); never wins over FORCE_COLOR."""
    import socket

    with socket.socket() as s:  # a port nothing listens on: doctor's report has a red FAIL at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = atoms("--color", choice, "doctor", "--server", f"http://127.0.0.1:{port}/mcp", env={"FORCE_COLOR": "1"} if choice == "never" else {})
    assert proc.returncode == 3, proc.stderr
    assert ("\x1b[" in proc.stdout) is coloured
