"""The doctor as a library: select checks, gather evidence, run the checks.

No printing here; ``commands.doctor`` renders what this returns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from authkit_mcp_cli.checks import CATALOGUE, Check, Result, run_check
from authkit_mcp_cli.checks.evidence import Evidence, gather
from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN, ENV_BASE_URL, Target
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.http import HttpPolicy, make_client
from authkit_mcp_cli.trace import TraceWriter


@dataclass
class Diagnosis:
    evidence: Evidence
    results: list[Result]


def select_checks(ids: list[str]) -> list[Check]:
    if not ids:
        return list(CATALOGUE)
    known = {c.id: c for c in CATALOGUE}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UsageError(f"Unknown check id(s): {', '.join(unknown)}.", hint="See atoms-auth doctor --list-checks for the catalogue.")
    return [c for c in CATALOGUE if c.id in ids]


def require_target(target: Target) -> None:
    if not target.server_url and not target.authkit_domain:
        raise UsageError(
            "Nothing to check: no MCP server and no authorization server given.",
            hint=f"Pass --server https://host/api/mcp and/or --authkit-domain https://your-env.authkit.app, or set {ENV_BASE_URL} / {ENV_AUTHKIT_DOMAIN} (environment or .env).",
        )


def applicable(checks: list[Check], target: Target) -> list[Check]:
    """With only an AS given, only AS checks run (issue #2)."""
    if target.server_url:
        return checks
    return [c for c in checks if c.area in ("as", "authkit")]


async def diagnose(target: Target, checks: list[Check], *, timeout: float, trace_path: Path | None = None) -> Diagnosis:
    require_target(target)
    # doctor only reads, so it probes plain-http targets too; as.https and server.https report them.
    policy = HttpPolicy(timeout=timeout, allow_insecure=True)
    trace = TraceWriter(str(trace_path)) if trace_path else None
    try:
        async with make_client(timeout=timeout) as client:
            evidence = await gather(target, client, policy, trace)
    finally:
        if trace:
            trace.close()
    results = await asyncio.to_thread(lambda: [run_check(c, evidence) for c in applicable(checks, target)])
    return Diagnosis(evidence, results)
