"""Root cause first: which results only follow from another one.

doctor runs every check; when the server cannot be reached, or is not an MCP
endpoint at all, most of the others fail or skip for that one reason. This
module marks those *consequences* (``Result.caused_by``, the id of the result
they follow from) and the *root cause* (``Result.cause``), so reports lead with
the cause, fold its consequences into one line and leave them out of the
summary counts (design.md, doctor's report).

Rules, in order:

1. network: the MCP server's unauthenticated POST got no answer (refused, DNS,
   timeout, TLS): ``server.reachable`` is the cause of every other finding that
   needs the server, and of the AS checks when the AS would have come from the
   server's metadata. doctor then exits 3 (errors.ExitCode.NETWORK).
2. AS unreachable: none of the AS's well-known URLs could be reached:
   ``as.discovery`` is the cause of the other AS checks; a network failure
   (exit 3) when the user named the AS (--authkit-domain), else a finding of
   the server whose metadata names it (exit 1).
3. not MCP: the server answered the MCP POST like a web server (404, 405 or
   501, or an HTML page): ``challenge.status`` is the cause of what follows.
4. a skip that says "see <id>" where <id> failed (or follows from a cause) is
   a consequence of that cause.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.model import Cause, Result, Status
from authkit_mcp_cli.checks.probes import Probe

NETWORK_KINDS = frozenset({"dns", "connect", "refused", "timeout", "tls", "plain_http"})  # http.Exchange.error_kind
WEB_SERVER_STATUSES = frozenset({404, 405, 501})
SERVER_AREAS = frozenset({"server", "challenge", "prm"})
AS_AREAS = frozenset({"as", "authkit"})
FAILED = frozenset({Status.FAIL, Status.ERROR})
_SEE = re.compile(r"\bsee ([a-z]+\.[a-z0-9-]+)")


def attribute(results: list[Result], ev: Evidence) -> list[Result]:
    """The results with ``cause`` set on a root cause and ``caused_by`` on what follows from it."""
    by_id = {r.check.id: r for r in results}
    causes: dict[str, Cause] = {}
    caused_by: dict[str, str] = {}

    def follows(root: str, ids: list[str]) -> None:
        for i in ids:
            if i != root and i not in caused_by and by_id[i].status is not Status.PASS:
                caused_by[i] = root

    as_from_server = ev.target.authkit_domain is None  # the AS is only known through the server's metadata
    # the server's checks that need a real token skip for want of --login, whatever the server does
    server_ids = [r.check.id for r in results if r.check.area in SERVER_AREAS and r.check.probes and Probe.TOKEN not in r.check.probes]
    as_ids = [r.check.id for r in results if r.check.area in AS_AREAS]

    reachable = by_id.get("server.reachable")
    ex = ev.challenge
    if reachable is not None and reachable.status in FAILED and ex is not None and ex.error_kind in NETWORK_KINDS:
        causes["server.reachable"] = Cause("network", f"The MCP server could not be reached: {ex.error}.", reachable.fix)
        follows("server.reachable", server_ids + (as_ids if as_from_server and ev.as_issuer is None else []))
    elif (web := _web_server(ev)) is not None and (status := by_id.get("challenge.status")) is not None and status.status in FAILED:
        causes["challenge.status"] = Cause("not-mcp", web, f"Check the path in --server: MCP servers usually answer at /mcp or /api/mcp (e.g. {_origin(ev)}/mcp).")
        follows("challenge.status", [i for i in server_ids if i != "server.reachable"] + (as_ids if as_from_server and ev.as_issuer is None else []))

    discovery = by_id.get("as.discovery")
    disc = ev.discovery
    if discovery is not None and discovery.status in FAILED and disc is not None and disc.attempts and all(x.error_kind in NETWORK_KINDS for _k, _u, x in disc.attempts):
        errors = sorted({x.error or "" for _k, _u, x in disc.attempts})
        # An AS the user named is a target (exit 3); one the server's metadata names is the server's finding (exit 1).
        kind = "network" if ev.target.authkit_domain is not None else "failed"
        causes["as.discovery"] = Cause(kind, f"The authorization server {disc.issuer} could not be reached: {'; '.join(errors)}.", discovery.fix)
        follows("as.discovery", as_ids)

    # A skip that points at a failed check (or at one of its consequences) follows from that check's cause.
    for r in results:
        if r.status is not Status.SKIP or r.check.id in caused_by:
            continue
        for ref in _SEE.findall(r.message):
            target = by_id.get(ref)
            if target is None or ref == r.check.id:
                continue
            if ref in caused_by:
                caused_by[r.check.id] = caused_by[ref]
                break
            if target.status in FAILED:
                caused_by[r.check.id] = ref
                causes.setdefault(ref, Cause("failed", target.message, target.fix))
                break

    for root in causes:
        caused_by.pop(root, None)
    return [replace(r, cause=causes.get(r.check.id), caused_by=caused_by.get(r.check.id)) for r in results]


def _origin(ev: Evidence) -> str:
    parts = urlsplit(ev.target.server_url or "")
    return f"{parts.scheme}://{parts.netloc}"


def _web_server(ev: Evidence) -> str | None:
    """Why the MCP POST's answer looks like a web server's, not an MCP endpoint's; None when it does not."""
    ex = ev.challenge
    if ex is None or not ex.ok or ex.status in (None, 401, 403):
        return None
    ctype = (ex.header("content-type") or "").split(";", 1)[0].strip().lower()
    if ex.status not in WEB_SERVER_STATUSES and ctype != "text/html":
        return None
    body = f", an HTML page ({ctype})" if ctype == "text/html" else (f" ({ctype})" if ctype else "")
    return f"This looks like a web server, not an MCP endpoint: POST {ex.url} got HTTP {ex.status}{body}."


def root_causes(results: list[Result]) -> list[Result]:
    """The causes a report leads with (unreachable, not an MCP endpoint), in report order; an
    ordinary failed check that others follow from only gets its consequences folded."""
    return [r for r in results if r.cause is not None and r.cause.kind != "failed"]


def network_failure(results: list[Result]) -> bool:
    """The target could not be reached at all: doctor's exit code is 3 (errors.ExitCode.NETWORK)."""
    return any(r.cause is not None and r.cause.kind == "network" and r.status in FAILED for r in results)
