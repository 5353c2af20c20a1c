"""The root ``atoms-auth`` app and the one place where errors become exit codes.

Set ATOMS_AUTH_DEBUG=1 to see the traceback of an error instead of the
one-line message.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from authkit_mcp_cli import __version__
from authkit_mcp_cli.commands import token
from authkit_mcp_cli.commands.call import call
from authkit_mcp_cli.commands.demo import demo
from authkit_mcp_cli.commands.doctor import doctor
from authkit_mcp_cli.commands.init import init
from authkit_mcp_cli.commands.login import login
from authkit_mcp_cli.commands.logout import logout
from authkit_mcp_cli.commands.register import register
from authkit_mcp_cli.commands.serve import serve

EPILOG = (
    "Exit codes: 0 success; 1 findings, or the remote refused; 2 usage or configuration error; "
    "3 network failure; 4 the remote violates the protocol; 5 authorization denied, cancelled or timed out; "
    "130 interrupted."
)

app = typer.Typer(
    name="atoms-auth",
    help="Diagnose and set up OAuth for remote MCP servers (WorkOS AuthKit, or any OAuth 2.1 server that follows the MCP spec).",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a local may hold a token
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
    # Plain click help: typer's rich help imports markdown-it, pygments and rich.traceback
    # (about 70 ms, doubling start-up); --help must stay near the framework's floor (issue #7).
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"atoms-auth {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Diagnose and set up OAuth for remote MCP servers."""


app.command(epilog=EPILOG)(doctor)
app.command(epilog=EPILOG)(register)
app.command(epilog=EPILOG)(login)
app.command(epilog=EPILOG)(call)
app.add_typer(token.app, name="token")
app.command(epilog=EPILOG)(logout)
app.command(epilog=EPILOG)(serve)
app.command(epilog=EPILOG)(demo)
app.command(epilog=EPILOG)(init)


def main() -> None:
    from authkit_mcp_cli.errors import AtomsAuthError, ExitCode

    try:
        app(prog_name="atoms-auth")
    except AtomsAuthError as exc:
        if os.environ.get("ATOMS_AUTH_DEBUG"):
            raise
        _print_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug: one clear line, the traceback on request
        if os.environ.get("ATOMS_AUTH_DEBUG"):
            raise
        sys.stderr.write(f"atoms-auth: internal error: {type(exc).__name__}: {exc}\nThis is a bug; rerun with ATOMS_AUTH_DEBUG=1 and report the traceback.\n")
        sys.exit(ExitCode.FINDINGS)


def _print_error(exc: object) -> None:
    from rich.markup import escape

    from authkit_mcp_cli.console import stderr_console
    from authkit_mcp_cli.errors import AtomsAuthError

    assert isinstance(exc, AtomsAuthError)
    console = stderr_console()
    # soft_wrap: long URLs and messages stay whole lines (grep-able, copy-able)
    console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        console.print(f"[bold]fix:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)
    if exc.spec:
        console.print(f"[dim]spec: {escape(exc.spec)}[/]", highlight=False, soft_wrap=True)
