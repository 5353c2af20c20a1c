"""The ``doctor`` tool: doctor's library run read-only on one server or several, each server's schema-1
report as structured content, a progress notification for each request sent, and a plain summary of what
to fix first. It never logs in (doctor --login is the CLI's, with its browser)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types import CallToolResult

from authkit_mcp_cli.agent.results import answer
from authkit_mcp_cli.checks.model import Result, Status
from authkit_mcp_cli.config import load_environment, resolve_target
from authkit_mcp_cli.doctor import Diagnosis, require_target, select_checks, tls_context
from authkit_mcp_cli.errors import ExitCode
from authkit_mcp_cli.reports.common import exit_code, server_report, summary_line

Progress = Callable[[float, str], Awaitable[None]]
TIMEOUT = 10.0  # doctor's default --timeout
SHOWN = (Status.FAIL, Status.ERROR, Status.WARN)


async def run_doctor(servers: list[str], checks: list[str], authorization_server: str | None, progress: Progress, *, timeout: float = TIMEOUT) -> CallToolResult:
    """Diagnose every server at once (as ``doctor --server A --server B``); bad input raises the CLI's error."""
    from authkit_mcp_cli.as_kind import configured_kind
    from authkit_mcp_cli.reports.json import to_doc

    selected = select_checks(checks)  # usage.unknown-check, as the CLI
    env = load_environment()
    urls: list[str | None] = list(servers) if servers else [None]  # none given: the environment's, as the CLI
    targets = [resolve_target(url, authorization_server, env) for url in urls]  # usage.* for a URL that is not one
    for target in targets:
        require_target(target)  # usage.no-target: nothing given and nothing configured
    diagnoses = await _diagnose(targets, selected, configured_kind(None, env), progress, timeout=timeout)
    reports = [server_report(d) for d in diagnoses]
    docs = [to_doc(r.results, server=r.server, authorization_server=r.authorization_server, extra=r.extra or None) for r in reports]
    codes = [exit_code(r.results, strict=False) for r in reports]
    text = "\n\n".join(_summary(d, code) for d, code in zip(diagnoses, codes, strict=True))
    # an unreachable server is an error result, as the CLI's exit 3; the report still says why
    return answer({"schema": 1, "reports": docs}, text, is_error=ExitCode.NETWORK in codes)


async def _diagnose(targets: list[Any], checks: list[Any], as_kind: str | None, progress: Progress, *, timeout: float) -> list[Diagnosis]:
    """``doctor.diagnose_many``'s run (one TLS context, one forged-token key, a connection pool per
    server), with a hook on each client that reports every request as progress."""
    from authkit_mcp_cli.checks.stranger_key import StrangerKey
    from authkit_mcp_cli.doctor import diagnose
    from authkit_mcp_cli.http import HttpPolicy, make_client

    policy = HttpPolicy(timeout=timeout, allow_insecure=True)  # doctor only reads: plain-http targets too
    verify = await asyncio.wrap_future(tls_context())
    stranger = StrangerKey()
    sent = [0]

    async def on_request(request: Any) -> None:
        sent[0] += 1
        await progress(sent[0], f"{request.method} {request.url.copy_with(query=None)}")

    async def one(target: Any, client: Any) -> Diagnosis:
        found = await diagnose(target, checks, timeout=timeout, client=client, as_kind=as_kind, stranger=stranger)
        await progress(sent[0], f"checked {target.server_url or target.authkit_domain}: {summary_line(found.results)}")
        return found

    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(make_client(policy, verify=verify)) for _ in targets]
        for client in clients:
            client.event_hooks["request"].append(on_request)
        return list(await asyncio.gather(*(one(t, c) for t, c in zip(targets, clients, strict=True))))


def _summary(diagnosis: Diagnosis, code: int) -> str:
    """What an agent reads first: the server, the counts, the root cause, then each problem with its fix."""
    ev = diagnosis.evidence
    name = ev.target.server_url or ev.target.authkit_domain
    lines = [f"{name}: {summary_line(diagnosis.results)}" + (f" (authorization server {ev.as_issuer})" if ev.as_issuer else "")]
    if code == ExitCode.NETWORK:
        lines.append("The server could not be reached: the report's root_cause says why.")
    roots = [r for r in diagnosis.results if r.cause is not None]
    problems = [r for r in diagnosis.results if r.status in SHOWN and r.caused_by is None]
    for r in roots[:1]:
        lines.append(f"Root cause: {r.check.id}: {r.message}")
    for r in sorted(problems, key=lambda r: SHOWN.index(r.status)):
        lines.append(_line(r))
    if not problems:
        lines.append("No failures or warnings.")
    return "\n".join(lines)


def _line(r: Result) -> str:
    fix = f" Fix: {r.fix}" if r.fix else ""
    return f"- {r.status.value.upper()} {r.check.id}: {r.message}{fix}"
