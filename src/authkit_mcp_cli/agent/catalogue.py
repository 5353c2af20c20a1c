"""The ``list_checks`` and ``explain_check`` tools: doctor's catalogue from ``check_catalogue.json``, the
file ``doctor --list-checks`` reads, whose "what it checks" and "typical fix" come from docs/checks.md."""

from __future__ import annotations

from mcp_types import CallToolResult

from authkit_mcp_cli import check_listing
from authkit_mcp_cli.agent.results import answer
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

STATUSES = {
    "MUST": "a problem is a FAIL (the spec requires it); a MUST check may add an INFO note",
    "SHOULD": "a problem is a WARN (the spec recommends it); --strict counts warnings as failures",
    "MAY": "a problem is a WARN (optional in the spec)",
    "INFO": "reports what it found (INFO); never a failure",
}


def list_checks(ids: list[str]) -> CallToolResult:
    rows = check_listing.select(ids)
    if rows is None:  # an unknown id: the registry's own error, as doctor --list-checks --check
        _unknown(ids)
    doc = check_listing.as_document(rows or [])  # the same document doctor --list-checks --json prints
    return answer(doc, "\n".join(check_listing.as_lines(rows or [])))


def explain_check(check_id: str) -> CallToolResult:
    rows = check_listing.select([check_id])
    if not rows:
        _unknown([check_id])
    assert rows is not None
    row = rows[0]
    doc = {
        "id": row["id"],
        "level": row["level"],
        "title": row["title"],
        "spec": row["spec"],
        "area": row["id"].split(".", 1)[0],
        "checks": row.get("checks", ""),
        "fix": row.get("fix", ""),
        "statuses": STATUSES[row["level"]],
    }
    text = f"{row['id']} ({row['level']}): {row['title']}.\nChecks: {doc['checks']}\nTypical fix: {doc['fix']}\nSpec: {row['spec']}\nLevel: {doc['statuses']}."
    return answer(doc, text)


def _unknown(ids: list[str]) -> None:
    from authkit_mcp_cli.doctor import select_checks

    select_checks(ids)  # raises usage.unknown-check with the CLI's message and fix
    raise UsageError(f"Unknown check {'id' if len(ids) == 1 else 'ids'}: {', '.join(ids)}.", code=ErrorCode.USAGE_UNKNOWN_CHECK)  # not reached
