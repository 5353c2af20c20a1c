"""JWKS caching: refetch on an unknown kid, rate limited; outages keep keys."""

from __future__ import annotations

import asyncio
import json

import httpx
import jwt
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit_mcp_cli.server.jwks import JwksCache, parse_jwks

URI = "https://as.example.com/oauth2/jwks"


def jwk(kid: str) -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}


def test_unknown_kid_refetches_at_most_once_per_interval():
    k1, k2 = jwk("k1"), jwk("k2")
    with respx.mock() as router:
        route = router.get(URI).mock(side_effect=[httpx.Response(200, json={"keys": [k1]}), httpx.Response(200, json={"keys": [k1, k2]})])

        async def scenario():
            cache = JwksCache(URI, min_refetch_interval=3600)
            assert await cache.key_for("k1") is not None
            assert await cache.key_for("forged-1") is None
            assert await cache.key_for("forged-2") is None
            return cache

        cache = asyncio.run(scenario())
    assert route.call_count == 1  # forged kids do not make us hammer the AS
    assert cache.fetches == 1


def test_new_kid_after_the_interval_is_found():
    k1, k2 = jwk("k1"), jwk("k2")
    with respx.mock() as router:
        router.get(URI).mock(side_effect=[httpx.Response(200, json={"keys": [k1]}), httpx.Response(200, json={"keys": [k1, k2]})])

        async def scenario():
            cache = JwksCache(URI, min_refetch_interval=0)
            await cache.key_for("k1")
            return await cache.key_for("k2")

        assert asyncio.run(scenario()) is not None


def test_outage_keeps_cached_keys():
    k1 = jwk("k1")
    with respx.mock() as router:
        router.get(URI).mock(side_effect=[httpx.Response(200, json={"keys": [k1]}), httpx.Response(503), httpx.ConnectError("down")])

        async def scenario():
            cache = JwksCache(URI, min_refetch_interval=0)
            await cache.key_for("k1")
            await cache.key_for("other")  # 503
            await cache.key_for("other")  # connection error
            return await cache.key_for("k1")

        assert asyncio.run(scenario()) is not None


def test_private_symmetric_and_encryption_keys_are_dropped():
    k1 = jwk("k1")
    keys = parse_jwks({"keys": [k1, {**jwk("priv"), "d": "x"}, {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}, {**jwk("enc"), "use": "enc"}, "junk"]})
    assert list(keys) == ["k1"]
