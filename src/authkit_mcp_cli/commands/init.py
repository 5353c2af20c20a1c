"""``atoms-auth init``: a working AuthKit configuration, guided."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.error_codes import ErrorCode

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.model import Result as CheckResult
    from authkit_mcp_cli.errors import UsageError


def init(
    authkit_domain: options.ConfiguredAuthkitDomain = None,
    base_url: Annotated[str | None, typer.Option("--base-url", metavar="URL", help="Your MCP server's public origin, e.g. https://mcp.example.com (no path: that is --path).", show_default=False)] = None,
    path: Annotated[str | None, typer.Option("--path", metavar="PATH", help="The MCP endpoint path, e.g. /api/mcp.", show_default=False)] = None,
    scopes: Annotated[str | None, typer.Option("--scopes", metavar="SCOPES", help="Required scopes (comma separated); empty for none.", show_default=False)] = None,
    workos_client_id: Annotated[str | None, typer.Option("--workos-client-id", metavar="ID", help="Also write WORKOS_CLIENT_ID.", show_default=False)] = None,
    workos_api_key: Annotated[
        str | None,
        typer.Option(
            "--workos-api-key",
            metavar="KEY|-",
            help="Also write WORKOS_API_KEY (never echoed): - reads it from stdin (a hidden prompt on a terminal); a literal value may stay in your shell history (warned). Default: $WORKOS_API_KEY.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE", help="The file to write.")] = ".env",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept defaults and confirm overwriting (keeps a backup).")] = False,
    no_check: Annotated[bool, typer.Option("--no-check", help="Do not check the AuthKit domain live (its URL is still validated).")] = False,
    json_output: options.Json = False,
    timeout: options.Timeout = 10.0,
) -> None:
    """Write the .env the integration guide describes, after checking the AuthKit domain live.

    Asks for what the flags did not give on a terminal (an empty answer takes
    the default shown); without a terminal it names every missing flag in one
    error (--yes takes the defaults). The AuthKit domain must be an origin
    (https://your-env.authkit.app, no path, not pasted twice), checked even
    with --no-check. Runs doctor's authorization-server checks against the
    domain, writes FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_* and
    ATOMS_FASTMCP_HTTP_PATH (WORKOS_* only when given), never overwrites
    without confirmation (a backup is kept), and ends with the dashboard
    steps still to do, filled in with your values. --json prints what was
    written (never the API key).
    """
    import json
    from pathlib import Path

    from authkit_mcp_cli import envfile
    from authkit_mcp_cli.commands._client import secret_value
    from authkit_mcp_cli.commands._render import GREEN, print_line
    from authkit_mcp_cli.config import DEFAULT_HTTP_PATH, ENV_AUTHKIT_DOMAIN, ENV_BASE_URL, ENV_HTTP_PATH, ENV_REQUIRED_SCOPES, load_environment
    from authkit_mcp_cli.errors import AtomsAuthError
    from authkit_mcp_cli.prompts import ask_text, confirm, interactive
    from authkit_mcp_cli.server.config import normalise_path

    env = load_environment()
    api_key = secret_value(workos_api_key, flag="--workos-api-key", env_name=ENV_API_KEY, env=env)
    defaults = {
        "--authkit-domain": env.get(ENV_AUTHKIT_DOMAIN) or None,
        "--base-url": env.get(ENV_BASE_URL) or "http://127.0.0.1:8000",
        "--path": env.get(ENV_HTTP_PATH) or DEFAULT_HTTP_PATH,
        "--scopes": env.get(ENV_REQUIRED_SCOPES, ""),
    }
    given = {"--authkit-domain": authkit_domain, "--base-url": base_url, "--path": path, "--scopes": scopes}
    if not interactive():
        missing = [flag for flag, value in given.items() if value is None and (not yes or defaults[flag] is None)]
        if missing:
            raise _missing_flags(missing, defaults, yes=yes)

    def ask(flag: str, question: str, env_name: str, validate: Callable[[str], str | None] | None = None) -> str:
        value = given[flag]
        return value if value is not None else ask_text(question, flag=f"{flag}", env=env_name, default=defaults[flag], yes=yes, validate=validate)

    domain = origin(bare_domain(ask("--authkit-domain", "AuthKit domain (WorkOS dashboard -> Authentication -> AuthKit):", ENV_AUTHKIT_DOMAIN, domain_problem)), what="AuthKit domain", flag="--authkit-domain")
    base = origin(ask("--base-url", "Your MCP server's public URL (origin):", ENV_BASE_URL, base_problem), what="Base URL", flag="--base-url")
    mcp_path = normalise_path(ask("--path", "MCP endpoint path:", ENV_HTTP_PATH))
    scope_text = ask("--scopes", "Required scopes (comma separated; - for none):", ENV_REQUIRED_SCOPES)
    scope_list = [s for s in scope_text.replace(" ", ",").split(",") if s and s != "-"]

    check = None
    if not no_check:
        from rich.markup import escape

        from authkit_mcp_cli.console import stderr_console, stdout_console

        out = stderr_console() if json_output else stdout_console()  # --json: stdout holds only the document
        check = _check_domain(domain, timeout)
        from authkit_mcp_cli.words import plural

        out.print(f"Checked {escape(domain)}: {check['passed']} passed, {plural(len(check['warnings']), 'warning')}, {len(check['failures'])} failed.", highlight=False, soft_wrap=True)
        for r in [*check["failures"], *check["warnings"]]:
            out.print(f"  [bold]{r['status'].upper()}[/] {r['id']}: {escape(r['message'])}", highlight=False, soft_wrap=True)
            if r.get("fix"):
                out.print(f"       fix: {escape(r['fix'])}", highlight=False, soft_wrap=True)
        if check["failures"] and not (interactive() and not json_output and confirm("The AuthKit domain check failed. Write the .env anyway?", flag="--no-check", default=False)):
            raise AtomsAuthError(
                f"The AuthKit domain check failed ({', '.join(r['id'] for r in check['failures'])}); {output} was not written.",
                code=ErrorCode.INIT_CHECK_FAILED,
                hint="Fix the AuthKit domain (the findings above say how), or pass --no-check to write it anyway.",
            )

    values = {
        "FASTMCP_SERVER_AUTH": "fastmcp.server.auth.providers.workos.AuthKitProvider",
        ENV_AUTHKIT_DOMAIN: domain,
        ENV_BASE_URL: base,
        ENV_REQUIRED_SCOPES: ",".join(scope_list),
        ENV_HTTP_PATH: mcp_path,
    }
    if workos_client_id:
        values["WORKOS_CLIENT_ID"] = workos_client_id
    if api_key:
        values[ENV_API_KEY] = api_key
    target_file = Path(output)
    if target_file.exists() and not confirm(f"{output} exists. Update it (a backup is kept)?", flag="--yes", default=False, yes=yes):
        raise AtomsAuthError(f"{output} was not written: updating it was declined.", code=ErrorCode.INIT_NOT_WRITTEN, hint="Pass --output FILE to write another file, or --yes to update it (a backup is kept).")
    backup = envfile.write(target_file, values)
    shown = {key: (HIDDEN if key == ENV_API_KEY else value) for key, value in values.items()}
    resource = base + mcp_path
    steps = dashboard_steps(resource)
    if json_output:
        doc = {"schema": 1, "written": str(target_file), "backup": str(backup) if backup else None, "values": shown, "resource": resource, "check": check, "next_steps": steps}
        typer.echo(json.dumps({"schema": 1, **doc}, indent=2, ensure_ascii=False))
        raise typer.Exit(0)
    # plain lines (commands._render): no rich for what --no-check writes (issue #16 item 2)
    print_line(f"wrote {target_file}" + (f" (previous version kept as {backup.name})" if backup else ""), bold=len("wrote"), style=GREEN)
    for key, value in shown.items():
        print_line(f"  {key}={value}")
    print_line("")
    print_line("Still to do in the WorkOS dashboard", bold=len("Still to do in the WorkOS dashboard"))
    for i, step in enumerate(steps, 1):
        print_line(f"  {i}. {step}")


ENV_API_KEY = "WORKOS_API_KEY"
HIDDEN = "(set, not shown)"


def _missing_flags(missing: list[str], defaults: dict[str, str | None], *, yes: bool) -> UsageError:
    """Every flag init still needs without a terminal, in one error (issue #15 item 9)."""
    from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN, ENV_BASE_URL, ENV_HTTP_PATH, ENV_REQUIRED_SCOPES
    from authkit_mcp_cli.errors import UsageError

    examples = {"--authkit-domain": "https://your-env.authkit.app", "--base-url": "https://mcp.example.com", "--path": "/api/mcp", "--scopes": "''"}
    names = {"--authkit-domain": ENV_AUTHKIT_DOMAIN, "--base-url": ENV_BASE_URL, "--path": ENV_HTTP_PATH, "--scopes": ENV_REQUIRED_SCOPES}
    with_default = [f for f in missing if defaults[f] is not None]
    hint = "Pass " + " ".join(f"{f} {examples[f]}" for f in missing) + " (or set " + ", ".join(names[f] for f in missing) + " in the environment or .env)"
    if with_default and not yes:
        hint += "; --yes takes the defaults of " + ", ".join(with_default)
    return UsageError(f"Without a terminal to ask on, init needs {', '.join(missing)}.", code=ErrorCode.USAGE_MISSING_OPTIONS, hint=hint + ".")


def bare_domain(text: str) -> str:
    """A bare host where a domain is asked (``your-env.authkit.app``, as the dashboard shows it) is https:// on it
    (issue #24 item 14); anything else is left for the URL check to judge."""
    value = text.strip()
    if value and "://" not in value and "." in value and not any(c in value for c in " /?#@"):
        return f"https://{value}"
    return text


def domain_problem(text: str) -> str | None:
    """Why ``text`` is not an AuthKit domain: not an http(s) URL, pasted twice, or with a path."""
    return _origin_problem(bare_domain(text), what="AuthKit domain", flag="--authkit-domain", example="https://your-env.authkit.app")


def base_problem(text: str) -> str | None:
    return _origin_problem(text, what="Base URL", flag="--base-url", example="https://mcp.example.com")


def _origin_problem(text: str, *, what: str, flag: str, example: str) -> str | None:
    from urllib.parse import urlsplit

    from authkit_mcp_cli.errors import UsageError
    from authkit_mcp_cli.urls import parse_target_url

    try:
        value = parse_target_url(text, what=what, flag=flag)
    except UsageError as exc:
        return exc.message
    lowered = value.lower()
    host = (urlsplit(value).hostname or "").lower()
    if lowered.count("http://") + lowered.count("https://") > 1 or host.count(".authkit.app") > 1:
        return f"{what} {value!r} holds a URL twice (pasted into a pre-filled answer?); give {example} once."
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
        extra = " (the endpoint path goes in --path)" if flag == "--base-url" else ""
        return f"{what} {value!r} must be an origin, e.g. {example}: no path, query or user{extra}."
    return None


def origin(text: str, *, what: str, flag: str) -> str:
    """``text`` as scheme://host[:port], or a usage error saying why it is not one (even with --no-check)."""
    from urllib.parse import urlsplit

    from authkit_mcp_cli.errors import UsageError

    problem = _origin_problem(text, what=what, flag=flag, example="https://your-env.authkit.app" if flag == "--authkit-domain" else "https://mcp.example.com")
    if problem:
        raise UsageError(problem, code=ErrorCode.USAGE_INVALID_URL, hint=f"Pass {flag} with an origin: scheme://host[:port].")
    parts = urlsplit(text.strip())
    return f"{parts.scheme}://{parts.netloc}"


def _check_domain(domain: str, timeout: float) -> dict:
    """doctor's as.* and authkit.* checks against the domain: counts, and the failures and warnings."""
    import asyncio

    from authkit_mcp_cli.checks.catalogue import CATALOGUE
    from authkit_mcp_cli.checks.model import Status
    from authkit_mcp_cli.config import resolve_target
    from authkit_mcp_cli.doctor import diagnose

    target = resolve_target(None, domain, {})
    # init sets up AuthKit (it writes FASTMCP_SERVER_AUTH=...AuthKitProvider): the configuration says so
    diagnosis = asyncio.run(diagnose(target, [c for c in CATALOGUE if c.id.startswith(("as.", "authkit."))], timeout=timeout, as_kind="atoms-auth init (AuthKit setup)"))

    def row(r: CheckResult) -> dict[str, Any]:
        # a root cause (the domain cannot be reached) says why: the DNS failure, a refused connection (issue #24 item 14)
        message = r.cause.message if r.cause is not None and r.cause.kind != "failed" else r.message
        return {"id": r.check.id, "status": r.status.value, "message": message, "fix": r.fix}

    return {
        "passed": sum(r.status is Status.PASS for r in diagnosis.results),
        "failures": [row(r) for r in diagnosis.results if r.status in (Status.FAIL, Status.ERROR)],
        "warnings": [row(r) for r in diagnosis.results if r.status is Status.WARN],
    }


def dashboard_steps(resource: str) -> list[str]:
    return [
        "Connect -> Configuration: enable Client ID Metadata Documents (preferred by the 2026-07-28 spec) and/or Dynamic Client Registration (older clients).",
        "Authentication -> AuthKit -> Configuration, Redirect URIs: add http://127.0.0.1:3000/oauth/callback and http://localhost:3000/oauth/callback (atoms-auth login and local tools), plus the redirect URI of each MCP client you use.",
        f"MCP Resource Indicators: add exactly {resource} (no trailing slash), so AuthKit tokens carry it as their audience.",
        f"Then check everything: atoms-auth doctor --server {resource}",
    ]
