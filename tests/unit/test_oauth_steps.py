"""Client protocol steps on canned input: PKCE, the callback (state, RFC 9207
iss), token and registration responses, client authentication."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from authkit_mcp_cli.discovery import Discovered, select_scope
from authkit_mcp_cli.errors import AuthorizationDenied, ProtocolError, RemoteRefused
from authkit_mcp_cli.oauth.authorize import authorization_url
from authkit_mcp_cli.oauth.callback import validate_callback
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.pkce import Pkce, s256
from authkit_mcp_cli.oauth.registration import parse_registration_response, registration_request
from authkit_mcp_cli.oauth.revocation import parse_revocation_response, revocation_request
from authkit_mcp_cli.oauth.token import code_token_request, parse_token_response, refresh_token_request

ISSUER = "https://test-env.authkit.app"
META = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/oauth2/authorize", "token_endpoint": ISSUER + "/oauth2/token", "registration_endpoint": ISSUER + "/oauth2/register", "revocation_endpoint": ISSUER + "/oauth2/revoke"}


def test_pkce_is_s256_of_a_high_entropy_verifier():
    p = Pkce.new()
    assert 43 <= len(p.verifier) <= 128
    assert p.challenge == s256(p.verifier) and p.challenge != p.verifier
    assert Pkce.new().verifier != p.verifier


def test_authorization_url_carries_resource_state_and_pkce():
    p = Pkce.new()
    url = authorization_url(META, client_id="c", redirect_uri="http://127.0.0.1:5000/oauth/callback", scope="openid email", resource="https://mcp.example.com/api/mcp", state="st", pkce=p)
    q = parse_qs(urlsplit(url).query)
    assert q["resource"] == ["https://mcp.example.com/api/mcp"] and q["code_challenge_method"] == ["S256"]
    assert q["code_challenge"] == [p.challenge] and q["state"] == ["st"] and q["scope"] == ["openid email"]
    assert "code_verifier" not in q


@pytest.mark.parametrize(
    ("params", "advertised", "error"),
    [
        ({"code": "c", "state": "s", "iss": ISSUER}, True, None),
        ({"code": "c", "state": "s"}, False, None),
        ({"code": "c", "state": "s", "iss": ISSUER}, False, None),  # iss present though not advertised: compared
        ({"code": "c", "state": "s"}, True, ProtocolError),  # advertised but missing
        ({"code": "c", "state": "s", "iss": ISSUER + "/"}, True, ProtocolError),  # normalised variant: exact comparison
        ({"code": "c", "state": "s", "iss": "https://evil.example"}, False, ProtocolError),
        ({"code": "c", "state": "other", "iss": ISSUER}, True, ProtocolError),
        ({"error": "access_denied", "state": "s", "iss": ISSUER}, True, AuthorizationDenied),
        ({"state": "s", "iss": ISSUER}, True, ProtocolError),
    ],
)
def test_callback_validation_follows_rfc_9207(params, advertised, error):
    if error is None:
        assert validate_callback(params, expected_state="s", issuer=ISSUER, iss_advertised=advertised) == "c"
    else:
        with pytest.raises(error):
            validate_callback(params, expected_state="s", issuer=ISSUER, iss_advertised=advertised)


def test_iss_mismatch_shows_no_error_fields_from_the_response():
    with pytest.raises(ProtocolError) as info:
        validate_callback({"error": "access_denied", "error_description": "ATTACKER TEXT", "state": "s", "iss": "https://evil.example"}, expected_state="s", issuer=ISSUER, iss_advertised=True)
    assert "ATTACKER TEXT" not in info.value.message and "access_denied" not in info.value.message


def test_client_secret_basic_form_encodes_before_base64():
    reg = ClientRegistration("id:with/odd", "se cret+", "client_secret_basic")
    req = code_token_request(META, reg, code="c", redirect_uri="http://127.0.0.1/cb", pkce=Pkce.new(), resource="https://r")
    decoded = base64.b64decode(req.headers["Authorization"].split(" ", 1)[1]).decode()
    assert decoded == "id%3Awith%2Fodd:se%20cret%2B"
    form = parse_qs(req.body.decode())
    assert "client_secret" not in form and "client_id" not in form and form["resource"] == ["https://r"]


def test_client_secret_post_and_none():
    post = refresh_token_request(META, ClientRegistration("cid", "sec", "client_secret_post"), refresh_token="rt", resource="https://r")
    assert parse_qs(post.body.decode())["client_secret"] == ["sec"]
    public = refresh_token_request(META, ClientRegistration("cid"), refresh_token="rt", resource="https://r", scope="a b")
    form = parse_qs(public.body.decode())
    assert form["client_id"] == ["cid"] and "client_secret" not in form and form["scope"] == ["a b"]
    assert "Authorization" not in public.headers


def test_token_response_parsing():
    tokens = parse_token_response(200, json.dumps({"access_token": "at", "token_type": "bearer", "expires_in": 60, "refresh_token": "rt2"}).encode(), previous_refresh_token="rt1")
    assert tokens.refresh_token == "rt2" and tokens.expires_at is not None
    kept = parse_token_response(200, json.dumps({"access_token": "at", "token_type": "Bearer"}).encode(), previous_refresh_token="rt1")
    assert kept.refresh_token == "rt1"  # the AS did not rotate: keep the one we have
    with pytest.raises(RemoteRefused, match="invalid_grant"):
        parse_token_response(400, b'{"error":"invalid_grant","error_description":"expired"}')
    with pytest.raises(ProtocolError, match="not JSON"):
        parse_token_response(200, b"<html>")
    with pytest.raises(ProtocolError, match="token_type"):
        parse_token_response(200, b'{"access_token":"a","token_type":"mac"}')
    with pytest.raises(ProtocolError, match="no OAuth error body"):
        parse_token_response(502, b"Bad Gateway")


def test_registration_request_and_response():
    req = registration_request(META, client_name="atoms-auth", redirect_uris=["http://127.0.0.1:3000/oauth/callback"], application_type="native", auth_method="none", scope=None)
    body = json.loads(req.body)
    assert body["application_type"] == "native" and body["token_endpoint_auth_method"] == "none"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    reg, raw = parse_registration_response(201, b'{"client_id":"c1","token_endpoint_auth_method":"client_secret_basic","client_secret":"s"}', asked_method="none")
    assert reg.token_endpoint_auth_method == "client_secret_basic" and reg.client_secret == "s"
    with pytest.raises(ProtocolError, match="no client_secret"):
        parse_registration_response(201, b'{"client_id":"c1","token_endpoint_auth_method":"client_secret_post"}', asked_method="none")
    with pytest.raises(RemoteRefused) as info:
        parse_registration_response(400, b'{"error":"invalid_redirect_uri","error_description":"nope"}', asked_method="none")
    assert info.value.spec == "RFC 7591 §3.2.2"


def _disc(prm_scopes=None, as_scopes=None, grants=None):
    prm = {"resource": "https://r", "authorization_servers": [ISSUER]}
    if prm_scopes is not None:
        prm["scopes_supported"] = prm_scopes
    meta = dict(META)
    if as_scopes is not None:
        meta["scopes_supported"] = as_scopes
    if grants is not None:
        meta["grant_types_supported"] = grants
    return Discovered("https://r", "https://r", prm, "u", None, ISSUER, meta, "m")


def test_scope_selection_strategy():
    assert select_scope("a b", _disc(["x"])) == "a b"
    assert select_scope(None, _disc(["x", "offline_access"])) == "x"  # never taken from the server's list
    assert select_scope(None, _disc()) is None
    assert select_scope("a", _disc(as_scopes=["a", "offline_access"])) == "a offline_access"
    assert select_scope("a", _disc(as_scopes=["a", "offline_access"], grants=["authorization_code"])) == "a"
    assert select_scope("a", _disc(), ["b c", "a"]) == "a b c"


def test_s256_matches_rfc_7636_appendix_b_and_is_the_local_as_s():
    from authkit_mcp_cli.server.local_as import provider

    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert provider.s256 is s256  # one PKCE for the client and the AS
    assert s256("é" * 43) != s256("?" * 43)  # junk from a client never collides with a real verifier


def test_errors_carry_codes_and_what_the_as_said():
    with pytest.raises(RemoteRefused) as refused:
        parse_token_response(400, b'{"error":"invalid_grant","error_description":"expired","error_uri":7}', url=META["token_endpoint"])
    assert refused.value.code == "oauth.remote-error" and refused.value.error == "invalid_grant" and refused.value.error_description == "expired"
    assert refused.value.status == 400 and refused.value.remote.url == META["token_endpoint"] and refused.value.remote.error_uri is None
    with pytest.raises(ProtocolError) as bad:
        parse_token_response(200, b'{"token_type":"Bearer"}')
    assert bad.value.code == "oauth.invalid-token-response"
    with pytest.raises(ProtocolError) as gateway:
        parse_token_response(502, b"Bad Gateway")
    assert gateway.value.remote.status == 502
    with pytest.raises(RemoteRefused) as dcr:
        parse_registration_response(400, b'{"error":"invalid_client_metadata"}', asked_method="none")
    assert dcr.value.code == "oauth.remote-error" and dcr.value.error == "invalid_client_metadata"
    with pytest.raises(ProtocolError) as iss:
        validate_callback({"code": "c", "state": "s", "iss": "https://evil.example"}, expected_state="s", issuer=ISSUER, iss_advertised=False)
    assert iss.value.code == "oauth.iss-mismatch"
    with pytest.raises(ProtocolError) as state:
        validate_callback({"code": "c", "state": "x"}, expected_state="s", issuer=ISSUER, iss_advertised=False)
    assert state.value.code == "oauth.state-mismatch"
    with pytest.raises(AuthorizationDenied) as denied:
        validate_callback({"error": "access_denied", "state": "s"}, expected_state="s", issuer=ISSUER, iss_advertised=False)
    assert denied.value.remote.error == "access_denied"


def test_revocation_request_and_response_processor():
    req = revocation_request(META, ClientRegistration("cid"), token="rt", hint="refresh_token")
    assert req is not None and req.url == META["revocation_endpoint"]
    assert parse_qs(req.body.decode()) == {"token": ["rt"], "token_type_hint": ["refresh_token"], "client_id": ["cid"]}
    assert revocation_request({k: v for k, v in META.items() if k != "revocation_endpoint"}, ClientRegistration("cid"), token="rt", hint="refresh_token") is None
    assert parse_revocation_response(200, b"") is None  # RFC 7009 §2.2: 200 = revoked (or already unknown)
    with pytest.raises(RemoteRefused) as refused:
        parse_revocation_response(400, b'{"error":"unsupported_token_type","error_description":"no"}', url=META["revocation_endpoint"])
    assert refused.value.code == "oauth.revocation-refused" and refused.value.error == "unsupported_token_type" and refused.value.status == 400
    with pytest.raises(RemoteRefused) as busy:
        parse_revocation_response(503, b"busy")
    assert busy.value.status == 503 and busy.value.error is None and "later" in busy.value.hint


def test_every_public_oauth_function_cites_its_section():
    """The protocol steps other modules build on: each function's one-line docstring names its RFC section."""
    import importlib
    import inspect

    steps = [
        ("authkit_mcp_cli.oauth.client_auth", "ClientRegistration"),
        ("authkit_mcp_cli.oauth.message", "HttpRequest"),
        ("authkit_mcp_cli.oauth.pkce", "Pkce"),
        ("authkit_mcp_cli.oauth.token", "Tokens"),
        ("authkit_mcp_cli.oauth.authorize", "authorization_url"),
        ("authkit_mcp_cli.oauth.client_auth", "client_auth"),
        ("authkit_mcp_cli.oauth.token", "code_token_request"),
        ("authkit_mcp_cli.oauth.message", "error_response"),
        ("authkit_mcp_cli.oauth.registration", "parse_registration_response"),
        ("authkit_mcp_cli.oauth.revocation", "parse_revocation_response"),
        ("authkit_mcp_cli.oauth.token", "parse_token_response"),
        ("authkit_mcp_cli.oauth.token", "refresh_token_request"),
        ("authkit_mcp_cli.oauth.registration", "registration_request"),
        ("authkit_mcp_cli.oauth.revocation", "revocation_request"),
        ("authkit_mcp_cli.oauth.pkce", "s256"),
        ("authkit_mcp_cli.oauth.callback", "validate_callback"),
    ]
    for module, name in steps:
        obj = getattr(importlib.import_module(module), name)
        if inspect.isfunction(obj):
            doc = (obj.__doc__ or "").strip()
            assert doc and "\n" not in doc and ("RFC" in doc or "§" in doc), name
