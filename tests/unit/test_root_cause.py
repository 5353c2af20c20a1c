"""Root cause first (issue 15 item 2): doctor against real things on loopback, a
closed port and a plain web server, run as a subprocess into pipes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest


def closed_port() -> int:
    """A loopback port nothing listens on (bound to port 0, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def web_server(tmp_path):
    """Python's own http.server: a web server, not an MCP endpoint (POST is 501, an HTML page)."""
    (tmp_path / "index.html").write_text("<h1>hello</h1>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTMCP_", "ATOMS_AUTH_DEBUG", "COLUMNS"))}
    return subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--timeout", "3", *args], capture_output=True, text=True, env=env, timeout=60)


def test_a_closed_port_leads_with_the_network_failure_and_exits_3():
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    run = doctor("--server", url)
    assert run.returncode == 3, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if line]
    assert lines[0].startswith("MCP server")
    assert lines[1].startswith("Root cause (server.reachable): The MCP server could not be reached: connection to 127.0.0.1:")
    assert lines[2].startswith("fix: Start the server")
    # the consequences are folded: one line for the AS checks, none of the 15 identical SKIP lines
    assert any(re.search(r"\b\d+ authorization server checks\b", line) and "skipped: no AS known (because server.reachable failed)" in line for line in lines)
    assert not any(line.startswith("SKIP   as.") or line.startswith("SKIP   challenge.") for line in lines)
    assert not any(line.startswith("FAIL   prm.discovery") for line in lines)  # it only follows from the refused connection
    summary = next(line for line in lines if line.startswith("Summary:"))
    assert "1 failed" in summary and "not counted" in summary


def test_the_json_report_names_the_cause_and_leaves_consequences_out_of_the_summary():
    run = doctor("--server", f"http://127.0.0.1:{closed_port()}/mcp", "--json")
    assert run.returncode == 3
    doc = json.loads(run.stdout)
    results = {r["id"]: r for r in doc["results"]}
    assert doc["root_cause"]["id"] == "server.reachable" and doc["root_cause"]["kind"] == "network"
    assert results["server.reachable"]["root_cause"]["kind"] == "network" and "caused_by" not in results["server.reachable"]
    assert results["prm.discovery"]["status"] == "fail" and results["prm.discovery"]["caused_by"] == "server.reachable"
    assert all(results[i]["caused_by"] == "server.reachable" for i in results if i.startswith(("as.", "challenge.")))
    assert "caused_by" not in results["server.https"]  # judged from the URL alone: it passed
    consequences = sum(1 for r in doc["results"] if "caused_by" in r)
    assert doc["root_cause"]["consequences"] == consequences >= 20
    assert doc["summary"]["fail"] == 1  # prm.discovery's failure is not a second one
    assert sum(doc["summary"].values()) + consequences == len(doc["results"])


def test_an_unreachable_authorization_server_alone_is_a_network_failure():
    run = doctor("--authkit-domain", f"http://127.0.0.1:{closed_port()}", "--json")
    assert run.returncode == 3
    doc = json.loads(run.stdout)
    assert doc["root_cause"]["id"] == "as.discovery" and doc["root_cause"]["kind"] == "network"
    assert {r["caused_by"] for r in doc["results"] if r["id"] != "as.discovery"} == {"as.discovery"}
    assert doc["summary"]["fail"] == 1 and doc["summary"]["skip"] == 0


def test_a_plain_web_server_is_named_as_such(web_server):
    run = doctor("--server", web_server + "/")
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    cause = next(line for line in lines if line.startswith("Root cause"))
    assert cause.startswith("Root cause (challenge.status): This looks like a web server, not an MCP endpoint: POST ")
    assert "HTTP 501, an HTML page" in cause
    assert any(line.startswith("fix: Check the path in --server") and web_server + "/mcp" in line for line in lines)
    json_run = doctor("--server", web_server + "/", "--json")
    doc = json.loads(json_run.stdout)
    assert doc["root_cause"]["kind"] == "not-mcp"
    results = {r["id"]: r for r in doc["results"]}
    assert results["server.reachable"]["status"] == "pass"  # it answered: reachable, just not MCP
    assert results["prm.discovery"].get("caused_by") == "challenge.status"
    assert doc["summary"]["fail"] == 1


def test_a_dns_failure_is_a_network_failure():
    run = doctor("--server", "http://atoms-auth-test.invalid/mcp", "--json")  # .invalid never resolves (RFC 6761 §6.4)
    assert run.returncode == 3, run.stdout + run.stderr
    cause = json.loads(run.stdout)["root_cause"]
    assert cause["id"] == "server.reachable" and "DNS lookup for atoms-auth-test.invalid failed" in cause["message"]


def test_a_server_that_never_answers_is_a_network_failure():
    """A socket that listens but never accepts: the connection opens, no answer comes, --timeout 1 ends it."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        run = doctor("--server", f"http://127.0.0.1:{silent.getsockname()[1]}/mcp", "--json", "--timeout", "1")
    assert run.returncode == 3, run.stdout + run.stderr
    doc = json.loads(run.stdout)
    assert doc["root_cause"]["id"] == "server.reachable"
    assert "timeout" in doc["root_cause"]["message"] or "timed out" in doc["root_cause"]["message"]
    assert doc["summary"]["fail"] == 1


def test_a_skip_that_points_at_a_failed_check_follows_from_it():
    """Canned AS (tests/unit/world.py) whose issuer differs by a slash: authkit.domain says "see as.issuer"."""
    import io

    from rich.console import Console
    from world import AS, World

    from authkit_mcp_cli.reports import common, json, text

    results = World().run(server=None, authkit_domain=AS + "/")
    assert results["authkit.domain"].caused_by == "as.issuer" and results["as.issuer"].caused_by is None
    listed = list(results.values())
    assert common.exit_code(listed, strict=False) == 1  # an ordinary finding, not a network failure
    assert common.summary(listed)["skip"] == sum(1 for r in listed if r.status.value == "skip") - 1
    assert json.root_cause_json(listed) is None  # only unreachable / not-MCP causes lead the report
    out = io.StringIO()
    text.render(Console(file=out, width=1000, no_color=True), listed, server=None, authorization_server=AS + "/")
    assert "SKIP   1 AuthKit check" in out.getvalue() and "skipped only because as.issuer failed." in out.getvalue()


def test_a_correct_setup_has_no_cause_and_no_consequence():
    from world import World

    from authkit_mcp_cli.reports import common

    listed = list(World().run().values())
    assert not any(r.caused_by or r.cause for r in listed)
    assert common.exit_code(listed, strict=False) == 0
