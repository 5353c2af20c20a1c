"""The doctor as a library: select checks, gather the evidence they declare, run them.

No printing here; ``commands.doctor`` renders what this returns.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.model import Check, Result, run_check
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN, ENV_BASE_URL, Target
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

if TYPE_CHECKING:  # the rest loads when doctor runs: --list-checks needs only the catalogue (issue 16 item 2)
    import ssl
    from pathlib import Path

    import httpx

    from authkit_mcp_cli.checks.stranger_key import StrangerKey
    from authkit_mcp_cli.checks.token_probe import LoginPlan
    from authkit_mcp_cli.trace import FetchedDocument


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
        raise UsageError(f"Unknown check {'id' if len(unknown) == 1 else 'ids'}: {', '.join(unknown)}.", code=ErrorCode.USAGE_UNKNOWN_CHECK, hint="See atoms-auth doctor --list-checks for the catalogue.")
    return [c for c in CATALOGUE if c.id in ids]


def require_target(target: Target) -> None:
    if not target.server_url and not target.authkit_domain:
        raise UsageError(
            "Nothing to check: no MCP server and no authorization server given.",
            code=ErrorCode.USAGE_NO_TARGET,
            hint=f"Pass --server https://host/api/mcp and/or --authkit-domain https://your-env.authkit.app, or set {ENV_BASE_URL} / {ENV_AUTHKIT_DOMAIN} (environment or .env).",
        )


def applicable(checks: list[Check], target: Target) -> list[Check]:
    """With only an AS given, only AS checks run (issue #2), and not doctor --active's, which act as the login's client for a server."""
    if target.server_url:
        return checks
    return [c for c in checks if c.area in ("as", "authkit") and Probe.ACTIVE_AS not in c.probes]


def probes_for(checks: list[Check]) -> set[Probe]:
    """What the checks read; ``gather`` adds what those probes build on."""
    return {p for c in checks for p in c.probes}


async def diagnose(
    target: Target,
    checks: list[Check],
    *,
    timeout: float,
    client: httpx.AsyncClient | None = None,
    trace_path: Path | None = None,
    login: LoginPlan | None = None,
    as_kind: str | None = None,
    stranger: StrangerKey | None = None,
    verify: ssl.SSLContext | Future[ssl.SSLContext] | None = None,
) -> Diagnosis:
    """Run ``checks`` against ``target``, sending only the requests they need.

    ``client`` lets a caller (a test, with ``httpx.MockTransport``) choose the
    transport; ``trace_path`` applies to the client built here, which records
    every request (a given client records only if it was built to).
    ``login`` (doctor --login) lets the login probes obtain and use a real
    token; ``as_kind`` says why the AS is known to be AuthKit (``checks.as_kind``).
    ``stranger`` shares the forged tokens' key between servers; ``verify`` is
    the TLS context for the client built here (see :func:`tls_context`).
    """
    import asyncio

    from authkit_mcp_cli.checks.gather import gather
    from authkit_mcp_cli.checks.root_cause import attribute
    from authkit_mcp_cli.http import HttpPolicy

    if client is None:
        return (await diagnose_many([target], checks, timeout=timeout, trace_path=trace_path, as_kind=as_kind, verify=verify))[0]
    require_target(target)
    selected = applicable(checks, target)
    # doctor only reads, so it probes plain-http targets too; as.https and server.https report them.
    policy = HttpPolicy(timeout=timeout, allow_insecure=True)
    evidence = await gather(target, client, policy, probes_for(selected), login=login, as_kind=as_kind, stranger=stranger)
    results = await asyncio.to_thread(lambda: [run_check(c, evidence) for c in selected])
    # Root cause first (issue 15): mark what only follows from an unreachable server, a web server, a failed check.
    return Diagnosis(evidence, attribute(results, evidence))


async def diagnose_many(
    targets: list[Target],
    checks: list[Check],
    *,
    timeout: float,
    trace_path: Path | None = None,
    as_kind: str | None = None,
    verify: ssl.SSLContext | Future[ssl.SSLContext] | None = None,
    documents: list[FetchedDocument] | None = None,
) -> list[Diagnosis]:
    """``diagnose`` each target at once (one trace, one TLS context, one forged-token key), in the order given.

    Each target gets its own connection pool: httpcore assigns a request to a connection by scanning the
    whole pool, so one pool holding ten servers' connections spent more CPU there than doctor's own work."""
    import asyncio
    import contextlib

    from authkit_mcp_cli.checks.stranger_key import StrangerKey
    from authkit_mcp_cli.http import HttpPolicy, HttpSession
    from authkit_mcp_cli.trace import TraceWriter

    for target in targets:
        require_target(target)
    if isinstance(verify, Future):
        verify = await asyncio.wrap_future(verify)
    trace = TraceWriter(str(trace_path), documents=documents) if trace_path else None  # documents: --bundle's metadata as fetched
    # doctor only reads, so it probes plain-http targets too (as.https and server.https report them)
    http = HttpSession(HttpPolicy(timeout=timeout, allow_insecure=True), trace=trace, verify=verify or True)
    stranger = StrangerKey()
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(http.client()) for _ in targets]
            return list(await asyncio.gather(*(diagnose(t, checks, timeout=timeout, client=c, as_kind=as_kind, stranger=stranger) for t, c in zip(targets, clients, strict=True))))
    finally:
        if trace:
            trace.close()


def tls_context() -> Future[ssl.SSLContext]:
    """httpx's default TLS context (certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR), built in a thread:
    loading the CA file takes tens of milliseconds without the GIL, so it overlaps doctor's imports."""
    import threading

    future: Future[ssl.SSLContext] = Future()

    def build() -> None:
        try:
            import httpx

            future.set_result(httpx.create_ssl_context())
        except BaseException as exc:  # handed to the caller, who awaits the context
            future.set_exception(exc)

    threading.Thread(target=build, name="atoms-auth-tls", daemon=True).start()
    return future
