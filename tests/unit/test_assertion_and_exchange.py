"""The request builders of the grants without a browser, on canned data:
client assertions (RFC 7523 §2.2 with the claims of §3), the client
credentials request (RFC 6749 §4.4.2), the JWT bearer grant (RFC 7523 §2.1),
token exchange for an ID-JAG (RFC 8693 §2.1, §2.2), all with ``resource``
(RFC 8707 §2.2)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authkit_mcp_cli.errors import ProtocolError, RemoteRefused, UsageError
from authkit_mcp_cli.oauth.assertion import CLIENT_ASSERTION_TYPE, client_assertion_claims, describe_claims, load_private_key, signing_alg_for
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.grant_requests import client_credentials_request, jwt_bearer_request
from authkit_mcp_cli.oauth.grant_types import JWT_BEARER as JWT_BEARER_GRANT
from authkit_mcp_cli.oauth.grant_types import TOKEN_EXCHANGE as TOKEN_EXCHANGE_GRANT
from authkit_mcp_cli.oauth.token_exchange import ID_JAG_TYPE, ID_TOKEN_TYPE, parse_token_exchange_response, token_exchange_request

ISSUER = "https://as.example.com"
META = {"issuer": ISSUER, "token_endpoint": ISSUER + "/token"}
RESOURCE = "https://mcp.example.com/mcp"


def pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.fixture
def ec_key_file(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "key.pem"
    path.write_bytes(pem(key))
    return key, str(path)


def form(request) -> dict[str, list[str]]:
    return parse_qs(request.body.decode())


def test_client_assertion_claims_follow_rfc_7523_section_3():
    claims = client_assertion_claims("svc", ISSUER, now=1000, jti="j1")
    assert claims == {"iss": "svc", "sub": "svc", "aud": ISSUER, "iat": 1000, "exp": 1060, "jti": "j1"}
    assert client_assertion_claims("svc", ISSUER)["jti"] != client_assertion_claims("svc", ISSUER)["jti"]  # one-time (§3 item 7)


@pytest.mark.parametrize(
    ("key", "requested", "alg"),
    [
        (ec.generate_private_key(ec.SECP256R1()), None, "ES256"),
        (ec.generate_private_key(ec.SECP384R1()), None, "ES384"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), None, "RS256"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "PS256", "PS256"),
        (ed25519.Ed25519PrivateKey.generate(), None, "EdDSA"),
    ],
)
def test_the_algorithm_comes_from_the_key_unless_asked(key, requested, alg):
    assert signing_alg_for(key, requested) == alg


def test_an_algorithm_that_does_not_fit_the_key_is_a_usage_error():
    with pytest.raises(UsageError) as info:
        signing_alg_for(ec.generate_private_key(ec.SECP256R1()), "RS256")
    assert info.value.code == "usage.signing-alg"


def test_a_missing_or_bad_key_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as info:
        load_private_key(str(tmp_path / "nope.pem"))
    assert info.value.code == "usage.private-key"
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(UsageError):
        load_private_key(str(tmp_path / "bad.pem"))


def test_client_credentials_with_private_key_jwt(ec_key_file):
    key, path = ec_key_file
    reg = ClientRegistration("svc", None, "private_key_jwt", (), "pre-registered", private_key=path, signing_alg="ES256", key_id="k1", assertion_audience=ISSUER)
    request = client_credentials_request(META, reg, resource=RESOURCE, scope="mcp:tools")
    sent = form(request)
    assert request.url == META["token_endpoint"] and "Authorization" not in request.headers
    assert sent["grant_type"] == ["client_credentials"] and sent["resource"] == [RESOURCE] and sent["scope"] == ["mcp:tools"]
    assert sent["client_assertion_type"] == [CLIENT_ASSERTION_TYPE] and sent["client_id"] == ["svc"]
    assertion = sent["client_assertion"][0]
    assert jwt.get_unverified_header(assertion) == {"alg": "ES256", "typ": "JWT", "kid": "k1"}
    claims = jwt.decode(assertion, key.public_key(), algorithms=["ES256"], audience=ISSUER)
    assert claims["iss"] == claims["sub"] == "svc" and claims["exp"] - claims["iat"] == 60
    # every request gets a fresh assertion (RFC 7523 §3 item 7: jti used once)
    again = form(client_credentials_request(META, reg, resource=RESOURCE))["client_assertion"][0]
    assert jwt.decode(again, options={"verify_signature": False})["jti"] != claims["jti"]


def test_a_private_key_jwt_registration_round_trips_through_the_store(ec_key_file):
    _, path = ec_key_file
    reg = ClientRegistration("svc", None, "private_key_jwt", (), "pre-registered", private_key=path, signing_alg="ES256", key_id=None, assertion_audience=ISSUER)
    assert ClientRegistration.from_json(json.loads(json.dumps(reg.to_json()))) == reg
    assert "private_key" not in ClientRegistration("c").to_json()  # existing records keep their shape


@pytest.mark.parametrize(("method", "basic", "in_body"), [("client_secret_basic", True, False), ("client_secret_post", False, True)])
def test_client_credentials_with_a_secret(method, basic, in_body):
    request = client_credentials_request(META, ClientRegistration("svc", "s3cret", method), resource=RESOURCE)
    sent = form(request)
    assert ("Authorization" in request.headers) is basic and ("client_secret" in sent) is in_body
    if basic:
        assert base64.b64decode(request.headers["Authorization"].split()[1]) == b"svc:s3cret"
    assert "scope" not in sent and sent["resource"] == [RESOURCE]


def test_jwt_bearer_request_without_a_client():
    request = jwt_bearer_request(META, ClientRegistration("", None, "none", (), "none"), assertion="a.b.c", resource=RESOURCE, scope="read")
    assert form(request) == {"grant_type": [JWT_BEARER_GRANT], "assertion": ["a.b.c"], "resource": [RESOURCE], "scope": ["read"]}
    assert "Authorization" not in request.headers


def test_jwt_bearer_request_with_a_public_client_id():
    sent = form(jwt_bearer_request(META, ClientRegistration("wl", None, "none"), assertion="a.b.c", resource=RESOURCE))
    assert sent["client_id"] == ["wl"] and sent["assertion"] == ["a.b.c"]


def test_token_exchange_request_asks_for_an_id_jag_for_the_as_and_the_resource():
    request = token_exchange_request(ISSUER + "/idp/token", ClientRegistration("idp-client", "idp-secret", "client_secret_basic"), subject_token="id.token.jwt", audience=ISSUER, resource=RESOURCE, scope="mcp:tools")
    assert form(request) == {
        "grant_type": [TOKEN_EXCHANGE_GRANT],
        "requested_token_type": [ID_JAG_TYPE],
        "subject_token": ["id.token.jwt"],
        "subject_token_type": [ID_TOKEN_TYPE],
        "audience": [ISSUER],
        "resource": [RESOURCE],
        "scope": ["mcp:tools"],
    }
    assert request.headers["Authorization"].startswith("Basic ")


def test_token_exchange_response_gives_the_id_jag():
    body = json.dumps({"access_token": "jag", "issued_token_type": ID_JAG_TYPE, "token_type": "N_A", "expires_in": 300}).encode()
    issued = parse_token_exchange_response(200, body)
    assert (issued.token, issued.token_type, issued.expires_in) == ("jag", "N_A", 300)


@pytest.mark.parametrize(
    ("status", "doc", "error", "code"),
    [
        (400, {"error": "invalid_grant", "error_description": "Invalid ID token"}, RemoteRefused, "oauth.remote-error"),
        (200, {"issued_token_type": ID_JAG_TYPE}, ProtocolError, "oauth.invalid-token-exchange-response"),
        (200, {"access_token": "x"}, ProtocolError, "oauth.invalid-token-exchange-response"),
        (200, {"access_token": "x", "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}, ProtocolError, "oauth.unexpected-token-type"),
    ],
)
def test_token_exchange_refusals_keep_what_the_idp_said(status, doc, error, code):
    with pytest.raises(error) as info:
        parse_token_exchange_response(status, json.dumps(doc).encode(), url="https://idp/token")
    assert info.value.code == code
    if error is RemoteRefused:
        assert info.value.remote.error == "invalid_grant" and info.value.remote.error_description == "Invalid ID token" and info.value.remote.status == 400


def test_describe_claims_shows_the_claims_and_the_expiry_never_the_token():
    token = jwt.encode({"iss": "https://ci", "sub": "repo:x", "aud": ISSUER, "exp": 1100}, "k" * 32, algorithm="HS256")
    said = describe_claims(token, now=1000)
    assert "iss 'https://ci'" in said and "expires in 100s" in said and token not in said
    assert "EXPIRED 100s ago" in describe_claims(token, now=1200)
    assert describe_claims("opaque") == "not a JWT (sent as given)"
