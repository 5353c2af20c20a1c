"""doctor --format sarif against real servers, checked by real validators: the SARIF 2.1.0 JSON schema
(the copy the SARIF Multitool ships, with the ``jsonschema`` package) and the SARIF Multitool's own
rules, the SARIF ones and GitHub code scanning's (``--rule-kind Sarif;Ghas``), run offline from
tests/node (``@microsoft/sarif-multitool``). Then what code scanning relies on: one rule per check
id, levels per status, a repository-relative location per server, fingerprints stable across runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from authkit_mcp_cli import check_listing
from authkit_mcp_cli.reports.sarif import FINGERPRINT, artifact_path
from peers.asgi import serve_asgi
from peers.broken_server import Faults, build_broken_app

pytestmark = pytest.mark.integration

NODE_MODULES = Path(__file__).resolve().parents[1] / "node" / "node_modules"


def multitool_dir() -> Path:
    """The platform package of the SARIF Multitool (its binary and the schema it validates with)."""
    found = Path(os.environ.get("SARIF_MULTITOOL_DIR", NODE_MODULES / "@microsoft" / "sarif-multitool-linux"))
    if not (found / "Sarif.Multitool").exists():
        pytest.fail(f"the SARIF Multitool is not installed at {found}: run `npm ci` in tests/node")
    return found


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def validate(path: Path, tmp_path: Path) -> list[str]:
    """The schema's verdict (raises) and the Multitool's errors (the returned lines; warnings allowed)."""
    tool = multitool_dir()
    schema = json.loads((tool / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker()).validate(json.loads(path.read_text(encoding="utf-8")))
    out = tmp_path / "validation.sarif"
    proc = subprocess.run([str(tool / "Sarif.Multitool"), "validate", str(path), "--rule-kind", "Sarif;Ghas", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert "Analysis completed successfully" in proc.stdout, proc.stdout + proc.stderr
    verdict = json.loads(out.read_text(encoding="utf-8-sig"))
    return [f"{r['ruleId']}: {r['message'].get('text') or r['message']}" for run in verdict["runs"] for r in run.get("results", []) if r.get("level", "warning") == "error"]


@pytest.fixture
def broken_base():
    with serve_asgi(lambda base: build_broken_app(base, Faults(no_pkce=True, wrong_resource=True))) as base:
        yield base


def test_sarif_of_a_broken_server_validates_and_maps_each_finding(broken_base, tmp_path):
    server = broken_base + "/api/mcp"
    path = tmp_path / "doctor.sarif"
    proc = doctor("--server", server, "--format", "sarif", "-o", str(path))
    assert proc.returncode == 1  # the exit code does not depend on the format
    assert validate(path, tmp_path) == []
    log = json.loads(path.read_text(encoding="utf-8"))
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    catalogue = check_listing.load()
    assert [r["id"] for r in rules] == [c["id"] for c in catalogue]  # one rule per check id
    pkce = rules[[r["id"] for r in rules].index("as.pkce")]
    assert pkce["shortDescription"]["text"] and pkce["fullDescription"]["text"] and pkce["properties"]["spec"] == "MCP 2026-07-28 Authorization: Authorization Code Protection; OAuth 2.1 §4.1.1"
    assert pkce["properties"]["helpPath"] == "docs/checks.md#authorization-server" and "helpUri" not in pkce  # no public docs URL
    json_doc = json.loads(doctor("--server", server, "--json").stdout)
    expected = {r["id"]: r["status"] for r in json_doc["results"] if r["status"] in ("fail", "error", "warn") and "caused_by" not in r}
    got = {r["ruleId"]: r["level"] for r in run["results"]}
    assert got == {cid: {"fail": "error", "error": "error", "warn": "warning"}[s] for cid, s in expected.items()}
    assert got["as.pkce"] == "error"
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        location = r["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == artifact_path(server) == f"mcp-server/127.0.0.1_{broken_base.rsplit(':', 1)[1]}/api/mcp"
        assert location["logicalLocations"][0]["fullyQualifiedName"] == server and r["properties"]["server"] == server


def test_info_is_a_note_only_with_verbose_and_help_uri_follows_the_docs_url(broken_base, tmp_path):
    server = broken_base + "/api/mcp"
    quiet = json.loads(doctor("--server", server, "--format", "sarif").stdout)["runs"][0]["results"]
    path = tmp_path / "verbose.sarif"
    path.write_text(doctor("--server", server, "--format", "sarif", "--verbose", env={"ATOMS_AUTH_DOCS_URL": "https://github.com/o/r/blob/v1/docs/"}).stdout, encoding="utf-8")
    assert validate(path, tmp_path) == []
    log = json.loads(path.read_text(encoding="utf-8"))
    loud = log["runs"][0]["results"]
    assert "note" not in {r["level"] for r in quiet} and "note" in {r["level"] for r in loud}
    assert {r["ruleId"] for r in quiet} == {r["ruleId"] for r in loud if r["level"] != "note"}
    pkce = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "as.pkce")
    assert pkce["helpUri"] == "https://github.com/o/r/blob/v1/docs/checks.md#authorization-server"


def test_fingerprints_are_stable_across_runs_and_distinct_per_server_and_check(tmp_path):
    def fingerprints(*servers: str) -> list[tuple[str, str, str]]:
        args = [a for s in servers for a in ("--server", s)]
        log = json.loads(doctor(*args, "--format", "sarif").stdout)
        return [(r["properties"]["server"], r["ruleId"], r["partialFingerprints"][FINGERPRINT]) for r in log["runs"][0]["results"]]

    with serve_asgi(lambda base: build_broken_app(base, Faults(no_pkce=True))) as a, serve_asgi(lambda base: build_broken_app(base, Faults(no_pkce=True))) as b:
        first = fingerprints(a + "/api/mcp", b + "/api/mcp")
        again = fingerprints(a + "/api/mcp", b + "/api/mcp")
    assert first == again and first  # same servers, same checks: the same fingerprints
    assert len({f for _, _, f in first}) == len(first)  # each (server, check) its own
    assert {s for s, _, _ in first} == {a + "/api/mcp", b + "/api/mcp"}  # several servers, one run


def test_client_profile_results_get_rules_of_their_own_and_still_validate(broken_base, tmp_path):
    path = tmp_path / "profile.sarif"
    path.write_text(doctor("--server", broken_base + "/api/mcp", "--format", "sarif", "--profile", "inspector", "--profile", "cursor").stdout, encoding="utf-8")
    assert validate(path, tmp_path) == []
    run = json.loads(path.read_text(encoding="utf-8"))["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["profile.cursor.registration"]["properties"]["helpPath"] == "docs/usage.md#client-profiles"
    assert "github.com" in rules["profile.cursor.registration"]["properties"]["spec"]  # the rule's public source
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
