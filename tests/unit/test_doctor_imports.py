"""doctor's start-up and memory (issue 16 items 1, 4): what a doctor run loads. The
import graph, not the time: pydantic (typer's coercion of option values), pyjwt,
httpx's command line (pygments, rich.syntax) and the MCP SDK stay out."""

from __future__ import annotations

import json
import subprocess
import sys

WRAPPER = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted({m.split('.')[0] for m, mod in list(sys.modules.items()) if mod is not None} & {'pydantic', 'jwt', 'pygments', 'mcp', 'starlette', 'uvicorn'})), file=sys.stderr))
sys.argv = ['atoms-auth'] + sys.argv[1:]
from authkit_mcp_cli.cli import main
main()
"""


def run(*args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, timeout=120)
    return proc, json.loads(proc.stderr.strip().splitlines()[-1])


def test_doctor_with_several_servers_and_checks_loads_none_of_the_heavy_modules():
    # server.https sends nothing, so the run needs no network
    proc, loaded = run("doctor", "--json", "--server", "https://a.example/api/mcp", "--server", "http://b.example/api/mcp", "--check", "server.https", "--check", "server.url")
    assert loaded == [], loaded
    doc = json.loads(proc.stdout)
    assert [r["target"]["server"] for r in doc["reports"]] == ["https://a.example/api/mcp", "http://b.example/api/mcp"]
    assert [next(x["status"] for x in r["results"] if x["id"] == "server.https") for r in doc["reports"]] == ["pass", "fail"]
    assert proc.returncode == 1


def test_a_repeatable_option_still_reaches_typers_checks_when_not_plain():
    """Only lists of strings pass as they are: the values doctor gets are those typer would give."""
    from typer.testing import CliRunner

    from authkit_mcp_cli.cli import app

    result = CliRunner().invoke(app, ["doctor", "--list-checks", "--json", "--check", "as.pkce", "--check", "server.https"])
    assert result.exit_code == 0
    assert [c["id"] for c in json.loads(result.output)["checks"]] == ["as.pkce", "server.https"]
    result = CliRunner().invoke(app, ["doctor", "--list-checks", "--check", "no.such-check"])
    assert result.exit_code == 2 and "no.such-check" in result.output


def test_list_checks_loads_the_catalogue_only():
    """--list-checks (issue 16 item 2: a local command) builds no HTTP client and starts no event loop."""
    loaded = "{m.split('.')[0] for m, mod in list(sys.modules.items()) if mod is not None}"
    heavy = "{'pydantic', 'jwt', 'httpx', 'asyncio', 'ssl', 'cryptography', 'mcp', 'rich'}"
    ours = "{m for m in sys.modules if m.startswith(('authkit_mcp_cli.checks', 'authkit_mcp_cli.doctor', 'authkit_mcp_cli.reports'))}"
    code = WRAPPER.replace("{m.split('.')[0] for m, mod in list(sys.modules.items()) if mod is not None} & {'pydantic', 'jwt', 'pygments', 'mcp', 'starlette', 'uvicorn'}", f"({loaded} & {heavy}) | {ours}")
    assert code != WRAPPER
    proc = subprocess.run([sys.executable, "-c", code, "doctor", "--list-checks", "--json"], capture_output=True, text=True, timeout=120)
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []
    assert proc.returncode == 0 and len(json.loads(proc.stdout)["checks"]) > 40


def test_the_listed_catalogue_is_the_registry():
    """check_catalogue.json (what --list-checks prints without importing the checks) is generated from the
    catalogue and docs/checks.md by make docs; this fails when a check is added, renamed or re-levelled, or
    its documented row changed, without it. Every check carries what it checks and its typical fix (the
    agent's explain_check)."""
    from pathlib import Path

    from authkit_mcp_cli import check_listing
    from authkit_mcp_cli.checks.catalogue import CATALOGUE

    doc = (Path(__file__).resolve().parents[2] / "docs" / "checks.md").read_text(encoding="utf-8")
    assert check_listing.CATALOGUE_FILE.read_text(encoding="utf-8") == check_listing.generate(CATALOGUE, doc)
    rows = check_listing.load()
    assert [row["id"] for row in rows] == [c.id for c in CATALOGUE]
    assert all(row["checks"] and row["fix"] and "|" not in row["fix"] for row in rows)


def test_list_checks_piped_into_head_ends_quietly():
    """A reader that goes away (| head) is exit 141 with nothing on stderr, not a bug report (exit 70)."""
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--list-checks"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # gone before the first line is written
    assert proc.wait(timeout=60) == 141
    assert proc.stderr.read() == b""
