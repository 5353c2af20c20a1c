"""What every report needs: the target, the mode, and the one field the results may carry about their cause."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.checks.model import Result, Status
from authkit_mcp_cli.safe_text import escape_control

STATUS_LABELS = {Status.PASS: "PASS", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.ERROR: "ERROR", Status.SKIP: "SKIP", Status.INFO: "INFO"}


@dataclass(frozen=True)
class ReportMeta:
    server: str | None
    authorization_server: str | None
    strict: bool = False
    version: str = __version__


def caused_by(result: Result) -> str | None:
    """The check this result only follows from (checks.root_cause), if any."""
    return result.caused_by


def consequence(result: Result) -> bool:
    return result.caused_by is not None


def counts(results: list[Result]) -> dict[Status, int]:
    """Per status, as doctor's summary counts them: a result that only follows from another is not counted."""
    return {s: sum(1 for r in results if r.status is s and not consequence(r)) for s in Status}


def summary_line(results: list[Result]) -> str:
    n = counts(results)
    words = ((Status.FAIL, "failed"), (Status.ERROR, "errors"), (Status.WARN, "warnings"), (Status.PASS, "passed"), (Status.SKIP, "skipped"), (Status.INFO, "info"))
    parts = [f"{n[s]} {word}" for s, word in words if n[s]]
    followed = sum(1 for r in results if consequence(r))
    if followed:
        parts.append(f"{followed} only follow from a root cause")
    return ", ".join(parts) or "no checks ran"


def clean(text: str | None) -> str:
    """Remote text with control characters written as escapes, newlines kept."""
    return escape_control(text or "", keep_newlines=True)


def evidence_json(evidence: dict[str, Any]) -> str:
    return clean(json.dumps(evidence, indent=2, ensure_ascii=False, sort_keys=False, default=str))


def shows_fix(result: Result) -> bool:
    return bool(result.fix) and result.status in (Status.WARN, Status.FAIL, Status.ERROR)
