"""`atoms-auth mcp` as an agent sees it (issue #27): the official SDK's client over stdio against
`python -m authkit_mcp_cli mcp`, each tool on a broken server (tests/peers/broken_server.py) and on a
correct one (serve's development AS), bad input as error results while the server keeps serving, progress
notifications, and a stdout that carries nothing but JSON-RPC. The structured results are the documents
the CLI prints with --json, compared with the CLI's own output."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from peers.asgi import serve_asgi
from peers.broken_server import Faults, build_broken_app
from peers.oidc_as import NODE_DIR, PeerMissing, node_binary
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
BROWSER = Path(__file__).resolve().parents[1] / "conformance" / "browser"
INSPECTOR = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
TOOLS = {"doctor", "list_checks", "explain_check", "token_status", "call"}
FORMATTING = ("\x1b[", "[bold", "[/]", "│", "─", "✔", "✘")  # ANSI escapes, rich markup, table rules, status glyphs


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMCP_", "ATOMS_", "WORKOS_"))}
    env.update({"ATOMS_AUTH_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200", **extra})
    return env


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@contextlib.asynccontextmanager
async def agent(home: Path) -> AsyncIterator[Client]:
    """The SDK's client, having spawned `python -m authkit_mcp_cli mcp` and initialized it."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "authkit_mcp_cli", "mcp"], env=_env(home), cwd=str(home.parent))
    async with Client(params, read_timeout_seconds=60) as client:
        yield client


def run_agent(home: Path, steps: Any) -> Any:
    async def main() -> Any:
        async with agent(home) as client:
            return await steps(client)

    return asyncio.run(main())


def cli(home: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess:
    extra = {"BROWSER": str(BROWSER), "HEADLESS_BROWSER_LOG": str(log)} if log else {}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", *args], capture_output=True, text=True, timeout=120, env=_env(home, **extra), cwd=home.parent)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def untimed(report: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in report.items() if k != "requests"}, sort_keys=True)
    return re.sub(r'"elapsed_ms": [\d.]+', '"elapsed_ms": N', re.sub(r"\bin \d+ ms\b", "in N ms", text))


def plain(structured: Any) -> None:
    text = json.dumps(structured, ensure_ascii=False)
    assert not [mark for mark in FORMATTING if mark in text], text[:500]


@pytest.fixture
def broken():
    with serve_asgi(lambda base: build_broken_app(base, Faults(wrong_resource=True))) as base:
        yield base + "/api/mcp"


@pytest.fixture
def local():
    with serve_app() as (info, _app):
        yield info


def test_initialize_and_every_tool_with_its_schemas(home):
    async def steps(client: Client) -> Any:
        return client.server_info, client.instructions, (await client.list_tools()).tools

    info, instructions, tools = run_agent(home, steps)
    assert info is not None and info.name == "atoms-auth" and "doctor" in (instructions or "")
    by_name = {t.name: t for t in tools}
    assert set(by_name) == TOOLS
    for tool in tools:
        assert tool.description and len(tool.description) > 80, tool.name
        assert tool.input_schema["type"] == "object" and tool.output_schema and tool.output_schema["type"] == "object", tool.name
    assert by_name["doctor"].annotations.read_only_hint is True  # it never logs in
    assert by_name["call"].annotations.read_only_hint is False  # it sends the agent's request with the user's token
    assert set(by_name["doctor"].input_schema["properties"]) == {"server", "checks", "authorization_server"}
    assert by_name["explain_check"].input_schema["required"] == ["id"]
    schema = json.dumps(by_name["doctor"].output_schema)
    assert all(f'"{field}"' in schema for field in ("reports", "results", "root_cause", "caused_by", "evidence", "fix", "spec"))


def test_doctor_on_a_broken_and_a_correct_server_with_progress(home, broken, local):
    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    async def steps(client: Client) -> Any:
        bad = await client.call_tool("doctor", {"server": broken}, progress_callback=on_progress)
        seen = len(progress)
        both = await client.call_tool("doctor", {"server": [broken, local.mcp_url]}, progress_callback=on_progress)
        as_only = await client.call_tool("doctor", {"authorization_server": local.issuer, "checks": ["as.discovery", "as.pkce", "challenge.status"]})
        return bad, seen, both, as_only

    bad, seen_for_one, both, as_only = run_agent(home, steps)
    assert not bad.is_error
    (report,) = bad.structured_content["reports"]
    failed = {r["id"]: r for r in report["results"] if r["status"] == "fail"}
    assert "prm.resource" in failed and failed["prm.resource"]["fix"] and failed["prm.resource"]["spec"]
    text = bad.content[0].text
    assert text.startswith(broken) and "FAIL prm.resource" in text and failed["prm.resource"]["fix"] in text
    plain(bad.structured_content)

    # the same document doctor --json prints for that server (timings and the request count aside)
    shown = json.loads(cli(home, "doctor", "--server", broken, "--json").stdout)
    assert untimed(report) == untimed(shown)

    # progress: one notification per request, then the server's summary line, counting up
    assert seen_for_one >= 5 and all(m for _, m in progress)
    one = progress[:seen_for_one]
    assert [p for p, _ in one] == sorted(p for p, _ in one) and any(m.startswith("GET ") and "/.well-known/" in m for _, m in one)
    assert one[-1][1].startswith(f"checked {broken}: ")

    first, second = both.structured_content["reports"]
    assert first["target"]["server"] == broken and second["target"]["server"] == local.mcp_url
    assert second["summary"]["fail"] == 0 and second["summary"]["error"] == 0, second["summary"]
    assert second["target"]["authorization_server"] == local.issuer
    assert f"\n\n{local.mcp_url}: " in both.content[0].text  # one paragraph per server, in the order given
    assert any(m and m.startswith(f"checked {local.mcp_url}: ") for _, m in progress[seen_for_one:])

    # only an authorization server: only its checks run, as doctor --authkit-domain
    (as_report,) = as_only.structured_content["reports"]
    assert not as_only.is_error and as_report["target"] == {"server": None, "authorization_server": local.issuer}
    assert [(r["id"], r["status"]) for r in as_report["results"]] == [("as.discovery", "pass"), ("as.pkce", "pass")]


def test_bad_input_is_an_error_result_with_the_clis_document_and_the_server_goes_on(home):
    closed = f"http://127.0.0.1:{free_port()}/api/mcp"

    async def steps(client: Client) -> Any:
        not_url = await client.call_tool("doctor", {"server": "not a url"})
        unknown = await client.call_tool("doctor", {"server": closed, "checks": ["no.such-check"]})
        unreachable = await client.call_tool("doctor", {"server": closed})
        call = await client.call_tool("call", {"server": closed})
        explain = await client.call_tool("explain_check", {"id": "nope"})
        after = await client.call_tool("list_checks", {})
        return not_url, unknown, unreachable, call, explain, after

    not_url, unknown, unreachable, call, explain, after = run_agent(home, steps)
    for result, args in (
        (not_url, ["doctor", "--server", "not a url"]),
        (unknown, ["doctor", "--server", closed, "--check", "no.such-check"]),
        (call, ["call", "--server", closed]),
        (explain, ["doctor", "--list-checks", "--check", "nope"]),
    ):
        assert result.is_error, args
        proc = cli(home, *args, "--json")
        assert proc.returncode in (2, 3, 5), proc
        assert result.structured_content == json.loads(proc.stdout), args  # the same message, fix and code as the CLI
        error = result.structured_content["error"]
        assert result.content[0].text.startswith(f"error: {error['message']}\n") and f"\ncode: {error['code']}" in result.content[0].text
    assert not_url.structured_content["error"]["code"] == "usage.invalid-url" and unknown.structured_content["error"]["code"] == "usage.unknown-check"

    # an unreachable server: doctor's report says why (as doctor --json, which exits 3), flagged as an error
    assert unreachable.is_error
    (report,) = unreachable.structured_content["reports"]
    assert report["root_cause"]["id"] == "server.reachable" and report["root_cause"]["kind"] == "network"
    assert "could not be reached" in unreachable.content[0].text
    assert cli(home, "doctor", "--server", closed, "--json").returncode == 3
    assert not after.is_error and len(after.structured_content["checks"]) > 40  # still serving


def test_list_checks_and_explain_check_are_the_catalogue(home):
    async def steps(client: Client) -> Any:
        return await client.call_tool("list_checks", {}), await client.call_tool("list_checks", {"ids": ["prm.resource"]}), await client.call_tool("explain_check", {"id": "challenge.error-code"})

    listed, one, explained = run_agent(home, steps)
    assert listed.structured_content == json.loads(cli(home, "doctor", "--list-checks", "--json").stdout)
    assert [c["id"] for c in one.structured_content["checks"]] == ["prm.resource"]
    assert listed.content[0].text.splitlines() == cli(home, "doctor", "--list-checks").stdout.splitlines()  # the piped listing
    doc = explained.structured_content
    row = next(line for line in (Path(__file__).resolve().parents[2] / "docs" / "checks.md").read_text().splitlines() if line.startswith("| `challenge.error-code` |"))
    assert doc["id"] == "challenge.error-code" and doc["level"] == "SHOULD" and doc["area"] == "challenge" and "WARN" in doc["statuses"]
    assert doc["checks"] in row and doc["fix"] in row and doc["fix"].startswith("Bare challenge")
    assert doc["spec"] and doc["spec"] in explained.content[0].text
    plain([listed.structured_content, doc])


def test_token_status_and_call_with_a_stored_login(home, local, broken, tmp_path):
    url = local.mcp_url
    log = tmp_path / "browser.log"

    async def before(client: Client) -> Any:
        return await client.call_tool("token_status", {}), await client.call_tool("call", {"server": url}), await client.call_tool("token_status", {"server": broken})

    empty, not_logged_in, broken_status = run_agent(home, before)
    assert not empty.is_error and empty.structured_content == {"schema": 1, "logins": []}
    assert not_logged_in.is_error and not_logged_in.structured_content["error"]["code"] == "login.not-logged-in"
    assert f"atoms-auth login --server {url}" in not_logged_in.structured_content["error"]["hint"]
    assert broken_status.is_error and broken_status.structured_content["error"]["code"] == "login.not-logged-in"

    login = json.loads(cli(home, "login", "--server", url, "--json", log=log).stdout)
    assert login["logged_in"]
    visits = log.read_text()
    tokens_file = next((home / "tokens").glob("*.json"))
    record = json.loads(tokens_file.read_text())
    secrets = [record["tokens"]["access_token"], record["tokens"]["refresh_token"]]

    async def after(client: Client) -> Any:
        status = await client.call_tool("token_status", {})
        listed = await client.call_tool("call", {"server": url})
        whoami = await client.call_tool("call", {"server": url, "tool": "whoami"})
        step_up = await client.call_tool("call", {"server": url, "tool": "admin_echo", "arguments": {"text": "hi"}})
        on_broken = await client.call_tool("call", {"server": broken})
        return status, listed, whoami, step_up, on_broken

    status, listed, whoami, step_up, on_broken = run_agent(home, after)
    (shown,) = status.structured_content["logins"]
    assert shown["server"] == url and shown["issuer"] == local.issuer and shown["audience"] == local.resource
    assert shown["scope"] == record["tokens"]["scope"] and shown["expires_in"] > 0 and not shown["expired"] and shown["has_refresh_token"]
    assert url in status.content[0].text
    assert set(t["name"] for t in listed.structured_content["tools"]) == {"whoami", "admin_echo"} and not listed.structured_content["refreshed"]
    assert not whoami.is_error and whoami.structured_content["result"]["structuredContent"]["aud"] == local.resource

    # more scope needs a login in the browser: an error naming it, and no browser opened
    assert step_up.is_error and step_up.structured_content["error"]["code"] == "login.step-up-needed"
    assert f"atoms-auth login --server {url} --scope mcp:admin" in step_up.structured_content["error"]["hint"]
    assert log.read_text() == visits
    # the broken server refuses the stored login's absence: not logged in there
    assert on_broken.is_error and on_broken.structured_content["error"]["code"] == "login.not-logged-in"
    for result in (status, listed, whoami, step_up, on_broken):
        dumped = json.dumps(result.model_dump(mode="json"))
        assert not [s for s in secrets if s in dumped]
        plain(result.structured_content)

    # an expired token is refreshed as `call` does, and the rotated refresh token stored
    record["tokens"]["expires_at"] = time.time() - 60
    tokens_file.write_text(json.dumps(record))

    async def expired(client: Client) -> Any:
        return await client.call_tool("call", {"server": url, "tool": "whoami"})

    refreshed = run_agent(home, expired)
    assert not refreshed.is_error and refreshed.structured_content["refreshed"] is True
    assert json.loads(tokens_file.read_text())["tokens"]["refresh_token"] != secrets[1]
    assert log.read_text() == visits


def test_stdout_carries_only_json_rpc(home, broken):
    """The raw wire: initialize, a doctor with a progress token, a bad call; every stdout line is JSON-RPC."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "doctor", "arguments": {"server": broken}, "_meta": {"progressToken": "p1"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "doctor", "arguments": {"server": "ftp://nope"}}},
    ]
    proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(home), cwd=home.parent)
    assert proc.stdin and proc.stdout
    lines: list[str] = []
    proc.stdin.write(json.dumps(messages[0]) + "\n")
    proc.stdin.flush()
    lines.append(proc.stdout.readline())
    for message in messages[1:]:
        proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    answered: set[int] = set()
    while answered != {2, 3}:
        line = proc.stdout.readline()
        assert line, "the server closed stdout"
        lines.append(line)
        answered |= {json.loads(line).get("id")} & {2, 3}
    rest, err = proc.communicate(timeout=30)  # closes stdin: the server stops
    lines += rest.splitlines(keepends=True)
    assert proc.returncode == 0 and "Traceback" not in err, err
    docs = [json.loads(line) for line in lines if line.strip()]
    assert all(d.get("jsonrpc") == "2.0" for d in docs) and len(docs) == len([line for line in lines if line.strip()])
    progress = [d for d in docs if d.get("method") == "notifications/progress"]
    assert progress and all(d["params"]["progressToken"] == "p1" for d in progress)
    by_id = {d["id"]: d for d in docs if "id" in d}
    assert by_id[2]["result"]["isError"] is False and by_id[2]["result"]["structuredContent"]["reports"]
    assert by_id[3]["result"]["isError"] is True and by_id[3]["result"]["structuredContent"]["error"]["code"] == "usage.invalid-url"


def inspector(home: Path, *method: str) -> dict[str, Any]:
    """The MCP Inspector's CLI mode (tests/node, on Node 22) against `python -m authkit_mcp_cli mcp`; it passes
    the server only the variables given with -e."""
    try:
        node = node_binary()
    except PeerMissing as exc:
        pytest.fail(str(exc))
    if not INSPECTOR.exists():
        pytest.fail(f"{INSPECTOR} is missing: run `make test` (npm ci in tests/node installs @modelcontextprotocol/inspector).")
    passed = [arg for name in ("PYTHONPATH", "ATOMS_AUTH_HOME") if (value := _env(home).get(name)) for arg in ("-e", f"{name}={value}")]
    command = [str(node), str(INSPECTOR), "--cli", *passed, sys.executable, "-m", "authkit_mcp_cli", "mcp", *method]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=home.parent, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


def test_the_inspector_lists_and_calls_the_tools(home):
    listed = inspector(home, "--method", "tools/list")
    by_name = {t["name"]: t for t in listed["tools"]}
    assert set(by_name) == TOOLS
    assert all(t["inputSchema"]["type"] == "object" and t["outputSchema"]["type"] == "object" and t["description"] for t in by_name.values())
    assert by_name["doctor"]["annotations"]["readOnlyHint"] is True
    explained = inspector(home, "--method", "tools/call", "--tool-name", "explain_check", "--tool-arg", "id=prm.resource")
    assert explained["isError"] is False and explained["structuredContent"]["id"] == "prm.resource" and explained["structuredContent"]["level"] == "MUST"


def test_an_agent_finds_the_failing_check_reads_the_fix_and_confirms_it(home):
    """The issue's "done when": doctor finds the failing check, explain_check and the finding say what to
    change, the server is changed, and doctor run again confirms the fix; one server process throughout."""
    faults = Faults(wrong_resource=True)
    with serve_asgi(lambda base: build_broken_app(base, faults)) as base:
        url = base + "/api/mcp"

        async def steps(client: Client) -> Any:
            before = await client.call_tool("doctor", {"server": url})
            failing = next(r for r in before.structured_content["reports"][0]["results"] if r["status"] == "fail" and "caused_by" not in r)
            explained = await client.call_tool("explain_check", {"id": failing["id"]})
            faults.wrong_resource = False  # the agent's edit: PRM now names the endpoint itself
            after = await client.call_tool("doctor", {"server": url, "checks": [failing["id"]]})
            return failing, explained, after

        failing, explained, after = run_agent(home, steps)
    assert failing["id"] == "prm.resource" and f"Set resource to exactly '{url}'" in failing["fix"]
    assert explained.structured_content["fix"].startswith("Set `resource` to the exact MCP URL")
    (report,) = after.structured_content["reports"]
    assert [(r["id"], r["status"]) for r in report["results"]] == [("prm.resource", "pass")] and "No failures or warnings." in after.content[0].text
