"""One exit-code table behind every --help page; click's usage errors in atoms-auth's shape;
help pages that name what each value holds (issue #15 items 6-8)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from authkit_mcp_cli.cli import app
from authkit_mcp_cli.commands._help import exit_codes_epilog, sentence
from authkit_mcp_cli.errors import COMMAND_EXIT_CODES, EXIT_CODE_MEANINGS

runner = CliRunner()
COMMANDS = [["doctor"], ["register"], ["login"], ["call"], ["token", "show"], ["token", "refresh"], ["logout"], ["serve"], ["demo"], ["init"]]
WIDE = {"COLUMNS": "400", "NO_COLOR": "1"}


def _help(words: list[str]) -> str:
    result = runner.invoke(app, [*words, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_each_page_has_exactly_one_exit_codes_paragraph_with_only_its_codes(words):
    text = _help(words)
    assert text.count("Exit code") == 1, text
    paragraph = " ".join(text[text.index("Exit codes:") :].split())
    shown = {int(n) for n in re.findall(r"(?:: |; )(\d+) ", paragraph)}
    assert shown == set(COMMAND_EXIT_CODES[" ".join(words)]), paragraph
    assert "".join(exit_codes_epilog(" ".join(words)).split()) in "".join(text.split())  # wrapping aside, the table's text


def test_the_root_page_shows_the_whole_table_once():
    text = "".join(_help([]).split())
    assert text.count("Exitcode") == 1
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert "".join(f"{code} {meaning}".split()) in text


def test_every_command_has_an_entry_and_only_documented_codes():
    registered = {c.callback.__name__ for c in app.registered_commands if c.callback} | {"token show", "token refresh"}
    assert registered == set(COMMAND_EXIT_CODES)
    for codes in COMMAND_EXIT_CODES.values():
        assert set(codes) <= set(EXIT_CODE_MEANINGS) and {0, 2, 70, 130} <= set(codes)


def test_the_command_list_shows_full_summaries():
    text = " ".join(_help([]).split())
    assert "..." not in text.replace("COMMAND [ARGS]...", "")
    assert "Register a client with the authorization server, or build/check a Client ID Metadata Document" in text
    assert "Write the .env the integration guide describes, after checking the AuthKit domain live" in text
    assert "the rotated refresh token replaces the old one" in " ".join(_help(["token"]).split())


@pytest.mark.parametrize(
    ("args", "message", "fix"),
    [
        (["login", "--port", "70000"], "Invalid value for '--port'", "atoms-auth login --help"),
        (["login", "--wire", "nope"], "'nope' is not one of 'auto', 'legacy', '2026-07-28'.", "atoms-auth login --help"),
        (["call", "--no-such-option"], "No such option: --no-such-option.", "atoms-auth call --help"),
        (["logn"], "No such command 'logn'. Did you mean 'login'", "atoms-auth --help"),
        (["token", "shw"], "No such command 'shw'.", "atoms-auth token --help"),
        (["login", "--timeout", "0"], "Invalid value for '--timeout'", "atoms-auth login --help"),
    ],
)
def test_framework_usage_errors_read_like_ours(args, message, fix):
    result = runner.invoke(app, args, env=WIDE)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert lines[1].startswith("fix: ") and fix in lines[1]
    assert lines[2] == "code: usage.cli"
    assert "Usage:" not in result.stderr and "Value error" not in result.stderr and ".." not in result.stderr.replace("...", "")
    assert result.stdout == ""


def test_framework_usage_error_under_json_is_the_error_document():
    result = runner.invoke(app, ["login", "--wire", "nope", "--json"], env=WIDE)
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["schema"] == 1 and doc["error"]["code"] == "usage.cli" and "--wire" in doc["error"]["message"]


def test_sentence_never_doubles_periods():
    assert sentence("It failed: no such host.") == "It failed: no such host."
    assert sentence("It failed: no such host..") == "It failed: no such host."
    assert sentence("Wait... then") == "Wait... then."
    assert sentence("see https://x.example/a/../b") == "see https://x.example/a/../b."
