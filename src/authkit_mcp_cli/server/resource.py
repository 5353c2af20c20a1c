"""The resource-server side of MCP authorization: protected-resource metadata
(RFC 9728), the Bearer challenge (RFC 6750 §3) and the guard that sits in
front of the MCP endpoint.

The guard answers, in order: no credentials -> 401 with a bare challenge
(resource_metadata, scope; no error code, RFC 6750 §3.1); a token in the
query string -> 400 invalid_request (MCP: tokens only in the header); a
malformed Authorization header -> 400 invalid_request; an invalid token ->
401 invalid_token with a useful error_description; missing scopes (for the
endpoint, or for the tool being called) -> 403 insufficient_scope naming all
scopes needed ("Runtime Insufficient Scope Errors").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkit_mcp_cli.server.verifier import TokenRejected, TokenValidator, VerifiedToken

log = logging.getLogger("atoms_auth.serve")
MAX_PEEK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ResourceInfo:
    resource: str  # canonical MCP URL: no trailing slash, no fragment
    prm_url: str  # path-inserted PRM URL
    authorization_servers: tuple[str, ...]
    required_scopes: tuple[str, ...]
    scopes_supported: tuple[str, ...]
    tool_scopes: dict[str, tuple[str, ...]]  # extra scopes a tool needs (step-up)

    def prm_document(self) -> dict[str, Any]:
        """RFC 9728 §2; no offline_access (MCP: Refresh Tokens)."""
        return {
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            "scopes_supported": [s for s in self.scopes_supported if s != "offline_access"],
            "bearer_methods_supported": ["header"],
            "resource_name": "atoms-auth serve",
        }


def challenge(info: ResourceInfo, *, error: str | None = None, description: str | None = None, scopes: Iterable[str] | None = None) -> str:
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{_quote(description)}"')
    parts.append(f'resource_metadata="{info.prm_url}"')
    scope = " ".join(scopes if scopes is not None else info.required_scopes)
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


def _quote(text: str) -> str:
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "'" if c == '"' else " " for c in text)


class BearerGuard:
    """ASGI middleware for the MCP endpoint; sets the mcp SDK's auth context."""

    def __init__(self, app: ASGIApp, *, info: ResourceInfo, validator: TokenValidator) -> None:
        self.app = app
        self.info = info
        self.validator = validator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "access_token" in query:
            await self._deny(send, 400, "invalid_request", "access tokens are accepted only in the Authorization header, never in the URL")
            return
        headers = [v for k, v in scope["headers"] if k == b"authorization"]
        if not headers:
            await self._deny(send, 401, None, None)
            return
        if len(headers) > 1:
            await self._deny(send, 400, "invalid_request", "more than one Authorization header")
            return
        raw = headers[0].decode("latin-1").strip()
        scheme, _, token = raw.partition(" ")
        if scheme.lower() != "bearer":
            await self._deny(send, 401, None, None)  # another scheme: the bare Bearer challenge says what we take
            return
        token = token.strip()
        if not token or " " in token:
            await self._deny(send, 400, "invalid_request", "the Authorization header must be 'Bearer <token>'")
            return
        try:
            verified = await self.validator.verify(token)
        except TokenRejected as exc:
            await self._deny(send, 401, "invalid_token", exc.description)
            return
        missing = set(self.info.required_scopes) - verified.scopes
        if missing:
            await self._deny(send, 403, "insufficient_scope", f"the token lacks scope {' '.join(sorted(missing))}", scopes=self.info.required_scopes)
            return
        replay = await self._check_tool_scopes(scope, receive, send, verified)
        if replay is None:
            return
        receive = replay
        await self._call_authenticated(scope, receive, send, verified)

    async def _check_tool_scopes(self, scope: Scope, receive: Receive, send: Send, verified: VerifiedToken) -> Receive | None:
        """Step-up: a tools/call for a tool needing more scopes -> 403 (body replayed otherwise)."""
        if not self.info.tool_scopes or scope["method"] != "POST":
            return receive
        body, more = b"", True
        messages: list[Message] = []
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_PEEK_BYTES:
                break
        needed = _tool_scopes_needed(body, self.info.tool_scopes)
        missing = set(needed) - verified.scopes
        if missing:
            union = list(dict.fromkeys([*self.info.required_scopes, *needed]))
            await self._deny(send, 403, "insufficient_scope", f"this tool needs scope {' '.join(sorted(missing))}", scopes=union)
            return None
        return _replay(messages, receive)

    async def _call_authenticated(self, scope: Scope, receive: Receive, send: Send, verified: VerifiedToken) -> None:
        claims = verified.claims
        access = AccessToken(
            token=verified.token,
            client_id=str(claims.get("client_id") or claims.get("azp") or ""),
            scopes=sorted(verified.scopes),
            expires_at=verified.expires_at,
            resource=self.info.resource,
            subject=claims.get("sub") if isinstance(claims.get("sub"), str) else None,
            claims=claims,
        )
        user = AuthenticatedUser(access)
        scope = {**scope, "user": user, "auth": AuthCredentials(sorted(verified.scopes))}
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    async def _deny(self, send: Send, status: int, error: str | None, description: str | None, *, scopes: Iterable[str] | None = None) -> None:
        header = challenge(self.info, error=error, description=description, scopes=scopes)
        body = json.dumps({"error": error or "unauthorized", "error_description": description or "Authorization required: send an OAuth 2.1 bearer token"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", header.encode("latin-1")), (b"cache-control", b"no-store")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _tool_scopes_needed(body: bytes, tool_scopes: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    try:
        payload = json.loads(body)
    except ValueError:
        return ()
    messages = payload if isinstance(payload, list) else [payload]
    needed: list[str] = []
    for msg in messages:
        if isinstance(msg, dict) and msg.get("method") == "tools/call" and isinstance(msg.get("params"), dict):
            needed.extend(tool_scopes.get(str(msg["params"].get("name")), ()))
    return tuple(dict.fromkeys(needed))


def _replay(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
