"""The floor for serve_throughput.py: the least any authenticated MCP endpoint on
serve's stack must do. A bare ASGI app on the same uvicorn + httptools + uvloop
that reads the body, verifies the same RS256 bearer token (signature, issuer,
audience, expiry) with the same key fetched once from the AS's JWKS, parses the
JSON-RPC request and answers a fixed ``tools/list``. No framework, no SDK, no
session manager: what serve adds on top of this is what serve costs.

    python floor_app.py ISSUER PORT
"""

from __future__ import annotations

import json
import sys

import httpx
import jwt
import uvicorn

issuer, port = sys.argv[1].rstrip("/"), int(sys.argv[2])
resource = f"http://127.0.0.1:{port}/api/mcp"
metadata = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json()
KEYS = {k["kid"]: jwt.PyJWK(k) for k in httpx.get(metadata["jwks_uri"]).json()["keys"]}

TOOLS = {"tools": [{"name": "whoami", "description": "Who the verified bearer token says you are.", "inputSchema": {"type": "object", "properties": {}}}]}
UNAUTHORIZED = [(b"www-authenticate", f'Bearer resource_metadata="http://127.0.0.1:{port}/.well-known/oauth-protected-resource/api/mcp"'.encode()), (b"content-length", b"0")]


async def send_json(send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] != "/api/mcp" or scope["method"] != "POST":
        await send_json(send, 404, b"{}")
        return
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
    scheme, _, token = authorization.partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise jwt.InvalidTokenError("no bearer token")
        key = KEYS[jwt.get_unverified_header(token)["kid"]]
        jwt.decode(token, key, algorithms=["RS256"], audience=resource, issuer=issuer, options={"require": ["exp", "iss", "aud"]})
    except (jwt.InvalidTokenError, KeyError):
        await send({"type": "http.response.start", "status": 401, "headers": UNAUTHORIZED})
        await send({"type": "http.response.body", "body": b""})
        return
    request = json.loads(body)
    answer = {"jsonrpc": "2.0", "id": request.get("id"), "result": TOOLS}
    await send_json(send, 200, json.dumps(answer, separators=(",", ":")).encode())


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", loop="uvloop", log_level="warning", access_log=False)
