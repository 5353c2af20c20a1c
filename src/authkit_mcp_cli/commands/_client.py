"""What the client commands (register, login, call, token, logout) need
besides their options: the server URL, the login settings from the flags
(secrets from stdin), the Context (its one HTTP session, the store), and
step-by-step progress on stderr."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.error_codes import ErrorCode

if TYPE_CHECKING:
    from authkit_mcp_cli.client.context import Context, LoginOptions
    from authkit_mcp_cli.client.session import HasStore, Session
    from authkit_mcp_cli.commands.options import HttpOptions, LoginFlags
    from authkit_mcp_cli.store import Store

ENV_CLIENT_SECRET = "ATOMS_AUTH_CLIENT_SECRET"
ENV_IDP_CLIENT_SECRET = "ATOMS_AUTH_IDP_CLIENT_SECRET"
STDIN = "-"
ENV_CLIENT_METADATA_URL = "ATOMS_AUTH_CLIENT_METADATA_URL"
STEP_LABELS = {
    "discover": "discovery",
    "register": "registration",
    "authorize": "authorization",
    "authorize-url": "open",
    "callback": "callback",
    "token": "token",
    "token-exchange": "exchange",
    "refresh": "refresh",
    "step-up": "step-up",
    "login": "login",
    "verify": "verify",
    "warning": "warning",
}


def resolve_server(server: str | None, env: Mapping[str, str]) -> str:
    """--server, else the environment's, else (on a terminal) asked for."""
    from authkit_mcp_cli.config import ENV_BASE_URL, resolve_target

    target = resolve_target(server, None, env)
    if target.server_url:
        return target.server_url
    from authkit_mcp_cli.prompts import ask_text

    answer = ask_text("MCP server URL (e.g. https://host/api/mcp):", flag="--server URL", env=ENV_BASE_URL, missing=ErrorCode.USAGE_NO_TARGET)
    return resolve_target(answer, None, {}).server_url or ""


def server_or_stored(server: str | None, env: Mapping[str, str]) -> str:
    """--server, else the environment's, else the one stored login's server (issue #24 item 8: as token
    and logout do); several stored: say which, listing them; none: asked for on a terminal."""
    from authkit_mcp_cli.config import resolve_target

    if server is None and resolve_target(None, None, env).server_url is None:
        from authkit_mcp_cli.store import Store

        stored = Store(warn=store_warning).all_tokens()
        servers = sorted({str(d["server_url"]) for _, d in stored if isinstance(d.get("server_url"), str)})
        if len(servers) == 1:
            return servers[0]
        if len(servers) > 1:
            from authkit_mcp_cli.errors import UsageError

            raise UsageError(f"{len(servers)} logins are stored; say which with --server.", code=ErrorCode.USAGE_AMBIGUOUS_LOGIN, hint="Servers: " + ", ".join(servers))
    return resolve_server(server, env)


def login_options(env: Mapping[str, str], flags: LoginFlags, *, authkit_domain: str | None, scope: list[str] | None = None, redirect_uri: str | None = None, client_name: str = "atoms-auth") -> LoginOptions:
    """The login settings from a command's ``flags``, flags before the environment: the client
    (WORKOS_CLIENT_ID, ATOMS_AUTH_CLIENT_SECRET, ATOMS_AUTH_CLIENT_METADATA_URL), the configured AS,
    secrets given as ``-`` read from stdin, and each grant's own options in its own object."""
    from authkit_mcp_cli.client.context import BrowserOptions, EnterpriseOptions, JwtBearerOptions, LoginOptions, PrivateKeyJwtOptions
    from authkit_mcp_cli.client.issuer_binding import configured_domain
    from authkit_mcp_cli.config import ENV_CLIENT_ID

    domain, domain_source = configured_domain(authkit_domain, env)  # the flag, else the guide's variable
    if flags.auth_method == "none" and flags.client_secret:
        from authkit_mcp_cli.option_rules import mutually_exclusive

        mutually_exclusive({"--auth-method none": True, "--client-secret": True}, "a public client (none) sends no secret")
    return LoginOptions(
        client_id=flags.client_id or env.get(ENV_CLIENT_ID) or None,
        client_secret=secret_value(flags.client_secret, flag="--client-secret", env_name=ENV_CLIENT_SECRET, env=env),
        client_metadata_url=flags.client_metadata_url or env.get(ENV_CLIENT_METADATA_URL) or None,
        client_name=client_name,
        auth_method=flags.auth_method,
        new_client=flags.new_client,
        scopes=list(scope or []),
        grant=flags.grant.replace("-", "_"),  # the CLI's names -> client.grants.GRANTS keys
        authkit_domain=domain,
        authkit_domain_source=domain_source,
        dpop=flags.dpop,
        browser=BrowserOptions(port=flags.port, redirect_uri=redirect_uri, open_browser=not flags.no_browser, paste=_stdin_lines() if flags.no_browser or _stdin_is_terminal() else None, wait=flags.wait),
        private_key_jwt=PrivateKeyJwtOptions(private_key=flags.private_key, signing_alg=flags.signing_alg, key_id=flags.key_id),
        jwt_bearer=JwtBearerOptions(assertion=flags.assertion),
        enterprise=EnterpriseOptions(
            idp_issuer=flags.idp_issuer,
            idp_client_id=flags.idp_client_id,
            idp_client_secret=secret_value(flags.idp_client_secret, flag="--idp-client-secret", env_name=ENV_IDP_CLIENT_SECRET, env=env),
            id_token=flags.id_token,
        ),
    )


def secret_value(value: str | None, *, flag: str, env_name: str, env: Mapping[str, str]) -> str | None:
    """A secret option (issue #15 item 10): ``-`` reads it from stdin (a hidden prompt on a terminal);
    absent, the environment's ``env_name``; a literal value works but is warned about on stderr."""
    if value is None:
        return env.get(env_name) or None
    if value == STDIN:
        return read_secret(flag)
    sys.stderr.write(
        f"warning: {flag} was given on the command line, where it may stay in your shell history and is visible to other local users; "
        f"set {env_name}, or pass {flag} - to read it from stdin (a hidden prompt on a terminal).\n"
    )
    return value


def read_secret(flag: str) -> str:
    """One line: a hidden prompt when stdin is a terminal, else stdin's first line (read unbuffered, so a
    later reader of stdin, e.g. the --no-browser paste, sees the rest)."""
    from authkit_mcp_cli.errors import UsageError

    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        import getpass

        try:
            value = getpass.getpass(f"{flag} (input hidden): ")
        except EOFError:
            value = ""
    else:
        value = _read_line(stdin) if stdin is not None else ""
    value = value.rstrip("\r\n")
    if not value:
        raise UsageError(f"{flag} - read nothing from stdin.", code=ErrorCode.USAGE_SECRET_MISSING, hint=f"Pipe the secret in (e.g. {flag} - < secret.txt), or type it at the prompt on a terminal.")
    return value


def _read_line(stream: Any) -> str:
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # not a real file (tests hand a StringIO)
        return str(stream.readline())
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        data.extend(byte)
    return data.decode("utf-8", "replace")


def _stdin_is_terminal() -> bool:
    """On a terminal a pasted redirect URL is read beside the callback, so a login whose browser is on
    another machine (SSH) finishes without starting over (issue #24 item 5)."""
    from authkit_mcp_cli.client.waiting import stdin_is_terminal

    return stdin_is_terminal()


def _stdin_lines() -> Callable[[], str | None] | None:
    """A blocking line reader for stdin; None at end of input. It reads the file
    descriptor itself (os.read), so a thread blocked in it holds no lock of
    sys.stdin's buffer when the program exits without a line."""
    if sys.stdin is None:
        return None
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):  # not a real file (tests hand a StringIO)
        read = sys.stdin.readline
        return lambda: read() or None  # "" is end of input
    pending = bytearray()

    def read_line() -> str | None:
        while b"\n" not in pending:
            chunk = os.read(fd, 4096)
            if not chunk:
                if not pending:
                    return None
                line = bytes(pending)
                pending.clear()
                return line.decode("utf-8", "replace")
            pending.extend(chunk)
        line, _, rest = bytes(pending).partition(b"\n")
        pending[:] = rest
        return line.decode("utf-8", "replace") + "\n"

    return read_line


def store_warning(message: str) -> None:
    """The store's warnings (a file or folder readable by others, a corrupt record set aside) on stderr."""
    sys.stderr.write(f"warning: {message}\n")


class LocalContext:
    """Just the credential store: what token show and logout (with nothing to revoke) run with, so
    they build no HTTP client and import no httpx (issue #16 item 2)."""

    def __init__(self, store: Store | None = None) -> None:
        from authkit_mcp_cli.store import Store

        self.store = store or Store(warn=store_warning)


def stored_session(ctx: HasStore, server: str | None) -> Session:
    """The stored login for --server (or the environment's server), or the only one stored."""
    from authkit_mcp_cli.client.session import Session, require_session
    from authkit_mcp_cli.config import load_environment, resolve_target
    from authkit_mcp_cli.errors import AuthorizationDenied, UsageError
    from authkit_mcp_cli.urls import parse_target_url

    if server is None:
        server = resolve_target(None, None, load_environment()).server_url
    if server is None:
        stored = ctx.store.all_tokens()
        if len(stored) == 1:
            return Session.from_record(stored[0][1])
        if not stored:
            raise AuthorizationDenied("No stored logins.", code=ErrorCode.LOGIN_NOT_LOGGED_IN, hint="Run atoms-auth login --server <URL>.")
        raise UsageError(f"{len(stored)} logins are stored; say which with --server.", code=ErrorCode.USAGE_AMBIGUOUS_LOGIN, hint="Servers: " + ", ".join(sorted({d.get('server_url', '?') for _, d in stored})))
    return require_session(ctx, parse_target_url(server, what="MCP server URL", flag="--server"))


def reporter(quiet: bool) -> Callable[[str, str], None]:
    def report(step: str, detail: str) -> None:
        if quiet and step not in ("warning", "device"):  # the device flow's code is the user's next step, even under --json
            return
        from rich.markup import escape  # rich loads with the first line of progress (issue #16 item 2)

        from authkit_mcp_cli.console import stderr_console

        console = stderr_console()
        label = STEP_LABELS.get(step, step)
        style = "yellow" if step == "warning" else "cyan"
        console.print(f"[{style}]{label:>13}[/] {escape(detail)}", highlight=False, soft_wrap=True)

    return report


class LazyClient:
    """The httpx client, built on first use: a call whose stored token the server accepts never sends
    through it (the MCP SDK has its own), so it costs no transport and no TLS context (issue #16 item 2)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._build()
        return getattr(self._client, name)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


@contextlib.asynccontextmanager
async def client_context(http: HttpOptions, *, reveal: bool = False, quiet: bool = False) -> AsyncIterator[Context]:
    """A Context with the run's one HTTP session (``http``'s deadline, https rule and trace, secrets
    shown in it only with ``reveal``), the store, and progress on stderr (``quiet``: warnings only)."""
    from authkit_mcp_cli.client.context import Context
    from authkit_mcp_cli.http import HttpPolicy, HttpSession
    from authkit_mcp_cli.store import Store
    from authkit_mcp_cli.trace import TraceWriter

    writer = TraceWriter(str(Path(http.trace)), reveal=reveal) if http.trace else None
    report = reporter(quiet or http.quiet)
    if http.verbose:  # -v: one line per exchange, beside a --trace file when there is one (issue #24 item 8)
        from authkit_mcp_cli.trace import ExchangeLines

        writer = ExchangeLines(lambda line: reporter(False)("http", line), also=writer)
    session = HttpSession(HttpPolicy(timeout=http.timeout, allow_insecure=http.allow_http), trace=writer)
    client = LazyClient(session.client)
    try:
        # an httpx.AsyncClient once used (LazyClient forwards every attribute)
        from authkit_mcp_cli.commands._waiting import countdown  # the terminal's spinner with the time left

        yield Context(client=client, store=Store(warn=store_warning), http=session, report=report, countdown=countdown)  # type: ignore[arg-type]
    finally:
        try:
            await client.aclose()
        finally:
            if writer:
                writer.close()
