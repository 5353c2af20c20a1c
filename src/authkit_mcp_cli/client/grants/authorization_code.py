"""The authorization-code grant with PKCE through a loopback redirect
(RFC 6749 §4.1, RFC 7636, RFC 8252 §7.3): listen on 127.0.0.1, open the
browser (or accept a pasted redirect URL), check the response (``iss``,
``state``), exchange the code with ``resource`` (RFC 8707).

A client that was not registered just now is first checked against the AS
(:mod:`authkit_mcp_cli.client.preflight`): a forgotten DCR client is registered again, and a refused
pre-registered or CIMD client ends the login at once (``login.client-unknown``).
That check is no authorization: when an AS answers it with a code (one that
approves without a page), the code is discarded and the browser still opens,
so no token is obtained without the user's browser (issue #20 item 1)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import webbrowser
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.client.preflight import check_authorization_request
from authkit_mcp_cli.client.registration import CALLBACK_PATH, pick_client, register_new, stored_callback_port
from authkit_mcp_cli.client.token_request import dpop_key_for, request_tokens
from authkit_mcp_cli.client.waiting import stdin_is_terminal
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AuthorizationDenied, RemoteRefused, UsageError
from authkit_mcp_cli.loopback import LoopbackReceiver, callback_params_from_url, paste_problem
from authkit_mcp_cli.oauth.authorize import AuthorizeAnswer, authorization_url
from authkit_mcp_cli.oauth.callback import validate_callback
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.pkce import Pkce
from authkit_mcp_cli.oauth.token import Tokens, code_token_request
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
        response: dict[str, str] = {}  # the authorization response that passed validation

        def validate(params: dict[str, str]) -> str:
            code = validate_callback(params, expected_state=state, issuer=disc.issuer, iss_advertised=disc.iss_advertised)
            response.update(params)
            return code

        async with _listen(ctx, opts, disc.issuer, state, validate) as receiver:
            redirect_uri = opts.browser.redirect_uri or receiver.redirect_uri
            chosen = await pick_client(ctx, disc, opts, redirect_uri)
            reg = chosen.registration

            def url_for(client: ClientRegistration) -> str:
                return authorization_url(disc.metadata, client_id=client.client_id, redirect_uri=redirect_uri, scope=scope, resource=disc.resource, state=state, pkce=pkce)

            url = url_for(reg)
            answer = None
            if not chosen.fresh:  # a client registered just now is known; an older one may be forgotten
                answer = await check_authorization_request(ctx, url, redirect_uri)
                if answer.verdict == "refused":
                    reg = await _after_refusal(ctx, disc, opts, redirect_uri, reg, answer)
                    url, answer = url_for(reg), None
            if answer is not None and answer.verdict == "answered":
                # the check is not the user's consent: a code it brings back is never exchanged (issue #20 item 1)
                ctx.report("authorize", "the AS answered the check with an authorization response, without a sign-in page; that response is discarded: the browser completes the login")
            ctx.report("authorize", f"scope {scope or '(none)'}; waiting for the browser on {receiver.redirect_uri}")
            ctx.report("authorize-url", url)
            code = await _wait_for_code(ctx, opts, receiver, url)
        ctx.report("callback", callback_summary(response))
        request = code_token_request(disc.metadata, reg, code=code, redirect_uri=redirect_uri, pkce=pkce, resource=disc.resource)
        tokens = await request_tokens(ctx, request, dpop_key_for(ctx, opts, disc.metadata), grant_type="authorization_code")
        bound = " (DPoP-bound)" if tokens.dpop_key else ""
        ctx.report("token", f"access token received{bound}{' with a refresh token' if tokens.refresh_token else ''}")
        return reg, tokens


def callback_summary(params: dict[str, str]) -> str:
    """What the callback proved: the state always; the issuer only when the AS sent ``iss`` (RFC 9207 §2.4)."""
    if "iss" in params:
        return f"authorization code received; state verified; issuer verified (iss {params['iss']})"
    return "authorization code received; state verified; the AS sent no iss; RFC 9207 mix-up defence not available"


async def _after_refusal(ctx: Context, disc: Discovered, opts: LoginOptions, redirect_uri: str, reg: ClientRegistration, answer: AuthorizeAnswer) -> ClientRegistration:
    """The AS refused the stored client: register again when it came from DCR, else stop now (never wait behind an error page)."""
    endpoint = disc.metadata.get("authorization_endpoint")
    remote = replace(answer.remote, url=endpoint) if answer.remote else None
    if answer.remote and (answer.remote.status or 0) >= 500:
        raise RemoteRefused(
            f"The authorization endpoint failed before any sign-in: {answer.detail}.",
            code=ErrorCode.LOGIN_AUTHORIZATION_ENDPOINT_ERROR,
            hint="The authorization server has a problem; try again later, or tell its operator.",
            spec="RFC 6749 §4.1.2.1",
            url=endpoint,
            remote=remote,
        )
    if reg.source == "dcr":
        ctx.report("register", f"the AS no longer accepts client {reg.client_id} ({answer.detail}); registering again")
        return await register_new(ctx, disc, opts, redirect_uri)
    if reg.source == "cimd":
        hint = f"The AS could not use the Client ID Metadata Document {reg.client_id}: check it with atoms-auth register --cimd-url {reg.client_id} --check, and that it lists {redirect_uri}."
    else:
        hint = f"Check --client-id (is it registered with {disc.issuer}?) and that {redirect_uri} is one of its redirect URIs (--redirect-uri, --port); or drop --client-id to register dynamically."
    raise RemoteRefused(
        f"The authorization server does not accept client {reg.client_id} ({reg.source}) for this authorization request: {answer.detail}.",
        code=ErrorCode.LOGIN_CLIENT_UNKNOWN,
        hint=hint,
        spec="RFC 6749 §4.1.2.1",
        url=endpoint,
        remote=remote,
    )


@contextlib.asynccontextmanager
async def _listen(ctx: Context, opts: LoginOptions, issuer: str, state: str, validate: Callable[[dict[str, str]], str]) -> AsyncIterator[LoopbackReceiver]:
    port, path = _listen_address(ctx, opts, issuer)
    try:
        receiver_cm = LoopbackReceiver(port=port, path=path, expected_state=state, validate=validate)
        receiver = await receiver_cm.__aenter__()
    except UsageError:
        if opts.browser.port is not None or opts.browser.redirect_uri or not port:
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
    if opts.browser.redirect_uri:
        parts = urlsplit(opts.browser.redirect_uri)
        if not (parts.scheme == "http" and is_loopback_host(parts.hostname)):
            raise UsageError(
                f"--redirect-uri {opts.browser.redirect_uri} is not a loopback http URL atoms-auth can listen on.",
                code=ErrorCode.USAGE_REDIRECT_URI,
                hint="Use http://127.0.0.1:<port>/oauth/callback; with --no-browser you can paste the final URL from any redirect.",
            )
        return parts.port or 80, parts.path or "/"
    return stored_callback_port(ctx, issuer, opts), CALLBACK_PATH


async def _wait_for_code(ctx: Context, opts: LoginOptions, receiver: LoopbackReceiver, url: str) -> str:
    """Wait for the browser's redirect (or a pasted one), talking: what to do when the browser is not
    here, the time left on a terminal, and an end at once when no browser opened and nobody is at a
    terminal. Every hint says what is true now (issue #24 item 5): a paste is offered only where one is
    read (--no-browser, or stdin a terminal), "no browser" only when none opened."""
    pasting = opts.browser.paste is not None and opts.browser.automate is None
    if pasting and not opts.browser.open_browser:
        ctx.report("paste", "after signing in, paste the final redirect URL from the browser's address bar here and press Enter")
    browser: asyncio.Future[Any] | None = None
    if opts.browser.automate is not None:
        browser = asyncio.ensure_future(opts.browser.automate(url))
    elif opts.browser.open_browser:
        browser = asyncio.ensure_future(_open_browser(ctx, url, pasting=pasting))
    waiters = [asyncio.ensure_future(receiver.wait(opts.browser.wait))]
    if pasting:
        assert opts.browser.paste is not None
        waiters.append(asyncio.ensure_future(_pasted(ctx, receiver, opts.browser.paste)))
    elif opts.browser.automate is None and browser is not None:
        waiters.append(asyncio.ensure_future(_unless_no_browser(browser, url)))
    if not pasting:
        hint = None
    elif opts.browser.open_browser:
        hint = "signing in on another machine? paste the redirect URL here"
    else:
        hint = "paste the redirect URL, or Ctrl-C"
    try:
        async with ctx.countdown("Waiting for the sign-in in the browser", opts.browser.wait, hint):
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return done.pop().result()
    finally:
        if browser is not None and not browser.done():
            browser.cancel()  # the page is answered; a BROWSER command that lingers is not waited for


async def _open_browser(ctx: Context, url: str, *, pasting: bool) -> bool:
    """In a thread: webbrowser may run a BROWSER command and wait for it. Whether a browser opened."""
    try:
        opened = await asyncio.to_thread(webbrowser.open, url)
    except Exception:  # webbrowser raises webbrowser.Error and OS errors of the command it runs
        opened = False
    if not opened and pasting:
        ctx.report("warning", "no browser could be opened: open the URL above in a browser (any machine), sign in, then paste the final redirect URL from its address bar here and press Enter")
    elif not opened and stdin_is_terminal():
        ctx.report("warning", "no browser could be opened: open the URL above in a browser yourself")
    return bool(opened)


async def _unless_no_browser(browser: asyncio.Future[Any], url: str) -> str:
    """End the wait at once when no browser could be opened and stdin is not a terminal: nobody
    can open the URL or press Ctrl-C, so waiting the whole --wait would only hang a CI job."""
    if await browser or stdin_is_terminal():
        await asyncio.Future()  # a browser is open, or a person is at the terminal: the listener decides
    raise AuthorizationDenied(
        f"No browser could be opened and stdin is not a terminal, so nobody can sign in at {url} (stopped at once instead of waiting for the timeout)",
        code=ErrorCode.LOGIN_NO_BROWSER,
        hint="The URL works only while login waits: run login from a terminal and open it yourself, set BROWSER to a browser command, "
        "or use --no-browser and paste the final redirect URL on stdin; with no browser at all, --grant device-code.",
        spec="RFC 8252 §7.3",
        url=url,
    )


async def _pasted(ctx: Context, receiver: LoopbackReceiver, read: Callable[[], str | None]) -> str:
    """--no-browser: accept the final redirect URL pasted on stdin (SSH sessions).

    Lines are read by a daemon thread, never the loop's executor: a login that
    the listener finishes must not wait at exit for a line nobody will type."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        while True:
            try:
                line = read()
            except (OSError, ValueError):
                line = None
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop is closed: the login is over
                return
            if line is None:
                return

    threading.Thread(target=pump, name="atoms-auth-paste", daemon=True).start()
    while True:
        line = await lines.get()
        if line is None:
            await asyncio.Future()  # stdin closed: only the listener can finish
        if not line or not line.strip():
            continue
        problem = paste_problem(line, receiver.redirect_uri, receiver.expected_state)
        if problem:  # answered at once, and the wait goes on for a better paste (issue #24 item 3)
            ctx.report("warning", f"{problem} (still waiting: paste again, or Ctrl-C)")
            continue
        accepted, _ = receiver.offer(callback_params_from_url(line))
        if accepted or receiver.finished:  # finished without acceptance: the pasted response failed validation
            return await receiver.wait(1)
