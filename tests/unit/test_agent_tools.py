"""atoms-auth mcp's local tools in-process (the SDK's in-memory client), and its --help without the SDK."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from mcp import Client

from authkit_mcp_cli import check_listing
from authkit_mcp_cli.agent.server import build


def test_mcp_help_does_not_import_the_sdk():
    code = "import sys\nsys.argv = ['atoms-auth', 'mcp', '--help']\nfrom authkit_mcp_cli.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\nprint('LOADED', [m for m in ('mcp', 'mcp_types', 'pydantic', 'httpx') if m in sys.modules])\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "LOADED []" in proc.stdout and "Run atoms-auth as an MCP server on stdio" in proc.stdout, proc.stdout[-500:] + proc.stderr


def test_every_check_is_explained_within_its_output_schema():
    """The client validates each structured result against the tool's output schema."""
    ids = [row["id"] for row in check_listing.load()]

    async def run() -> list:
        async with Client(build()) as client:
            return [await client.call_tool("explain_check", {"id": i}) for i in ids]

    for check_id, result in zip(ids, asyncio.run(run()), strict=True):
        doc = result.structured_content
        assert not result.is_error and doc["id"] == check_id and doc["checks"] and doc["fix"] and doc["statuses"], check_id
        assert result.content[0].text.startswith(f"{check_id} ({doc['level']}): ")


def test_a_bad_argument_type_is_an_error_result_and_the_server_goes_on():
    async def run() -> tuple:
        async with Client(build()) as client:
            return await client.call_tool("explain_check", {"id": ["not", "a", "string"]}), await client.call_tool("list_checks", {"ids": ["as.pkce"]})

    bad, good = asyncio.run(run())
    assert bad.is_error and "id" in bad.content[0].text
    assert not good.is_error and good.structured_content == check_listing.as_document(check_listing.select(["as.pkce"]) or [])
