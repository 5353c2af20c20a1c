"""doctor loads JWKs and signs its forgeries with cryptography alone (no pyjwt import,
issue 16 item 4): the keys it loads and the tokens it makes are pyjwt's to the byte."""

from __future__ import annotations

import json
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from authkit_mcp_cli import forged_tokens
from authkit_mcp_cli.jwk import load_public, public_pem


def _jwk(key) -> dict:
    public = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        return json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    return json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))


KEYS = {
    "RSA": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "P-256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "P-384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "P-521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
    "Ed25519": ed25519.Ed25519PrivateKey.generate,
    "Ed448": ed448.Ed448PrivateKey.generate,
}


@pytest.mark.parametrize("kind", list(KEYS))
def test_a_public_jwk_loads_as_pyjwt_loads_it(kind):
    key = KEYS[kind]()
    jwk = _jwk(key)
    theirs = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if kind != "Ed448":  # pyjwt's PyJWK does not know Ed448
        assert jwt.PyJWK.from_dict(jwk).key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo) == theirs
    assert public_pem(jwk) == theirs
    assert forged_tokens.public_key_pem(jwk) == theirs


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"kty": "oct"}, "unknown key type"),
        ({"alg": "HS256"}, "not a signature algorithm for a EC key"),
        ({"crv": "P-999"}, "unknown curve"),
        ({"x": None}, "x is missing"),
        ({"x": "!!!"}, "not base64url"),
        ({"x": "AAAA"}, "coordinates should be 32 bytes"),
    ],
)
def test_a_broken_jwk_is_refused_with_the_reason(change, why):
    jwk = {**_jwk(KEYS["P-256"]()), **change}
    with pytest.raises(ValueError, match=why):
        load_public({k: v for k, v in jwk.items() if v is not None})
    assert forged_tokens.public_key_pem(jwk) is None


def test_a_point_off_the_curve_is_refused():
    jwk = _jwk(KEYS["P-256"]())
    jwk["y"] = jwk["x"]
    with pytest.raises(ValueError):
        load_public(jwk)


def test_the_forgeries_are_what_pyjwt_would_make_and_verify_only_with_the_strangers_key():
    stranger = forged_tokens.fresh_key()
    authority = KEYS["RSA"]()
    jwk = {**_jwk(authority), "kid": "as-key"}
    tokens = forged_tokens.probe_set("https://as.example", "https://rs.example/mcp", ["mcp"], jwk, stranger)
    assert set(tokens) == {"alg-none", "foreign-key", "hs256-public-key", "expired"}
    foreign = tokens["foreign-key"]
    assert jwt.get_unverified_header(foreign) == {"alg": "RS256", "typ": "JWT", "kid": "as-key"}
    claims = jwt.decode(foreign, stranger.public_key(), algorithms=["RS256"], audience="https://rs.example/mcp")
    assert claims["iss"] == "https://as.example" and claims["scope"] == "mcp"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(foreign, authority.public_key(), algorithms=["RS256"], audience="https://rs.example/mcp")
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(tokens["expired"], stranger.public_key(), algorithms=["RS256"], audience="https://rs.example/mcp")
    # the HS256 confusion token is HMAC keyed with the AS's public key as PEM, exactly as a confused verifier computes it
    pem = forged_tokens.public_key_pem(jwk)
    assert pem is not None
    header, payload, signature = tokens["hs256-public-key"].split(".")
    import base64
    import hashlib
    import hmac

    expected = base64.urlsafe_b64encode(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert signature == expected


def test_doctor_imports_neither_pyjwt_nor_httpx_cli():
    """The whole catalogue run over canned evidence loads no pyjwt, and doctor's start declines httpx's CLI module."""
    code = (
        "import sys\n"
        "sys.modules.setdefault('httpx._main', None)\n"
        "from authkit_mcp_cli.checks.catalogue import CATALOGUE\n"
        "from authkit_mcp_cli.checks.model import run_check\n"
        "from authkit_mcp_cli.checks.as_checks import _usable_key\n"
        "from authkit_mcp_cli import forged_tokens\n"
        "import json\n"
        "jwk = {'kty': 'EC', 'crv': 'P-256', 'x': 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', 'y': 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0'}\n"
        "assert _usable_key(jwk) is None, _usable_key(jwk)\n"
        "forged_tokens.probe_set('https://a', 'https://r', [], jwk)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('jwt', 'pygments'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
