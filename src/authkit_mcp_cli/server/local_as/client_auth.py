"""Client authentication at the development AS's token, device and revocation
endpoints: ``none`` (a client_id), ``client_secret_basic`` / ``client_secret_post``
(RFC 6749 §2.3.1) and ``private_key_jwt`` (RFC 7523 §2.2, the claims of §3;
OIDC Core §9), verified against the JWKS the client registered."""

from __future__ import annotations

import base64
import hmac
import time
from typing import Any, Protocol
from urllib.parse import unquote_plus

import jwt

from authkit_mcp_cli.server.local_as.model import Client, OAuthError
from authkit_mcp_cli.server.local_as.stores import ReplayCache

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
MAX_ASSERTION_LIFETIME = 300  # seconds between iat (or now) and exp: RFC 7523 §3 item 4 wants it short
CLOCK_SKEW = 30
MAX_JWKS_KEYS = 10
_KTY_FOR_ALG = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def check_jwks(jwks: Any) -> dict[str, Any]:
    """The ``jwks`` of a private_key_jwt registration (RFC 7591 §2): public keys only, at most 10."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise OAuthError("invalid_client_metadata", "private_key_jwt needs jwks: a JSON Web Key Set with the client's public keys (jwks_uri is not supported here)")
    if len(jwks["keys"]) > MAX_JWKS_KEYS:
        raise OAuthError("invalid_client_metadata", f"jwks may hold at most {MAX_JWKS_KEYS} keys")
    keys = []
    for raw in jwks["keys"]:
        if not isinstance(raw, dict) or any(k in raw for k in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise OAuthError("invalid_client_metadata", "jwks must contain public keys only (no private or symmetric key material)")
        try:
            jwt.PyJWK(raw, algorithm=_default_alg(raw))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise OAuthError("invalid_client_metadata", "jwks holds a key that is not a valid public JWK (RSA, EC P-256/384/521 or OKP Ed25519/Ed448)") from None
        keys.append({k: v for k, v in raw.items() if isinstance(k, str)})
    return {"keys": keys}


def _default_alg(raw: dict[str, Any]) -> str:
    kty, crv = raw.get("kty"), raw.get("crv")
    if kty == "EC":
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(str(crv), "ES256")
    if kty == "OKP":
        return "EdDSA"
    return "RS256"


class Clients(Protocol):
    def get(self, key: str, default: None = None) -> Client | None: ...


def authenticate(clients: Clients, form: dict[str, str], authorization: str | None, *, audiences: list[str], seen: ReplayCache) -> Client:
    """The client a request comes from, authenticated as it registered; ``invalid_client`` (401) otherwise (RFC 6749 §5.2)."""
    client_id, secret, method = form.get("client_id"), form.get("client_secret"), "none"
    assertion = form.get("client_assertion")
    basic = bool(authorization and authorization.lower().startswith("basic "))
    if sum((basic, assertion is not None, secret is not None)) > 1:  # RFC 6749 §2.3: one method per request
        raise OAuthError("invalid_request", "use one client authentication method per request (Basic, client_secret or client_assertion)")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            basic_id, _, basic_secret = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from None
        client_id, secret, method = unquote_plus(basic_id), unquote_plus(basic_secret), "client_secret_basic"
    elif assertion is not None:
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError("invalid_client", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE} (RFC 7523 §2.2)", status=401)
        method = "private_key_jwt"
        client_id = client_id or _unverified_issuer(assertion)
    elif secret is not None:
        method = "client_secret_post"
    if not client_id:
        raise OAuthError("invalid_client", "no client_id", status=401)
    client = clients.get(client_id)
    if client is None:
        raise OAuthError("invalid_client", "unknown client", status=401)
    if method != client.token_endpoint_auth_method:
        raise OAuthError("invalid_client", f"this client must authenticate with {client.token_endpoint_auth_method}, not {method}", status=401)
    if method == "private_key_jwt":
        verify_assertion(client, assertion or "", audiences=audiences, seen=seen)
    elif client.client_secret and not hmac.compare_digest(client.client_secret, secret or ""):
        raise OAuthError("invalid_client", "wrong client secret", status=401)
    return client


def _unverified_issuer(assertion: str) -> str | None:
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OAuthError("invalid_client", "client_assertion is not a JWT", status=401) from None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def verify_assertion(client: Client, assertion: str, *, audiences: list[str], seen: ReplayCache) -> None:
    """RFC 7523 §3: signed by a key of the client's JWKS, iss = sub = client_id, aud this AS, a short exp, a one-time jti."""
    def refuse(why: str) -> OAuthError:
        return OAuthError("invalid_client", f"client_assertion refused: {why} (RFC 7523 §3)", status=401)

    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise refuse("not a JWS") from None
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in SIGNING_ALGS:
        raise refuse(f"alg must be one of {', '.join(SIGNING_ALGS)}")
    if kid is not None and not isinstance(kid, str):
        raise refuse("kid must be a string")
    candidates = [k for k in (client.jwks or {}).get("keys", []) if k.get("kty") == _KTY_FOR_ALG[alg[:2]] and (kid is None or k.get("kid") == kid)]
    if not candidates:
        raise refuse(f"no registered key of the client matches kid {kid!r} and alg {alg}" if kid else f"no registered key of the client fits alg {alg}")
    claims: dict[str, Any] | None = None
    for raw in candidates:
        try:
            key = jwt.PyJWK(raw, algorithm=alg)
            claims = jwt.decode(assertion, key, algorithms=[alg], audience=audiences, leeway=CLOCK_SKEW, options={"require": ["iss", "sub", "aud", "exp", "jti"]})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAudienceError:
            raise refuse(f"aud must name this AS ({' or '.join(audiences)})") from None
        except jwt.ExpiredSignatureError:
            raise refuse("it has expired") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise refuse(str(exc) or type(exc).__name__) from None
    if claims is None:
        raise refuse("the signature does not verify with the client's registered keys")
    if claims["iss"] != client.client_id or claims["sub"] != client.client_id:
        raise refuse("iss and sub must both be the client_id")
    now = time.time()
    exp = claims["exp"]
    start = claims["iat"] if isinstance(claims.get("iat"), (int, float)) and not isinstance(claims.get("iat"), bool) else now
    if exp - min(start, now) > MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        raise refuse(f"exp is too far ahead (at most {MAX_ASSERTION_LIFETIME} s)")
    if not isinstance(claims["jti"], str) or not seen.first_use(f"{client.client_id}:{claims['jti']}", exp + CLOCK_SKEW):
        raise refuse("jti was already used (a replayed assertion)")
