"""Commands as options plus run (issue #21 item 6): option groups declared once and handed to a command
as one object, one shape for options that contradict each other, and --timeout / --wait."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from authkit_mcp_cli.cli import app
from authkit_mcp_cli.commands import options
from authkit_mcp_cli.commands.option_groups import with_option_groups
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.option_rules import mutually_exclusive, needs

runner = CliRunner()


@dataclass
class Colour:
    red: Annotated[int, typer.Option("--red", min=0, max=255, help="Red.")] = 0
    name: Annotated[str | None, typer.Option("--name", help="A name.")] = None


def test_a_group_shows_its_fields_as_options_and_arrives_as_one_object():
    seen = []

    @with_option_groups
    def paint(target: Annotated[str, typer.Option("--target")] = "wall", *, colour: Colour, dry: Annotated[bool, typer.Option("--dry")] = False) -> None:
        seen.append((target, colour, dry))

    assert list(inspect.signature(paint).parameters) == ["target", "red", "name", "dry"]
    paint_app = typer.Typer()
    paint_app.command()(paint)
    help_text = runner.invoke(paint_app, ["--help"], terminal_width=200).output
    assert "--red" in help_text and "Red." in help_text and "--name" in help_text and "--colour" not in help_text
    result = runner.invoke(paint_app, ["--red", "7", "--dry"])
    assert result.exit_code == 0, result.output
    assert seen == [("wall", Colour(red=7, name=None), True)]
    assert runner.invoke(paint_app, ["--red", "300"]).exit_code == 2  # the field's own min/max still apply


def test_a_field_that_clashes_with_a_parameter_is_an_error_at_import():
    with pytest.raises(TypeError, match="red"):

        @with_option_groups
        def paint(red: int = 0, *, colour: Colour) -> None: ...


def test_a_command_without_groups_is_left_as_it_is():
    def plain(x: int = 1) -> None: ...

    assert with_option_groups(plain) is plain


def test_login_and_call_share_one_declaration_of_the_grant_options():
    fields = [f for f in inspect.signature(options.LoginFlags).parameters]
    for command in (["login"], ["call"]):
        help_text = runner.invoke(app, [*command, "--help"], terminal_width=300).output
        missing = [f for f in fields if "--" + f.replace("_", "-") not in help_text]
        assert missing == [], (command, missing)


def test_mutually_exclusive_names_the_options_given():
    mutually_exclusive({"--a": "x", "--b": None}, "they differ")  # one given: fine
    with pytest.raises(UsageError) as info:
        mutually_exclusive({"--a": "x", "--b": True, "--c": 0}, "they differ")
    assert info.value.code == "usage.conflicting-options" and info.value.exit_code == 2
    assert info.value.message == "--a and --b cannot be combined: they differ."


def test_needs_names_the_missing_option():
    needs("--a", None, "--b", None)
    needs("--a", "x", "--b", "y")
    with pytest.raises(UsageError) as info:
        needs("--a", "x", "--b", None, "it qualifies --b")
    assert info.value.code == "usage.conflicting-options" and info.value.message == "--a needs --b: it qualifies --b."


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["logout", "--server", "https://mcp.example.com/mcp", "--all"], "--server and --all cannot be combined"),
        (["register", "--check"], "--check needs --cimd-url"),
        (["login", "--server", "https://mcp.example.com/mcp", "--grant", "client-credentials", "--client-id", "c", "--client-secret", "-", "--private-key", "k.pem"], "--client-secret and --private-key cannot be combined"),
        (["login", "--server", "https://mcp.example.com/mcp", "--grant", "jwt-bearer", "--assertion", "a.jwt", "--key-id", "k1"], "--key-id needs --private-key"),
        (["login", "--server", "https://mcp.example.com/mcp", "--grant", "client-credentials", "--client-id", "c", "--client-secret", "-", "--new-client"], "--new-client and --grant client-credentials cannot be combined"),
    ],
)
def test_conflicts_read_the_same_in_every_command(tmp_path, args, says):
    result = runner.invoke(app, args, env={"ATOMS_AUTH_HOME": str(tmp_path), "COLUMNS": "10000"}, input="s3cret\n")
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "code: usage.conflicting-options" in result.stderr


def test_the_old_http_timeout_still_works_with_a_warning(tmp_path):
    assert options.HttpOptions(http_timeout=2.5).timeout == 2.5
    assert options.HttpOptions(timeout=3.0).timeout == 3.0
    result = runner.invoke(app, ["logout", "--http-timeout", "2.5", "--json"], env={"ATOMS_AUTH_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "--http-timeout is deprecated" in result.stderr and "use --timeout" in result.stderr


def test_wait_reaches_the_login_options():
    from authkit_mcp_cli.commands._client import login_options

    opts = login_options({}, options.LoginFlags(wait=42.0, port=8123, private_key="k.pem", assertion="a.jwt", idp_issuer="https://idp.example.com"), authkit_domain=None)
    assert opts.browser.wait == 42.0 and opts.browser.port == 8123
    assert opts.private_key_jwt.private_key == "k.pem" and opts.jwt_bearer.assertion == "a.jwt" and opts.enterprise.idp_issuer == "https://idp.example.com"
