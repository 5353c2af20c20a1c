"""What serve's embedded MCP server offers (server/tools.py) and what each operation needs.

``whoami`` and ``admin_echo`` come as a tool, a resource (``atoms-auth://whoami``, the template
``atoms-auth://admin-echo/{text}``) and a prompt; ``admin_echo`` needs ``mcp:admin`` on top of the
endpoint's ``mcp:tools``. Read with the mcp SDK's own client on both wires, against serve in both
modes. The scope challenge itself is in test_serve_conformance_server_auth.py; here: the listing,
the answers, caller errors as -32602, and the guard reading the operation as the SDK does,
however the body spells it, without parsing bodies that name no scoped operation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from authkit_mcp_cli.server import resource as resource_module
from authkit_mcp_cli.server.app import ServeInfo, build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from authkit_mcp_cli.server.tools import build_server
from peers.asgi import serve_asgi
from peers.key_as import KeyAS

pytestmark = pytest.mark.integration

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
ENDPOINT_SCOPE = "mcp:tools"
ADMIN_SCOPE = "mcp:admin"
META = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": {}}


@dataclasses.dataclass
class World:
    key_as: KeyAS
    info: ServeInfo

    def token(self, scope: str) -> str:
        return self.key_as.token(self.key_as.claims(self.info.resource, scope=scope))


@pytest.fixture(scope="module")
def key_as() -> Iterator[KeyAS]:
    authority = KeyAS()
    authority.add_key("k1")
    with serve_asgi(authority.app):
        yield authority


@pytest.fixture(scope="module", params=["session", "stateless"])
def world(key_as: KeyAS, request: pytest.FixtureRequest) -> Iterator[World]:
    cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=key_as.issuer, required_scopes=ENDPOINT_SCOPE, auto_approve=False, allowed_hosts=[], stateless=request.param == "stateless", workers=1)
    cfg = dataclasses.replace(cfg, admin_scope=ADMIN_SCOPE)  # as in local mode
    built: dict[str, Any] = {}

    def factory(base: str) -> Any:
        built["app"], built["info"] = build_app(cfg, int(base.rsplit(":", 1)[1]))
        return built["app"]

    with serve_asgi(factory):
        yield World(key_as, built["info"])


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "2025-11-25"])
def client_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run_client(world: World, mode: str, scope: str, work: Any) -> Any:
    """``work(client)`` through the SDK's client on ``mode``'s wire, with a token of ``scope``."""

    async def main() -> Any:
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {world.token(scope)}"}, timeout=30) as http:
            async with Client(streamable_http_client(world.info.mcp_url, http_client=http), mode=mode) as client:  # type: ignore[arg-type]
                return await work(client)

    return asyncio.run(main())


def test_each_operation_comes_as_a_tool_a_resource_and_a_prompt(world: World, client_mode: str) -> None:
    async def listing(client: Client) -> dict[str, Any]:
        return {
            "tools": (await client.list_tools()).tools,
            "resources": (await client.list_resources()).resources,
            "templates": (await client.list_resource_templates()).resource_templates,
            "prompts": (await client.list_prompts()).prompts,
        }

    listed = run_client(world, client_mode, ENDPOINT_SCOPE, listing)
    assert {t.name for t in listed["tools"]} == {"whoami", "admin_echo"}
    assert [(r.uri, r.mime_type) for r in listed["resources"]] == [("atoms-auth://whoami", "application/json")]
    (template,) = listed["templates"]
    assert template.uri_template == "atoms-auth://admin-echo/{text}" and ADMIN_SCOPE in (template.description or "")
    prompts = {p.name: p for p in listed["prompts"]}
    assert set(prompts) == {"whoami", "admin_echo"}
    assert [(a.name, a.required) for a in prompts["admin_echo"].arguments or []] == [("text", True)]
    assert ADMIN_SCOPE in (prompts["admin_echo"].description or "")


def test_the_operations_answer_with_a_stepped_up_token(world: World, client_mode: str) -> None:
    async def use(client: Client) -> dict[str, Any]:
        return {
            "whoami": await client.read_resource("atoms-auth://whoami"),
            "echo": await client.read_resource("atoms-auth://admin-echo/caf%C3%A9%20ol%C3%A9"),
            "whoami_prompt": await client.get_prompt("whoami"),
            "echo_prompt": await client.get_prompt("admin_echo", {"text": "hi"}),
        }

    out = run_client(world, client_mode, f"{ENDPOINT_SCOPE} {ADMIN_SCOPE}", use)
    claims = json.loads(out["whoami"].contents[0].text)
    assert claims["aud"] == world.info.resource and claims["iss"] == world.key_as.issuer
    assert sorted(claims["scopes"]) == sorted([ENDPOINT_SCOPE, ADMIN_SCOPE])
    assert out["echo"].contents[0].text == "café olé"  # the template's variable, percent-decoded
    (explain,) = out["whoami_prompt"].messages
    assert explain.role == "user" and world.info.resource in explain.content.text
    assert [(m.role, m.content.text) for m in out["echo_prompt"].messages] == [("user", "hi")]


@pytest.mark.parametrize(
    "case,expected",
    [
        (("prompt", "no_such_prompt", None), "Unknown prompt: no_such_prompt"),
        (("prompt", "admin_echo", {}), "Missing required arguments: text"),
        (("resource", "atoms-auth://no-such-thing", None), "Unknown resource: atoms-auth://no-such-thing"),
    ],
    ids=["unknown-prompt", "missing-argument", "unknown-resource"],
)
def test_caller_errors_are_invalid_params(world: World, client_mode: str, case: tuple[str, str, Any], expected: str, caplog: pytest.LogCaptureFixture) -> None:
    """An unknown prompt or resource, or a prompt without its required argument, is the caller's
    error: -32602 Invalid params (MCP server/prompts and server/resources §Error Handling), not an
    internal error with a logged traceback."""
    kind, name, arguments = case

    async def ask(client: Client) -> Any:
        try:
            return await (client.get_prompt(name, arguments) if kind == "prompt" else client.read_resource(name))
        except MCPError as exc:  # caught here: out of the client's task group it is an ExceptionGroup
            return exc

    with caplog.at_level(logging.ERROR):
        error = run_client(world, client_mode, f"{ENDPOINT_SCOPE} {ADMIN_SCOPE}", ask)
    assert isinstance(error, MCPError), error
    assert error.code == INVALID_PARAMS and error.message == expected
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


def test_every_offered_operation_is_in_the_scope_map() -> None:
    """An operation registered without an entry would need no more than the endpoint's scopes."""
    server, scopes = build_server(version="0", admin_scope=ADMIN_SCOPE)

    async def offered() -> tuple[set[str], set[str], set[str], set[str]]:
        return (
            {t.name for t in await server.list_tools()},
            {str(r.uri) for r in await server.list_resources()},
            {t.uri_template for t in await server.list_resource_templates()},
            {p.name for p in await server.list_prompts()},
        )

    tools, resources, templates, prompts = asyncio.run(offered())
    assert tools == set(scopes.tools) and resources == set(scopes.resources) and prompts == set(scopes.prompts)
    assert templates == {t.template for t, _ in scopes.templates}
    assert scopes.needed("resources/read", {"uri": "atoms-auth://admin-echo/x"}) == (ADMIN_SCOPE,)
    assert scopes.needed("resources/read", {"uri": "atoms-auth://whoami"}) == ()
    assert build_server(version="0", admin_scope=None)[1].all() == ()  # no admin scope, no step-up


# --- the guard's reading of the body ----------------------------------------------------------------


def _post(world: World, wire: str, body: bytes, method: str, name: str | None = None) -> httpx.Response:
    """On 2026-07-28 with the Mcp-Method and Mcp-Name headers (SEP-2243)."""
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream", "authorization": f"Bearer {world.token(ENDPOINT_SCOPE)}", "mcp-protocol-version": wire}
    if wire == MODERN:
        headers["mcp-method"] = method
        if name:
            headers["mcp-name"] = name
    return httpx.post(world.info.mcp_url, content=body, headers=headers, timeout=10)


def _rpc(wire: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, **({"_meta": META} if wire == MODERN else {})}}


@pytest.mark.parametrize("wire", [MODERN, LEGACY])
@pytest.mark.parametrize(
    "spelling",
    ["escaped method", "escaped name", "escaped uri", "utf-16"],
)
def test_the_guard_reads_the_operation_as_the_sdk_does(world: World, wire: str, spelling: str) -> None:
    """A JSON escape ("tools\\/call") or another encoding (json.loads, the 2026-07-28 wire's parser,
    reads UTF-16) spells the same step-up operation: still 403 with both scopes. The byte filter
    that spares the guard parsing other bodies must not be a way around the step-up."""
    method, name = ("resources/read", "atoms-auth://admin-echo/x") if spelling == "escaped uri" else ("tools/call", "admin_echo")
    if spelling == "escaped uri":
        body = json.dumps(_rpc(wire, method, {"uri": name})).replace("admin-echo", "admin\\u002decho").encode()
    else:
        body = json.dumps(_rpc(wire, "tools/call", {"name": "admin_echo", "arguments": {"text": "x"}})).encode()
        if spelling == "escaped method":
            body = body.replace(b"tools/call", b"tools\\/call")
        elif spelling == "escaped name":
            body = body.replace(b'"admin_echo"', b'"admin\\u005fecho"')
        else:
            body = body.decode().encode("utf-16")
    response = _post(world, wire, body, method, name)
    assert response.status_code == 403, (response.status_code, response.text)
    assert f'scope="{ENDPOINT_SCOPE} {ADMIN_SCOPE}"' in response.headers["www-authenticate"]


def test_the_guard_parses_only_bodies_that_can_name_a_scoped_operation(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """tools/list and initialize pass the guard unparsed (serve's hot path); tools/call,
    resources/read and prompts/get are read."""
    parsed: list[bytes] = []
    real = resource_module._scopes_needed
    monkeypatch.setattr(resource_module, "_scopes_needed", lambda body, ops: parsed.append(body) or real(body, ops))
    for method, params in [("tools/list", {}), ("resources/list", {}), ("prompts/list", {})]:
        assert _post(world, MODERN, json.dumps(_rpc(MODERN, method, params)).encode(), method).status_code == 200
    assert parsed == []
    for method, params in [("tools/call", {"name": "whoami", "arguments": {}}), ("resources/read", {"uri": "atoms-auth://whoami"}), ("prompts/get", {"name": "whoami"})]:
        name = params.get("name") or params.get("uri")
        assert _post(world, MODERN, json.dumps(_rpc(MODERN, method, params)).encode(), method, str(name)).status_code == 200
    assert len(parsed) == 3
