"""Redirect URI authority rules of the development AS (issue 14 items 4, 8): what
may reach a Content-Security-Policy or a Location, and which URIs are trusted
for a redirect without a page."""

from __future__ import annotations

import pytest

from authkit_mcp_cli.server.local_as.cimd import validate_document
from authkit_mcp_cli.server.local_as.model import Client, OAuthError
from authkit_mcp_cli.server.local_as.redirect_uris import Authority, csp_source, origin_of, parse_redirect_uri, trusted_for_redirect


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1:3000/oauth/callback", Authority("http", "127.0.0.1", 3000)),
        ("HTTPS://App.Example.COM/cb?x=;,", Authority("https", "app.example.com", None)),
        ("http://[::1]:8080/cb", Authority("http", "[::1]", 8080)),
        ("http://localhost/cb", Authority("http", "localhost", None)),
        ("com.example.app:/oauth/cb", Authority("com.example.app", "", None)),
    ],
)
def test_valid_authorities(uri, expected):
    assert parse_redirect_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:1;frame-ancestors *",
        "http://127.0.0.1:1,evil",
        "http://a b/cb",
        "http://127.0.0.1:1\n/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:१२/cb",  # Devanagari digits: int() takes them, a port is ASCII
        "http://user:pw@127.0.0.1/cb",
        "http://exa_mple.com/cb",
        "http://ex\u00e4mple.com/cb",
        "http://[::1/cb",
        "http://[v1.x]/cb",
        "http://[::1]x/cb",
        "https:///cb",
        "1http://a/cb",
        "",
    ],
)
def test_invalid_authorities(uri):
    with pytest.raises(OAuthError) as info:
        parse_redirect_uri(uri)
    assert info.value.error == "invalid_redirect_uri"
    assert csp_source(uri) is None


def test_origin_of_drops_default_ports():
    assert origin_of("http://127.0.0.1:80/x") == "http://127.0.0.1" and origin_of("https://a.example:443") == "https://a.example"
    assert origin_of("http://127.0.0.1:8000") == "http://127.0.0.1:8000" and origin_of("com.example.app:/cb") is None


def test_metadata_documents_follow_the_same_authority_rule():
    url = "https://client.example.com/oauth/client.json"
    with pytest.raises(OAuthError) as info:
        validate_document(url, {"client_id": url, "client_name": "n", "redirect_uris": ["http://127.0.0.1:1;frame-ancestors *"]})
    assert info.value.error == "invalid_client"


def test_only_the_users_own_device_is_trusted_for_a_redirect_without_a_page():
    web = Client(client_id="c", redirect_uris=[])
    native = Client(client_id="n", redirect_uris=[], application_type="native")
    assert trusted_for_redirect(web, "http://127.0.0.1:5000/cb") and trusted_for_redirect(web, "http://[::1]:5000/cb")
    assert not trusted_for_redirect(web, "https://app.example/cb") and not trusted_for_redirect(web, "http://localhost.attacker.example/cb")
    assert trusted_for_redirect(native, "com.example.app:/cb") and not trusted_for_redirect(native, "noscheme:/cb")
    assert not trusted_for_redirect(web, "http://127.0.0.1:1;x/cb")
