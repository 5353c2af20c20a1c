"""Root cause first (issue 15 item 2) against the TypeScript SDK's example server:
a path it does not serve is named as a web server's answer, not an MCP endpoint."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from authkit_mcp_cli.cli import app

pytestmark = pytest.mark.integration  # the TypeScript SDK's example server, a real process


def test_a_404_path_on_the_ts_example_server_is_not_an_mcp_endpoint(ts_example):
    wrong = ts_example.mcp_url.rsplit("/", 1)[0] + "/not-mcp"
    result = CliRunner().invoke(app, ["doctor", "--server", wrong, "--json", "--timeout", "5"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    cause = doc["root_cause"]
    assert cause["id"] == "challenge.status" and cause["kind"] == "not-mcp"
    assert "This looks like a web server, not an MCP endpoint" in cause["message"] and "HTTP 404" in cause["message"]
    assert "/mcp" in cause["fix"]
    results = {r["id"]: r for r in doc["results"]}
    assert results["challenge.status"]["status"] == "fail" and "caused_by" not in results["challenge.status"]
    assert results["prm.discovery"]["caused_by"] == "challenge.status"
    assert doc["summary"]["fail"] == 1
    # and the right path on the same server has no root cause at all
    right = CliRunner().invoke(app, ["doctor", "--server", ts_example.mcp_url, "--json", "--timeout", "5"])
    assert "root_cause" not in json.loads(right.stdout)


def test_an_unreachable_as_named_by_the_server_is_the_servers_finding_folded_once():
    """serve's metadata names an AS on a closed port: as.discovery fails once, the other AS checks
    follow from it (not counted), and the exit code is the finding's 1, not the network's 3."""
    from peers.serve_app import serve_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with serve_app(authkit_domain=f"http://127.0.0.1:{closed}", auto_approve=False) as (info, _app):
        result = CliRunner().invoke(app, ["doctor", "--server", info.mcp_url, "--json", "--timeout", "3"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    results = {r["id"]: r for r in doc["results"]}
    assert results["as.discovery"]["status"] == "fail" and "caused_by" not in results["as.discovery"]
    assert {results[i].get("caused_by") for i in results if i.startswith("as.") and i != "as.discovery"} == {"as.discovery"}
    assert "root_cause" not in doc  # the server itself answered: nothing to lead with
    assert doc["summary"]["skip"] == sum(1 for r in doc["results"] if r["status"] == "skip" and "caused_by" not in r)
