"""The device authorization grant (RFC 8628), for SSH sessions and machines
without a browser: ask the AS for a user code, show the verification URI
and the code (and the complete URI) on the report, then poll the token
endpoint honouring ``interval`` and ``slow_down`` (+5 s) until the user
approves, denies (``access_denied``) or the code expires (``expired_token``).

The client: a pre-registered one (``--client-id``), else a dynamic
registration for the device grant (not stored: the stored registration is
the browser login's). The clock and the sleep are fields, so tests poll
canned answers without waiting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from authkit_mcp_cli.client.context import Context, LoginOptions, send
from authkit_mcp_cli.client.registration import advertised_auth_methods, pick_auth_method
from authkit_mcp_cli.client.token_request import bound_tokens, dpop_key_for, send_with_proof
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AuthorizationDenied, UsageError
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.device import SLOW_DOWN_STEP, DeviceAuthorization, classify_poll, device_authorization_request, device_token_request, parse_device_authorization
from authkit_mcp_cli.oauth.dpop import DpopKey
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE
from authkit_mcp_cli.oauth.registration import parse_registration_response, registration_request
from authkit_mcp_cli.oauth.token import Tokens

SPEC = "RFC 8628"


@dataclass
class DeviceCodeGrant:
    opts: LoginOptions
    name: str = "device_code"
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    polls: list[float] = field(default_factory=list)  # the interval before each poll (what tests read)

    async def obtain(self, ctx: Context, disc: Discovered, scope: str | None) -> tuple[ClientRegistration, Tokens]:
        """Device authorization (RFC 8628 §3.1-§3.3), then polling (§3.4-§3.5)."""
        endpoint = disc.metadata.get("device_authorization_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise UsageError(
                f"The authorization server {disc.issuer} does not offer the device authorization grant (no device_authorization_endpoint in its metadata).",
                code=ErrorCode.USAGE_DEVICE_CODE_UNSUPPORTED,
                hint="Log in with the browser (--grant authorization-code, with --no-browser to paste the redirect over SSH).",
                spec="RFC 8628 §4",
            )
        reg = await self._client(ctx, disc)
        key = dpop_key_for(ctx, self.opts, disc.metadata)
        request = device_authorization_request(disc.metadata, reg, scope=scope, resource=disc.resource)
        status, body = await send(ctx, request)
        auth = parse_device_authorization(status, body, url=request.url)
        ctx.report("device", f"open {auth.verification_uri} and enter the code {auth.user_code}")
        if auth.verification_uri_complete:
            ctx.report("device", f"or open {auth.verification_uri_complete} (the code filled in)")
        if self.opts.browser.automate is not None:  # an automated leg (demo, tests) approves on the page
            asyncio.ensure_future(self.opts.browser.automate(auth.verification_uri_complete or auth.verification_uri))
        wait = min(auth.expires_in, self.opts.browser.wait if self.opts.browser.wait > 0 else auth.expires_in)
        async with ctx.countdown(f"Waiting for approval at {auth.verification_uri} (code {auth.user_code})", wait, "Ctrl-C to stop"):
            tokens = await self.poll(ctx, disc, reg, auth, key)
        ctx.report("token", f"access token received{' (DPoP-bound)' if tokens.dpop_key else ''}{' with a refresh token' if tokens.refresh_token else ''}")
        return reg, tokens

    async def poll(self, ctx: Context, disc: Discovered, reg: ClientRegistration, auth: DeviceAuthorization, key: DpopKey | None) -> Tokens:
        """Poll every ``interval`` seconds (+5 on slow_down) until tokens, a final error, or the code's expiry (RFC 8628 §3.5)."""
        deadline = self.clock() + min(auth.expires_in, self.opts.browser.wait if self.opts.browser.wait > 0 else auth.expires_in)
        interval = auth.interval
        ctx.report("device", f"waiting for approval (polling every {interval:g} s, the code expires in {auth.expires_in:g} s)")
        while True:
            if self.clock() + interval > deadline:
                raise AuthorizationDenied(
                    "The device code expired (or the wait timed out) before the user approved it.",
                    code=ErrorCode.LOGIN_DEVICE_EXPIRED,
                    hint="Run atoms-auth login --grant device-code again and enter the code sooner (--wait sets how long to wait).",
                    spec="RFC 8628 §3.5",
                )
            self.polls.append(interval)
            await self.sleep(interval)
            request = device_token_request(disc.metadata, reg, device_code=auth.device_code, resource=disc.resource)
            status, body = await send_with_proof(ctx, request, key)
            outcome = classify_poll(status, body, url=request.url)
            if outcome == "slow_down":
                interval += SLOW_DOWN_STEP
                ctx.report("device", f"the AS asked to slow down: polling every {interval:g} s")
            elif outcome == "tokens":
                return bound_tokens(ctx, status, body, key, url=request.url, grant_type="device_code")

    async def _client(self, ctx: Context, disc: Discovered) -> ClientRegistration:
        opts = self.opts
        if opts.client_id:
            method = "client_secret_basic" if opts.client_secret else "none"
            listed = advertised_auth_methods(disc.metadata)
            if opts.client_secret and listed is not None and "client_secret_basic" not in listed and "client_secret_post" in listed:
                method = "client_secret_post"
            ctx.report("register", f"pre-registered client {opts.client_id} ({method})")
            return ClientRegistration(opts.client_id, opts.client_secret, method, (), "pre-registered")
        if not isinstance(disc.metadata.get("registration_endpoint"), str):
            raise UsageError(
                "The authorization server offers no dynamic client registration, and the device grant needs a client.",
                code=ErrorCode.DCR_UNSUPPORTED,
                hint="Pass a client registered for the device grant: --client-id (and --client-secret if it is confidential).",
                spec="RFC 8628 §3.1; RFC 7591",
            )
        method = pick_auth_method(ctx, disc.metadata, opts.auth_method)
        base = registration_request(disc.metadata, client_name=opts.client_name, redirect_uris=[], application_type="native", auth_method=method, scope=None)
        metadata = {**json.loads(base.body or b"{}"), "grant_types": [DEVICE_CODE, "refresh_token"], "response_types": []}
        request = replace(base, body=json.dumps(metadata).encode())
        status, body = await send(ctx, request)
        reg, _ = parse_registration_response(status, body, asked_method=method, url=request.url)
        ctx.report("register", f"dynamic client registration for the device grant: client {reg.client_id} ({reg.token_endpoint_auth_method})")
        return reg
