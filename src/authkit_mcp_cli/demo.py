"""``atoms-auth demo``: the whole story on one machine, offline.

serve (with its development AS) starts in this process on a free port; then
doctor, register, login, call and refresh run against it, each step saying
what it proved. The browser leg is automated (an HTTP client follows the
redirects a browser would follow, and the AS auto-approves) unless
``interactive`` is set, when a real browser shows the consent page.
``grant`` picks another flow after doctor (demo_grants.py): client
credentials, the device grant, or a DPoP-bound browser login.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.model import Status
from authkit_mcp_cli.client.context import BrowserOptions, Context, Countdown, LoginOptions, send
from authkit_mcp_cli.client.login import login
from authkit_mcp_cli.client.refresh import refresh
from authkit_mcp_cli.client.registration import register_dcr
from authkit_mcp_cli.client.waiting import quiet_countdown
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.doctor import diagnose
from authkit_mcp_cli.errors import AtomsAuthError
from authkit_mcp_cli.http import HttpPolicy, HttpSession
from authkit_mcp_cli.mcp_wire import call_tool, with_session
from authkit_mcp_cli.oauth.token import refresh_token_request
from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig
from authkit_mcp_cli.server.runner import serve_in_thread
from authkit_mcp_cli.store import Store
from authkit_mcp_cli.trace import TraceWriter


@dataclass
class Step:
    name: str
    ok: bool
    proved: str
    detail: str = ""
    seconds: float = 0.0
    flow: list[str] = field(default_factory=list)  # what the client reported during the step (the --grant demos)


@dataclass
class DemoResult:
    mcp_url: str = ""
    grant: str = "authorization-code"
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)


def automated_browser(http: HttpSession) -> Callable[[str], Awaitable[None]]:
    """A browser that follows the authorization redirects to the loopback callback, through the run's
    HTTP session (so ``--trace`` records that leg too)."""

    async def follow(url: str) -> None:
        async with http.client() as browser:
            await browser.get(url, follow_redirects=True)

    return follow


async def run_demo(*, interactive: bool = False, home: Path | None = None, trace_path: Path | None = None, on_step: Callable[[Step], None] = lambda s: None, grant: str = "authorization-code", countdown: Countdown = quiet_countdown) -> DemoResult:
    result = DemoResult(grant=grant)
    cfg = ServeConfig(port=0, required_scopes=LOCAL_REQUIRED_SCOPES, admin_scope=LOCAL_ADMIN_SCOPE, auto_approve=not interactive)
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="atoms-auth-demo-")))
        info = stack.enter_context(serve_in_thread(cfg))
        result.mcp_url = info.mcp_url
        trace = TraceWriter(str(trace_path)) if trace_path else None
        if trace:
            stack.callback(trace.close)

        flow: list[str] = []

        async def step(name: str, proved: str, action: Callable[[], Awaitable[tuple[str, Any]]]) -> Any:
            flow.clear()
            started = time.perf_counter()
            try:
                detail, value = await action()
                s = Step(name, True, proved, detail, time.perf_counter() - started)
            except AtomsAuthError as exc:
                s = Step(name, False, proved, exc.message + (f" Fix: {exc.hint}" if exc.hint else ""), time.perf_counter() - started)
                value = None
            s.flow = list(flow)
            result.steps.append(s)
            on_step(s)
            return value

        http = HttpSession(HttpPolicy(timeout=15), trace=trace)
        browser = automated_browser(http)
        async with http.client() as client:
            ctx = Context(client=client, store=Store(home), http=http, countdown=countdown)
            target = Target(server_url=info.mcp_url, authkit_domain=None)

            async def run_doctor() -> tuple[str, Any]:
                diagnosis = await diagnose(target, list(CATALOGUE), timeout=10, client=ctx.client)  # traced like every other leg
                counts = {s: sum(1 for r in diagnosis.results if r.status is s) for s in Status}
                bad = [f"{r.check.id}: {r.message}" for r in diagnosis.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
                if bad:
                    raise AtomsAuthError("doctor found problems: " + "; ".join(bad))
                return f"{counts[Status.PASS]} checks passed, {counts[Status.INFO]} informational, {diagnosis.evidence.request_count} requests", diagnosis

            if await step("doctor", "the server's 401 challenge, protected-resource metadata, AS metadata, JWKS and token validation follow the MCP spec", run_doctor) is None:
                return result
            if grant != "authorization-code":
                from authkit_mcp_cli.demo_grants import run_grant

                ctx.report = lambda name, detail: flow.append(f"{name}: {detail}")
                await run_grant(grant, ctx, info.mcp_url, step, interactive=interactive, automated_browser=browser)
                return result

            async def run_register() -> tuple[str, Any]:
                from authkit_mcp_cli.discovery import discover

                disc = await discover(ctx.client, info.mcp_url, ctx.policy)
                reg, _ = await register_dcr(ctx, disc.metadata, client_name="atoms-auth demo", redirect_uris=["http://127.0.0.1:3000/oauth/callback"], application_type="native", auth_method="none", scope=None)
                return f"client {reg.client_id} (public, native: any loopback port)", reg

            if await step("register", "dynamic client registration (RFC 7591) with application_type native and no client secret", run_register) is None:
                return result

            opts = LoginOptions(client_name="atoms-auth demo", browser=BrowserOptions(open_browser=interactive, automate=None if interactive else browser, wait=300 if interactive else 30))

            async def run_login() -> tuple[str, Any]:
                session = await login(ctx, info.mcp_url, opts)
                leg = "in your browser" if interactive else "browser leg automated: an HTTP client followed the redirects and the development AS auto-approved"
                return f"token for {session.resource}, scope {session.tokens.scope} ({leg})", session

            session = await step("login", "discovery from the 401, PKCE S256, state, RFC 9207 iss, resource (RFC 8707) on both requests, and a token whose audience is this server", run_login)
            if session is None:
                return result

            async def run_call() -> tuple[str, Any]:
                out = await with_session(info.mcp_url, session.tokens.access_token, lambda c: call_tool(c, "whoami", {}), http=ctx.http)
                claims = out.get("structuredContent") or {}
                return f"whoami: sub {claims.get('sub')}, aud {claims.get('aud')}, scopes {' '.join(claims.get('scopes') or [])}", out

            if await step("call", "an authenticated MCP tools/call with the bearer token, verified by the server against the AS's keys", run_call) is None:
                return result

            async def run_refresh() -> tuple[str, Any]:
                new = await refresh(ctx, session, force=True)
                if not new.tokens.refresh_token or new.tokens.refresh_token == session.tokens.refresh_token:
                    raise AtomsAuthError("the refresh token did not rotate")
                replay = refresh_token_request(session.metadata, session.registration, refresh_token=session.tokens.refresh_token or "", resource=session.resource)
                status, body = await send(ctx, replay)
                if status != 400 or b"invalid_grant" not in body:
                    raise AtomsAuthError(f"the rotated-out refresh token was not refused (HTTP {status})")
                return "new access token; the refresh token rotated; replaying the old one was refused with invalid_grant (and revoked the grant)", new

            await step("refresh", "refresh-token rotation with reuse detection (OAuth 2.1 §4.3.1), the newest refresh token kept", run_refresh)
    return result
