"""AuthKit is recognised, never guessed (issue 12): AuthKit's findings and
dashboard advice only when the issuer is an .authkit.app host, or the
configuration says so (FASTMCP_SERVER_AUTH=...AuthKitProvider, --as-kind
authkit). An AS on AuthKit's /oauth2/* paths, or given with --authkit-domain,
gets generic advice."""

from __future__ import annotations

import pytest
import world as w
from world import World

from authkit_mcp_cli.checks.as_kind import configured_kind
from authkit_mcp_cli.checks.model import Status

OTHER_AS = "https://login.example.com"


def other_as_world(monkeypatch) -> World:
    """The canned world with its AS moved to a host that is not AuthKit's, AuthKit's /oauth2/* paths kept."""
    monkeypatch.setattr(w, "AS", OTHER_AS)  # world's documents and routes read it when called
    world = World()
    assert world.prm["authorization_servers"] == [OTHER_AS] and world.oauth_metadata["token_endpoint"] == OTHER_AS + "/oauth2/token"
    world.prm["resource"] = w.SERVER + "/"  # a prm.resource finding, to read its fix
    world.oauth_metadata.pop("client_id_metadata_document_supported")
    world.oidc_metadata.pop("client_id_metadata_document_supported")
    return world


def test_an_as_on_authkit_paths_is_not_guessed_to_be_authkit(monkeypatch):
    results = other_as_world(monkeypatch).run()
    assert results["as.discovery"].status is Status.PASS  # the world works
    assert results["authkit.domain"].status is Status.SKIP and "not known to be AuthKit" in results["authkit.domain"].message
    assert "WorkOS" not in (results["prm.resource"].fix or "") and "Resource Indicator" not in (results["prm.resource"].fix or "")
    assert results["as.cimd"].status is Status.WARN and "WorkOS" not in results["as.cimd"].fix


def test_given_with_authkit_domain_is_not_enough(monkeypatch):
    results = other_as_world(monkeypatch).run(authkit_domain=OTHER_AS)
    assert results["authkit.domain"].status is Status.SKIP
    assert "WorkOS" not in results["as.cimd"].fix


def test_as_kind_authkit_says_so_for_a_custom_domain(monkeypatch):
    results = other_as_world(monkeypatch).run(as_kind="--as-kind authkit")
    assert results["authkit.domain"].status is Status.PASS and "(--as-kind authkit)" in results["authkit.domain"].message
    assert "Resource Indicator in the WorkOS dashboard" in results["prm.resource"].fix
    assert "WorkOS dashboard" in results["as.cimd"].fix


def test_an_authkit_app_host_is_authkit():
    world = World()
    world.oauth_metadata.pop("client_id_metadata_document_supported")
    results = world.run()
    assert "is an .authkit.app host" in results["authkit.domain"].message
    assert "WorkOS dashboard" in results["as.cimd"].fix


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (None, {"FASTMCP_SERVER_AUTH": "fastmcp.server.auth.providers.workos.AuthKitProvider"}, "FASTMCP_SERVER_AUTH=fastmcp.server.auth.providers.workos.AuthKitProvider"),
        (None, {"FASTMCP_SERVER_AUTH": "fastmcp.server.auth.providers.github.GitHubProvider"}, None),
        (None, {"FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN": "https://login.example.com"}, None),
        ("authkit", {}, "--as-kind authkit"),
        ("generic", {"FASTMCP_SERVER_AUTH": "fastmcp.server.auth.providers.workos.AuthKitProvider"}, None),
    ],
)
def test_what_the_configuration_says(flag, env, expected):
    assert configured_kind(flag, env) == expected
