"""Which AS a pre-registered client belongs to (issue #20 item 1): the
configured domain, else the one issuer the store records it under; and the
comparison of issuer identifiers used for that."""

from __future__ import annotations

import pytest

from authkit_mcp_cli.client.context import LoginOptions
from authkit_mcp_cli.client.issuer_binding import binding_for, configured_domain
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.issuers import IssuerBinding, assertion_audience_problem, same_issuer
from authkit_mcp_cli.store import Store

AS = "https://acme.authkit.app"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (AS, AS, True),
        (AS, AS + "/", True),
        (AS, "HTTPS://ACME.authkit.app", True),
        (AS, "https://acme.authkit.app:443", True),
        ("http://127.0.0.1:80/t", "http://127.0.0.1/t/", True),
        (AS, "http://acme.authkit.app", False),  # another scheme is another origin
        (AS, "https://acme.authkit.app.evil.example", False),
        (AS, "https://acme.authkit.app:8443", False),
        ("https://as.example/tenant-a", "https://as.example/tenant-b", False),
        ("https://as.example/tenant", "https://as.example", False),
        (AS, "not a url", False),
        (AS, "https://[::1", False),  # unparsable
    ],
)
def test_issuers_compare_exactly_but_for_a_trailing_slash_and_a_default_port(a, b, same):
    assert same_issuer(a, b) is same and same_issuer(b, a) is same


def test_no_pre_registered_client_means_no_binding(tmp_path):
    assert binding_for(LoginOptions(), Store(tmp_path)) is None
    assert binding_for(LoginOptions(client_metadata_url="https://app.example/client.json"), Store(tmp_path)) is None


def test_the_configured_domain_binds_first(tmp_path):
    store = Store(tmp_path)
    store.save_client("https://other.example", {"client_id": "c1", "source": "dcr"})
    binding = binding_for(LoginOptions(client_id="c1", authkit_domain=AS, authkit_domain_source="FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN"), store)
    assert binding == IssuerBinding("c1", AS, "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN")


def test_the_store_binds_a_client_it_records_under_one_issuer(tmp_path):
    store = Store(tmp_path)
    store.save_client(AS, {"client_id": "c1", "source": "dcr"})
    store.save_tokens(AS, "https://mcp.example/mcp", {"client": {"client_id": "c1"}, "tokens": {}})
    assert binding_for(LoginOptions(client_id="c1"), store) == IssuerBinding("c1", AS, "the store")


def test_a_client_under_two_issuers_or_none_needs_the_domain(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(UsageError) as none:
        binding_for(LoginOptions(client_id="c1"), store)
    assert none.value.code == "login.client-issuer-unknown" and none.value.exit_code == 2
    store.save_client(AS, {"client_id": "c1"})
    store.save_tokens("https://other.example", "https://mcp.example/mcp", {"client": {"client_id": "c1"}})
    with pytest.raises(UsageError) as two:
        binding_for(LoginOptions(client_id="c1"), store)
    assert "2 authorization servers" in two.value.message and AS in two.value.message


def test_select_takes_the_clients_issuer_among_several_or_stops():
    binding = IssuerBinding("c1", AS, "--authkit-domain")
    assert binding.select(["https://first.example", AS + "/"], server_url="https://mcp.example/mcp") == AS + "/"
    with pytest.raises(UsageError) as info:
        binding.select(["https://evil.example"], server_url="https://mcp.example/mcp")
    err = info.value
    assert err.code == "login.client-issuer-mismatch" and "https://evil.example" in err.message and AS in err.message and "(--authkit-domain)" in err.message
    assert "Client Registration" in (err.spec or "")


def test_the_guides_variable_is_read_when_the_flag_is_absent():
    env = {"FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN": AS}
    assert configured_domain(None, env) == (AS, "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN")
    assert configured_domain("https://flag.example", env) == ("https://flag.example", "--authkit-domain")
    assert configured_domain(None, {}) == (None, None)


@pytest.mark.parametrize(
    ("aud", "ok"),
    [(AS, True), ([AS + "/"], True), (AS + "/oauth2/token", True), ("https://evil.example", False), (None, False), ([], False), (42, False)],
)
def test_an_assertion_audience_must_name_the_as(aud, ok):
    assert (assertion_audience_problem(aud, AS, AS + "/oauth2/token") is None) is ok
