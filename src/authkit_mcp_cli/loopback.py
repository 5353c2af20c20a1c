"""One-shot OAuth callback receiver on 127.0.0.1 (RFC 8252 §7.3).

Listens on the loopback interface only, answers exactly one path, ignores
favicon and stray requests, rejects a response whose state is not this
login's (and keeps waiting for the real one), shows the browser a clear
success or failure page (every value escaped), and stops after the first
valid callback or the timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AtomsAuthError, AuthorizationDenied, UsageError

MAX_REQUEST_BYTES = 16 * 1024
PAGE = """<!doctype html><html lang=en><head><meta charset=utf-8><title>{title} · atoms-auth</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1c1c21}}
h1{{font-size:1.4rem}} .ok{{color:#166534}} .bad{{color:#b3261e}} p{{line-height:1.5}}</style></head>
<body><h1 class={cls}>{title}</h1><p>{message}</p><p>You can close this tab and return to the terminal.</p></body></html>"""


class LoopbackReceiver:
    def __init__(self, *, port: int = 0, path: str = "/oauth/callback", expected_state: str, validate: Callable[[dict[str, str]], Any]) -> None:
        self.requested_port = port
        self.path = path
        self.expected_state = expected_state
        self.validate = validate
        self.port: int | None = None
        self.stray = 0
        self._server: asyncio.base_events.Server | None = None
        self._result: asyncio.Future[Any] | None = None

    @property
    def finished(self) -> bool:
        return self._result is not None and self._result.done()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def __aenter__(self) -> LoopbackReceiver:
        self._result = asyncio.get_running_loop().create_future()
        try:
            self._server = await asyncio.start_server(self._handle, host="127.0.0.1", port=self.requested_port, reuse_address=True)
        except OSError as exc:
            raise UsageError(f"Cannot listen for the OAuth callback on 127.0.0.1:{self.requested_port}: {exc.strerror or exc}.", code=ErrorCode.LOGIN_PORT_BUSY, hint="Use another --port, or stop what is using it.") from None
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def offer(self, params: dict[str, str]) -> tuple[bool, str]:
        """Feed a callback's parameters (from the browser or a pasted URL): (accepted, message)."""
        assert self._result is not None
        if self._result.done():
            return False, "This login has already finished; start a new one."
        if params.get("state") != self.expected_state:
            self.stray += 1
            return False, "This response does not belong to the login in progress (state mismatch); it was ignored."
        try:
            value = self.validate(params)
        except AtomsAuthError as exc:
            self._result.set_exception(exc)
            return False, exc.message
        self._result.set_result(value)
        return True, "atoms-auth received the authorization code and is finishing the login."

    async def wait(self, timeout: float) -> Any:
        assert self._result is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except TimeoutError:
            raise AuthorizationDenied(f"No authorization response within {timeout:g} s.", code=ErrorCode.LOGIN_CALLBACK_TIMEOUT, hint="Finish signing in in the browser sooner, or raise --wait (seconds to wait for the browser); without a browser here, --no-browser and paste the redirect URL.") from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        try:
            if len(head) > MAX_REQUEST_BYTES:
                await self._respond(writer, 431, "Request too large", "The request was too large.", ok=False)
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split(" ")
            if len(parts) != 3 or parts[0] != "GET":
                await self._respond(writer, 405, "Not supported", "Only GET is answered here.", ok=False)
                return
            target = urlsplit(parts[1])
            if target.path != self.path:
                self.stray += 1
                await self._respond(writer, 404, "Not found", "Nothing is served here.", ok=False)
                return
            accepted, message = self.offer(dict(parse_qsl(target.query, keep_blank_values=True)))
            await self._respond(writer, 200 if accepted else 400, "Signed in" if accepted else "Sign-in failed", message, ok=accepted)
        finally:
            writer.close()

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, title: str, message: str, *, ok: bool) -> None:
        body = PAGE.format(title=escape(title), message=escape(message), cls="ok" if ok else "bad").encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large"}[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
            "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode() + body)
            await writer.drain()
        except ConnectionError:
            pass


def paste_problem(pasted: str, redirect_uri: str, expected_state: str) -> str | None:
    """What is wrong with a pasted redirect URL, said at once (issue #24 item 3), or None when it is
    this login's authorization response (the receiver then validates it: RFC 6749 §4.1.2, RFC 9207)."""
    text = pasted.strip()
    expected = urlsplit(redirect_uri)
    if "://" in text:
        got = urlsplit(text)
        loopback = got.hostname in ("127.0.0.1", "localhost", "::1")  # a pre-registered redirect may name localhost
        if not loopback or (got.scheme, got.port or 80, got.path) != (expected.scheme, expected.port or 80, expected.path):
            return f"That is not the redirect to {redirect_uri}: it goes to {got.scheme}://{got.netloc}{got.path}. After signing in, the address bar shows {redirect_uri}?code=...&state=...; paste that whole URL."
    elif "=" not in text:
        return f"That is not a URL: paste the whole address the browser shows after signing in ({redirect_uri}?code=...&state=...)."
    params = callback_params_from_url(text)
    state = params.get("state")
    if "error" in params and state != expected_state:
        described = f" ({params['error_description']})" if params.get("error_description") else ""
        return f"That response carries error={params['error']}{described}, but not this login's state: it is from another login, so it is ignored. Paste the redirect that follows the URL printed above."
    if not state:
        return "That URL has no state parameter: it looks cut short. Copy the whole address from the browser's address bar."
    if state != expected_state:
        return "That URL's state is not this login's (a truncated URL, or one from an earlier login): it is ignored. Paste the redirect that follows the URL printed above."
    if "error" not in params and not params.get("code"):
        return "That URL has this login's state but no code: it looks cut short. Copy the whole address from the browser's address bar."
    return None


def callback_params_from_url(pasted: str) -> dict[str, str]:
    """Parameters of a redirect URL pasted by the user (--no-browser over SSH)."""
    pasted = pasted.strip()
    query = urlsplit(pasted).query if "?" in pasted else pasted.lstrip("?")
    return dict(parse_qsl(query, keep_blank_values=True))
