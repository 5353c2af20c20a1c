"""One exit-code table behind every --help page; click's usage errors in atoms-auth's shape;
help pages that name what each value holds (issue #15 items 6-8)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from authkit_mcp_cli.cli import app
from authkit_mcp_cli.commands._help import exit_codes_epilog, sentence
from authkit_mcp_cli.errors import ALWAYS_CODES, COMMAND_EXIT_CODES, EXIT_CODE_MEANINGS

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
    registered = {c.callback.__name__ for c in app.registered_commands if c.callback} | {"token show", "token refresh", "token list", "token print"}
    assert registered == set(COMMAND_EXIT_CODES)
    for codes in COMMAND_EXIT_CODES.values():
        assert set(codes) <= set(EXIT_CODE_MEANINGS) and {0, 2, 70, 130, 141} <= set(codes)


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
        (["login", "--wait", "0"], "Invalid value for '--wait'", "atoms-auth login --help"),
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


# --- same situation, same code and wording (items 6 and 7) ---


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ATOMS_AUTH_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # no .env of this checkout names a server
    for name in ("FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL", "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _closed_port() -> int:
    import socket

    with socket.socket() as s:  # bound then closed: nothing listens there, connecting is refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args", [["logout"], ["logout", "--all"], ["logout", "--server", "http://127.0.0.1:9/mcp"]], ids=" ".join)
def test_logout_with_nothing_stored_agrees_with_and_without_all(home, args):
    result = runner.invoke(app, [*args, "--json"], env=WIDE)
    assert result.exit_code == 0 and 5 not in COMMAND_EXIT_CODES["logout"], result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["logged_out"] == [] and "Nothing to log out" in doc["note"]
    human = runner.invoke(app, args, env=WIDE)
    assert human.exit_code == 0 and "Nothing to log out." in human.stdout and human.stderr == ""


def test_a_dns_failure_in_register_cimd_check_is_the_network_code(home, monkeypatch):
    import socket

    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):  # the resolver answers "no such name" for this host only (RFC 6761 .invalid)
        if host in ("cimd.example.invalid", b"cimd.example.invalid"):  # anyio asks with the IDNA-encoded bytes
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    result = runner.invoke(app, ["register", "--cimd-url", "https://cimd.example.invalid/client.json", "--check"], env=WIDE)
    assert result.exit_code == 3 and 3 in COMMAND_EXIT_CODES["register"], result.output
    assert result.stderr.startswith("error: The Client ID Metadata Document https://cimd.example.invalid/client.json could not be fetched: DNS lookup")
    assert "code: network.dns" in result.stderr and result.stdout == ""


def test_a_refused_connection_reads_the_same_in_call_and_login(home):
    url = f"http://127.0.0.1:{_closed_port()}/mcp"
    login = runner.invoke(app, ["login", "--server", url, "--no-browser", "--timeout", "5"], env=WIDE, input="")
    call = runner.invoke(app, ["call", "--server", url, "--timeout", "5"], env=WIDE)
    assert login.exit_code == call.exit_code == 3
    assert login.stderr == call.stderr, (login.stderr, call.stderr)
    assert call.stderr.splitlines() == [
        f"error: The MCP server {url} could not be reached: connection to 127.0.0.1:{url.split(':')[2].split('/')[0]} refused (is the server running on that port?).",
        "fix: Start the server, or fix the port in the URL.",
        "code: network.refused",
    ]


# --- help pages name what each value holds (item 8) ---

TYPE_PLACEHOLDERS = re.compile(r"<(?:str|int|float|list|path|file|bool)[^>]*>|\bTEXT\b|\bINTEGER\b|\bFLOAT\b")


@pytest.mark.parametrize("words", [[], ["token"], *COMMANDS], ids=lambda w: " ".join(w) or "root")
def test_every_help_page_names_its_values(words):
    text = _help(words)
    options = [line for line in text.splitlines() if line.lstrip().startswith("-")]
    assert options, text
    for line in options:
        assert not TYPE_PLACEHOLDERS.search(line), line
        for metavar in re.findall(r"<([^>]*)>", line):
            assert "|" in metavar, line  # only a list of choices is shown in angle brackets


@pytest.mark.parametrize(
    ("words", "metavars"),
    [
        (["login"], ["--server URL", "--client-id ID", "--client-secret SECRET|-", "--port PORT", "--scope SCOPE", "--redirect-uri URL", "--timeout SECONDS", "--trace FILE"]),
        (["call"], ["--tool NAME", "--arguments JSON", "--idp-client-secret SECRET|-"]),
        (["register"], ["--client-name NAME", "--redirect-uri URL", "--scope SCOPES", "-o, --output FILE"]),
        (["init"], ["--authkit-domain URL", "--base-url URL", "--path PATH", "--scopes SCOPES", "--workos-api-key KEY|-", "-o, --output FILE", "--timeout SECONDS"]),
        (["serve"], ["--host HOST", "--port PORT"]),  # named from the option when its file declares no metavar
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and len(v) < 3 else "",
)
def test_metavars_name_what_they_hold(words, metavars):
    text = _help(words)
    for metavar in metavars:
        assert re.search(rf"^\s+{re.escape(metavar)}\s", text, re.M), (metavar, text)


@pytest.mark.parametrize(
    "words",
    [["init"], ["call"], ["logout"], ["token", "show"], ["serve"]],
    ids=" ".join,
)
def test_nothing_is_said_to_be_discovered_where_nothing_is(words):
    assert "discovered" not in _help(words)


def test_the_readme_table_is_rendered_from_the_same_data():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("docs_script", Path(__file__).resolve().parents[2] / "scripts" / "docs.py")
    assert spec and spec.loader
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    table = docs.exit_code_table()
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"| {code} | {meaning} |" in table
    reference = " ".join((Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text().split())  # wrapped lines joined
    for name, codes in COMMAND_EXIT_CODES.items():  # each command's own wording: its --help epilog, in docs/cli.md
        for c, m in codes.items():
            if c not in ALWAYS_CODES:
                assert f"{c} {m}" in reference, (name, c, m)
    assert "docs/cli.md" in table
    assert "| 5 | authorization denied, cancelled or timed out, or not logged in | `login`, `call`, `token show`, `token print`, `token refresh` |" in table
    readme = docs.readme_with_codes("# x\n\n## Configuration\n", table)  # a README without the markers gets the section before Configuration
    assert readme.index("## Exit codes") < readme.index("## Configuration") and docs.readme_with_codes(readme, table) == readme
    assert table in docs.command_reference()  # docs/cli.md carries the same table


def test_a_bug_reads_like_every_other_error(monkeypatch):
    from authkit_mcp_cli import store

    def broken(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(store.Store, "__init__", broken)
    monkeypatch.delenv("ATOMS_AUTH_DEBUG", raising=False)
    result = runner.invoke(app, ["token", "show", "--server", "http://127.0.0.1:9/mcp"], env=WIDE)
    assert result.exit_code == 70
    assert result.stderr.splitlines() == [
        "error: internal error: ZeroDivisionError: simulated bug",
        "fix: This is a bug in atoms-auth; rerun with ATOMS_AUTH_DEBUG=1 and report the traceback.",
        "code: internal.bug",
    ]


def test_a_framework_usage_error_under_format_json_is_the_error_document():
    result = runner.invoke(app, ["doctor", "--format", "json", "--timeout", "0"], env=WIDE)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage.cli" and result.stderr == ""
