"""doctor as SARIF 2.1.0 (OASIS), the format GitHub code scanning and other scanners' dashboards read.

One run (code scanning refuses several runs of one tool and category in one upload), holding
every server's results in the order given:

- one rule (``reportingDescriptor``) per check id in the catalogue: its title as the short
  description, docs/checks.md's "what it checks" as the full one, the typical fix and the spec
  reference as help, with a link to the check's section of docs/checks.md written relative to the
  repository root (``docs/checks.md#mcp-server``, in ``help.markdown`` and ``properties.helpPath``).
  ``helpUri`` must be an absolute URI (SARIF 2.1.0 §3.49.12; the SARIF Multitool refuses a
  relative one) and atoms-auth has no public documentation URL, so it is written only when
  ``$ATOMS_AUTH_DOCS_URL`` names where docs/ is published (the GitHub Action sets it to its own
  repository's docs/ at the ref it runs): ``helpUri`` is then that URL + ``checks.md#section``;
- a result per finding: FAIL and ERROR (a check that crashed) at ``error``, WARN at ``warning``,
  INFO at ``note`` only when asked (``--verbose``); PASS, SKIP and results that only follow
  from a root cause (``caused_by``) are not findings and are left out;
- the location: code scanning accepts only paths in the repository (an ``https:`` artifact URI
  is refused: "unrecognized SARIF location URI scheme"), so the server URL becomes the
  repository-relative path ``mcp-server/<host>[_<port>]/<path>`` (``SRCROOT``-based, line 1),
  and the URL itself is the result's logical location and its ``properties.server``
  (docs/usage.md "SARIF for code scanning");
- ``partialFingerprints["atomsAuthFinding/v1"]``: SHA-256 of the server URL and the check id,
  so a finding keeps its alert from run to run whatever its message says.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authkit_mcp_cli import check_listing
from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.checks.model import Status
from authkit_mcp_cli.safe_text import json_text

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.model import Result
    from authkit_mcp_cli.reports.common import ServerReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT = "atomsAuthFinding/v1"
CHECKS_DOC = "docs/checks.md"
_LEVELS = {Status.FAIL: "error", Status.ERROR: "error", Status.WARN: "warning", Status.INFO: "note"}
_RULE_LEVELS = {"MUST": "error", "SHOULD": "warning"}


def fingerprint(server: str | None, check_id: str) -> str:
    """Stable for one server and one check: the same finding tracked as one alert across runs."""
    return hashlib.sha256(f"{server or ''}\n{check_id}".encode()).hexdigest()


def artifact_path(server: str | None) -> str:
    """The repository-relative path standing for a server URL (code scanning takes no URL scheme):
    ``https://host:8443/api/mcp`` is ``mcp-server/host_8443/api/mcp``."""
    if not server:
        return "mcp-server/unknown"
    parts = urlsplit(server)
    host = (parts.hostname or "unknown").replace(":", "_")  # an IPv6 literal's colons
    if parts.port:
        host += f"_{parts.port}"
    path = "/".join(segment for segment in parts.path.split("/") if segment not in ("", ".", ".."))
    return "mcp-server/" + host + (f"/{path}" if path else "")


def help_path(row: dict[str, str]) -> str:
    """The check's section of docs/checks.md (a client profile's rule: docs/usage.md's), relative to the repository root."""
    if row.get("doc"):
        return row["doc"]
    return f"{CHECKS_DOC}#{row.get('section') or 'the-check-catalogue'}"


def _extra_row(r: Result) -> dict[str, str]:
    """A rule for a result the catalogue does not list (a client profile's)."""
    return {"id": r.check.id, "title": r.check.title, "level": r.check.level.value, "spec": r.check.spec, "checks": r.check.title, "fix": r.fix or "", "doc": "docs/usage.md#client-profiles"}


def _rule(row: dict[str, str], docs_url: str | None) -> dict[str, Any]:
    fix = row.get("fix") or "See the check catalogue."
    path = help_path(row)
    rule: dict[str, Any] = {
        "id": row["id"],
        "name": "".join(part.capitalize() for part in row["id"].replace("-", ".").split(".")),
        "shortDescription": {"text": row["title"]},
        "fullDescription": {"text": row.get("checks") or row["title"]},
        "help": {"text": f"{fix}\n\nSpec: {row['spec']}\nDocs: {path}", "markdown": f"{fix}\n\nSpec: {row['spec']}\n\n[{path}]({path})"},
        "defaultConfiguration": {"level": _RULE_LEVELS.get(row["level"], "warning")},
        "properties": {"tags": [row["id"].split(".", 1)[0], row["level"]], "spec": row["spec"], "helpPath": path},
    }
    if docs_url:
        rule["helpUri"] = docs_url.rstrip("/") + "/" + path.removeprefix("docs/")  # docs_url names docs/
    return rule


def _result(r: Result, server: str | None, rule_index: int, state: str | None = None) -> dict[str, Any]:
    text = r.message + (f"\nFix: {r.fix}" if r.fix and r.status is not Status.INFO else "") + f"\nServer: {server or 'unknown'}"
    logical: dict[str, Any] = {"fullyQualifiedName": server or "unknown", "kind": "resource"}
    doc: dict[str, Any] = {
        "ruleId": r.check.id,
        "ruleIndex": rule_index,
        "level": _LEVELS[r.status],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": artifact_path(server), "uriBaseId": "SRCROOT"}, "region": {"startLine": 1}},
                "logicalLocations": [logical],
            }
        ],
        "partialFingerprints": {FINGERPRINT: fingerprint(server, r.check.id)},
        "properties": {"server": server, "status": r.status.value, "spec": r.check.spec, "evidence": r.evidence},
    }
    if state:
        doc["baselineState"] = state  # doctor --baseline (SARIF 2.1.0 §3.27.24)
    return doc


def _state(report: ServerReport, r: Result) -> str | None:
    """new or unchanged since the baseline, for a finding (a note is none)."""
    if report.baseline is None or r.status is Status.INFO:
        return None
    return "new" if any(f.id == r.check.id for f in report.baseline.new) else "unchanged"


def findings(results: list[Result], *, verbose: bool) -> list[Result]:
    """The results that are findings in SARIF: fail, error, warn; info too when asked; never a consequence."""
    shown = {Status.FAIL, Status.ERROR, Status.WARN} | ({Status.INFO} if verbose else set())
    return [r for r in results if r.status in shown and r.caused_by is None]


def docs_url() -> str | None:
    """$ATOMS_AUTH_DOCS_URL when it is an absolute http(s) URL (helpUri must be absolute)."""
    url = os.environ.get("ATOMS_AUTH_DOCS_URL", "").strip()
    return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else None


def to_log(reports: list[ServerReport], *, verbose: bool = False, docs: str | None = None) -> dict[str, Any]:
    rows = check_listing.load()
    known = {row["id"] for row in rows}
    for r in (r for report in reports for r in report.results):  # outside the catalogue (doctor --profile): a rule of its own
        if r.check.id not in known:
            known.add(r.check.id)
            rows.append(_extra_row(r))
    index = {row["id"]: i for i, row in enumerate(rows)}
    results = [_result(r, report.server, index[r.check.id], _state(report, r)) for report in reports for r in findings(report.results, verbose=verbose) if r.check.id in index]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "atoms-auth doctor",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(row, docs) for row in rows],
            }
        },
        "automationDetails": {"id": "atoms-auth-doctor/"},
        "originalUriBaseIds": {"SRCROOT": {"description": {"text": "The repository root; mcp-server/... paths stand for the servers checked."}}},
        "results": results,
        "properties": {"servers": [r.server for r in reports]},
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(reports: list[ServerReport], *, verbose: bool = False) -> str:
    return json_text(json.dumps(to_log(reports, verbose=verbose, docs=docs_url()), indent=2, ensure_ascii=False)) + "\n"
