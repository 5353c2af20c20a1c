"""The server's DPoP proof rules (server/dpop_proof.py) with a fixed clock: URL
normalisation (RFC 9449 §4.3, RFC 3986 §6.2.2-3), the replay store's window
and its fail-closed bound (server/dpop_store.py), nonce buckets (§9),
thumbprints (RFC 7638), and the two profiles (resource, token endpoint)."""

from __future__ import annotations

import asyncio
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authkit_mcp_cli.base64url import encode as b64url
from authkit_mcp_cli.oauth.dpop import DpopKey, ath, jwk_thumbprint, proof
from authkit_mcp_cli.server.dpop_proof import ProofChecker, ProofRejected, accepted_htus, nonce_required_from_env, normalise_url
from authkit_mcp_cli.server.dpop_store import MemoryReplayStore

URL = "http://127.0.0.1:8123/api/mcp"
NOW = 1_800_000_000.0


def test_normalise_url():
    assert normalise_url("HTTP://Example.COM:80/a%7eb/%2f?q=1#f") == "http://example.com/a~b/%2F"
    assert normalise_url("https://h:443") == "https://h/"
    assert normalise_url("https://h:8443/x") == "https://h:8443/x"
    assert normalise_url("https://u:p@h/x") is None
    assert normalise_url("ftp://h/x") is None
    assert normalise_url("http://h:99999/x") is None
    assert normalise_url("http://[::1]:5/x") == "http://[::1]:5/x"


def test_loopback_spellings_are_the_same_resource_but_public_hosts_are_not():
    assert accepted_htus(URL) == {"http://127.0.0.1:8123/api/mcp", "http://localhost:8123/api/mcp", "http://[::1]:8123/api/mcp"}
    assert accepted_htus("https://mcp.example.com/api/mcp") == {"https://mcp.example.com/api/mcp"}


def test_thumbprint_matches_the_client_key_and_other_key_types():
    key = DpopKey.generate()
    assert jwk_thumbprint(key.public_jwk) == key.thumbprint()
    # RFC 7638 §3.1's example key and thumbprint
    rfc = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(rfc) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "a"}) is None
    assert jwk_thumbprint({"kty": "oct", "k": "a"}) is None


def check(checker: ProofChecker, key: DpopKey, token: str = "tok", *, now: float = NOW, **kw) -> None:
    made = proof(key, kw.pop("method", "POST"), kw.pop("url", URL), access_token=token, now=kw.pop("iat", now), **kw)
    checker.check_now([made], method="POST", access_token=token, jkt=key.thumbprint(), now=now)


def test_a_replayed_jti_is_refused_within_the_window_and_forgotten_after():
    checker, key = ProofChecker(URL, window=60), DpopKey.generate()
    check(checker, key, jti="j1")
    with pytest.raises(ProofRejected, match="already used"):
        check(checker, key, jti="j1", now=NOW + 30)
    check(checker, key, jti="j1", iat=NOW + 200, now=NOW + 200)  # the first proof's iat has long left the window


def test_a_full_replay_store_refuses_new_proofs_and_forgets_no_live_one():
    """Issue 20 §3: evicting the oldest let anyone holding a bound token flush the cache and replay an older proof."""
    store = MemoryReplayStore(cap=10)
    checker, key = ProofChecker(URL, store=store), DpopKey.generate()
    for i in range(10):
        check(checker, key, jti=f"j{i}")
    for i in range(10, 20):
        with pytest.raises(ProofRejected, match="refuses new ones"):
            check(checker, key, jti=f"j{i}")  # fail closed: no room, no acceptance
    assert len(store) == 10
    with pytest.raises(ProofRejected, match="already used"):
        check(checker, key, jti="j0")  # the oldest is still remembered
    check(checker, key, jti="j10", iat=NOW + 62, now=NOW + 62)  # once the first proofs' iat left the window, room again
    assert len(store) == 1


def test_the_async_check_and_the_store_key_on_thumbprint_jti_and_htu():
    store = MemoryReplayStore()
    resource, other = ProofChecker(URL, store=store), ProofChecker("http://127.0.0.1:8123/other", store=store)
    key, token = DpopKey.generate(), "tok"

    async def run(checker: ProofChecker, url: str) -> str:
        made = proof(key, "POST", url, access_token=token, now=NOW, jti="same")
        return await checker.check([made], method="POST", access_token=token, jkt=key.thumbprint(), now=NOW)

    assert asyncio.run(run(resource, URL)) == key.thumbprint()
    asyncio.run(run(other, "http://127.0.0.1:8123/other"))  # the same key and jti for another htu is another proof
    with pytest.raises(ProofRejected, match="already used"):
        asyncio.run(run(resource, URL))


def test_the_token_endpoint_profile_needs_no_token_and_names_the_key():
    token_url = "http://127.0.0.1:8123/oauth2/token"
    checker, key = ProofChecker.for_token_endpoint(token_url), DpopKey.generate()
    assert checker.check_now([proof(key, "POST", token_url, now=NOW)], method="POST", now=NOW) == key.thumbprint()  # no ath, no cnf.jkt
    with pytest.raises(ProofRejected, match="not this token endpoint"):
        checker.check_now([proof(key, "POST", URL, now=NOW)], method="POST", now=NOW)
    with pytest.raises(ProofRejected, match="s ago"):
        checker.check_now([proof(key, "POST", token_url, now=NOW - 61)], method="POST", now=NOW)  # the one window
    resource = ProofChecker.for_resource(URL)
    with pytest.raises(ProofRejected, match="no ath"):
        resource.check_now([proof(key, "POST", URL, now=NOW)], method="POST", access_token="tok", jkt=key.thumbprint(), now=NOW)


def test_the_same_jti_under_another_key_is_another_proof():
    checker = ProofChecker(URL)
    check(checker, DpopKey.generate(), jti="same")
    check(checker, DpopKey.generate(), jti="same")


def test_iat_window_both_ways():
    checker, key = ProofChecker(URL, window=60), DpopKey.generate()
    check(checker, key, iat=NOW - 59)
    check(checker, key, iat=NOW + 59)
    for iat, words in ((NOW - 61, "s ago"), (NOW + 61, "in the future")):
        with pytest.raises(ProofRejected, match=words):
            check(checker, key, iat=iat)


def test_nonce_buckets():
    checker, key = ProofChecker(URL, require_nonce=True, nonce_ttl=300), DpopKey.generate()
    with pytest.raises(ProofRejected) as refused:
        check(checker, key)
    assert refused.value.error == "use_dpop_nonce"
    nonce = asyncio.run(checker.nonce(NOW))
    check(checker, key, nonce=nonce)
    check(checker, key, nonce=nonce, now=NOW + 300, iat=NOW + 300)  # still good in the next bucket
    with pytest.raises(ProofRejected) as stale:
        check(checker, key, nonce=nonce, now=NOW + 900, iat=NOW + 900)
    assert stale.value.error == "use_dpop_nonce"
    with pytest.raises(ProofRejected):
        check(ProofChecker(URL, require_nonce=True), key, nonce=nonce)  # another server's secret


def test_nonce_switch_from_the_environment():
    assert nonce_required_from_env({"ATOMS_AUTH_SERVE_DPOP_NONCE": "1"}) is True
    assert nonce_required_from_env({"ATOMS_AUTH_SERVE_DPOP_NONCE": "0"}) is False
    assert nonce_required_from_env({}) is False


@pytest.mark.parametrize("kind", ["rsa", "p384", "ed25519"])
def test_other_asymmetric_keys_are_accepted(kind):
    private = {"rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "p384": lambda: ec.generate_private_key(ec.SECP384R1()), "ed25519": ed25519.Ed25519PrivateKey.generate}[kind]()
    alg = {"rsa": "PS256", "p384": "ES384", "ed25519": "EdDSA"}[kind]
    jwk = json.loads(jwt.get_algorithm_by_name(alg).to_jwk(private.public_key()))
    claims = {"jti": "x", "htm": "POST", "htu": URL, "iat": int(NOW), "ath": ath("tok")}
    made = jwt.encode(claims, private, algorithm=alg, headers={"typ": "dpop+jwt", "jwk": jwk})
    ProofChecker(URL).check_now([made], method="POST", access_token="tok", jkt=jwk_thumbprint(jwk) or "", now=NOW)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_small_rsa_key_or_a_mismatched_curve_is_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwk = json.loads(jwt.get_algorithm_by_name("RS256").to_jwk(small.public_key()))
    claims = {"jti": "x", "htm": "POST", "htu": URL, "iat": int(NOW), "ath": ath("tok")}
    made = jwt.encode(claims, small, algorithm="RS256", headers={"typ": "dpop+jwt", "jwk": jwk})
    with pytest.raises(ProofRejected, match="2048"):
        ProofChecker(URL).check_now([made], method="POST", access_token="tok", jkt=jwk_thumbprint(jwk) or "", now=NOW)
    key = DpopKey.generate()
    head, body, sig = jwt.encode(claims, key.private_key(), algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": key.public_jwk}).split(".")
    relabelled = b64url(json.dumps({"typ": "dpop+jwt", "alg": "ES384", "jwk": key.public_jwk}).encode())
    made = f"{relabelled}.{body}.{sig}"
    with pytest.raises(ProofRejected, match="needs an EC P-384 key"):
        ProofChecker(URL).check_now([made], method="POST", access_token="tok", jkt=key.thumbprint(), now=NOW)
