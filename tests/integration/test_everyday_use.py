"""Issue #24 (everyday use, round 2) as a user at a terminal meets it: the CLI run as a subprocess
against serve's development AS on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peers.serve_app import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local():
    with serve_app() as (info, _app):
        yield info


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=timeout, env=full, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


# --- item 1: a store that cannot be written is a configuration error, found before the AS is asked ---


@pytest.mark.parametrize("command", ["register", "login"])
def test_a_home_that_is_a_file_is_a_config_error_before_any_request(local, tmp_path, command):
    home = tmp_path / "not-a-dir"
    home.write_text("")
    trace = tmp_path / "trace.jsonl"
    args = [command, "--server", local.mcp_url, "--trace", str(trace)]
    proc = run_cli(*args, env={"ATOMS_AUTH_HOME": str(home)})
    assert proc.returncode == 2, proc.stderr
    assert f"The credential store {home} cannot be written" in proc.stderr
    assert "ATOMS_AUTH_HOME" in proc.stderr and "code: store.unwritable" in proc.stderr
    assert "bug" not in proc.stderr
    # nothing was sent: no discovery, and above all no registration left orphaned at the AS
    assert not trace.exists() or trace.read_text().strip() == ""


def test_register_with_no_save_needs_no_store(local, tmp_path):
    home = tmp_path / "not-a-dir"
    home.write_text("")
    proc = run_cli("register", "--server", local.mcp_url, "--no-save", "--json", env={"ATOMS_AUTH_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["client_id"]


def test_install_completion_into_an_unwritable_home_is_a_usage_error(tmp_path):
    home = tmp_path / "home-file"
    home.write_text("")
    proc = run_cli("--install-completion", "bash", env={"HOME": str(home)})
    assert proc.returncode == 2, proc.stderr
    assert str(home) in proc.stderr and "code: usage.unwritable-file" in proc.stderr
    assert "bug" not in proc.stderr


# --- item 7: a reader that goes away (| head) is a quiet 141 for every command ---


def run_into_closed_pipe(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The command with its stdout's reader gone before the first byte (what ``| head -0`` does)."""
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=120), err


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("doctor", "--help"),
        ("doctor", "--list-checks"),
        ("doctor", "--server", "{mcp}"),
        ("doctor", "--server", "{mcp}", "--json"),
        ("register", "--server", "{mcp}"),
        ("register", "--server", "{mcp}", "--json"),
        ("login", "--server", "{mcp}", "--no-verify"),
        ("demo",),
    ],
    ids=lambda a: " ".join(a),
)
def test_a_closed_pipe_is_a_quiet_141(local, tmp_path, args):
    code, err = run_into_closed_pipe(*(a.format(mcp=local.mcp_url) for a in args), env={"ATOMS_AUTH_HOME": str(tmp_path / "home"), "BROWSER": str(Path(__file__).resolve().parents[1] / "conformance" / "browser")})
    assert code == 141, err
    assert "Traceback" not in err and "error:" not in err and "Exception" not in err, err
