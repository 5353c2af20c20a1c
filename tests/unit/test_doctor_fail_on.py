"""doctor --fail-on fail|warn|never against the canned world (respx): which findings make the exit
code 1, that --strict is --fail-on warn, and that an unreachable server exits 3 whatever --fail-on says."""

from __future__ import annotations

import pytest
import respx
from typer.testing import CliRunner
from world import SERVER, World

from authkit_mcp_cli.cli import app

runner = CliRunner()


def doctor(world: World, *args: str):
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=world.handle)
        return runner.invoke(app, ["doctor", "--server", SERVER, "--json", *args], env={"NO_COLOR": "1"})


def warned_world() -> World:
    """Only a warning: no scopes_supported in the PRM (prm.scopes WARN)."""
    world = World()
    del world.prm["scopes_supported"]
    return world


def failed_world() -> World:
    world = warned_world()
    del world.oauth_metadata["code_challenge_methods_supported"]  # as.pkce FAIL
    world.oidc_metadata.pop("code_challenge_methods_supported", None)
    return world


@pytest.mark.parametrize(
    ("world", "args", "code"),
    [
        (warned_world, [], 0),
        (warned_world, ["--fail-on", "fail"], 0),
        (warned_world, ["--fail-on", "warn"], 1),
        (warned_world, ["--strict"], 1),
        (warned_world, ["--strict", "--fail-on", "warn"], 1),
        (failed_world, [], 1),
        (failed_world, ["--fail-on", "never"], 0),
        (failed_world, ["--fail-on", "warn"], 1),
    ],
)
def test_fail_on_decides_which_findings_fail_the_run(world, args, code):
    w = world()
    result = doctor(w, *args)
    assert result.exit_code == code, result.output
    statuses = {r["status"] for r in __import__("json").loads(result.stdout)["results"]}
    assert "warn" in statuses and ("fail" in statuses) == (world is failed_world)  # the world is what the case says


@pytest.mark.parametrize("other", ["fail", "never"])
def test_strict_with_another_fail_on_is_a_usage_error_before_any_request(other):
    world = warned_world()
    result = doctor(world, "--strict", "--fail-on", other)
    assert result.exit_code == 2 and "--strict and --fail-on" in result.output and "usage.conflicting-options" in result.output
    assert world.requests == []


def test_never_still_exits_3_when_the_server_cannot_be_reached():
    result = runner.invoke(app, ["doctor", "--server", "http://127.0.0.1:9/api/mcp", "--fail-on", "never", "--timeout", "2"], env={"NO_COLOR": "1"})
    assert result.exit_code == 3, result.output
