"""doctor's report as one JSON document (schema 1, design.md) for programs: one
server's report, or ``{"schema": 1, "reports": [...]}`` holding one per server,
each exactly the report doctor prints for that server alone."""

from __future__ import annotations

import json
from typing import Any

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.checks.model import Result
from authkit_mcp_cli.checks.root_cause import root_causes
from authkit_mcp_cli.reports.common import ServerReport, summary
from authkit_mcp_cli.safe_text import json_text


def root_cause_json(results: list[Result]) -> dict[str, Any] | None:
    """The first root cause, with how many results follow from it; None when nothing follows from anything."""
    roots = root_causes(results)
    if not roots:
        return None
    root = roots[0]
    assert root.cause is not None
    return {"id": root.check.id, **root.cause.to_json(), "consequences": sum(1 for r in results if r.caused_by == root.check.id)}


def dumps(doc: dict[str, Any]) -> str:
    return json_text(json.dumps(doc, indent=2, ensure_ascii=False))  # remote C1 controls escaped (issue 14 item 10)


def to_doc(results: list[Result], *, server: str | None, authorization_server: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The schema-1 report (design.md) as a dict."""
    doc: dict[str, Any] = {
        "schema": 1,
        "version": __version__,
        "target": {"server": server, "authorization_server": authorization_server},
        "summary": summary(results),
        "results": [r.to_json() for r in results],
    }
    root = root_cause_json(results)
    if root is not None:
        doc["root_cause"] = root
    if extra:
        doc.update(extra)
    return doc


def render(report: ServerReport) -> str:
    """One server's report."""
    return dumps(to_doc(report.results, server=report.server, authorization_server=report.authorization_server, extra=report.extra or None))


def render_many(reports: list[ServerReport]) -> str:
    """Several servers' reports in one document, in the order given."""
    return dumps({"schema": 1, "reports": [to_doc(r.results, server=r.server, authorization_server=r.authorization_server, extra=r.extra or None) for r in reports]})
