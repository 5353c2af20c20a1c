"""doctor --login's probes (not read-only), one step at a time after every
other probe has answered: a real token (``token_probe.obtain``), its use, its
refresh, and a token for another resource sent to the server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.checks import as_probes
from authkit_mcp_cli.checks.server_probes import post_initialize
from authkit_mcp_cli.discovery import JSON_HEADERS
from authkit_mcp_cli.http import Exchange

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.evidence import TokenEvidence
    from authkit_mcp_cli.checks.gatherer import Gatherer
    from authkit_mcp_cli.checks.token_probe import LoginPlan


async def token(g: Gatherer) -> None:
    ev, server = g.ev, g.ev.target.server_url
    if not server or g.login is None:
        return
    if await g.superseded:
        return  # the run at the canonical URL logs in
    from authkit_mcp_cli.checks import token_probe

    async def get_json(url: str) -> Exchange:
        return await g.request("GET", url, JSON_HEADERS)

    async def metadata_for(issuer: str) -> dict[str, Any] | None:
        return (await as_probes.discover(g, issuer)).metadata

    ev.token = await token_probe.obtain(g.login, server, get_json, metadata_for)


def _with_token(g: Gatherer) -> tuple[LoginPlan, TokenEvidence] | None:
    te = g.ev.token
    if g.login is None or te is None or te.session is None:
        return None
    return g.login, te


async def token_use(g: Gatherer) -> None:
    if (found := _with_token(g)) is not None:
        from authkit_mcp_cli.checks import token_probe

        await token_probe.use(*found)


async def token_refresh(g: Gatherer) -> None:
    if (found := _with_token(g)) is not None:
        from authkit_mcp_cli.checks import token_probe

        await token_probe.refresh_twice(*found)


async def other_resource(g: Gatherer) -> None:
    server = g.ev.target.server_url
    if (found := _with_token(g)) is None or server is None:
        return

    async def post(token: str) -> Exchange:
        return await post_initialize(g, server, {"Authorization": f"Bearer {token}"})

    from authkit_mcp_cli.checks import token_probe

    await token_probe.other_resource_token(*found, post)
