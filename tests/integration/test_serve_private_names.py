"""serve without the private names its seams reach (issue #21, "Plain seams"), on real HTTP through
serve's own runner (uvicorn with the guarded httptools protocol, in a thread):

- an MCP SDK whose session manager keeps its lifespan state under another name: ``--stateless``
  turns the fast path off, says so once at start-up, and still answers an authenticated
  ``tools/list`` (and refuses an unauthenticated one) through the SDK's own ``handle_request``;
- a uvicorn without the two private protocol methods: requests are answered, and a head over the
  limit still gets 431."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from authkit_mcp_cli.seams import mcp_private, uvicorn_private
from authkit_mcp_cli.server import app as app_module
from authkit_mcp_cli.server import limits
from authkit_mcp_cli.server.config import resolve_serve_config
from authkit_mcp_cli.server.fast_path import StatelessJsonEndpoint
from authkit_mcp_cli.server.runner import serve_in_thread
from peers.asgi import serve_asgi
from peers.key_as import KeyAS

pytestmark = pytest.mark.integration

LEGACY = "2025-11-25"
JSON = {"content-type": "application/json", "accept": "application/json, text/event-stream", "mcp-protocol-version": LEGACY}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


@pytest.fixture(scope="module")
def key_as() -> Iterator[KeyAS]:
    authority = KeyAS()
    authority.add_key("k1")
    with serve_asgi(authority.app):
        yield authority


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def stateless_serve(issuer: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[object]]]:
    """serve --stateless against ``issuer``; yields the MCP URL and the MCP endpoint(s) it built."""
    cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=issuer, required_scopes="mcp:tools", auto_approve=False, allowed_hosts=[], stateless=True, workers=1)
    endpoints: list[object] = []
    real = app_module.stateless_endpoint

    def recording(manager: StreamableHTTPSessionManager) -> object:
        endpoints.append(real(manager))
        return endpoints[-1]

    monkeypatch.setattr(app_module, "stateless_endpoint", recording)
    with serve_in_thread(cfg) as info:
        yield info.mcp_url, endpoints


def test_stateless_serve_without_the_sdks_lifespan_state_answers_through_the_sdk(key_as, monkeypatch):
    monkeypatch.setattr(mcp_private, "LIFESPAN_STATE", "_lifespan_state_as_a_later_sdk_calls_it")  # the name we read is gone
    collected = Collected()
    serve_log = logging.getLogger("atoms_auth.serve")
    serve_log.addHandler(collected)
    try:
        with stateless_serve(key_as.issuer, monkeypatch) as (url, endpoints), httpx.Client(timeout=10) as client:
            (endpoint,) = endpoints
            assert not isinstance(endpoint, StatelessJsonEndpoint)
            assert getattr(endpoint, "__func__", None) is StreamableHTTPSessionManager.handle_request  # the SDK's own path
            token = key_as.token(key_as.claims(url, scope="mcp:tools"))
            for _ in range(3):
                answer = client.post(url, content=json.dumps(TOOLS_LIST), headers={**JSON, "authorization": f"Bearer {token}"})
                assert answer.status_code == 200, answer.text
                assert answer.headers["content-type"].startswith("application/json")
                reply = answer.json()
                assert reply["id"] == 1 and "whoami" in [tool["name"] for tool in reply["result"]["tools"]]
            refused = client.post(url, content=json.dumps(TOOLS_LIST), headers=JSON)
            assert refused.status_code == 401 and "Bearer" in refused.headers["www-authenticate"]
    finally:
        serve_log.removeHandler(collected)
    off = [m for m in collected.messages if "fast path is off" in m]
    assert len(off) == 1, collected.messages  # once, at start-up: not per request


def test_stateless_serve_with_the_lifespan_state_takes_the_fast_path_quietly(key_as, monkeypatch):
    """The control: today's SDK has the name, the endpoint is the fast path, nothing is logged."""
    collected = Collected()
    logging.getLogger("atoms_auth.serve").addHandler(collected)
    try:
        with stateless_serve(key_as.issuer, monkeypatch) as (url, endpoints):
            (endpoint,) = endpoints
            assert isinstance(endpoint, StatelessJsonEndpoint)
            token = key_as.token(key_as.claims(url, scope="mcp:tools"))
            answer = httpx.post(url, content=json.dumps(TOOLS_LIST), headers={**JSON, "authorization": f"Bearer {token}"}, timeout=10)
            assert answer.status_code == 200 and answer.json()["result"]["tools"]
    finally:
        logging.getLogger("atoms_auth.serve").removeHandler(collected)
    assert [m for m in collected.messages if "fast path" in m] == []


def test_serve_limits_without_uvicorns_private_protocol_methods(key_as, monkeypatch):
    should_upgrade = uvicorn_private.private_method("_should_upgrade_in_a_later_uvicorn", uvicorn_private.no_upgrade)
    unset_keepalive = uvicorn_private.private_method("_unset_keepalive_in_a_later_uvicorn", uvicorn_private.leave_keepalive_timer)
    assert (should_upgrade, unset_keepalive) == (uvicorn_private.no_upgrade, uvicorn_private.leave_keepalive_timer)
    calls: list[str] = []

    def counted(name, fallback):
        def call(protocol):
            calls.append(name)
            return fallback(protocol)

        return call

    monkeypatch.setattr(limits, "should_upgrade", counted("upgrade", should_upgrade))
    monkeypatch.setattr(limits, "unset_keepalive", counted("keepalive", unset_keepalive))
    with stateless_serve(key_as.issuer, monkeypatch) as (url, _):
        parts = urlsplit(url)
        prm = httpx.get(f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}", timeout=10)
        assert prm.status_code == 200 and prm.json()["resource"] == url
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode())
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(64):  # 64 KiB of header lines, a head that never ends
                    sock.sendall(b"X-Fill: " + b"a" * 1014 + b"\r\n")
            answer = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(65536):
                    answer += chunk
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert "keepalive" in calls  # the 431 went through the fallback
    # httptools flags only an Upgrade request: an ordinary one never asks
    assert "upgrade" not in calls
