"""doctor --profile CLIENT against the canned world (respx): each client's rules judged from what
doctor found, a rule's problem failing or warning as its level says, the redirect URIs reported,
and the data itself: every rule cites a public https source, which docs/usage.md lists."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner
from world import SERVER, World

from authkit_mcp_cli.cli import app
from authkit_mcp_cli.client_profiles import profiles
from authkit_mcp_cli.commands.doctor import ClientProfile

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def doctor(world: World, *args: str, strip_cors: bool = False):
    def handle(request: httpx.Request) -> httpx.Response:
        response = world.handle(request)
        if strip_cors:  # a server and AS that send no CORS header at all
            headers = {k: v for k, v in response.headers.items() if not k.lower().startswith("access-control-")}
            return httpx.Response(response.status_code, headers=headers, content=response.content)
        return response

    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=handle)
        result = runner.invoke(app, ["doctor", "--server", SERVER, "--json", *args], env={"NO_COLOR": "1"})
    return result, {r["id"]: r for r in json.loads(result.stdout)["results"]}


def cimd_only() -> World:
    world = World()
    del world.oauth_metadata["registration_endpoint"]
    world.oidc_metadata.pop("registration_endpoint", None)
    return world


def test_cursor_needs_dcr_and_claude_is_content_with_cimd():
    result, by_id = doctor(cimd_only(), "--profile", "cursor", "--profile", "claude")
    assert by_id["profile.cursor.registration"]["status"] == "fail"
    assert "offers Client ID Metadata Documents" in by_id["profile.cursor.registration"]["message"]
    assert by_id["profile.cursor.registration"]["evidence"]["sources"] == profiles()["cursor"]["rules"][0]["sources"]
    assert by_id["profile.claude.registration"]["status"] == "pass"
    assert result.exit_code == 1  # the profile's MUST counts as any FAIL does
    assert doctor(cimd_only())[0].exit_code == 0  # without the profile the server is fine


def test_vscode_without_dcr_is_a_warning_and_lists_its_redirect_uris():
    result, by_id = doctor(cimd_only(), "--profile", "vscode")
    assert by_id["profile.vscode.registration"]["status"] == "warn" and result.exit_code == 0
    uris = by_id["profile.vscode.redirect-uris"]
    assert uris["status"] == "info" and "https://vscode.dev/redirect" in uris["evidence"]["redirect_uris"]
    assert doctor(cimd_only(), "--profile", "vscode", "--fail-on", "warn")[0].exit_code == 1


def test_with_dcr_every_registration_rule_passes():
    result, by_id = doctor(World(), *[a for name in profiles() for a in ("--profile", name)])
    assert [cid for cid, r in by_id.items() if cid.startswith("profile.") and r["status"] not in ("pass", "info")] == []
    assert result.exit_code == 0


def test_the_inspector_needs_cors_on_the_challenge_and_the_as_metadata():
    _, fine = doctor(World(), "--profile", "inspector")
    assert fine["profile.inspector.as-cors"]["status"] == "pass" and fine["profile.inspector.challenge-cors"]["status"] == "pass"
    result, bare = doctor(World(), "--profile", "inspector", strip_cors=True)
    assert bare["as.cors"]["status"] == "warn" and bare["profile.inspector.as-cors"]["status"] == "fail"
    assert bare["profile.inspector.challenge-cors"]["status"] == "fail" and "challenge.cors warn" in bare["profile.inspector.challenge-cors"]["message"]
    assert result.exit_code == 1


def test_an_unknown_profile_is_a_usage_error():
    result = runner.invoke(app, ["doctor", "--server", SERVER, "--profile", "netscape"])
    assert result.exit_code == 2 and "netscape" in result.output


def test_the_profiles_are_data_with_sources_the_docs_list():
    assert [p.value for p in ClientProfile] == list(profiles())
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    for name, profile in profiles().items():
        for rule in profile["rules"]:
            assert rule["sources"] and all(s.startswith("https://") for s in rule["sources"]), (name, rule["id"])
            assert all(s in usage for s in rule["sources"]), (name, rule["id"])
            assert rule["kind"] in ("registration", "requires", "redirect-uris") and rule["level"] in ("MUST", "SHOULD", "INFO")


@pytest.mark.parametrize("fmt", ["sarif", "markdown", "junit", "text"])
def test_every_format_carries_the_profile_results(fmt):
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=cimd_only().handle)
        result = runner.invoke(app, ["doctor", "--server", SERVER, "--format", fmt, "--profile", "cursor"], env={"NO_COLOR": "1"})
    assert result.exit_code == 1 and "profile.cursor.registration" in result.stdout
