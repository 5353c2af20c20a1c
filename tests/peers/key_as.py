"""A minimal AS whose signing keys the test holds: it serves metadata and a
JWKS, can rotate keys or go down, and mints tokens for any claims."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class KeyAS:
    issuer: str = ""
    keys: dict[str, Any] = field(default_factory=dict)  # kid -> private key
    down: bool = False
    garbage: bool = False
    delay: float = 0.0
    jwks_hits: int = 0

    def add_key(self, kid: str, kind: str = "rsa") -> Any:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
        self.keys[kid] = key
        return key

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys.items():
            if isinstance(key, rsa.RSAPrivateKey):
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
                out.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
            else:
                jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
                out.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": out}

    def claims(self, resource: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "user_1", "aud": resource, "scope": "mcp:tools", "client_id": "c1", "iat": now, "exp": now + 600}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, claims: dict[str, Any], kid: str = "k1", headers: dict[str, Any] | None = None) -> str:
        key = self.keys[kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, **(headers or {})})

    def app(self, base: str) -> Starlette:
        self.issuer = base

        async def metadata(request: Request) -> Response:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.garbage:
                return Response("<html>captive portal</html>", media_type="text/html")
            if self.down:
                return Response("down", status_code=503)
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": base + "/oauth2/authorize",
                    "token_endpoint": base + "/oauth2/token",
                    "jwks_uri": base + "/oauth2/jwks",
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        async def jwks(request: Request) -> Response:
            self.jwks_hits += 1
            if self.down:
                return Response("down", status_code=503)
            return JSONResponse(self.jwks())

        async def openid(request: Request) -> Response:
            if self.down:
                return Response("<html>maintenance</html>", media_type="text/html")
            return await metadata(request)

        return Starlette(routes=[Route("/.well-known/oauth-authorization-server", metadata), Route("/.well-known/openid-configuration", openid), Route("/oauth2/jwks", jwks)])
