"""What `serve`'s embedded MCP server offers, and the scopes each operation needs.

Two operations, each as a tool, a resource and a prompt: ``whoami`` (what the
verified token says about its caller) needs only the endpoint's scopes;
``admin_echo`` (echo a text back) also needs the admin scope, to demonstrate
step-up authorization (MCP 2026-07-28 "Scope Challenge Handling"):

    tools/call      whoami                           admin_echo
    resources/read  atoms-auth://whoami              atoms-auth://admin-echo/{text}
    prompts/get     whoami                           admin_echo

``OperationScopes`` is the one map of those extra scopes; the bearer guard
(server/resource.py), in front of both the SDK's endpoint and the
``--stateless`` one, reads it per request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp.shared.uri_template import UriTemplate
from mcp_types import INVALID_PARAMS, GetPromptResult, InputRequiredResult

WHOAMI_URI = "atoms-auth://whoami"
ADMIN_ECHO_TEMPLATE = "atoms-auth://admin-echo/{text}"
# the methods whose operation can need scopes beyond the endpoint's
SCOPED_METHODS = ("tools/call", "resources/read", "prompts/get")


@dataclass
class OperationScopes:
    """The scopes each operation needs beyond the endpoint's, keyed as the SDK finds the
    operation: a tool and a prompt by name, a resource by exact URI first and then by the
    first template (in registration order) that matches it (the SDK's ResourceManager order).
    Every operation is listed, with ``()`` when it needs nothing extra, so the lookup never
    falls through to another entry than the one the SDK serves."""

    tools: dict[str, tuple[str, ...]] = field(default_factory=dict)
    resources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    templates: list[tuple[UriTemplate, tuple[str, ...]]] = field(default_factory=list)
    prompts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def needed(self, method: object, params: object) -> tuple[str, ...]:
        """The extra scopes of one JSON-RPC request (as parsed); ``()`` for anything else,
        including params the SDK will refuse as invalid (-32602) before running anything."""
        if not isinstance(params, Mapping):
            return ()
        if method == "tools/call":
            return _by_name(self.tools, params.get("name"))
        if method == "prompts/get":
            return _by_name(self.prompts, params.get("name"))
        if method == "resources/read":
            uri = params.get("uri")
            if not isinstance(uri, str):
                return ()
            if uri in self.resources:
                return self.resources[uri]
            for template, scopes in self.templates:
                if template.match(uri) is not None:  # the SDK's own matcher (ResourceTemplate.matches)
                    return scopes
        return ()

    def all(self) -> tuple[str, ...]:
        """Every extra scope, once each (for PRM scopes_supported)."""
        groups = [*self.tools.values(), *self.resources.values(), *(s for _, s in self.templates), *self.prompts.values()]
        return tuple(dict.fromkeys(s for group in groups for s in group))


def _by_name(table: dict[str, tuple[str, ...]], name: object) -> tuple[str, ...]:
    return table.get(name, ()) if isinstance(name, str) else ()


class EmbeddedServer(MCPServer):
    """The SDK's MCPServer, with prompts/get's caller errors answered as such: an unknown
    prompt or a missing required argument is -32602 Invalid params (MCP server/prompts
    §Error Handling), where the SDK raises a plain ValueError (-32603, logged as a crash)."""

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None) -> GetPromptResult | InputRequiredResult:
        listed = {prompt.name: prompt for prompt in await self.list_prompts()}
        prompt = listed.get(name)
        if prompt is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}", data={"name": name})
        missing = sorted(arg.name for arg in prompt.arguments or () if arg.required and arg.name not in (arguments or {}))
        if missing:
            raise MCPError(code=INVALID_PARAMS, message=f"Missing required arguments: {', '.join(missing)}", data={"name": name, "missing": missing})
        return await super().get_prompt(name, arguments, context)


def build_server(*, version: str, admin_scope: str | None) -> tuple[EmbeddedServer, OperationScopes]:
    """The MCP server with its tools, resources and prompts; and the extra scopes of each."""
    server = EmbeddedServer("atoms-auth", version=version, instructions="atoms-auth reference MCP resource server", log_level="WARNING")
    admin = (admin_scope,) if admin_scope else ()
    needs = "needs the extra scope " + admin_scope if admin_scope else "needs no extra scope here (no admin scope configured)"
    scopes = OperationScopes(
        tools={"whoami": (), "admin_echo": admin},
        resources={WHOAMI_URI: ()},
        templates=[(UriTemplate.parse(ADMIN_ECHO_TEMPLATE), admin)],
        prompts={"whoami": (), "admin_echo": admin},
    )

    @server.tool(description="Who the verified bearer token says you are: sub, scopes, aud, iss, exp, client_id.")
    def whoami() -> dict[str, Any]:
        return _identity()

    @server.tool(description="Echo text back; needs the extra scope " + (admin_scope or "(none configured)") + " to demonstrate step-up authorization.")
    def admin_echo(text: str) -> str:
        return text

    @server.resource(WHOAMI_URI, name="whoami", description="The whoami tool's answer as a resource: the verified token's claims.", mime_type="application/json")
    async def whoami_resource() -> str:
        return json.dumps(_identity())

    @server.resource(ADMIN_ECHO_TEMPLATE, name="admin_echo", description=f"The text in the URI, back; {needs}.", mime_type="text/plain")
    async def admin_echo_resource(text: str) -> str:
        return text

    @server.prompt(name="whoami", description="Ask the model to explain what the verified token lets its holder do (its claims, not the token).")
    async def whoami_prompt() -> str:
        return "Explain what this MCP access token lets its holder do. Its verified claims:\n" + json.dumps(_identity(), indent=2)

    @server.prompt(name="admin_echo", description=f"The text as a user message; {needs}.")
    async def admin_echo_prompt(text: str) -> str:
        return text

    return server, scopes


def _identity() -> dict[str, Any]:
    token = get_access_token()
    if token is None:  # the guard never lets this happen; kept for a clear message
        return {"authenticated": False}
    claims = token.claims or {}
    exp = claims.get("exp")
    return {
        "authenticated": True,
        "sub": claims.get("sub"),
        "email": claims.get("email"),
        "scopes": token.scopes,
        "aud": claims.get("aud"),
        "iss": claims.get("iss"),
        "exp": exp,
        "expires_in": int(exp - time.time()) if isinstance(exp, (int, float)) else None,
        "client_id": token.client_id,
    }
