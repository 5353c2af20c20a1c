"""What every report needs: one server's results and what its report names, the mode, the counts and the exit code."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.checks.model import Result, Status
from authkit_mcp_cli.checks.root_cause import network_failure
from authkit_mcp_cli.errors import ExitCode
from authkit_mcp_cli.safe_text import escape_control

if TYPE_CHECKING:
    from authkit_mcp_cli.doctor import Diagnosis

STATUS_LABELS = {Status.PASS: "PASS", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.ERROR: "ERROR", Status.SKIP: "SKIP", Status.INFO: "INFO"}


@dataclass(frozen=True)
class ReportMeta:
    server: str | None
    authorization_server: str | None
    strict: bool = False
    version: str = __version__


# doctor --baseline's comparison of one server (reports/baseline.py makes it; the formats show it)
@dataclass(frozen=True)
class Finding:
    id: str
    status: str
    was: str | None = None  # unchanged: the baseline's status

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, **({"was": self.was} if self.was else {})}


@dataclass
class Diff:
    """One server's findings against the baseline."""

    source: str
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    unchanged: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.source, **{name: [f.to_json() for f in getattr(self, name)] for name in ("new", "resolved", "unchanged")}}

    def summary(self) -> str:
        return f"{len(self.new)} new, {len(self.resolved)} resolved, {len(self.unchanged)} unchanged"


@dataclass
class ServerReport:
    """One server's results and what its report names."""

    results: list[Result]
    server: str | None
    authorization_server: str | None
    extra: dict[str, Any] = field(default_factory=dict)  # json only: requests, typed_server, baseline
    baseline: Diff | None = None  # doctor --baseline: this server's findings against the previous report

    def meta(self, strict: bool) -> ReportMeta:
        return ReportMeta(server=self.server, authorization_server=self.authorization_server, strict=strict)


def server_report(diagnosis: Diagnosis) -> ServerReport:
    """One server's results and what its report names: the canonical URL (when the typed one differed
    only in form: server.url), the AS it found; json also counts the requests."""
    extra: dict[str, Any] = {"requests": diagnosis.evidence.request_count}
    if diagnosis.evidence.typed_server:
        extra["typed_server"] = diagnosis.evidence.typed_server
    return ServerReport(diagnosis.results, diagnosis.evidence.target.server_url, diagnosis.evidence.as_issuer, extra)


FAIL_ON = ("fail", "warn", "never")


def failing(status: Status, fail_on: str) -> bool:
    """Whether a finding of ``status`` fails the run under ``--fail-on``: fail (FAIL, ERROR), warn (WARN too), never."""
    if fail_on == "never":
        return False
    return status in (Status.FAIL, Status.ERROR) or (fail_on == "warn" and status is Status.WARN)


def exit_code(results: list[Result], *, strict: bool, fail_on: str | None = None) -> int:
    """0 clean; 1 findings (those ``fail_on`` counts: default fail, ``strict`` is warn); 3 when the target
    could not be reached at all, whatever ``fail_on`` says: nothing was checked (design.md, errors.ExitCode.NETWORK)."""
    if network_failure(results):
        return ExitCode.NETWORK
    mode = fail_on or ("warn" if strict else "fail")
    return ExitCode.FINDINGS if any(failing(r.status, mode) and not r.consequence for r in results) else ExitCode.OK


def summary(results: list[Result]) -> dict[str, int]:
    """Counts per status; consequences of a root cause (``caused_by``) are not counted (issue 15)."""
    counts = Counter(r.status for r in results if not r.consequence)
    return {s.value: counts.get(s, 0) for s in (Status.PASS, Status.WARN, Status.FAIL, Status.ERROR, Status.SKIP, Status.INFO)}


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
    from authkit_mcp_cli.words import plural

    words = ((Status.FAIL, "failed"), (Status.ERROR, "error"), (Status.WARN, "warning"), (Status.PASS, "passed"), (Status.SKIP, "skipped"), (Status.INFO, "info"))
    parts = [plural(n[s], word) for s, word in words if n[s]]
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
