"""The development AS's protocol rules, called directly."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from authkit_mcp_cli.server.local_as.cimd import is_metadata_url, validate_document
from authkit_mcp_cli.server.local_as.pages import consent_page
from authkit_mcp_cli.server.local_as.provider import LocalAuthorizationServer, OAuthError

ISSUER = "http://127.0.0.1:8000"
RESOURCE = ISSUER + "/api/mcp"


@pytest.fixture
def las():
    return LocalAuthorizationServer(issuer=ISSUER, resource=RESOURCE, resource_scopes=["mcp:tools", "mcp:admin"])


def pkce():
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def native(las, **extra):
    return las.register({"redirect_uris": ["http://127.0.0.1:3000/oauth/callback"], "application_type": "native", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"], **extra})


def authorize(las, client, redirect_uri="http://127.0.0.1:3000/oauth/callback", **params):
    verifier, challenge = pkce()
    base = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri, "code_challenge": challenge, "code_challenge_method": "S256", "state": "st", "resource": RESOURCE, "scope": "mcp:tools openid email"}
    base.update(params)
    req = las.start_authorization(client, base)
    las.take_pending(req.id, req.csrf)
    query = parse_qs(urlsplit(las.approve(req)).query)
    return query, verifier


def exchange(las, client, code, verifier, redirect_uri="http://127.0.0.1:3000/oauth/callback"):
    return las.token({"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": redirect_uri, "client_id": client.client_id, "resource": RESOURCE}, None)


def test_metadata_is_authkit_shaped_and_says_development(las):
    meta = las.metadata()
    assert meta["authorization_endpoint"] == ISSUER + "/oauth2/authorize" and meta["jwks_uri"] == ISSUER + "/oauth2/jwks"
    assert meta["code_challenge_methods_supported"] == ["S256"] and meta["client_id_metadata_document_supported"] is True
    assert "DEVELOPMENT" in meta["atoms_auth_development_server"]


def test_dcr_defaults_and_validation(las):
    web = las.register({"redirect_uris": ["https://app.example.com/cb"]})
    assert web.token_endpoint_auth_method == "client_secret_basic" and web.client_secret  # RFC 7591 default
    assert web.registration_response()["client_secret_expires_at"] == 0
    for body, error in [
        ({}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://evil.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a/cb"], "application_type": "desktop"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://a/cb"], "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://a/cb"], "grant_types": ["implicit"]}, "invalid_client_metadata"),
        ([1, 2], "invalid_client_metadata"),
    ]:
        with pytest.raises(OAuthError) as info:
            las.register(body)
        assert info.value.error == error, body


def test_native_clients_get_any_port_loopback_redirects(las):
    client = native(las)
    assert las.redirect_uri_allowed(client, "http://127.0.0.1:54321/oauth/callback")
    assert not las.redirect_uri_allowed(client, "http://localhost:54321/oauth/callback")  # another host
    assert not las.redirect_uri_allowed(client, "http://127.0.0.1:54321/other")
    web = las.register({"redirect_uris": ["http://127.0.0.1:3000/oauth/callback"], "application_type": "web"})
    assert not las.redirect_uri_allowed(web, "http://127.0.0.1:54321/oauth/callback")


def test_full_code_flow_binds_audience_and_returns_iss(las):
    client = native(las)
    query, verifier = authorize(las, client)
    assert query["iss"] == [ISSUER] and query["state"] == ["st"]
    tokens = exchange(las, client, query["code"][0], verifier)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    assert claims["aud"] == RESOURCE and claims["iss"] == ISSUER and claims["scope"] == "mcp:tools openid email"
    assert header["typ"] == "at+jwt" and header["kid"] == las.kid
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["email"] == "dev@atoms-auth.local"


def test_pkce_is_required_and_checked(las):
    client = native(las)
    with pytest.raises(OAuthError, match="PKCE is required"):
        las.start_authorization(client, {"response_type": "code", "redirect_uri": client.redirect_uris[0]})
    with pytest.raises(OAuthError, match="S256"):
        las.start_authorization(client, {"response_type": "code", "redirect_uri": client.redirect_uris[0], "code_challenge": "x" * 43, "code_challenge_method": "plain"})
    query, _ = authorize(las, client)
    with pytest.raises(OAuthError, match="PKCE verification failed"):
        exchange(las, client, query["code"][0], "y" * 50)


def test_codes_are_single_use_and_replay_revokes(las):
    client = native(las)
    query, verifier = authorize(las, client)
    tokens = exchange(las, client, query["code"][0], verifier)
    with pytest.raises(OAuthError, match="already used"):
        exchange(las, client, query["code"][0], verifier)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert las.is_revoked(claims)


def test_resource_must_match(las):
    client = native(las)
    with pytest.raises(OAuthError) as info:
        authorize(las, client, resource="https://other.example.com/api/mcp")
    assert info.value.error == "invalid_target"


def test_refresh_rotates_and_reuse_revokes_the_grant(las):
    client = native(las)
    query, verifier = authorize(las, client)
    first = exchange(las, client, query["code"][0], verifier)
    second = las.token({"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client.client_id}, None)
    assert second["refresh_token"] != first["refresh_token"]
    with pytest.raises(OAuthError, match="whole grant is now revoked"):
        las.token({"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client.client_id}, None)
    with pytest.raises(OAuthError, match="revoked"):
        las.token({"grant_type": "refresh_token", "refresh_token": second["refresh_token"], "client_id": client.client_id}, None)


def test_client_authentication_follows_the_registered_method(las):
    confidential = las.register({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_post"})
    with pytest.raises(OAuthError) as info:
        las.authenticate_client({"client_id": confidential.client_id}, None)
    assert info.value.status == 401
    with pytest.raises(OAuthError, match="wrong client secret"):
        las.authenticate_client({"client_id": confidential.client_id, "client_secret": "nope"}, None)
    assert las.authenticate_client({"client_id": confidential.client_id, "client_secret": confidential.client_secret}, None) is confidential
    basic = las.register({"redirect_uris": ["https://a.example/cb"]})
    header = "Basic " + base64.b64encode(f"{basic.client_id}:{basic.client_secret}".encode()).decode()
    assert las.authenticate_client({}, header) is basic


def test_csrf_token_must_match(las):
    client = native(las)
    _, challenge = pkce()
    req = las.start_authorization(client, {"response_type": "code", "redirect_uri": client.redirect_uris[0], "code_challenge": challenge, "code_challenge_method": "S256"})
    with pytest.raises(OAuthError, match="CSRF"):
        las.take_pending(req.id, "forged")
    assert las.take_pending(req.id, req.csrf) is req


def test_consent_page_escapes_every_value(las):
    client = native(las, client_name='<script>alert("x")</script>')
    _, challenge = pkce()
    req = las.start_authorization(client, {"response_type": "code", "redirect_uri": client.redirect_uris[0], "code_challenge": challenge, "code_challenge_method": "S256", "state": '"><img src=x onerror=alert(1)>'})
    page = consent_page(req, "/oauth2/authorize/decision")
    html = page.body.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "DEVELOPMENT" in html
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_metadata_documents(las):
    url = "https://client.example.com/oauth/client.json"
    assert is_metadata_url(url) and not is_metadata_url("https://client.example.com/") and not is_metadata_url("http://evil.example.com/x.json")
    client = validate_document(url, {"client_id": url, "client_name": "CIMD client", "redirect_uris": ["http://127.0.0.1:3000/cb"]})
    assert client.application_type == "native" and client.metadata_document
    for doc, message in [
        ({"client_id": "https://other/x.json", "client_name": "n", "redirect_uris": ["http://127.0.0.1/cb"]}, "not the document.s own URL"),
        ({"client_id": url, "redirect_uris": ["http://127.0.0.1/cb"]}, "client_name is missing"),
        ({"client_id": url, "client_name": "n"}, "redirect_uris is missing"),
        ({"client_id": url, "client_name": "n", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}, "shared secret"),
    ]:
        with pytest.raises(OAuthError, match=message):
            validate_document(url, doc)


# --- client credentials (RFC 6749 §4.4) ------------------------------------------------------


def service(las, method="client_secret_basic", **extra):
    return las.register({"token_endpoint_auth_method": method, "grant_types": ["client_credentials"], "client_name": "svc", **extra})


def basic(client, secret=None):
    return "Basic " + base64.b64encode(f"{client.client_id}:{secret or client.client_secret}".encode()).decode()


def cc_form(**extra):
    return {"grant_type": "client_credentials", "resource": RESOURCE, **extra}


def test_client_credentials_is_advertised_and_registered_for_confidential_clients_only(las):
    assert "client_credentials" in las.metadata()["grant_types_supported"]
    client = service(las)
    doc = client.registration_response()
    assert doc["grant_types"] == ["client_credentials"] and doc["redirect_uris"] == [] and doc["response_types"] == [] and doc["client_secret"]
    assert service(las, "client_secret_post").client_secret
    for body in [
        {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},  # RFC 7591 §3.2.2
        {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"},
        {"grant_types": ["client_credentials"], "response_types": ["code"]},
        {"grant_types": ["client_credentials", "refresh_token"]},
        {"grant_types": []},
    ]:
        with pytest.raises(OAuthError) as info:
            las.register(body)
        assert info.value.error == "invalid_client_metadata", body
    with pytest.raises(OAuthError) as info:
        las.register({"grant_types": ["authorization_code", "client_credentials"]})  # a code client still needs redirect URIs
    assert info.value.error == "invalid_redirect_uri"


def test_client_credentials_issues_a_token_for_the_client_itself(las):
    client = service(las)
    response = las.token(cc_form(scope="mcp:tools"), basic(client))
    assert "refresh_token" not in response and "id_token" not in response  # RFC 6749 §4.4.3
    assert response["token_type"] == "Bearer" and response["scope"] == "mcp:tools"
    claims = jwt.decode(response["access_token"], las._key.public_key(), algorithms=["RS256"], audience=RESOURCE, issuer=ISSUER)
    assert claims["sub"] == claims["client_id"] == client.client_id and claims["aud"] == RESOURCE and "email" not in claims
    post = service(las, "client_secret_post")
    default = las.token(cc_form(client_id=post.client_id, client_secret=post.client_secret), None)
    assert default["scope"] == "mcp:tools"  # the resource's first scope when none is asked
    assert las.token(cc_form(scope="mcp:tools offline_access"), basic(client))["scope"] == "mcp:tools"
    with pytest.raises(OAuthError) as info:  # above the resource's default scope: needs a user (issue 20)
        las.token(cc_form(scope="mcp:tools mcp:admin"), basic(client))
    assert info.value.error == "invalid_scope" and "without a user" in info.value.description


def test_client_credentials_scope_and_resource_rules(las):
    client = service(las)
    for form, error in [
        (cc_form(scope="openid"), "invalid_scope"),  # not something the resource offers
        (cc_form(scope="mcp:unknown"), "invalid_scope"),
        (cc_form(resource="https://other.example/mcp"), "invalid_target"),
        ({"grant_type": "client_credentials"}, "invalid_target"),  # resource is required
    ]:
        with pytest.raises(OAuthError) as info:
            las.token(form, basic(client))
        assert info.value.error == error, form
    narrow = service(las, scope="mcp:tools")
    with pytest.raises(OAuthError) as info:
        las.token(cc_form(scope="mcp:admin"), basic(narrow))  # beyond the client's registered scope
    assert info.value.error == "invalid_scope"


def test_client_credentials_needs_an_authenticated_client_registered_for_it(las):
    client = service(las)
    with pytest.raises(OAuthError) as info:
        las.token(cc_form(), basic(client, "wrong"))
    assert (info.value.error, info.value.status) == ("invalid_client", 401)
    with pytest.raises(OAuthError) as info:
        las.token(cc_form(client_id=client.client_id), None)  # no secret at all
    assert (info.value.error, info.value.status) == ("invalid_client", 401)
    public = native(las)
    with pytest.raises(OAuthError) as info:
        las.token(cc_form(client_id=public.client_id), None)
    assert info.value.error == "unauthorized_client"  # RFC 6749 §5.2: a public client
    web = las.register({"redirect_uris": ["https://app.example.com/cb"]})  # confidential, code grant only
    with pytest.raises(OAuthError) as info:
        las.token(cc_form(), basic(web))
    assert info.value.error == "unauthorized_client"
    token = las.token(cc_form(), basic(client))["access_token"]
    las.revoke({"token": token}, basic(client))
    assert las.is_revoked(jwt.decode(token, options={"verify_signature": False}))
