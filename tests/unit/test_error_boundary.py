"""The error boundary inside the Typer app: codes, the --json error document, exit 70 for bugs."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from authkit_mcp_cli import store
from authkit_mcp_cli.cli import app
from authkit_mcp_cli.commands._json_error import error_document
from authkit_mcp_cli.errors import AtomsAuthError, AuthChallenge, ChallengeParseError, ExitCode, NetworkError, ProtocolError, RemoteDetail, RemoteRefused

runner = CliRunner()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def bug(monkeypatch):
    """A bug in the library: an exception outside the error tree, from deep inside a command."""

    def broken(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(store.Store, "__init__", broken)
    monkeypatch.delenv("ATOMS_AUTH_DEBUG", raising=False)


@pytest.mark.parametrize("argv", [["token", "show", "--server", "http://127.0.0.1:9/mcp"], ["login", "--server", "http://127.0.0.1:9/mcp"], ["call", "--server", "http://127.0.0.1:9/mcp"]])
def test_a_bug_exits_70_with_one_line_and_the_debug_hint(bug, argv):
    result = runner.invoke(app, argv)
    assert result.exit_code == ExitCode.SOFTWARE == 70, result.output
    assert "internal error: ZeroDivisionError: simulated bug" in result.stderr
    assert "ATOMS_AUTH_DEBUG=1" in result.stderr and "Traceback" not in result.output


def test_a_bug_under_json_is_one_json_document(bug):
    result = runner.invoke(app, ["token", "show", "--server", "http://127.0.0.1:9/mcp", "--json"])
    assert result.exit_code == 70
    doc = json.loads(result.stdout)
    assert doc["schema"] == 1 and doc["error"]["code"] == "internal.bug" and "simulated bug" in doc["error"]["message"]


def test_debug_mode_reraises_the_bug(bug, monkeypatch):
    monkeypatch.setenv("ATOMS_AUTH_DEBUG", "1")
    result = runner.invoke(app, ["token", "show", "--server", "http://127.0.0.1:9/mcp"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_a_network_failure_under_json_is_one_document_with_its_code_and_exit_3(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMS_AUTH_HOME", str(tmp_path))
    url = f"http://127.0.0.1:{_closed_port()}/api/mcp"
    result = runner.invoke(app, ["login", "--server", url, "--json", "--no-browser"])
    assert result.exit_code == ExitCode.NETWORK, result.output
    doc = json.loads(result.stdout)  # stdout holds exactly one JSON document
    assert set(doc) == {"schema", "error"} and doc["schema"] == 1
    error = doc["error"]
    assert error["code"].startswith("network.") and "refused" in error["message"]
    assert error["hint"] and error["remote"] is None
    assert set(error) == {"code", "message", "hint", "spec", "url", "remote"}


def test_human_error_names_its_code_on_stderr_and_keeps_stdout_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMS_AUTH_HOME", str(tmp_path))
    url = f"http://127.0.0.1:{_closed_port()}/api/mcp"
    result = runner.invoke(app, ["login", "--server", url, "--no-browser"])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and "\nfix: " in result.stderr and "\ncode: network." in result.stderr


def test_remote_refusal_keeps_what_the_remote_said():
    exc = RemoteRefused(
        "The token request was refused: invalid_grant.",
        code="oauth.remote-error",
        remote=RemoteDetail.from_oauth_body(400, {"error": "invalid_grant", "error_description": "code used", "error_uri": 7}, url="https://as/token"),
    )
    assert exc.error == "invalid_grant" and exc.error_description == "code used" and exc.status == 400
    doc = error_document(exc)
    assert doc["error"]["remote"] == {"status": 400, "error": "invalid_grant", "error_description": "code used", "url": "https://as/token"}


def test_the_tree_is_drawn_and_every_error_has_a_code_and_exit_code():
    import authkit_mcp_cli.errors as errors

    tree = errors.__doc__ or ""
    for cls in (errors.UsageError, NetworkError, ProtocolError, ChallengeParseError, RemoteRefused, AuthChallenge, errors.AuthorizationDenied):
        assert issubclass(cls, AtomsAuthError) and cls.__name__ in tree
        assert "." in cls.default_code and isinstance(cls.exit_code, int)
    challenge = AuthChallenge(401, error="invalid_token", description="audience mismatch", scope="mcp:read", url="https://x/mcp")
    assert challenge.exit_code == 1 and challenge.code == "mcp.auth-challenge"
    assert challenge.status == 401 and challenge.error == "invalid_token" and challenge.scope == "mcp:read"
    assert "audience mismatch" in challenge.message
