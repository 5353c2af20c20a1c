"""``atoms-auth demo --grant client-credentials|device-code|dpop``: the other
grants against serve's development AS, offline, each step saying what it
proved and listing the flow's own steps (what the client reported).

- client-credentials (RFC 6749 §4.4): a confidential client registered by DCR,
  a token for the client itself, no browser and no refresh token
- device-code (RFC 8628): a user code, the verification page opened by the
  automated leg (the AS auto-approves) or by you (--interactive), polling
- dpop (RFC 9449): a browser login whose tokens are bound to a fresh ES256 key
  (cnf.jkt), MCP requests with the DPoP scheme, a refresh that keeps the binding
"""

from __future__ import annotations

import json
import webbrowser
from collections.abc import Awaitable, Callable
from typing import Any

import jwt

from authkit_mcp_cli.client.context import BrowserOptions, Context, LoginOptions, send
from authkit_mcp_cli.client.login import login
from authkit_mcp_cli.client.refresh import refresh
from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.discovery import discover
from authkit_mcp_cli.errors import AtomsAuthError
from authkit_mcp_cli.mcp_wire import call_tool, with_session
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE as DEVICE_GRANT
from authkit_mcp_cli.oauth.message import HttpRequest

GRANT_NAMES = ("authorization-code", "client-credentials", "device-code", "dpop")
Action = Callable[[], Awaitable[tuple[str, Any]]]
StepRunner = Callable[[str, str, Action], Awaitable[Any]]


def _claims(token: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


async def _open(url: str) -> None:
    webbrowser.open(url)


async def run_grant(grant: str, ctx: Context, mcp_url: str, step: StepRunner, *, interactive: bool, automated_browser: Callable[[str], Awaitable[None]]) -> None:
    """The steps after doctor for ``grant`` (one of GRANT_NAMES but authorization-code); the caller's
    ``ctx.report`` collects each step's flow lines (Step.flow)."""

    issuer = ""  # where the demo's clients are registered: the AS they are then used with (client.issuer_binding)

    async def register(body: dict[str, Any]) -> dict[str, Any]:
        nonlocal issuer
        disc = await discover(ctx.client, mcp_url, ctx.policy, browser_flow=False)
        issuer = disc.issuer
        request = HttpRequest("POST", disc.metadata["registration_endpoint"], {"Content-Type": "application/json", "Accept": "application/json"}, json.dumps({"client_name": "atoms-auth demo", **body}).encode())
        status, raw = await send(ctx, request)
        if status != 201:
            raise AtomsAuthError(f"the registration was refused (HTTP {status}): {raw[:200].decode('utf-8', 'replace')}")
        doc = json.loads(raw)
        assert isinstance(doc, dict)
        return doc

    async def call(session: Session) -> tuple[str, Any]:
        tokens = session.tokens
        out = await with_session(mcp_url, tokens.access_token, lambda c: call_tool(c, "whoami", {}), http=ctx.http, dpop=tokens.dpop_key)
        claims = out.get("structuredContent") or {}
        scheme = "DPoP scheme with a fresh proof per request" if tokens.dpop_key else "Bearer"
        return f"whoami: sub {claims.get('sub')}, aud {claims.get('aud')} ({scheme})", out

    if grant == "client-credentials":
        async def run_register() -> tuple[str, Any]:
            doc = await register({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"})
            return f"confidential client {doc['client_id']} (client_secret_basic, grant_types [client_credentials], no redirect URIs)", doc

        client = await step("register", "dynamic client registration (RFC 7591) of a confidential client for the client credentials grant", run_register)
        if client is None:
            return
        opts = LoginOptions(client_name="atoms-auth demo", grant="client_credentials", client_id=client["client_id"], client_secret=client["client_secret"], authkit_domain=issuer)

        async def run_cc() -> tuple[str, Any]:
            session = await login(ctx, mcp_url, opts)
            sub = _claims(session.tokens.access_token).get("sub")
            if sub != client["client_id"] or session.tokens.refresh_token:
                raise AtomsAuthError(f"expected a token for the client itself and no refresh token (sub {sub})")
            return f"token for {session.resource}, sub {sub} (the client itself), scope {session.tokens.scope}, no refresh token (RFC 6749 §4.4.3), no browser", session

        session = await step("login", "the client credentials grant (RFC 6749 §4.4): client authentication at the token endpoint, resource (RFC 8707), a token whose subject is the client", run_cc)
        if session is not None:
            await step("call", "an authenticated MCP tools/call with the client's own token", lambda: call(session))
        return

    if grant == "device-code":
        async def run_register_device() -> tuple[str, Any]:
            doc = await register({"grant_types": [DEVICE_GRANT, "refresh_token"], "token_endpoint_auth_method": "none", "application_type": "native", "redirect_uris": [], "response_types": []})
            return f"client {doc['client_id']} (public, grant_types device_code and refresh_token, no redirect URIs)", doc

        client = await step("register", "dynamic client registration (RFC 7591) of a public client for the device grant", run_register_device)
        if client is None:
            return
        opts = LoginOptions(client_name="atoms-auth demo", grant="device_code", client_id=client["client_id"], authkit_domain=issuer, browser=BrowserOptions(automate=_open if interactive else automated_browser, wait=300 if interactive else 60))

        async def run_device() -> tuple[str, Any]:
            session = await login(ctx, mcp_url, opts)
            leg = "you approved on the verification page" if interactive else "the verification page was opened by the automated leg and the development AS auto-approved"
            return f"token for {session.resource}, scope {session.tokens.scope} ({leg})", session

        session = await step("login", "the device grant (RFC 8628): a user code, the verification URI, polling at the interval until approval", run_device)
        if session is None or await step("call", "an authenticated MCP tools/call with the device's token", lambda: call(session)) is None:
            return

        async def run_refresh() -> tuple[str, Any]:
            new = await refresh(ctx, session, force=True)
            return "new access token; the refresh token rotated", new

        await step("refresh", "the device grant's refresh token works and rotates (OAuth 2.1 §4.3.1)", run_refresh)
        return

    # dpop
    opts = LoginOptions(client_name="atoms-auth demo", dpop=True, browser=BrowserOptions(open_browser=interactive, automate=None if interactive else automated_browser, wait=300 if interactive else 30), scopes=["mcp:tools", "offline_access"])

    async def run_dpop() -> tuple[str, Any]:
        session = await login(ctx, mcp_url, opts)
        jkt = (_claims(session.tokens.access_token).get("cnf") or {}).get("jkt")
        if session.tokens.token_type != "DPoP" or not jkt:
            raise AtomsAuthError(f"the token is not DPoP-bound (token_type {session.tokens.token_type}, cnf.jkt {jkt})")
        return f"token_type DPoP, cnf.jkt {jkt} (the thumbprint of this login's ES256 key)", session

    session = await step("login", "a browser login whose every token request carries a DPoP proof (RFC 9449 §4.2): token_type DPoP and cnf.jkt (§6.1)", run_dpop)
    if session is None or await step("call", "the MCP server accepts the bound token only with a proof made with its key (RFC 9449 §7)", lambda: call(session)) is None:
        return

    async def run_dpop_refresh() -> tuple[str, Any]:
        before = (_claims(session.tokens.access_token).get("cnf") or {}).get("jkt")
        new = await refresh(ctx, session, force=True)
        after = (_claims(new.tokens.access_token).get("cnf") or {}).get("jkt")
        if after != before:
            raise AtomsAuthError(f"the refreshed token is bound to {after}, not {before}")
        return f"new access token still bound to {after}", new

    await step("refresh", "a refresh with a proof of the same key keeps the binding (RFC 9449 §5)", run_dpop_refresh)
