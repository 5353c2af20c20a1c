"""``atoms-auth doctor``: run the check catalogue and report every finding with a fix."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.error_codes import ErrorCode

if TYPE_CHECKING:
    import concurrent.futures
    import ssl
    from collections.abc import Mapping
    from contextlib import AbstractContextManager

    from rich.console import Console

    from authkit_mcp_cli.checks.model import Check
    from authkit_mcp_cli.config import Target
    from authkit_mcp_cli.doctor import Diagnosis
    from authkit_mcp_cli.reports.common import ServerReport


def _complete_check_id(incomplete: str) -> list[str]:
    from authkit_mcp_cli.checks.catalogue import CATALOGUE

    return [c.id for c in CATALOGUE if c.id.startswith(incomplete)]


AsKind = Literal["auto", "authkit", "generic"]
FailOn = Literal["fail", "warn", "never"]


class ClientProfile(StrEnum):
    """--profile's clients: client_profiles.json's (a test keeps them equal). typer takes a list of an Enum, not of a Literal."""

    CLAUDE = "claude"
    CHATGPT = "chatgpt"
    VSCODE = "vscode"
    CURSOR = "cursor"
    INSPECTOR = "inspector"
ReportFormat = Literal["text", "json", "junit", "markdown", "html", "sarif"]
FORMAT_HELP = (
    "Report format: text (a table), json (schema 1, as --json), junit (JUnit XML, one testcase per check, for CI test views), "
    "markdown (summary table and a Mermaid diagram of the flow, for job summaries and PR comments), "
    "html (one self-contained page with the flow drawn as SVG, each step clickable to its checks), "
    "sarif (SARIF 2.1.0 for GitHub code scanning: one rule per check, a result per failure or warning, info too with --verbose)."
)


Servers = Annotated[
    list[str] | None,
    typer.Option(
        "--server",
        metavar="URL",
        help=(
            "MCP endpoint, e.g. https://host/api/mcp. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL + $ATOMS_FASTMCP_HTTP_PATH (/api/mcp). "
            'Repeatable: several servers are diagnosed at once, one report each in the order given (--format json: {"schema": 1, "reports": [...]}, '
            "one schema-1 report per server; junit: one testsuite per server; html: one server only); the exit code is the worst of theirs."
        ),
        show_default=False,
    ),
]


def doctor(
    server: Servers = None,
    authkit_domain: options.AuthkitDomain = None,
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json: one JSON document on stdout and nothing else there.")] = False,
    report_format: Annotated[ReportFormat | None, typer.Option("--format", metavar="text|json|junit|markdown|html|sarif", help=FORMAT_HELP, show_default=False)] = None,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to FILE instead of stdout (created 0644, never through a symlink); stdout then shows the text report, for the CI log. "
            "The format comes from the extension (.html, .md, .xml for junit, .json, .txt) unless --format names it; repeatable: -o r.md -o r.xml writes both from one run.",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Count warnings as failures in the exit code (the same as --fail-on warn).")] = False,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", metavar="fail|warn|never", help="Which findings make the exit code 1: fail (FAIL or ERROR; the default), warn (WARN too, as --strict), never (exit 0 with findings; an unreachable server still exits 3).", show_default=False),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="REPORT.json",
            help="Compare with a previous doctor --json report (one server or several), matching findings by server URL and check id: the report lists new, resolved and unchanged findings, and the exit code counts only new ones.",
            show_default=False,
        ),
    ] = None,
    bundle: Annotated[
        str | None,
        typer.Option(
            "--bundle",
            metavar="FILE.zip",
            help="Also write an evidence bundle for a bug report: the report as JSON and Markdown, the trace (secrets masked) also as HAR 1.2, each metadata document as fetched, the versions, the command line without secrets, and a README.txt.",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        list[ClientProfile] | None,
        typer.Option(
            "--profile",
            metavar="claude|chatgpt|vscode|cursor|inspector",
            help="Also check what this MCP client's known behaviour needs (how it registers, the redirect URIs it sends, browser CORS), each rule citing its public source: profile.<client>.* results (repeatable; docs/usage.md, Client profiles).",
            show_default=False,
        ),
    ] = None,
    trace: options.Trace = None,
    list_checks: Annotated[bool, typer.Option("--list-checks", help="List the check catalogue and exit.")] = False,
    check: Annotated[list[str] | None, typer.Option("--check", metavar="ID", help="Run only this check (repeatable). See --list-checks.", autocompletion=_complete_check_id)] = None,
    timeout: options.Timeout = 10.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show each check's evidence.")] = False,
    login: Annotated[
        bool,
        typer.Option(
            "--login",
            help="Also obtain a real token as login does and check it and what the server does with it (token.*, server.accepts-token, server.rejects-other-resource-token). NOT read-only: it may open the browser, stores the login, and refreshes it.",
        ),
    ] = False,
    active: Annotated[
        bool,
        typer.Option(
            "--active",
            help=(
                "Implies --login, and also proves what the server and its authorization server DO (server.rejects-token-in-query, server.rejects-session-without-token, "
                "server.rejects-expired-token, as.password-grant, as.refresh-invalid-grant, as.refresh-rotation, as.refresh-reuse-ends-grant, as.redirect-exact, as.pkce-enforced, as.code-single-use). NOT read-only: it sends the server the token in the URL query, "
                "a session id without the token and an expired token when one is at hand; it sends the authorization server authorization requests it never follows (a wrong redirect_uri, no PKCE) and extra token requests (a password grant for a made-up user, "
                "a bad and a used refresh token, which may end the stored login) and, when the AS will not refresh into another resource, a second authorization request. One server only."
            ),
        ),
    ] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="With --login: log in again even when a valid login for this server is stored.")] = False,
    no_browser: options.NoBrowser = False,
    wait: options.Wait = 300.0,
    client_id: options.ClientId = None,
    client_secret: options.ClientSecret = None,
    client_metadata_url: options.ClientMetadataUrl = None,
    as_kind: Annotated[
        AsKind,
        typer.Option(
            "--as-kind", help="What the authorization server is: authkit (e.g. an AuthKit custom domain) gives AuthKit's dashboard advice; auto recognises AuthKit by its .authkit.app issuer or FASTMCP_SERVER_AUTH=...AuthKitProvider."
        ),
    ] = "auto",
) -> None:
    """Diagnose OAuth on an MCP server and its authorization server.

    Probes the MCP endpoint's 401 challenge and protected-resource metadata,
    discovers the authorization server (from --authkit-domain, or from the
    server's metadata), and checks both against the MCP authorization spec
    (2026-07-28). Every finding comes with a fix.

    Read-only, except with --login or --active: then doctor also obtains a real token
    the way login does (a stored valid login is reused unless --fresh),
    checks its audience, issuer, signature, lifetime and scopes, uses it, asks
    for a token for another resource and refreshes it.

    Reports for CI and for people: --format junit|markdown|html (with
    --output FILE); the exit code does not depend on the format.

    Several servers (--server A --server B ...) are diagnosed at once, one
    report each in the order given; the exit code is the worst of theirs.

    """
    import sys

    if list_checks:  # a local command: the catalogue as data, no check module, no HTTP stack (issue 16 item 2)
        _list_checks(check or [], _format(report_format, json_output=json_output))
        raise typer.Exit(0)

    # httpx imports its own command line (httpx._main) when click, rich and pygments are installed: pygments'
    # lexers and rich.syntax, ~40% of httpx's import time and ~6 MB that doctor never uses (issue 16 items 1, 4).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    tls = None if list_checks or login or active else _tls_context()  # the CA file loads in a thread while the rest imports
    from authkit_mcp_cli.doctor import select_checks

    fmt = _format(report_format, json_output=json_output)
    fail_mode = _fail_on(fail_on, strict=strict)
    strict = fail_mode == "warn"  # the reports' "warnings count as failures"
    previous = _baseline(baseline)
    written = _outputs(output or [], report_format or ("json" if json_output else None))
    checks = select_checks(check or [])
    import asyncio
    from pathlib import Path

    from authkit_mcp_cli.commands._bundle import BundleEvidence

    evidence = BundleEvidence(bundle, trace)
    trace = evidence.trace_path

    from authkit_mcp_cli.checks.as_kind import configured_kind
    from authkit_mcp_cli.config import load_environment, resolve_target
    from authkit_mcp_cli.console import stderr_console, stdout_console
    from authkit_mcp_cli.doctor import diagnose_many

    out = stdout_console()
    env = load_environment()
    urls: list[str | None] = list(server) if server else [None]
    targets = [resolve_target(url, authkit_domain, env) for url in urls]
    target = targets[0]
    if len(targets) == 1 and not target.server_url and not target.authkit_domain:
        from authkit_mcp_cli.prompts import interactive

        if interactive():  # on a terminal, ask; elsewhere diagnose() names the flags and variables
            from authkit_mcp_cli.prompts import ask_text

            targets = [target] = [resolve_target(ask_text("MCP server URL (e.g. https://host/api/mcp):", flag="--server"), None, {})]
    if active and len(targets) > 1:
        from authkit_mcp_cli.errors import UsageError

        raise UsageError("--active checks one server: it logs in and sends extra token requests for that server.", code=ErrorCode.USAGE_ACTIVE_ONE_SERVER, hint="Run doctor --active once per server.")
    login = login or active
    if len(targets) > 1:
        _check_many(fmt, login=login)
        for _path, file_fmt in written:
            _check_many(file_fmt, login=login)
    kind = configured_kind(None if as_kind == "auto" else as_kind, env)
    if login and not target.server_url:
        from authkit_mcp_cli.errors import UsageError

        raise UsageError("--login needs the MCP server: the token is obtained for it and sent to it.", code=ErrorCode.USAGE_LOGIN_NEEDS_SERVER, hint="Pass --server https://host/api/mcp (or set FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL).")
    if active:  # the first line doctor --active prints: what it sends
        from authkit_mcp_cli.checks.active_probes import NOTICE

        stderr_console().print(NOTICE, highlight=False, soft_wrap=True, markup=False)
    if login:
        diagnoses = [
            asyncio.run(_diagnose_with_login(target, checks, env, timeout=timeout, trace=trace, fresh=fresh, flags=options.LoginFlags(client_id=client_id, client_secret=client_secret, client_metadata_url=client_metadata_url, no_browser=no_browser, wait=wait), as_kind=kind, active=active))
        ]
    else:
        with _spinner(stderr_console()):
            diagnoses = asyncio.run(diagnose_many(targets, checks, timeout=timeout, trace_path=Path(trace) if trace else None, as_kind=kind, verify=tls, documents=evidence.documents))
    from authkit_mcp_cli.reports import formats

    reports = _server_reports(diagnoses)
    if profile:
        from authkit_mcp_cli.client_profiles import evaluate

        for r in reports:
            r.results.extend(result for name in dict.fromkeys(profile) for result in evaluate(name.value, r.results))
    if previous is not None and baseline:
        _compare(reports, previous, baseline)
    code = formats.exit_code(reports, strict=strict, fail_on=fail_mode)
    if bundle:
        evidence.write(reports, strict=strict, code=code)
    files = [(path, file_fmt) for path, file_fmt in written if path != "-"]
    to_stdout = next((file_fmt for path, file_fmt in written if path == "-"), None if files else fmt)
    for path, file_fmt in files:
        from authkit_mcp_cli.reports.output import write_report

        write_report(path, formats.render(file_fmt, reports, strict=strict, verbose=verbose))
        servers = f" ({len(reports)} servers)" if len(reports) > 1 else ""
        stderr_console().print(f"Wrote the {file_fmt} report{servers} to {path}", highlight=False, soft_wrap=True)
    if to_stdout is None or to_stdout == "text":
        formats.show(out, reports, strict=strict, verbose=verbose)  # with files written: the text report, for the CI log
    else:
        text = formats.render(to_stdout, reports, strict=strict, verbose=verbose)
        typer.echo(text, nl=not text.endswith("\n"))
    raise typer.Exit(code)


def _spinner(console: Console) -> AbstractContextManager[Any]:
    """The 'Probing…' spinner on a terminal; elsewhere nothing (not even rich's live display imported)."""
    import contextlib

    return console.status("Probing…", spinner="dots") if console.is_terminal else contextlib.nullcontext()


def _tls_context() -> concurrent.futures.Future[ssl.SSLContext]:
    from authkit_mcp_cli.doctor import tls_context

    return tls_context()


def _check_many(fmt: str, *, login: bool) -> None:
    """Several servers: every format but html, and no --login (one browser login per run)."""
    from authkit_mcp_cli.errors import UsageError

    if login:
        raise UsageError("--login checks one server: it logs in (perhaps in the browser) for that server.", code=ErrorCode.USAGE_LOGIN_ONE_SERVER, hint="Run doctor --login once per server; without --login, several --server are diagnosed at once.")
    if fmt == "html":
        raise UsageError(
            "--format html draws one server's flow per page; several --server were given.",
            code=ErrorCode.USAGE_HTML_ONE_SERVER,
            hint="Run doctor --format html once per server (--output a file each), or use --format markdown, json or junit, which hold several servers.",
        )


def _server_reports(diagnoses: list[Diagnosis]) -> list[ServerReport]:
    from authkit_mcp_cli.reports.common import server_report

    return [server_report(d) for d in diagnoses]


def _list_checks(ids: list[str], fmt: str) -> None:
    """--list-checks: from check_listing's data; on a terminal, rich's table (reports.text.render_catalogue)."""
    import sys

    from authkit_mcp_cli import check_listing

    rows = check_listing.select(ids)
    if rows is None:  # an unknown id: the registry's own error
        from authkit_mcp_cli.doctor import select_checks

        select_checks(ids)
        return
    if fmt == "json":
        typer.echo(check_listing.as_json(rows))
    elif sys.stdout.isatty():
        from authkit_mcp_cli.console import stdout_console
        from authkit_mcp_cli.doctor import select_checks
        from authkit_mcp_cli.reports.text import render_catalogue

        render_catalogue(stdout_console(), select_checks(ids))
    else:
        from authkit_mcp_cli.commands._render import print_line

        for line in check_listing.as_lines(rows):
            print_line(line)


def _baseline(path: str | None) -> dict[str, dict[str, str]] | None:
    """--baseline's findings, read before any request (a bad file is a usage error)."""
    if not path:
        return None
    from authkit_mcp_cli.reports import baseline

    return baseline.load(path)


def _compare(reports: list[ServerReport], previous: dict[str, dict[str, str]], path: str) -> None:
    from authkit_mcp_cli.reports import baseline

    for r in reports:
        r.baseline = baseline.compare(r, previous, path)
        r.extra["baseline"] = r.baseline.to_json()


def _fail_on(fail_on: str | None, *, strict: bool) -> str:
    """--strict is --fail-on warn; with another --fail-on it is a contradiction, not a choice."""
    if strict and fail_on not in (None, "warn"):
        from authkit_mcp_cli.errors import UsageError

        raise UsageError(f"--strict and --fail-on {fail_on} ask for two exit-code rules.", code=ErrorCode.USAGE_CONFLICTING_OPTIONS, hint="Pass one of them (--strict is --fail-on warn).")
    return "warn" if strict else (fail_on or "fail")


# -o's extension names the format (issue #24 item 13); --format decides for a name without one of these
EXTENSION_FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".xml": "junit", ".json": "json", ".txt": "text", ".sarif": "sarif"}


def _outputs(paths: list[str], explicit: str | None) -> list[tuple[str, str]]:
    """(path, format) for each -o: --format with a single -o (as before), else the extension, else --format."""
    from pathlib import PurePath

    from authkit_mcp_cli.errors import UsageError
    from authkit_mcp_cli.reports import formats

    chosen = []
    for path in paths:
        by_name = EXTENSION_FORMATS.get(PurePath(path).suffix.lower()) if path != "-" else "text"  # stdout: text unless --format
        fmt = explicit if explicit and (len(paths) == 1 or by_name is None) else by_name or explicit
        if fmt is None:
            raise UsageError(f"-o {path}: the name does not say which format to write.", code=ErrorCode.USAGE_INVALID, hint=f"Name it with one of {', '.join(EXTENSION_FORMATS)}, or pass --format.")
        if fmt not in formats.FORMATS:
            raise UsageError(f"-o {path}: this atoms-auth writes no {fmt} report.", code=ErrorCode.USAGE_INVALID, hint=f"Use one of {', '.join(formats.FORMATS)}.")
        chosen.append((path, fmt))
    return chosen


def _format(report_format: str | None, *, json_output: bool) -> str:
    """--json is --format json; with another --format it is a contradiction, not a choice."""
    if json_output and report_format not in (None, "json"):
        from authkit_mcp_cli.errors import UsageError

        raise UsageError(f"--json and --format {report_format} ask for two formats.", code=ErrorCode.USAGE_FORMAT_CONFLICT, hint="Pass one of them (--json is --format json).")
    return "json" if json_output else (report_format or "text")


async def _diagnose_with_login(target: Target, checks: list[Check], env: Mapping[str, str], *, timeout: float, trace: str | None, fresh: bool, flags: options.LoginFlags, as_kind: str | None, active: bool = False) -> Diagnosis:
    """doctor --login: one client (and one trace) for the probes and the login, which reports its steps on stderr."""
    from authkit_mcp_cli.checks.token_probe import LoginPlan
    from authkit_mcp_cli.commands._client import client_context, login_options
    from authkit_mcp_cli.doctor import diagnose

    opts = login_options(env, flags, authkit_domain=target.authkit_domain)
    async with client_context(options.HttpOptions(timeout=timeout, trace=trace)) as ctx:
        return await diagnose(target, checks, timeout=timeout, client=ctx.client, login=LoginPlan(ctx, opts, fresh=fresh, active=active), as_kind=as_kind)
