"""The root ``atoms-auth`` app: every command registered behind the error boundary.

``commands._boundary.command_boundary`` turns errors into messages and exit
codes inside the app (so ``CliRunner`` sees them); :func:`main` only catches
what happens outside any command. Set ATOMS_AUTH_DEBUG=1 to see the
traceback of an error instead of the one-line message.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Literal

import typer

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.commands import token
from authkit_mcp_cli.commands._boundary import command_boundary
from authkit_mcp_cli.commands._coercion import install as install_plain_coercion
from authkit_mcp_cli.commands._examples import examples_epilog
from authkit_mcp_cli.commands._help import AtomsGroup, command_help, exit_codes_epilog
from authkit_mcp_cli.commands.call import call
from authkit_mcp_cli.commands.demo import demo
from authkit_mcp_cli.commands.doctor import doctor
from authkit_mcp_cli.commands.init import init
from authkit_mcp_cli.commands.login import login
from authkit_mcp_cli.commands.logout import logout
from authkit_mcp_cli.commands.mcp import mcp
from authkit_mcp_cli.commands.register import register
from authkit_mcp_cli.commands.serve import serve
from authkit_mcp_cli.seams.typer_private import register_completion_classes

install_plain_coercion()  # options left at their defaults skip typer's pydantic adapters (issue #16 item 2)
# httpx's __init__ imports its own command-line tool (click, rich's progress and syntax, pygments:
# most of httpx's import time) when those are installed; atoms-auth never runs it, and httpx falls
# back to a stub when the import fails (issue #16 item 2)
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError):
        return False


def _help_width() -> dict[str, int]:
    """--help wraps at $COLUMNS when set, at the terminal's width on one, and not at all into a pipe or a
    CI log (issue #15 §1): click's default is 80 columns whatever the output."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 40:
        width = int(columns)
    elif sys.stdout.isatty():
        width = os.get_terminal_size(sys.stdout.fileno()).columns
    elif _stderr_is_terminal():  # `--help | less`: a pager shows it on the terminal, at its width (issue #24 item 12)
        width = os.get_terminal_size(sys.stderr.fileno()).columns
    else:
        width = 100_000
    return {"terminal_width": width, "max_content_width": width}


EPILOG = exit_codes_epilog()  # the whole table: every code

app = typer.Typer(
    cls=AtomsGroup,  # full command summaries; click's usage errors in the error:/fix: shape
    name="atoms-auth",
    help="Diagnose and set up OAuth for remote MCP servers (WorkOS AuthKit, or any OAuth 2.1 server that follows the MCP spec).",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a local may hold a token
    context_settings={"help_option_names": ["-h", "--help"], **_help_width()},
    # Our own --install-completion/--show-completion: typer's ignores a shell named after it (installing
    # bash's script for `--install-completion zsh`), and ours ships the scripts as package data.
    add_completion=False,
    # Plain click help: typer's rich help imports markdown-it, pygments and rich.traceback
    # (about 70 ms, doubling start-up); --help must stay near the framework's floor (issue #7).
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"atoms-auth {__version__}")
        raise typer.Exit(0)


COMPLETION_UNAVAILABLE = f"shell completion needs typer's completion classes, which typer {typer.__version__} does not have"


def _require_completion_classes() -> None:
    """The shipped scripts call back into typer's completion classes: no script without them."""
    if not register_completion_classes():
        from authkit_mcp_cli.error_codes import ErrorCode
        from authkit_mcp_cli.errors import UsageError

        raise UsageError(COMPLETION_UNAVAILABLE, hint="install a typer release atoms-auth supports (pip install 'typer>=0.29,<0.30')", code=ErrorCode.USAGE_COMPLETION_UNAVAILABLE)


def _install_completion(shell: str | None) -> None:
    if shell is None:
        return
    _require_completion_classes()
    from authkit_mcp_cli.completion import install

    done = install(None if shell == "auto" else shell)
    typer.echo(f"Installed {done.shell} completion in {done.path}" + (f" (loaded from {done.rc_file})" if done.rc_file else "") + ".")
    typer.echo(f"It works in new terminals; in this one: {done.activate}")
    raise typer.Exit(0)


def _show_completion(shell: str | None) -> None:
    if shell is None:
        return
    _require_completion_classes()
    from authkit_mcp_cli.completion import check_shell, script

    typer.echo(script(check_shell(None if shell == "auto" else shell)), nl=False)
    raise typer.Exit(0)


_SHELL_HELP = "bash, zsh or fish; left out, the shell $SHELL names"


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    color: Annotated[Literal["auto", "always", "never"], typer.Option("--color", help="Colour: auto (on a terminal, unless NO_COLOR is set), always, or never.")] = "auto",
    install_completion: Annotated[
        str | None,
        typer.Option("--install-completion", metavar="[SHELL]", callback=_install_completion, is_eager=True, expose_value=False, help=f"Install shell completion ({_SHELL_HELP}) and exit."),
    ] = None,
    show_completion: Annotated[
        str | None,
        typer.Option("--show-completion", metavar="[SHELL]", callback=_show_completion, is_eager=True, expose_value=False, help=f"Print the completion script ({_SHELL_HELP}) and exit."),
    ] = None,
) -> None:
    """Diagnose and set up OAuth for remote MCP servers."""
    os.environ["ATOMS_AUTH_COLOR"] = color  # console.COLOR_ENV, read when a console is made (rich is not loaded here)


# Each page: the docstring without a hand-written "Exit codes" paragraph, and one epilog with only
# that command's codes, from errors.COMMAND_EXIT_CODES (issue #15 item 6).
for _command in (doctor, register, login, call, logout, serve, demo, init, mcp):
    app.command(help=command_help(_command), epilog=examples_epilog(_command.__name__) + exit_codes_epilog(_command.__name__))(command_boundary(_command))
for _info in token.app.registered_commands:  # token show / token refresh
    if _info.callback:
        _info.help = command_help(_info.callback)
        _info.epilog = examples_epilog(f"token {_info.name}") + exit_codes_epilog(f"token {_info.name}")
        _info.callback = command_boundary(_info.callback)
app.add_typer(token.app, name="token")


def main() -> None:
    """The console script: the app, plus a last net for what fails outside any command."""
    from authkit_mcp_cli.commands._boundary import report_bug, report_error
    from authkit_mcp_cli.errors import AtomsAuthError, ExitCode

    if "_ATOMS_AUTH_COMPLETE" in os.environ and not register_completion_classes():  # a completion script calling back
        sys.stderr.write(f"atoms-auth: {COMPLETION_UNAVAILABLE}\n")  # click's own classes would answer in another format
        sys.exit(ExitCode.USAGE)
    try:
        app(prog_name="atoms-auth")
    except AtomsAuthError as exc:  # raised while options were parsed (a callback), not in a command
        if os.environ.get("ATOMS_AUTH_DEBUG"):
            raise
        report_error(exc, as_json="--json" in sys.argv)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:  # stdout's reader went away (| head), outside any command
        from authkit_mcp_cli.commands._boundary import stdout_reader_gone

        stdout_reader_gone()
        sys.exit(ExitCode.PIPE_CLOSED)
    except Exception as exc:  # a bug
        if os.environ.get("ATOMS_AUTH_DEBUG"):
            raise
        report_bug(exc, as_json="--json" in sys.argv)
        sys.exit(ExitCode.SOFTWARE)
