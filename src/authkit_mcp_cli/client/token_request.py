"""Sending a token request (any grant, and refresh) with the login's DPoP
key when it has one (RFC 9449 §5): a fresh proof on every attempt, one retry
with the AS's nonce on ``use_dpop_nonce`` (§8), and the response parsed
with token_type DPoP accepted. Without a key it is a plain token request.

Grants call :func:`request_tokens`; ``dpop_key_for`` makes the per-login key."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.discovery import network_error
from authkit_mcp_cli.http import exchange
from authkit_mcp_cli.oauth.dpop import DpopHandle, DpopKey, check_algs
from authkit_mcp_cli.oauth.message import HttpRequest
from authkit_mcp_cli.oauth.token import Tokens, parse_token_response


def dpop_key_for(ctx: Context, opts: LoginOptions, metadata: dict[str, Any]) -> DpopKey | None:
    """A new ES256 key for this login when ``--dpop`` asks for one (usage.dpop-alg-unsupported when the AS refuses ES256)."""
    if not opts.dpop:
        return None
    note = check_algs(metadata)
    if note:
        ctx.report("warning", note)
    key = DpopKey.generate()
    ctx.report("dpop", f"new ES256 key for this login (jkt {key.thumbprint()})")
    return key


async def send_with_proof(ctx: Context, request: HttpRequest, key: DpopKey | None) -> tuple[int, bytes]:
    """Send one token request; with a key, a fresh proof per attempt from the key's handle, which keeps
    the AS's nonce and retries once when the AS asks for a new one (RFC 9449 §8)."""
    handle = DpopHandle.for_key(key) if key is not None else None
    for attempt in range(2):
        sent = request
        if handle is not None:
            sent = replace(request, headers={**request.headers, "DPoP": handle.proof(request.method, request.url)})
        ex = await exchange(ctx.client, sent.method, sent.url, policy=ctx.policy, headers=sent.headers, content=sent.body, follow_redirects=False)
        if not ex.ok:
            raise network_error(ex, f"{sent.method} {sent.url} failed")
        status = ex.status or 0
        if handle is None or attempt == 1 or not handle.retry_with_nonce(sent.url, status, ex.body, ex.header("dpop-nonce")):
            return status, ex.body
        ctx.report("dpop", "the authorization server asked for a DPoP nonce (use_dpop_nonce); sending a new proof with it")
    raise AssertionError("unreachable")


async def request_tokens(ctx: Context, request: HttpRequest, key: DpopKey | None, *, grant_type: str, previous_refresh_token: str | None = None) -> Tokens:
    """The tokens for one token request; bound to ``key`` when the AS answered token_type DPoP."""
    status, body = await send_with_proof(ctx, request, key)
    return bound_tokens(ctx, status, body, key, url=request.url, grant_type=grant_type, previous_refresh_token=previous_refresh_token)


def bound_tokens(ctx: Context, status: int, body: bytes, key: DpopKey | None, *, url: str, grant_type: str, previous_refresh_token: str | None = None) -> Tokens:
    """A token response parsed (token_type DPoP accepted when a proof was sent) and kept with its key."""
    tokens = parse_token_response(status, body, previous_refresh_token=previous_refresh_token, url=url, dpop=key is not None)
    if key is not None and tokens.token_type != "DPoP":
        ctx.report("warning", "the AS answered token_type Bearer to a DPoP proof: the token is not bound to the key (RFC 9449 §5)")
        key = None
    return replace(tokens, dpop_key=key.to_json() if key else None, grant_type=grant_type)


def received(tokens: Tokens) -> str:
    """The progress line for tokens from a grant without a browser: lifetime and scope, never the token."""
    lifetime = f"expires in {int(tokens.expires_at - tokens.obtained_at)}s" if tokens.expires_at else "no expiry stated"
    return f"access token received ({lifetime}; scope {tokens.scope or '(none stated)'})"
