"""Issue 14 item 8: in AuthKit (any-AS) mode serve reads no more than 256 KiB
of the AS's JWKS and of the AS metadata it forwards; an endless or
compressed-bomb answer is refused (401 naming the JWKS problem, 502 at the
compatibility endpoint) instead of filling serve's memory."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from peers.asgi import serve_asgi
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
CHUNK = 64 * 1024
TOTAL_CHUNKS = 512  # 32 MiB


class HugeAS:
    """Metadata as usual (or endless), a JWKS that never ends or is a gzip bomb."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sent_chunks = 0
        self.issuer = ""
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def _endless(self) -> StreamingResponse:
        async def body():
            yield b'{"keys": [' + b" " * (CHUNK - 10)
            for _ in range(TOTAL_CHUNKS):  # ~5 s in all: a reader that buffers everything waits that long
                await asyncio.sleep(0.01)
                self.sent_chunks += 1
                yield b" " * CHUNK
            yield b"]}"

        return StreamingResponse(body(), media_type="application/json")

    def app(self, base: str) -> Starlette:
        self.issuer = base

        async def metadata(request: Request) -> Response:
            if self.mode == "metadata":
                return self._endless()
            return JSONResponse({"issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token", "jwks_uri": base + "/jwks", "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"]})

        async def jwks(request: Request) -> Response:
            if self.mode == "bomb":
                bomb = gzip.compress(b'{"keys": [' + b" " * (20 * 1024 * 1024) + b"]}")  # ~20 KiB on the wire, 20 MiB decoded
                return Response(bomb, media_type="application/json", headers={"Content-Encoding": "gzip"})
            return self._endless()

        return Starlette(routes=[Route("/.well-known/oauth-authorization-server", metadata), Route("/.well-known/openid-configuration", metadata), Route("/jwks", jwks)])


def token_for(as_: HugeAS, resource: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": as_.issuer, "aud": resource, "sub": "u", "scope": "mcp:tools", "iat": now, "exp": now + 600}, as_.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.mark.parametrize("mode", ["endless", "bomb"])
def test_an_oversized_jwks_is_refused_not_buffered(mode):
    huge = HugeAS(mode)
    with serve_asgi(huge.app), serve_app(authkit_domain=huge.issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        started = time.monotonic()
        response = httpx.post(info.mcp_url, headers={**MCP_HEADERS, "Authorization": f"Bearer {token_for(huge, info.resource)}"}, content="{}", timeout=30)
        assert response.status_code == 401
        assert "larger than 256 KiB" in response.headers["www-authenticate"], response.headers["www-authenticate"]
        assert time.monotonic() - started < 30  # a bound on a hang only: the event below shows the cap
    assert huge.sent_chunks < TOTAL_CHUNKS  # serve stopped reading at the cap, before the AS sent everything


def test_oversized_forwarded_metadata_is_a_502():
    huge = HugeAS("metadata")
    with serve_asgi(huge.app), serve_app(authkit_domain=huge.issuer, required_scopes="mcp:tools", auto_approve=False) as (info, _app):
        origin = info.mcp_url.rsplit("/api/mcp", 1)[0]
        started = time.monotonic()
        response = httpx.get(origin + "/.well-known/oauth-authorization-server", timeout=30)
        assert time.monotonic() - started < 30  # a bound on a hang only: the event below shows the cap
        assert response.status_code == 502
        assert "document too large" in json.loads(response.text)["error_description"]
    assert huge.sent_chunks < TOTAL_CHUNKS
