"""The command line: exit codes, JSON purity, the catalogue, start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from authkit_mcp_cli import __version__
from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"atoms-auth {__version__}"


def test_help_documents_exit_codes():
    import os
    import subprocess
    import sys

    # a fresh process: the help is rendered when cli.py is imported, whatever other tests did to this one
    result = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--help"], capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # wrapped or not, the words are there
    assert "130 interrupted" in text and "70 a bug in atoms-auth" in text and "--list-checks" in text


def test_doctor_without_a_target_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env of this checkout
    result = runner.invoke(app, ["doctor"], env={"COLUMNS": "400"})  # the boundary inside the app gives the exit code
    assert result.exit_code == 2, result.output
    assert "Nothing to check" in result.stderr
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL" in result.stderr and "code: usage." in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--check", "no.such-check"], "Unknown check id"), (["--server", "not-a-url"], "not an absolute http(s) URL"), (["--authkit-domain", "https://x.authkit.app#frag"], "fragment")],
)
def test_bad_input_exits_2_with_one_clear_line(args, message):
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "\nfix: " in proc.stderr


def test_list_checks_json_is_the_catalogue():
    result = runner.invoke(app, ["doctor", "--list-checks", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    ids = [c["id"] for c in doc["checks"]]
    assert ids == [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids))
    for check in doc["checks"]:
        area, _, name = check["id"].partition(".")
        assert area in {"as", "server", "challenge", "prm", "token", "authkit"} and name
        assert check["level"] in {"MUST", "SHOULD", "MAY", "INFO"} and check["spec"]


def test_list_checks_filters_with_check():
    result = runner.invoke(app, ["doctor", "--list-checks", "--json", "--check", "as.pkce"])
    assert [c["id"] for c in json.loads(result.output)["checks"]] == ["as.pkce"]


def test_environment_and_dotenv_supply_the_target(tmp_path):
    (tmp_path / ".env").write_text("FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=http://127.0.0.1:9\n")
    result = runner.invoke(app, ["doctor", "--json", "--check", "as.discovery", "--timeout", "2"])
    doc = json.loads(result.output)
    assert doc["target"]["authorization_server"] == "http://127.0.0.1:9"
    assert doc["results"][0]["status"] == "fail"
    assert result.exit_code == 3  # the AS cannot be reached at all: the network-failure code (design.md)


def test_help_does_not_import_heavy_modules():
    """atoms-auth --help must stay fast: none of these may load (issue #7)."""
    code = (
        "import sys\n"
        "sys.argv = ['atoms-auth', '--help']\n"
        "from authkit_mcp_cli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['mcp', 'starlette', 'uvicorn', 'questionary', 'httpx', 'jwt', 'cryptography', 'typer.rich_utils', 'markdown_it', 'pygments']\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "LOADED []" in proc.stdout, proc.stdout[-500:] + proc.stderr
