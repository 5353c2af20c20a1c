"""Every secret option reads the same three ways (issue #15 item 10): the environment, stdin with -,
or a literal that is warned about. The client credentials flow itself is proved against serve's AS in
tests/integration/test_secrets_input.py; here the CLI runner covers the other secret options."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from authkit_mcp_cli.cli import app

runner = CliRunner()
SERVER = "http://127.0.0.1:9/mcp"  # never contacted: the grant's option check ends first (exit 2)


@pytest.fixture(autouse=True)
def clean(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATOMS_AUTH_HOME", str(tmp_path / "home"))
    for name in ("ATOMS_AUTH_CLIENT_SECRET", "ATOMS_AUTH_IDP_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("command", ["login", "call"])
def test_a_literal_idp_client_secret_is_warned_about_and_never_echoed(command):
    args = [command, "--server", SERVER, "--grant", "enterprise", "--idp-client-secret", "s3cret-idp-value", *(["--login"] if command == "call" else [])]
    result = runner.invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output  # enterprise needs --idp-issuer and --id-token: a usage error before any request
    assert result.stderr.startswith("warning: --idp-client-secret was given on the command line, where it may stay in your shell history")
    assert "set ATOMS_AUTH_IDP_CLIENT_SECRET, or pass --idp-client-secret -" in result.stderr
    assert "s3cret-idp-value" not in result.output


@pytest.mark.parametrize(("flag", "env"), [("--client-secret", "ATOMS_AUTH_CLIENT_SECRET"), ("--idp-client-secret", "ATOMS_AUTH_IDP_CLIENT_SECRET")])
def test_dash_reads_stdin_and_the_environment_needs_no_flag(flag, env):
    empty = runner.invoke(app, ["login", "--server", SERVER, "--grant", "enterprise", flag, "-"], input="")
    assert empty.exit_code == 2 and f"error: {flag} - read nothing from stdin." in empty.stderr and "code: usage.secret-missing" in empty.stderr
    piped = runner.invoke(app, ["login", "--server", SERVER, "--grant", "enterprise", flag, "-"], input="from-stdin\n")
    assert piped.exit_code == 2 and "secret-missing" not in piped.stderr and "warning" not in piped.stderr  # read; the grant's own check ends it
    from_env = runner.invoke(app, ["login", "--server", SERVER, "--grant", "enterprise"], env={env: "from-env"})
    assert from_env.exit_code == 2 and "warning" not in from_env.stderr


def test_login_options_take_each_source():
    from authkit_mcp_cli.commands._client import login_options
    from authkit_mcp_cli.commands.options import LoginFlags

    opts = login_options({"ATOMS_AUTH_CLIENT_SECRET": "env-secret", "ATOMS_AUTH_IDP_CLIENT_SECRET": "env-idp"}, LoginFlags(client_id="c", wait=1.0), authkit_domain=None)
    assert (opts.client_secret, opts.enterprise.idp_client_secret) == ("env-secret", "env-idp")
    assert opts.browser.wait == 1.0
    flagged = login_options({"ATOMS_AUTH_CLIENT_SECRET": "env-secret"}, LoginFlags(client_id="c", client_secret="flag-secret"), authkit_domain=None)
    assert flagged.client_secret == "flag-secret"  # the flag wins over the environment
