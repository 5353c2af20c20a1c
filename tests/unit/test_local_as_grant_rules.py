"""The development AS's newer rules, called directly: private_key_jwt client
authentication (RFC 7523 §2.2, §3), DPoP-bound tokens (RFC 9449 §4.3, §5,
§6.1), the device grant (RFC 8628 §3), capped stores (issue 14 item 6) and the
AS edges of issue 14 item 8 (a failed redemption does not burn the code,
userinfo in redirect URIs, a client's registered scope)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from authkit_mcp_cli.oauth.assertion import CLIENT_ASSERTION_TYPE, client_assertion_claims, sign
from authkit_mcp_cli.oauth.dpop import DpopKey, proof
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE as DEVICE_GRANT
from authkit_mcp_cli.server.local_as import device, stores
from authkit_mcp_cli.server.local_as.device import USER_CODE_ALPHABET, normalize_user_code
from authkit_mcp_cli.server.local_as.provider import LocalAuthorizationServer, OAuthError
from authkit_mcp_cli.server.local_as.stores import BoundedStore

ISSUER = "http://127.0.0.1:8000"
RESOURCE = ISSUER + "/api/mcp"
TOKEN = ISSUER + "/oauth2/token"
CALLBACK = "http://127.0.0.1:3000/oauth/callback"
BROWSER = ("127.0.0.1", "session-1")  # the address and device-page session a user-code lookup is counted against


@pytest.fixture
def las():
    return LocalAuthorizationServer(issuer=ISSUER, resource=RESOURCE, resource_scopes=["mcp:tools", "mcp:admin"])


def raises(error: str, fn, *args, **kwargs) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        fn(*args, **kwargs)
    assert caught.value.error == error, caught.value.description
    return caught.value


def public_jwk(key: ec.EllipticCurvePrivateKey, kid: str = "k1") -> dict:
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


def jwt_client(las, key, **extra):
    return las.register({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [public_jwk(key)]}, **extra})


def assertion_form(client_id: str, key, *, aud: str = ISSUER, kid: str | None = "k1", **claims) -> dict[str, str]:
    body = {**client_assertion_claims(client_id, aud), **claims}
    return {"grant_type": "client_credentials", "resource": RESOURCE, "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": sign(body, key, "ES256", kid)}


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# --- private_key_jwt (RFC 7523) -------------------------------------------------


def test_metadata_lists_the_new_grants_and_algorithms(las):
    meta = las.metadata()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"] and "ES256" in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert meta["dpop_signing_alg_values_supported"][0] == "ES256"
    assert meta["device_authorization_endpoint"] == ISSUER + "/oauth2/device_authorization" and DEVICE_GRANT in meta["grant_types_supported"]


def test_private_key_jwt_client_gets_a_token_for_itself(las):
    key = ec.generate_private_key(ec.SECP256R1())
    client = jwt_client(las, key)
    assert client.client_secret is None and client.registration_response()["jwks"]["keys"][0]["kid"] == "k1"
    for aud in (ISSUER, TOKEN):  # RFC 7523 §3 item 3: the issuer or the token endpoint
        answer = las.token(assertion_form(client.client_id, key, aud=aud), None)
        assert claims_of(answer["access_token"])["sub"] == client.client_id and answer["token_type"] == "Bearer"


def test_private_key_jwt_refusals(las):
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    client = jwt_client(las, key)
    now = int(time.time())
    cases = [
        assertion_form(client.client_id, other),  # another key
        assertion_form(client.client_id, key, kid="unknown"),
        assertion_form(client.client_id, key, aud="https://elsewhere.example"),
        assertion_form(client.client_id, key, iss="someone-else"),
        assertion_form(client.client_id, key, exp=now - 120),  # expired
        assertion_form(client.client_id, key, iat=now, exp=now + 3600),  # exp far ahead (§3 item 4: short)
        {**assertion_form(client.client_id, key), "client_assertion_type": "urn:other"},
        {**assertion_form(client.client_id, key), "client_assertion": "not.a.jwt"},
    ]
    for form in cases:
        assert raises("invalid_client", las.token, form, None).status == 401
    once = assertion_form(client.client_id, key)
    las.token(once, None)
    assert "replayed" in raises("invalid_client", las.token, once, None).description  # jti (§3 item 7)
    # a client registered for private_key_jwt cannot use a secret instead, and vice versa
    raises("invalid_client", las.token, {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "x", "resource": RESOURCE}, None)


def test_private_key_jwt_registration_needs_public_jwks(las):
    key = ec.generate_private_key(ec.SECP256R1())
    private = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    for jwks in (None, {"keys": []}, {"keys": [private]}, {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}, {"keys": [public_jwk(key)] * 11}):
        raises("invalid_client_metadata", las.register, {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks})


# --- DPoP (RFC 9449) ------------------------------------------------------------


def secret_client(las, **extra):
    return las.register({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post", **extra})


def cc_form(client):
    return {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": client.client_secret, "resource": RESOURCE}


def test_a_valid_proof_binds_the_token(las):
    client, key = secret_client(las), DpopKey.generate()
    answer = las.token(cc_form(client), None, proof(key, "POST", TOKEN))
    assert answer["token_type"] == "DPoP"
    assert claims_of(answer["access_token"])["cnf"] == {"jkt": key.thumbprint()}  # §6.1
    assert jwt.get_unverified_header(answer["access_token"])["typ"] == "at+jwt"  # RFC 9068 §2.1
    plain = las.token(cc_form(client), None)
    assert plain["token_type"] == "Bearer" and "cnf" not in claims_of(plain["access_token"])


def test_bad_proofs_are_refused(las):
    client, key = secret_client(las), DpopKey.generate()
    good = proof(key, "POST", TOKEN)
    header, payload, sig = good.split(".")
    bad_header = base64.urlsafe_b64encode(json.dumps({**jwt.get_unverified_header(good), "typ": "JWT"}).encode()).rstrip(b"=").decode()
    cases = {
        "htm": proof(key, "GET", TOKEN),
        "htu": proof(key, "POST", ISSUER + "/oauth2/other"),
        "iat": proof(key, "POST", TOKEN, now=time.time() - 600),
        "typ": jwt.encode({"htm": "POST", "htu": TOKEN, "iat": int(time.time()), "jti": "x"}, key.private_key(), algorithm="ES256", headers={"typ": "JWT", "jwk": key.public_jwk}),
        "signature": f"{bad_header}.{payload}.{sig}",
        "jwk": jwt.encode({"htm": "POST", "htu": TOKEN, "iat": int(time.time()), "jti": "y"}, key.private_key(), algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": DpopKey.generate().public_jwk}),
        "private": jwt.encode({"htm": "POST", "htu": TOKEN, "iat": int(time.time()), "jti": "z"}, key.private_key(), algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": key.private_jwk}),
        "garbage": "abc",
    }
    for name, value in cases.items():
        raises("invalid_dpop_proof", las.token, cc_form(client), None, value), name
    las.token(cc_form(client), None, good)
    assert "replayed" in raises("invalid_dpop_proof", las.token, cc_form(client), None, good).description


def pkce():
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def native(las, **extra):
    return las.register({"redirect_uris": [CALLBACK], "application_type": "native", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"], **extra})


def code_for(las, client, **params):
    verifier, challenge = pkce()
    base = {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK, "code_challenge": challenge, "code_challenge_method": "S256", "resource": RESOURCE, "scope": "mcp:tools offline_access"}
    req = las.start_authorization(client, {**base, **params})
    las.take_pending(req.id, req.csrf)
    return parse_qs(urlsplit(las.approve(req)).query)["code"][0], verifier


def redeem(las, client, code, verifier, dpop=None, **extra):
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK, "client_id": client.client_id, "resource": RESOURCE, **extra}
    return las.token(form, None, dpop)


def test_a_public_clients_refresh_needs_a_proof_with_the_same_key(las):
    client, key = native(las), DpopKey.generate()
    first = redeem(las, client, *code_for(las, client), dpop=proof(key, "POST", TOKEN))
    assert first["token_type"] == "DPoP" and claims_of(first["access_token"])["cnf"]["jkt"] == key.thumbprint()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client.client_id}
    raises("invalid_grant", las.token, refresh, None)  # no proof: refused, and the token is not spent
    raises("invalid_dpop_proof", las.token, refresh, None, proof(DpopKey.generate(), "POST", TOKEN))  # another key
    again = las.token(refresh, None, proof(key, "POST", TOKEN))
    assert again["token_type"] == "DPoP" and claims_of(again["access_token"])["cnf"]["jkt"] == key.thumbprint()
    assert las.refresh_tokens[again["refresh_token"]].jkt == key.thumbprint()  # the binding is kept


# --- the device grant (RFC 8628) -------------------------------------------------


def device_client(las, **extra):
    return las.register({"grant_types": [DEVICE_GRANT, "refresh_token"], "token_endpoint_auth_method": "none", "client_name": "tv <b>", **extra})


def poll(las, client, device_code, dpop=None):
    return las.token({"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client.client_id, "resource": RESOURCE}, None, dpop)


def test_device_authorization_answer(las):
    client = device_client(las)
    answer = las.device_authorization({"client_id": client.client_id, "resource": RESOURCE, "scope": "mcp:tools"}, None)
    assert answer["verification_uri"] == ISSUER + "/oauth2/device" and answer["interval"] == 5 and answer["expires_in"] == 600
    assert answer["verification_uri_complete"] == answer["verification_uri"] + "?user_code=" + answer["user_code"]
    letters = answer["user_code"].replace("-", "")
    assert len(letters) == 8 and set(letters) <= set(USER_CODE_ALPHABET)  # §6.1: no vowels, no digits
    assert normalize_user_code(answer["user_code"].lower().replace("-", " ")) == answer["user_code"]
    raises("unauthorized_client", las.device_authorization, {"client_id": native(las).client_id}, None)
    raises("invalid_target", las.device_authorization, {"client_id": client.client_id, "resource": "https://other.example/mcp"}, None)
    raises("invalid_scope", las.device_authorization, {"client_id": client.client_id, "scope": "nope"}, None)


def test_device_polling_pending_slow_down_then_tokens(las):
    client, key = device_client(las), DpopKey.generate()
    answer = las.device_authorization({"client_id": client.client_id, "resource": RESOURCE}, None)
    grant = las.device.grants[answer["device_code"]]
    grant.last_poll -= 10
    raises("authorization_pending", poll, las, client, answer["device_code"])
    raises("slow_down", poll, las, client, answer["device_code"])  # at once again: too fast (§3.5)
    assert grant.interval == 10
    assert las.device.find("nope", *BROWSER) is None and las.device.find(answer["user_code"], *BROWSER) is grant
    las.device.decide(grant, True)
    assert las.device.find(answer["user_code"], *BROWSER) is None  # a user code is used once
    tokens = poll(las, client, answer["device_code"], proof(key, "POST", TOKEN))
    assert tokens["token_type"] == "DPoP" and tokens["refresh_token"] and claims_of(tokens["access_token"])["aud"] == RESOURCE
    raises("invalid_grant", poll, las, client, answer["device_code"])  # one token response per device code
    raises("invalid_grant", poll, las, device_client(las), answer["device_code"])


def test_device_denied_and_expired(las):
    client = device_client(las)
    denied = las.device_authorization({"client_id": client.client_id}, None)
    las.device.decide(las.device.grants[denied["device_code"]], False)
    raises("access_denied", poll, las, client, denied["device_code"])
    late = las.device_authorization({"client_id": client.client_id}, None)
    las.device.grants[late["device_code"]].expires_at = time.time() - 1
    assert las.device.find(late["user_code"], *BROWSER) is None
    raises("expired_token", poll, las, client, late["device_code"])


def test_wrong_user_codes_are_limited_per_session_and_address(las):
    client = device_client(las)
    answer = las.device_authorization({"client_id": client.client_id}, None)
    for _ in range(device.MAX_FAILED_LOOKUPS):
        assert las.device.find("BBBB-BBBB", *BROWSER) is None
    with pytest.raises(device.LockedOut):  # §5.1: guessing stops this session for a while
        las.device.find(answer["user_code"], *BROWSER)
    assert las.device.find(answer["user_code"], "127.0.0.1", "another-session") is not None  # and no other
    assert las.device.find(answer["user_code"], "198.51.100.1", None) is not None


# --- bounded state (issue 14 item 6) ------------------------------------------------


def test_two_thousand_registrations_stay_within_the_cap(las):
    for i in range(2000):
        las.register({"redirect_uris": [CALLBACK], "application_type": "native", "token_endpoint_auth_method": "none", "client_name": f"c{i}"})
    assert len(las.clients) == stores.MAX_CLIENTS < 2000


def test_bounded_store_is_lru():
    store: BoundedStore[str, int] = BoundedStore(2)
    store["a"], store["b"] = 1, 2
    assert store["a"] == 1  # a is now the most recent
    store["c"] = 3
    assert "b" not in store and "a" in store and len(store) == 2


def test_pending_and_code_stores_are_capped(las):
    client = native(las)
    for _ in range(stores.MAX_PENDING + 5):
        _, challenge = pkce()
        las.start_authorization(client, {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK, "code_challenge": challenge, "code_challenge_method": "S256"})
    assert len(las.pending) == stores.MAX_PENDING


# --- AS edges (issue 14 item 8) ---------------------------------------------------


def test_a_failed_redemption_does_not_burn_the_code(las):
    client = native(las)
    code, verifier = code_for(las, client)
    raises("invalid_grant", redeem, las, client, code, pkce()[0])  # wrong code_verifier
    raises("invalid_grant", redeem, las, client, code, verifier, redirect_uri="http://127.0.0.1:4000/oauth/callback")
    raises("invalid_grant", redeem, las, native(las), code, verifier)  # another client
    assert redeem(las, client, code, verifier)["access_token"]  # the legitimate client still redeems it
    raises("invalid_grant", redeem, las, client, code, verifier)  # and only once


def test_redirect_uris_with_userinfo_or_fragment_are_refused(las):
    for uri in ("http://user:pw@127.0.0.1:3000/cb", "http://user@localhost/cb", "http://127.0.0.1:3000/cb#x", "http://127.0.0.1:3000/cb#", "https://a@app.example.com/cb"):
        raises("invalid_redirect_uri", native, las, redirect_uris=[uri])


def test_a_clients_registered_scope_bounds_what_it_gets_without_a_user(las):
    client = native(las, scope="mcp:tools offline_access")
    raises("invalid_scope", code_for, las, client, scope="mcp:tools openid")  # not registered, not the resource's
    # MCP step-up: the resource's own scopes stay open to a client registered for fewer (the user consents)
    code, verifier = code_for(las, client, scope="mcp:tools mcp:admin")
    assert redeem(las, client, code, verifier)["scope"] == "mcp:tools mcp:admin"
    code, verifier = code_for(las, client, scope="mcp:tools")
    assert redeem(las, client, code, verifier)["scope"] == "mcp:tools"
    default = las.start_authorization(client, {"response_type": "code", "redirect_uri": CALLBACK, "code_challenge": pkce()[1], "code_challenge_method": "S256"})
    assert default.scopes == ["mcp:tools"]
    # without a user, the registration is the only policy
    narrow = secret_client(las, scope="mcp:tools")
    raises("invalid_scope", las.token, {**cc_form(narrow), "scope": "mcp:admin"}, None)
    device = device_client(las, scope="mcp:tools")
    raises("invalid_scope", las.device_authorization, {"client_id": device.client_id, "scope": "mcp:tools openid"}, None)


def test_registrations_are_rate_limited_per_address(las):
    body = {"redirect_uris": [CALLBACK], "application_type": "native", "token_endpoint_auth_method": "none"}
    for _ in range(stores.REGISTRATIONS_PER_MINUTE):
        las.register(body, "203.0.113.7")
    refused = raises("invalid_request", las.register, body, "203.0.113.7")
    assert refused.status == 429 and "try again in" in refused.description
    assert las.register(body, "203.0.113.8").client_id  # another address is not affected


def test_rate_limiter_window():
    limiter = stores.RateLimiter(2, 60)
    assert limiter.retry_after("a", now=0) == 0 and limiter.retry_after("a", now=1) == 0
    assert limiter.retry_after("a", now=2) == pytest.approx(58)
    assert limiter.retry_after("a", now=61) == 0  # the first event left the window


def test_one_client_authentication_method_per_request(las):
    key = ec.generate_private_key(ec.SECP256R1())
    client = jwt_client(las, key)
    form = {**assertion_form(client.client_id, key), "client_secret": "also"}
    raises("invalid_request", las.token, form, None)  # RFC 6749 §2.3
    secret = secret_client(las)
    raises("invalid_request", las.token, cc_form(secret), "Basic " + base64.b64encode(f"{secret.client_id}:{secret.client_secret}".encode()).decode())


def test_a_revoked_grant_stays_revoked_when_the_revocation_list_overflows(las):
    client = native(las)
    code, verifier = code_for(las, client)
    first = redeem(las, client, code, verifier)
    raises("invalid_grant", redeem, las, client, code, verifier)  # the replayed code revokes the grant
    for i in range(stores.MAX_REVOKED + 1):  # a flood of other revocations pushes it out of the capped set
        las.revoked_families.add(f"other-{i}")
    raises("invalid_grant", las.token, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client.client_id}, None)


def test_expired_device_requests_are_dropped(las):
    client = device_client(las)
    old = las.device_authorization({"client_id": client.client_id}, None)
    las.device.grants[old["device_code"]].expires_at = time.time() - 120
    las.device_authorization({"client_id": client.client_id}, None)
    assert old["device_code"] not in las.device.grants and old["user_code"] not in las.device.by_user_code and len(las.device.grants) == 1
