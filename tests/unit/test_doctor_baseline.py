"""doctor --baseline REPORT.json against the canned world (respx): a real doctor --json report is the
baseline, the world changes, and the second run lists new, resolved and unchanged findings (text,
json, markdown, sarif) while the exit code counts only the new ones."""

from __future__ import annotations

import json

import pytest
import respx
from typer.testing import CliRunner
from world import SERVER, World

from authkit_mcp_cli.cli import app

runner = CliRunner()


def doctor(world: World, *args: str):
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=world.handle)
        return runner.invoke(app, ["doctor", "--server", SERVER, *args], env={"NO_COLOR": "1"})


def no_pkce(world: World) -> World:
    del world.oauth_metadata["code_challenge_methods_supported"]  # as.pkce FAIL
    world.oidc_metadata.pop("code_challenge_methods_supported", None)
    return world


def no_scopes(world: World) -> World:
    del world.prm["scopes_supported"]  # prm.scopes WARN
    return world


@pytest.fixture
def baseline(tmp_path):
    """A baseline with as.pkce failing (and prm.scopes fine)."""
    result = doctor(no_pkce(World()), "--json")
    assert result.exit_code == 1
    path = tmp_path / "baseline.json"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def test_an_old_failure_does_not_fail_the_run_and_is_listed_unchanged(baseline):
    result = doctor(no_pkce(World()), "--json", "--baseline", str(baseline))
    assert result.exit_code == 0, result.output  # as.pkce still fails, but it is in the baseline
    diff = json.loads(result.stdout)["baseline"]
    assert diff["new"] == [] and diff["resolved"] == []
    assert {"id": "as.pkce", "status": "fail", "was": "fail"} in diff["unchanged"]
    assert doctor(no_pkce(World()), "--json").exit_code == 1  # without the baseline it does


def test_a_new_finding_fails_and_a_fixed_one_is_resolved(baseline):
    result = doctor(no_scopes(World()), "--json", "--fail-on", "warn", "--baseline", str(baseline))
    assert result.exit_code == 1
    diff = json.loads(result.stdout)["baseline"]
    assert diff["new"] == [{"id": "prm.scopes", "status": "warn"}]
    assert diff["resolved"] == [{"id": "as.pkce", "status": "fail"}]
    # the same new warning under the default --fail-on fail is listed but does not fail the run
    assert doctor(no_scopes(World()), "--json", "--baseline", str(baseline)).exit_code == 0


def test_text_markdown_and_sarif_show_the_comparison(baseline, tmp_path):
    text = doctor(no_scopes(no_pkce(World())), "--baseline", str(baseline)).stdout
    assert f"Against the baseline {baseline} ({SERVER}): 1 new, 0 resolved, 1 unchanged" in text
    assert "new       WARN  prm.scopes" in text and "unchanged FAIL  as.pkce" in text
    md = doctor(no_scopes(no_pkce(World())), "--format", "markdown", "--baseline", str(baseline)).stdout
    assert "### Since the baseline:" in md and "| new | WARN | `prm.scopes` |  |" in md and "| unchanged | FAIL | `as.pkce` | FAIL |" in md
    sarif = json.loads(doctor(no_scopes(no_pkce(World())), "--format", "sarif", "--baseline", str(baseline)).stdout)
    states = {r["ruleId"]: r["baselineState"] for r in sarif["runs"][0]["results"]}
    assert states["prm.scopes"] == "new" and states["as.pkce"] == "unchanged"


def test_a_baseline_of_several_servers_is_matched_by_server_url(tmp_path):
    other = {"schema": 1, "target": {"server": "https://other.example/mcp"}, "results": [{"id": "prm.scopes", "status": "warn"}]}
    mine = json.loads(doctor(no_scopes(World()), "--json").stdout)
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"schema": 1, "reports": [other, mine]}), encoding="utf-8")
    result = doctor(no_scopes(World()), "--json", "--fail-on", "warn", "--baseline", str(path))
    assert result.exit_code == 0 and json.loads(result.stdout)["baseline"]["new"] == []
    only_other = tmp_path / "other.json"
    only_other.write_text(json.dumps(other), encoding="utf-8")  # the same check, another server: new here
    result = doctor(no_scopes(World()), "--json", "--fail-on", "warn", "--baseline", str(only_other))
    assert result.exit_code == 1 and json.loads(result.stdout)["baseline"]["new"] == [{"id": "prm.scopes", "status": "warn"}]


@pytest.mark.parametrize(
    ("content", "code"),
    [(None, "usage.baseline-unreadable"), ("not json", "usage.baseline-invalid"), ('{"schema": 2}', "usage.baseline-invalid"), ('{"schema": 1, "results": [{}]}', "usage.baseline-invalid")],
)
def test_a_bad_baseline_is_one_usage_error_before_any_request(tmp_path, content, code):
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    world = World()
    result = doctor(world, "--baseline", str(path))
    assert result.exit_code == 2 and code in result.output and "Traceback" not in result.output
    assert world.requests == []
