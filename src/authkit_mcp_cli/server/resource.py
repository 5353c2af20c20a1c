"""The resource-server side of MCP authorization: protected-resource metadata
(RFC 9728), the Bearer challenge (RFC 6750 §3) and the guard that sits in
front of the MCP endpoint.

The guard answers, in order: no credentials -> 401 with a bare challenge
(resource_metadata, scope; no error code, RFC 6750 §3.1); a token in the
query string -> 400 invalid_request (MCP: tokens only in the header); a
malformed Authorization header -> 400 invalid_request; an invalid token ->
401 invalid_token with a useful error_description; missing scopes (for the
endpoint, or for the tool called, the resource read or the prompt got: see
server/tools.py) -> 403 insufficient_scope naming, in one challenge, every
scope the operation needs: the endpoint's and the operation's ("Runtime
Insufficient Scope Errors", SEP-2350).

DPoP (RFC 9449 §7): a token bound to a key (``cnf.jkt``) is accepted only
with ``Authorization: DPoP <token>`` and a valid ``DPoP`` proof
(server/dpop_proof.py); bound as Bearer, or unbound as DPoP, is 401 (§7.2).
A bad proof is 401 ``DPoP error="invalid_dpop_proof"``; a missing nonce,
when required (``ATOMS_AUTH_SERVE_DPOP_NONCE=1``), ``use_dpop_nonce`` with a
``DPoP-Nonce`` header (§9). Every challenge also names the DPoP ``algs``.
When the shared replay store (``serve --store``) cannot be reached, a DPoP
request is 503 (the reason in the log), never served unchecked; Bearer
requests do not touch the store.
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
from pydantic_core import from_json
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authkit_mcp_cli.server.dpop_proof import ALGS, ProofChecker, ProofRejected
from authkit_mcp_cli.server.dpop_store import StoreUnavailable
from authkit_mcp_cli.server.tools import SCOPED_METHODS, OperationScopes
from authkit_mcp_cli.server.verifier import TokenRejected, TokenValidator, VerifiedToken

log = logging.getLogger("atoms_auth.serve")
MAX_PEEK_BYTES = 4 * 1024 * 1024
# A body the guard need not parse: none of the scoped methods' names in its bytes, and no
# backslash (a JSON escape could spell one, "tools\/call") and no NUL (json.loads, the
# 2026-07-28 wire's parser, also reads UTF-16 and UTF-32, where ASCII comes with NULs).
_SCOPED_METHOD_BYTES = tuple(m.encode() for m in SCOPED_METHODS)


@dataclass(frozen=True)
class ResourceInfo:
    resource: str  # canonical MCP URL: no trailing slash, no fragment
    prm_url: str  # path-inserted PRM URL
    authorization_servers: tuple[str, ...]
    required_scopes: tuple[str, ...]
    scopes_supported: tuple[str, ...]
    operation_scopes: OperationScopes  # extra scopes of a tool, resource or prompt (step-up)

    def prm_document(self) -> dict[str, Any]:
        """RFC 9728 §2; no offline_access (MCP: Refresh Tokens)."""
        return {
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            "scopes_supported": [s for s in self.scopes_supported if s != "offline_access"],
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": list(ALGS),  # RFC 9728 §2
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


def dpop_challenge(info: ResourceInfo, *, error: str | None = None, description: str | None = None, scopes: Iterable[str] | None = None) -> str:
    """RFC 9449 §7.1: ``DPoP algs="..."``; with an error, also what a Bearer challenge would say."""
    if error is None:
        return f'DPoP algs="{" ".join(ALGS)}"'
    parts = [f'error="{error}"']
    if description:
        parts.append(f'error_description="{_quote(description)}"')
    parts.append(f'algs="{" ".join(ALGS)}"')
    parts.append(f'resource_metadata="{info.prm_url}"')
    scope = " ".join(scopes if scopes is not None else info.required_scopes)
    if scope:
        parts.append(f'scope="{scope}"')
    return "DPoP " + ", ".join(parts)


def _quote(text: str) -> str:
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "'" if c == '"' else " " for c in text)


class BearerGuard:
    """ASGI middleware for the MCP endpoint; sets the mcp SDK's auth context."""

    def __init__(self, app: ASGIApp, *, info: ResourceInfo, validator: TokenValidator, proofs: ProofChecker | None = None) -> None:
        self.app = app
        self.info = info
        self.validator = validator
        self.proofs = proofs or ProofChecker.for_resource(info.resource)
        self.step_up = bool(info.operation_scopes.all())  # with no extra scope anywhere, no body is read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        query_string = scope.get("query_string", b"")
        if query_string and "access_token" in dict(parse_qsl(query_string.decode("latin-1"))):
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
        kind = scheme.lower()  # RFC 9110 §11.1: the scheme is case-insensitive
        if kind not in ("bearer", "dpop"):
            await self._deny(send, 401, None, None)  # another scheme: the bare challenges say what we take
            return
        token = token.strip()
        if not token or " " in token:
            await self._deny(send, 400, "invalid_request", "the Authorization header must be 'Bearer <token>' or 'DPoP <token>'")
            return
        verified = await self._verify(send, token, dpop=kind == "dpop")
        if verified is None or not await self._check_binding(scope, send, verified, dpop=kind == "dpop"):
            return
        receive, needed = await self._operation_scopes(scope, receive)
        # MCP 2026-07-28 "Runtime Insufficient Scope Errors" (SEP-2350): one challenge with every scope
        # the operation needs (the endpoint's and the operation's), never one of them now and the rest later
        required = tuple(dict.fromkeys([*self.info.required_scopes, *needed]))
        missing = set(required) - verified.scopes
        if missing:
            what = "this operation needs" if set(needed) & missing else "the token lacks"
            await self._deny(send, 403, "insufficient_scope", f"{what} scope {' '.join(sorted(missing))}", scopes=required)
            return
        await self._call_authenticated(scope, receive, send, verified)

    async def _verify(self, send: Send, token: str, *, dpop: bool) -> VerifiedToken | None:
        try:
            return await self.validator.verify(token)
        except TokenRejected as exc:
            await self._deny(send, 401, "invalid_token", exc.description, dpop=dpop)
        except Exception as exc:  # noqa: BLE001 - issue 14: an odd token is a 401, never a 500
            log.warning("a token could not be read (%s); answered 401", type(exc).__name__)
            await self._deny(send, 401, "invalid_token", "the token could not be read", dpop=dpop)
        return None

    async def _check_binding(self, scope: Scope, send: Send, verified: VerifiedToken, *, dpop: bool) -> bool:
        """RFC 9449 §7: the scheme matches the binding, and a bound token comes with a valid proof."""
        jkt = verified.jkt
        if not dpop and jkt:
            await self._deny(send, 401, "invalid_token", "this token is bound to a DPoP key (cnf.jkt): send it as 'Authorization: DPoP <token>' with a DPoP proof (RFC 9449 §7.2)")
            return False
        if dpop and not jkt:
            await self._deny(send, 401, "invalid_token", "this token is not DPoP-bound (no cnf.jkt): send it with the Bearer scheme (RFC 9449 §7.2)", dpop=True)
            return False
        if jkt:
            proofs = [v.decode("latin-1") for k, v in scope["headers"] if k == b"dpop"]
            try:
                await self.proofs.check(proofs, method=scope["method"], access_token=verified.token, jkt=jkt)
            except ProofRejected as exc:
                await self._deny(send, 401, exc.error, exc.description, dpop=True)
                return False
            except StoreUnavailable as exc:
                # fail closed: a proof that cannot be checked for replay is not accepted unchecked
                log.warning("DPoP request refused with 503: the replay store cannot be reached (%s)", exc)
                await self._unavailable(send)
                return False
        return True

    async def _operation_scopes(self, scope: Scope, receive: Receive) -> tuple[Receive, tuple[str, ...]]:
        """Step-up: the extra scopes of the tool, resource or prompt the body asks for, read
        from the body (then replayed); a body naming no scoped operation is not parsed."""
        if not self.step_up or scope["method"] != "POST":
            return receive, ()
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
        if not _may_name_an_operation(body):
            return _replay(messages, receive), ()
        return _replay(messages, receive), _scopes_needed(body, self.info.operation_scopes)

    async def _call_authenticated(self, scope: Scope, receive: Receive, send: Send, verified: VerifiedToken) -> None:
        principal = verified.derived.get("principal")
        if principal is None:  # built once per verdict: the verdict cache hands back the same object
            principal = verified.derived["principal"] = self._principal(verified)
        user, credentials = principal
        scope = {**scope, "user": user, "auth": credentials}
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    def _principal(self, verified: VerifiedToken) -> tuple[AuthenticatedUser, AuthCredentials]:
        """The mcp SDK's view of the token (its auth context and Starlette's scope["user"])."""
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
        return AuthenticatedUser(access), AuthCredentials(sorted(verified.scopes))

    async def _deny(self, send: Send, status: int, error: str | None, description: str | None, *, scopes: Iterable[str] | None = None, dpop: bool = False) -> None:
        """The Bearer challenge and the DPoP one (RFC 9449 §7.1, §7.2); a DPoP error leads in the DPoP
        challenge, and ``use_dpop_nonce`` comes alone with a fresh ``DPoP-Nonce`` (§9), as the client reads it."""
        if error in ("invalid_dpop_proof", "use_dpop_nonce"):
            challenges = [dpop_challenge(self.info, error=error, description=description, scopes=scopes)]
            if error == "invalid_dpop_proof":
                challenges.append(challenge(self.info, scopes=scopes))
        else:
            bearer = challenge(self.info, error=error, description=description, scopes=scopes)
            other = dpop_challenge(self.info, error=error, description=description, scopes=scopes) if dpop and error else dpop_challenge(self.info)
            challenges = [bearer, other]
        headers = [(b"content-type", b"application/json"), *((b"www-authenticate", ch.encode("latin-1")) for ch in challenges), (b"cache-control", b"no-store")]
        if dpop and self.proofs.require_nonce:
            try:
                headers.append((b"dpop-nonce", (await self.proofs.nonce()).encode("ascii")))
            except StoreUnavailable as exc:
                log.warning("no DPoP-Nonce in this answer: the store holding the nonce key cannot be reached (%s)", exc)
        body = json.dumps({"error": error or "unauthorized", "error_description": description or "Authorization required: send an OAuth 2.1 access token"}).encode()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _unavailable(self, send: Send) -> None:
        body = json.dumps({"error": "temporarily_unavailable", "error_description": "this server cannot check DPoP proofs for replay right now; retry shortly"}).encode()
        headers = [(b"content-type", b"application/json"), (b"retry-after", b"5"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _may_name_an_operation(body: bytes) -> bool:
    if b"\\" in body or b"\x00" in body:
        return True
    for method in _SCOPED_METHOD_BYTES:
        if method in body:
            return True
    return False


def _scopes_needed(body: bytes, operations: OperationScopes) -> tuple[str, ...]:
    """Read as the SDK reads it: pydantic's parser (the handshake wire's), else json.loads (the
    2026-07-28 wire's, which also takes UTF-16/32); on duplicate keys both keep the last. A body
    neither can parse is refused by the endpoint (-32700) before any operation runs."""
    try:
        payload = from_json(body)
    except ValueError:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return ()
    messages = payload if isinstance(payload, list) else [payload]
    needed: list[str] = []
    for msg in messages:
        if isinstance(msg, dict):
            needed.extend(operations.needed(msg.get("method"), msg.get("params")))
    return tuple(dict.fromkeys(needed))


def _replay(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
