"""The mcp SDK's own OAuth client, with a headless 'browser' that follows the
authorization redirects (cookies kept) until it reaches the redirect URI."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT_URI = "http://127.0.0.1:53682/oauth/callback"


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class HeadlessBrowser:
    """Follows redirects from the authorization URL until the loopback redirect URI."""

    def __init__(self, redirect_prefix: str = REDIRECT_URI) -> None:
        self.redirect_prefix = redirect_prefix
        self.result: AuthorizationCodeResult | None = None
        self.visited: list[str] = []

    async def redirect_handler(self, authorization_url: str) -> None:
        async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
            url = authorization_url
            for _ in range(10):
                self.visited.append(url)
                if url.startswith(self.redirect_prefix):
                    query = parse_qs(urlsplit(url).query)
                    self.result = AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0])
                    return
                response = await browser.get(url)
                if response.status_code not in (302, 303):
                    raise AssertionError(f"the authorization flow stopped at {url}: {response.status_code} {response.text[:300]}")
                url = str(response.next_request.url) if response.next_request else response.headers["location"]
        raise AssertionError("too many redirects")

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


async def call_whoami(mcp_url: str, *, mode: str = "auto", scope: str | None = None, tool: str = "whoami", arguments: dict | None = None) -> tuple[dict, MemoryStorage]:
    browser = HeadlessBrowser()
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(client_name="sdk-test-client", redirect_uris=[REDIRECT_URI], grant_types=["authorization_code", "refresh_token"], response_types=["code"], token_endpoint_auth_method="none", scope=scope),
        storage=storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
    )
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with Client(streamable_http_client(mcp_url, http_client=http), mode=mode) as client:
            tools = await client.list_tools()
            result = await client.call_tool(tool, arguments or {})
    return {"tools": [t.name for t in tools.tools], "result": result}, storage
