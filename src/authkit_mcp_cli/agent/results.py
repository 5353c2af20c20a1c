"""A tool's answer: structured content (the document the CLI prints with ``--json``) with a short plain
summary as text; or, for bad input, an error result holding the CLI's ``--json`` error document
(``errors.error_document``) and the same error/fix/spec/code lines the CLI prints on stderr."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types import CallToolResult, TextContent

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ERROR_SCHEMA, AtomsAuthError, error_document
from authkit_mcp_cli.safe_text import escape_control

log = logging.getLogger("atoms-auth.mcp")


def answer(structured: dict[str, Any], summary: str, *, is_error: bool = False) -> CallToolResult:
    """The summary's control and format characters (a remote's, quoted in a message) written as escapes, as on
    the CLI's terminal: an agent may show it to a person. The structured content is JSON, as ``--json``."""
    text = escape_control(summary, keep_newlines=True)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured, is_error=is_error)


def error_lines(doc: dict[str, Any]) -> str:
    """The CLI's stderr shape for an error (commands._boundary.report_error), without colour."""
    error = doc["error"]
    lines = [f"error: {error['message']}"]
    if error.get("hint"):
        lines.append(f"fix: {error['hint']}")
    if error.get("spec"):
        lines.append(f"spec: {error['spec']}")
    lines.append(f"code: {error['code']}")
    return "\n".join(lines)


def error_result(exc: AtomsAuthError) -> CallToolResult:
    doc = error_document(exc)
    return answer(doc, error_lines(doc), is_error=True)


def bug_result(exc: BaseException) -> CallToolResult:
    """A bug in atoms-auth: the CLI's internal.bug document; the traceback goes to stderr (the server's log)."""
    log.exception("atoms-auth bug")
    doc = {
        "schema": ERROR_SCHEMA,
        "error": {"code": ErrorCode.INTERNAL_BUG, "message": f"internal error: {type(exc).__name__}: {exc}", "hint": "This is a bug in atoms-auth; its traceback is in the MCP server's log (stderr).", "spec": None, "url": None, "remote": None},
    }
    return answer(doc, error_lines(doc), is_error=True)


async def guarded(run: Callable[[], Awaitable[CallToolResult]]) -> CallToolResult:
    """Run a tool: an atoms-auth error becomes an error result and the server goes on serving."""
    try:
        return await run()
    except AtomsAuthError as exc:
        log.info("tool error %s: %s", exc.code, escape_control(exc.message))
        return error_result(exc)
    except Exception as exc:  # a bug: one error result, never a dead server
        if os.environ.get("ATOMS_AUTH_DEBUG"):
            raise
        return bug_result(exc)
