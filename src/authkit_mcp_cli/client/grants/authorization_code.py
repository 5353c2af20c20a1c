"""The authorization-code grant with PKCE through a loopback redirect
(RFC 6749 §4.1, RFC 7636, RFC 8252 §7.3): listen on 127.0.0.1, open the
browser (or accept a pasted redirect URL), check the response (``iss``,
``state``), exchange the code with ``resource`` (RFC 8707)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import webbrowser
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from authkit_mcp_cli.client.context import Context, LoginOptions, send
from authkit_mcp_cli.client.registration import CALLBACK_PATH, choose_registration, stored_callback_port
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.loopback import LoopbackReceiver, callback_params_from_url
from authkit_mcp_cli.oauth import ClientRegistration, Pkce, Tokens, authorization_url, code_token_request, parse_token_response, validate_callback
from authkit_mcp_cli.urls import is_loopback_host


@dataclass
class AuthorizationCodeGrant:
    opts: LoginOptions
    name: str = "authorization_code"

    async def obtain(self, ctx: Context, disc: Discovered, scope: str | None) -> tuple[ClientRegistration, Tokens]:
        """One browser authorization, then the code exchange (RFC 6749 §4.1.1-§4.1.4)."""
        opts = self.opts
        state = secrets.token_urlsafe(24)
        pkce = Pkce.new()

        def validate(params: dict[str, str]) -> str:
            return validate_callback(params, expected_state=state, issuer=disc.issuer, iss_advertised=disc.iss_advertised)

        async with _listen(ctx, opts, disc.issuer, state, validate) as receiver:
            redirect_uri = opts.redirect_uri or receiver.redirect_uri
            reg = await choose_registration(ctx, disc, opts, redirect_uri)
            url = authorization_url(disc.metadata, client_id=reg.client_id, redirect_uri=redirect_uri, scope=scope, resource=disc.resource, state=state, pkce=pkce)
            ctx.report("authorize", f"scope {scope or '(none)'}; waiting for the browser on {receiver.redirect_uri}")
            ctx.report("authorize-url", url)
            code = await _wait_for_code(ctx, opts, receiver, url)
        ctx.report("callback", "authorization code received; state and issuer verified")
        request = code_token_request(disc.metadata, reg, code=code, redirect_uri=redirect_uri, pkce=pkce, resource=disc.resource)
        status, body = await send(ctx, request)
        tokens = parse_token_response(status, body, url=request.url)
        ctx.report("token", f"access token received{' with a refresh token' if tokens.refresh_token else ''}")
        return reg, tokens


@contextlib.asynccontextmanager
async def _listen(ctx: Context, opts: LoginOptions, issuer: str, state: str, validate: Callable[[dict[str, str]], str]) -> AsyncIterator[LoopbackReceiver]:
    port, path = _listen_address(ctx, opts, issuer)
    try:
        receiver_cm = LoopbackReceiver(port=port, path=path, expected_state=state, validate=validate)
        receiver = await receiver_cm.__aenter__()
    except UsageError:
        if opts.port is not None or opts.redirect_uri or not port:
            raise
        # only the stored registration's port was busy: a new registration on a free port will do
        ctx.report("warning", f"port {port} of the stored registration is busy; registering again on a free port")
        receiver_cm = LoopbackReceiver(port=0, path=path, expected_state=state, validate=validate)
        receiver = await receiver_cm.__aenter__()
    try:
        yield receiver
    finally:
        await receiver_cm.__aexit__(None, None, None)


def _listen_address(ctx: Context, opts: LoginOptions, issuer: str) -> tuple[int, str]:
    if opts.redirect_uri:
        parts = urlsplit(opts.redirect_uri)
        if not (parts.scheme == "http" and is_loopback_host(parts.hostname)):
            raise UsageError(
                f"--redirect-uri {opts.redirect_uri} is not a loopback http URL atoms-auth can listen on.",
                code="usage.redirect-uri",
                hint="Use http://127.0.0.1:<port>/oauth/callback; with --no-browser you can paste the final URL from any redirect.",
            )
        return parts.port or 80, parts.path or "/"
    return stored_callback_port(ctx, issuer, opts), CALLBACK_PATH


async def _wait_for_code(ctx: Context, opts: LoginOptions, receiver: LoopbackReceiver, url: str) -> str:
    browser = None
    if opts.browser is not None:
        browser = asyncio.ensure_future(opts.browser(url))
    elif opts.open_browser:
        browser = asyncio.ensure_future(_open_browser(ctx, url))
    waiters = [asyncio.ensure_future(receiver.wait(opts.timeout))]
    if opts.paste is not None:
        waiters.append(asyncio.ensure_future(_pasted(receiver, opts.paste)))
    try:
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return done.pop().result()
    finally:
        if browser is not None and not browser.done():
            browser.cancel()  # the page is answered; a BROWSER command that lingers is not waited for


async def _open_browser(ctx: Context, url: str) -> None:
    """In a thread: webbrowser may run a BROWSER command and wait for it."""
    if not await asyncio.to_thread(webbrowser.open, url):
        ctx.report("warning", "no browser could be opened; open the URL above yourself")


async def _pasted(receiver: LoopbackReceiver, read: Callable[[], str | None]) -> str:
    """--no-browser: accept the final redirect URL pasted on stdin (SSH sessions)."""
    while True:
        line = await asyncio.to_thread(read)
        if line is None:
            await asyncio.sleep(3600)  # stdin closed: only the listener can finish
            continue
        if not line.strip():
            continue
        accepted, _ = receiver.offer(callback_params_from_url(line))
        if accepted or receiver.finished:  # finished without acceptance: the pasted response failed validation
            return await receiver.wait(1)
