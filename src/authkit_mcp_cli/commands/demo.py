"""``atoms-auth demo``: one command that shows everything working, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.error_codes import ErrorCode

if TYPE_CHECKING:
    from authkit_mcp_cli.demo import Step


def demo(
    grant: Annotated[
        str,
        typer.Option(
            "--grant",
            help="The flow to show after doctor: authorization-code (the browser login; default), client-credentials (RFC 6749 §4.4, a confidential client, no browser), device-code (RFC 8628, a user code on the verification page) or dpop (a browser login with DPoP-bound tokens, RFC 9449).",
            case_sensitive=False,
        ),
    ] = "authorization-code",
    interactive: Annotated[bool, typer.Option("--interactive", help="Open a real browser on the development AS's consent page instead of automating that leg.")] = False,
    home: Annotated[str | None, typer.Option("--home", metavar="DIR", help="Keep the demo's registrations and tokens in this directory (default: a temporary one, removed at the end).", show_default=False)] = None,
    trace: options.Trace = None,
    json_output: options.Json = False,
) -> None:
    """Run serve with its local AS, then doctor, register, login, call and refresh against it.

    --grant shows another flow instead of the browser login: client-credentials,
    device-code or dpop; each login step lists the flow's own steps.

    Needs no account and no network: everything runs on 127.0.0.1 in this
    process, on free ports. Each step says what it proved.
    """
    import asyncio
    import json
    from pathlib import Path

    from rich.markup import escape

    from authkit_mcp_cli.console import stderr_console, stdout_console
    from authkit_mcp_cli.demo import run_demo
    from authkit_mcp_cli.demo_grants import GRANT_NAMES
    from authkit_mcp_cli.errors import UsageError

    grant = grant.lower()
    if grant not in GRANT_NAMES:
        raise UsageError(f"--grant {grant} is not a flow the demo shows.", code=ErrorCode.USAGE_DEMO_GRANT, hint=f"Use one of {', '.join(GRANT_NAMES)}.")
    out = stdout_console()

    def show(step: Step) -> None:
        if json_output:
            return
        mark = "[bold green]PASS[/]" if step.ok else "[bold red]FAIL[/]"
        out.print(f"{mark} [bold]{step.name:<9}[/] {escape(step.detail)}  [dim]({step.seconds:.2f} s)[/]", highlight=False, soft_wrap=True)
        out.print(f"     [dim]proved:[/] {escape(step.proved)}" if step.ok else f"     [dim]would prove:[/] {escape(step.proved)}", highlight=False, soft_wrap=True)
        for line in step.flow:
            out.print(f"     [dim]flow:[/] {escape(line)}", highlight=False, soft_wrap=True)

    if not json_output:
        stderr_console().print("Starting atoms-auth serve with its local DEVELOPMENT authorization server on 127.0.0.1…", highlight=False)
    from authkit_mcp_cli.commands._waiting import countdown  # an interactive demo waits for your browser

    result = asyncio.run(run_demo(interactive=interactive, home=Path(home) if home else None, trace_path=Path(trace) if trace else None, on_step=show, grant=grant, countdown=countdown))
    if json_output:
        typer.echo(json.dumps({"schema": 1, "ok": result.ok, "mcp_url": result.mcp_url, "grant": result.grant, "steps": [s.__dict__ for s in result.steps]}, indent=2))
    else:
        out.print()
        out.print(f"[bold]{'Every step passed' if result.ok else 'The demo failed'}[/] against {result.mcp_url} (stopped now).", highlight=False, soft_wrap=True)
        if result.ok:
            command, how = how_to_run_again()
            out.print("Next, in any shell:", highlight=False)
            for line in (f"{command} serve", f"{command} doctor --server http://127.0.0.1:8000/api/mcp   # in another shell, while serve runs", f"{command} doctor --server https://your-host/api/mcp   # your own server"):
                out.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
            if how:
                out.print(escape(how), highlight=False, soft_wrap=True)
    raise typer.Exit(0 if result.ok else 1)


def how_to_run_again() -> tuple[str, str | None]:
    """How a new shell runs this atoms-auth (issue #15 §11): its name when PATH finds this very one, else its
    path, and how to put it on PATH. `make demo` runs .venv/bin/atoms-auth, which a new shell does not find."""
    import shutil
    import sys
    from pathlib import Path

    found = shutil.which("atoms-auth")
    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if here is not None and here.name == "atoms-auth":
        if found and Path(found).resolve() == here:
            return "atoms-auth", None
        activate = here.parent / "activate"
        how = f"(or put atoms-auth on your PATH: source {activate}; or install it: pipx install .)" if activate.is_file() else "(or install it: pipx install .)"
        return str(here), how
    if found:
        return "atoms-auth", None
    return f"{sys.executable} -m authkit_mcp_cli", "(or install it: pipx install .)"
