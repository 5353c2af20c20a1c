"""The client commands stay thin: shared options are declared once in
commands/options.py, choices are Literal types that typer validates, and
shared helpers live in commands/_client.py (no command imports another)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from authkit_mcp_cli.cli import app

COMMANDS = Path(__file__).resolve().parents[2] / "src" / "authkit_mcp_cli" / "commands"
CLIENT_COMMANDS = ("login", "call", "token", "logout", "register")


@pytest.mark.parametrize(("args", "option"), [(["login", "--wire", "bogus"], "--wire"), (["call", "--wire", "bogus"], "--wire"), (["register", "--auth-method", "secret"], "--auth-method"), (["register", "--application-type", "desktop"], "--application-type")])
def test_choices_are_validated_by_typer(args, option, tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMS_AUTH_HOME", str(tmp_path))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output


def test_option_declarations_live_once_in_options():
    for flag in ('"--timeout"', '"--http-timeout"', '"--wait"', '"--wire"', '"--no-browser"', '"--private-key"'):  # serve's --port is another option
        declared = [p.name for p in COMMANDS.glob("*.py") if flag in p.read_text(encoding="utf-8")]
        assert declared == ["options.py"], (flag, declared)


@pytest.mark.parametrize("command", [["login"], ["call"], ["register"], ["logout"], ["token", "refresh"], ["doctor"], ["init"]])
def test_timeout_is_the_http_deadline_in_every_command(command):
    help_text = " ".join(CliRunner().invoke(app, [*command, "--help"], terminal_width=200).output.split())
    assert "--timeout SECONDS Deadline for each HTTP request" in help_text
    assert "--http-timeout" not in help_text  # the deprecated name is hidden


@pytest.mark.parametrize("command", ["login", "call", "doctor"])
def test_the_wait_for_the_user_is_wait(command):
    help_text = " ".join(CliRunner().invoke(app, [command, "--help"], terminal_width=200).output.split())
    assert "--wait SECONDS Seconds to wait for the sign-in" in help_text


def test_no_command_imports_another_command():
    for name in CLIENT_COMMANDS:
        tree = ast.parse((COMMANDS / f"{name}.py").read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        others = {m for m in imported if m.startswith("authkit_mcp_cli.commands.") and m.rsplit(".", 1)[1] in CLIENT_COMMANDS}
        assert not others, (name, others)


@pytest.mark.parametrize(
    ("command", "args", "missing"),
    [
        (["login"], ["--grant", "client-credentials", "--client-id", "x"], "--client-secret"),
        (["login"], ["--grant", "jwt-bearer"], "--assertion"),
        (["call", "--login"], ["--grant", "jwt-bearer"], "--assertion"),
    ],
)
def test_grant_option_errors_come_before_any_request(command, args, missing, tmp_path, monkeypatch):
    """A server that is not even listening: the usage error (exit 2) must win over the network (exit 3)."""
    monkeypatch.setenv("ATOMS_AUTH_HOME", str(tmp_path))
    result = CliRunner().invoke(app, [*command, "--server", "http://127.0.0.1:9/api/mcp", *args])
    assert result.exit_code == 2, result.output
    assert missing in result.stderr and "code: usage." in result.stderr
