"""doctor --baseline REPORT.json: this run's findings against a previous ``doctor --json`` (one server's
report or ``{"schema": 1, "reports": [...]}``), matched by server URL and check id.

A finding is a FAIL, ERROR or WARN that does not only follow from a root cause (as doctor's summary
counts). Per server: **new** (a finding now, none for that server and check in the baseline),
**resolved** (a finding in the baseline, none now), **unchanged** (a finding in both; its status may
have changed, and the baseline's is kept as ``was``). The exit code counts only what is new since
the baseline: a new finding ``--fail-on`` counts, or an unchanged one that ``--fail-on`` counts now
and did not count then (a WARN that became a FAIL). A server absent from the baseline has only new
findings; one that cannot be reached still exits 3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from authkit_mcp_cli.checks.model import Status
from authkit_mcp_cli.checks.root_cause import network_failure
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import ExitCode, UsageError
from authkit_mcp_cli.reports.common import Diff, Finding, failing

if TYPE_CHECKING:
    from authkit_mcp_cli.reports.common import ServerReport

FINDINGS = (Status.FAIL.value, Status.ERROR.value, Status.WARN.value)
Baseline = dict[str, dict[str, str]]  # server URL -> check id -> status of each finding


def load(path: str) -> Baseline:
    """The findings of a ``doctor --json`` report, by server URL; a usage error (before any request) otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise UsageError(f"Cannot read --baseline {path}: {reason}.", code=ErrorCode.USAGE_BASELINE_UNREADABLE, hint="Name the file a previous `atoms-auth doctor --json > REPORT.json` wrote.") from None
    bad = UsageError(
        f"--baseline {path} is not a doctor --json report (schema 1).",
        code=ErrorCode.USAGE_BASELINE_INVALID,
        hint="Write it with `atoms-auth doctor --json > REPORT.json` (one server or several --server).",
    )
    try:
        doc = json.loads(text)
    except ValueError:
        raise bad from None
    if not isinstance(doc, dict) or doc.get("schema") != 1:
        raise bad
    reports = doc.get("reports", [doc]) if "reports" in doc else [doc]
    found: Baseline = {}
    for report in reports:
        try:
            server = report["target"]["server"]
            rows = {r["id"]: r["status"] for r in report["results"] if r["status"] in FINDINGS and "caused_by" not in r}
        except (KeyError, TypeError):
            raise bad from None
        if not isinstance(server, str):
            raise bad
        found.setdefault(server, {}).update(rows)
    return found


def compare(report: ServerReport, baseline: Baseline, source: str) -> Diff:
    before = baseline.get(report.server or "", {})
    now = {r.check.id: r.status.value for r in report.results if r.status.value in FINDINGS and r.caused_by is None}
    diff = Diff(source)
    for check_id, status in now.items():
        if check_id in before:
            diff.unchanged.append(Finding(check_id, status, was=before[check_id]))
        else:
            diff.new.append(Finding(check_id, status))
    diff.resolved = [Finding(check_id, status) for check_id, status in before.items() if check_id not in now]
    return diff


def exit_code(report: ServerReport, diff: Diff, fail_on: str) -> int:
    """3 unreachable; 1 when something new since the baseline fails under ``fail_on``; else 0."""
    if network_failure(report.results):
        return ExitCode.NETWORK
    counted = [f for f in diff.new if failing(Status(f.status), fail_on)]
    counted += [f for f in diff.unchanged if failing(Status(f.status), fail_on) and not failing(Status(f.was or f.status), fail_on)]
    return ExitCode.FINDINGS if counted else ExitCode.OK


def lines(report: ServerReport, diff: Diff) -> list[str]:
    """The comparison as plain lines, for the text report and the log."""
    out = [f"Against the baseline {diff.source} ({report.server}): {diff.summary()}"]
    for name in ("new", "resolved", "unchanged"):
        for f in getattr(diff, name):
            was = f" (was {f.was.upper()})" if f.was and f.was != f.status else ""
            out.append(f"  {name:<9} {f.status.upper():<5} {f.id}{was}")
    return out


def markdown(reports: list[ServerReport]) -> str:
    """A "Since the baseline" section: a table of every finding's state, per server."""
    from authkit_mcp_cli.reports.markdown import code

    parts = []
    for r in reports:
        if r.baseline is None:
            continue
        rows = [f"| {name} | {f.status.upper()} | `{f.id}` | {(f.was or '').upper()} |" for name in ("new", "resolved", "unchanged") for f in getattr(r.baseline, name)]
        parts.append(f"### Since the baseline: {code(r.server)}\n\n{r.baseline.summary()} (baseline {code(r.baseline.source)}).\n\n| state | status | check | was |\n|---|---|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n" if parts else ""
