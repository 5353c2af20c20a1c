"""serve --stateless answers a handshake-era POST in its own task (server/fast_path.py)
rather than through the SDK's per-request transport, dispatcher and server task.
The answers must be the SDK's: two servers, one with the fast path and one with
the SDK's StreamableHTTPASGIApp in its place, get the same requests and must give
the same status, content type, length and body bytes. Requests the fast path
does not own (errors of the transport, the 2026-07-28 wire, other methods) must
reach the SDK: counted."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

from authkit_mcp_cli.seams import mcp_private
from authkit_mcp_cli.server import app as app_module
from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from authkit_mcp_cli.server.fast_path import StatelessJsonEndpoint
from peers.asgi import serve_asgi
from peers.key_as import KeyAS

pytestmark = pytest.mark.integration

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
JSON = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
MODERN_META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": {}}


@contextlib.contextmanager
def _serve(issuer: str, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False, allowed_hosts=[], stateless=True, workers=1)
    cfg = dataclasses.replace(cfg, admin_scope="mcp:admin")  # the step-up tool, as in local mode
    built: dict[str, Any] = {}

    def factory(base: str):
        with monkeypatch.context() as patch:
            if not fast:
                patch.setattr(app_module, "stateless_endpoint", StreamableHTTPASGIApp)
            built["app"], built["info"] = build_app(cfg, int(base.rsplit(":", 1)[1]))
        return built["app"]

    with serve_asgi(factory):
        yield built["info"].mcp_url, built["app"]


@pytest.fixture(scope="module")
def key_as() -> Iterator[KeyAS]:
    authority = KeyAS()
    authority.add_key("k1")
    with serve_asgi(authority.app):
        yield authority


@pytest.fixture
def pair(key_as, monkeypatch):
    """(fast URL, SDK URL, headers with a token good for both, the fast path's hand-offs to the SDK, its endpoint)."""
    with _serve(key_as.issuer, fast=True, monkeypatch=monkeypatch) as (fast_url, fast_app), _serve(key_as.issuer, fast=False, monkeypatch=monkeypatch) as (sdk_url, _):
        endpoint = fast_app.endpoint.app
        assert isinstance(endpoint, StatelessJsonEndpoint)
        handed: list[str] = []
        sdk = endpoint.sdk

        async def counting(scope, receive, send):
            handed.append(scope["method"])
            await sdk(scope, receive, send)

        endpoint.sdk = counting
        exp = int(time.time()) + 600
        # one token, both audiences (RFC 8707: aud may be a list)
        token = key_as.token(key_as.claims([fast_url, sdk_url], scope="mcp:tools mcp:admin", exp=exp))
        yield fast_url, sdk_url, {"authorization": f"Bearer {token}"}, handed, endpoint


def _both(pair, body: Any, headers: dict[str, str] | None = None, method: str = "POST") -> tuple[httpx.Response, httpx.Response]:
    fast_url, sdk_url, auth = pair[:3]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {**JSON, **auth, **(headers or {})}
    with httpx.Client(timeout=10) as client:
        return client.request(method, fast_url, content=content, headers=sent), client.request(method, sdk_url, content=content, headers=sent)


def _same(fast: httpx.Response, sdk: httpx.Response) -> None:
    assert fast.status_code == sdk.status_code, (fast.text, sdk.text)
    for name in ("content-type", "content-length", "mcp-session-id", "allow"):
        assert fast.headers.get(name) == sdk.headers.get(name), name
    assert fast.content == sdk.content


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}

HANDLED = {
    "initialize": (INITIALIZE, {}),
    "initialize, no version header": (INITIALIZE, None),
    "initialize, older version": ({**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2025-03-26"}}, {"mcp-protocol-version": "2025-03-26"}),
    "initialize, unknown version": ({**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "1999-01-01"}}, {}),
    "tools/list": ({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}, {}),
    "tools/list, string id": ({"jsonrpc": "2.0", "id": "abc", "method": "tools/list"}, {}),
    "tools/call": ({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "admin_echo", "arguments": {"text": "hé \u2603"}}}, {}),
    "tools/call, bad arguments": ({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "admin_echo", "arguments": {"text": 5, "x": [1]}}}, {}),
    "tools/call, unknown tool": ({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "nope", "arguments": {}}}, {}),
    "tools/call, params invalid": ({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": 5}}, {}),
    "unknown method": ({"jsonrpc": "2.0", "id": 7, "method": "does/not/exist", "params": {}}, {}),
    "resources/list": ({"jsonrpc": "2.0", "id": 8, "method": "resources/list", "params": {}}, {}),
    "resources/read, template": ({"jsonrpc": "2.0", "id": 13, "method": "resources/read", "params": {"uri": "atoms-auth://admin-echo/h%C3%A9"}}, {}),
    "resources/read, unknown": ({"jsonrpc": "2.0", "id": 14, "method": "resources/read", "params": {"uri": "atoms-auth://nope"}}, {}),
    "prompts/get": ({"jsonrpc": "2.0", "id": 15, "method": "prompts/get", "params": {"name": "admin_echo", "arguments": {"text": "hi"}}}, {}),
    "prompts/get, unknown prompt": ({"jsonrpc": "2.0", "id": 16, "method": "prompts/get", "params": {"name": "nope"}}, {}),
    "ping": ({"jsonrpc": "2.0", "id": 9, "method": "ping"}, {}),
    "progress token": ({"jsonrpc": "2.0", "id": 10, "method": "tools/list", "params": {"_meta": {"progressToken": "p"}}}, {}),
    "notification": ({"jsonrpc": "2.0", "method": "notifications/initialized"}, {}),
    "unknown notification": ({"jsonrpc": "2.0", "method": "notifications/whatever", "params": {"a": 1}}, {}),
    "posted response": ({"jsonrpc": "2.0", "id": 11, "result": {}}, {}),
    "posted error": ({"jsonrpc": "2.0", "id": 12, "error": {"code": 1, "message": "x"}}, {}),
}


@pytest.mark.parametrize("case", list(HANDLED))
def test_the_fast_path_answers_as_the_sdk_does(pair, case):
    body, extra = HANDLED[case]
    headers = {"mcp-protocol-version": LEGACY, **(extra or {})}
    if extra is None:
        headers.pop("mcp-protocol-version")
    fast, sdk = _both(pair, body, headers)
    _same(fast, sdk)
    assert pair[3] == []  # answered by the fast path, not handed to the SDK
    if "id" in body and "method" in body:
        assert fast.status_code == 200 and json.loads(fast.content)["id"] == body["id"]
    else:
        assert fast.status_code == 202 and fast.content == b""


def test_whoami_sees_the_verified_token(pair):
    fast, sdk = _both(pair, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}, {"mcp-protocol-version": LEGACY})
    assert pair[3] == []
    answers = [json.loads(r.content)["result"]["structuredContent"] for r in (fast, sdk)]
    for answer in answers:
        answer.pop("expires_in")  # a second may pass between the two
    assert answers[0] == answers[1]
    assert answers[0]["authenticated"] is True and answers[0]["sub"] == "user_1" and set(answers[0]["scopes"]) == {"mcp:tools", "mcp:admin"}


HANDED_OFF = {
    "parse error": (b"{not json", {}),
    "batch": (b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', {}),
    "not JSON-RPC": (b'{"hello":1}', {}),
    "wrong content type": (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', {"content-type": "text/plain"}),
    "content type list": (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', {"content-type": "application/json-patch+json"}),
    "SSE only accepted": (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', {"accept": "text/event-stream"}),
    "foreign Origin": (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', {"origin": "https://evil.example"}),
    "declared too large": (b'{"jsonrpc":"2.0","id":1,"method":"ping"}' + b" " * (4 * 1024 * 1024), {}),
}


@pytest.mark.parametrize("case", list(HANDED_OFF))
def test_what_the_transport_refuses_is_the_sdks_answer(pair, case):
    body, extra = HANDED_OFF[case]
    fast, sdk = _both(pair, body, {"mcp-protocol-version": LEGACY, **extra})
    _same(fast, sdk)
    assert fast.status_code >= 400
    assert pair[3] == ["POST"]


def test_a_bad_host_header_is_the_sdks_421(pair):
    fast_url, sdk_url, auth, handed, _ = pair
    answers = []
    for url in (fast_url, sdk_url):
        with httpx.Client(timeout=10) as client:
            answers.append(client.post(url, content=b'{"jsonrpc":"2.0","id":1,"method":"ping"}', headers={**JSON, **auth, "host": "evil.example"}))
    _same(*answers)
    assert answers[0].status_code == 421 and handed == ["POST"]


def test_the_2026_wire_and_other_methods_go_to_the_sdk(pair):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": MODERN_META}}
    fast, sdk = _both(pair, body, {"mcp-protocol-version": MODERN, "mcp-method": "tools/list"})
    assert fast.status_code == 200 and json.loads(fast.content)["result"]["tools"]
    assert fast.headers["content-type"] == sdk.headers["content-type"]
    fast_get, sdk_get = _both(pair, b"", {"accept": "application/json"}, method="GET")  # an SSE GET would stay open
    _same(fast_get, sdk_get)
    fast_delete, sdk_delete = _both(pair, b"", {}, method="DELETE")
    _same(fast_delete, sdk_delete)
    assert pair[3] == ["POST", "GET", "DELETE"]


def test_the_lifespan_state_the_fast_path_reads_is_the_sdks(pair):
    """fast_path.py reads the session manager's private lifespan state (entered once by its run())
    through seams.mcp_private; an SDK release that renames it must fail here (production falls back
    to the SDK's own path: test_serve_private_names.py)."""
    fast, _ = _both(pair, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"mcp-protocol-version": LEGACY})
    assert fast.status_code == 200 and json.loads(fast.content) == {"jsonrpc": "2.0", "id": 1, "result": {}}
    manager = pair[4].manager
    assert mcp_private.LIFESPAN_STATE in vars(manager) and manager._task_group is not None  # run() has entered the lifespan
    assert pair[4].lifespan_state(manager) is getattr(manager, mcp_private.LIFESPAN_STATE)
