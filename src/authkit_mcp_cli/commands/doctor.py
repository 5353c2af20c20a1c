"""``atoms-auth doctor``: run the check catalogue and report every finding with a fix."""

from __future__ import annotations

from typing import Annotated

import typer

from authkit_mcp_cli.commands import options


def _complete_check_id(incomplete: str) -> list[str]:
    from authkit_mcp_cli.checks import CATALOGUE

    return [c.id for c in CATALOGUE if c.id.startswith(incomplete)]


def doctor(
    server: options.Server = None,
    authkit_domain: options.AuthkitDomain = None,
    json_output: options.Json = False,
    strict: Annotated[bool, typer.Option("--strict", help="Count warnings as failures in the exit code.")] = False,
    trace: options.Trace = None,
    list_checks: Annotated[bool, typer.Option("--list-checks", help="List the check catalogue and exit.")] = False,
    check: Annotated[list[str] | None, typer.Option("--check", metavar="ID", help="Run only this check (repeatable). See --list-checks.", autocompletion=_complete_check_id)] = None,
    timeout: options.Timeout = 10.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show each check's evidence.")] = False,
) -> None:
    """Diagnose OAuth on an MCP server and its authorization server.

    Probes the MCP endpoint's 401 challenge and protected-resource metadata,
    discovers the authorization server (from --authkit-domain, or from the
    server's metadata), and checks both against the MCP authorization spec
    (2026-07-28). Every finding comes with a fix.

    Exit codes: 0 no FAIL or ERROR (with --strict: no WARN either);
    1 findings; 2 usage or configuration error; 130 interrupted.
    """
    import asyncio
    from pathlib import Path

    from authkit_mcp_cli import report
    from authkit_mcp_cli.config import load_environment, resolve_target
    from authkit_mcp_cli.console import stderr_console, stdout_console
    from authkit_mcp_cli.doctor import diagnose, select_checks

    checks = select_checks(check or [])
    out = stdout_console()
    if list_checks:
        if json_output:
            typer.echo(report.catalogue_json(checks))
        else:
            report.render_catalogue(out, checks)
        raise typer.Exit(0)
    target = resolve_target(server, authkit_domain, load_environment())
    if not target.server_url and not target.authkit_domain:
        from authkit_mcp_cli.prompts import interactive

        if interactive():  # on a terminal, ask; elsewhere diagnose() names the flags and variables
            from authkit_mcp_cli.prompts import ask_text

            target = resolve_target(ask_text("MCP server URL (e.g. https://host/api/mcp):", flag="--server"), None, {})
    with stderr_console().status("Probing…", spinner="dots"):
        diagnosis = asyncio.run(diagnose(target, checks, timeout=timeout, trace_path=Path(trace) if trace else None))
    authorization_server = diagnosis.evidence.as_issuer
    if json_output:
        extra = {"requests": diagnosis.evidence.request_count}
        typer.echo(report.to_json(diagnosis.results, server=target.server_url, authorization_server=authorization_server, extra=extra))
    else:
        report.render(out, diagnosis.results, server=target.server_url, authorization_server=authorization_server, verbose=verbose)
    raise typer.Exit(report.exit_code(diagnosis.results, strict=strict))
