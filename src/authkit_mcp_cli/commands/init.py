"""``atoms-auth init``: a working AuthKit configuration, guided."""

from __future__ import annotations

from typing import Annotated

import typer

from authkit_mcp_cli.commands import options


def init(
    authkit_domain: options.AuthkitDomain = None,
    base_url: Annotated[str | None, typer.Option("--base-url", metavar="URL", help="Your MCP server's public origin, e.g. https://mcp.example.com.", show_default=False)] = None,
    path: Annotated[str | None, typer.Option("--path", help="The MCP endpoint path.", show_default=False)] = None,
    scopes: Annotated[str | None, typer.Option("--scopes", metavar="a,b", help="Required scopes (comma separated); empty for none.", show_default=False)] = None,
    workos_client_id: Annotated[str | None, typer.Option("--workos-client-id", help="Also write WORKOS_CLIENT_ID.", show_default=False)] = None,
    workos_api_key: Annotated[str | None, typer.Option("--workos-api-key", help="Also write WORKOS_API_KEY (never echoed).", show_default=False)] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="The file to write.")] = ".env",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept defaults and confirm overwriting (keeps a backup).")] = False,
    no_check: Annotated[bool, typer.Option("--no-check", help="Do not check the AuthKit domain live.")] = False,
    timeout: options.Timeout = 10.0,
) -> None:
    """Write the .env the integration guide describes, after checking the AuthKit domain live.

    Asks for what the flags did not give (on a terminal; otherwise it names
    the missing flag), runs doctor's authorization-server checks against the
    domain, writes FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_* and
    ATOMS_FASTMCP_HTTP_PATH (WORKOS_* only when given), never overwrites
    without confirmation (a backup is kept), and ends with the dashboard
    steps still to do, filled in with your values.
    """
    import asyncio
    from pathlib import Path
    from urllib.parse import urlsplit

    from rich.markup import escape

    from authkit_mcp_cli import envfile
    from authkit_mcp_cli.checks import CATALOGUE, Status
    from authkit_mcp_cli.config import DEFAULT_HTTP_PATH, ENV_AUTHKIT_DOMAIN, ENV_BASE_URL, ENV_HTTP_PATH, ENV_REQUIRED_SCOPES, load_environment, resolve_target
    from authkit_mcp_cli.console import stdout_console
    from authkit_mcp_cli.doctor import diagnose
    from authkit_mcp_cli.prompts import ask_text, confirm
    from authkit_mcp_cli.server.config import normalise_path
    from authkit_mcp_cli.urls import parse_target_url

    env = load_environment()
    out = stdout_console()

    def url_problem(text: str) -> str | None:
        try:
            parse_target_url(text, what="URL", flag="")
        except Exception as exc:  # UsageError: shown under the prompt
            return getattr(exc, "message", str(exc))
        return None

    domain = authkit_domain or ask_text("AuthKit domain (WorkOS dashboard -> Authentication -> AuthKit):", flag="--authkit-domain", env=ENV_AUTHKIT_DOMAIN, default=env.get(ENV_AUTHKIT_DOMAIN), yes=yes, validate=url_problem)
    domain = parse_target_url(domain, what="AuthKit domain", flag="--authkit-domain").rstrip("/")
    base = base_url or ask_text("Your MCP server's public URL (origin):", flag="--base-url", env=ENV_BASE_URL, default=env.get(ENV_BASE_URL) or "http://127.0.0.1:8000", yes=yes, validate=url_problem)
    base = parse_target_url(base, what="Base URL", flag="--base-url")
    parts = urlsplit(base)
    base = f"{parts.scheme}://{parts.netloc}"
    mcp_path = normalise_path(path or ask_text("MCP endpoint path:", flag="--path", env=ENV_HTTP_PATH, default=env.get(ENV_HTTP_PATH) or DEFAULT_HTTP_PATH, yes=yes))
    scope_text = scopes if scopes is not None else ask_text("Required scopes (comma separated, empty for none):", flag="--scopes", env=ENV_REQUIRED_SCOPES, default=env.get(ENV_REQUIRED_SCOPES, ""), yes=yes)
    scope_list = [s for s in scope_text.replace(" ", ",").split(",") if s]

    if not no_check:
        target = resolve_target(None, domain, {})
        # init sets up AuthKit (it writes FASTMCP_SERVER_AUTH=...AuthKitProvider): the configuration says so
        diagnosis = asyncio.run(diagnose(target, [c for c in CATALOGUE if c.id.startswith(("as.", "authkit."))], timeout=timeout, as_kind="atoms-auth init (AuthKit setup)"))
        bad = [r for r in diagnosis.results if r.status in (Status.FAIL, Status.ERROR)]
        warn = [r for r in diagnosis.results if r.status is Status.WARN]
        out.print(f"Checked {escape(domain)}: {sum(r.status is Status.PASS for r in diagnosis.results)} passed, {len(warn)} warnings, {len(bad)} failed.", highlight=False, soft_wrap=True)
        for r in [*bad, *warn]:
            out.print(f"  [bold]{r.status.value.upper()}[/] {r.check.id}: {escape(r.message)}", highlight=False, soft_wrap=True)
            if r.fix:
                out.print(f"       fix: {escape(r.fix)}", highlight=False, soft_wrap=True)
        if bad and not confirm("The AuthKit domain check failed. Write the .env anyway?", flag="--no-check", default=False, yes=False):
            raise typer.Exit(1)

    values = {
        "FASTMCP_SERVER_AUTH": "fastmcp.server.auth.providers.workos.AuthKitProvider",
        ENV_AUTHKIT_DOMAIN: domain,
        ENV_BASE_URL: base,
        ENV_REQUIRED_SCOPES: ",".join(scope_list),
        ENV_HTTP_PATH: mcp_path,
    }
    if workos_client_id:
        values["WORKOS_CLIENT_ID"] = workos_client_id
    if workos_api_key:
        values["WORKOS_API_KEY"] = workos_api_key
    target_file = Path(output)
    if target_file.exists() and not confirm(f"{output} exists. Update it (a backup is kept)?", flag="--yes", default=False, yes=yes):
        raise typer.Exit(2)
    backup = envfile.write(target_file, values)
    out.print(f"[bold green]wrote[/] {escape(str(target_file))}" + (f" (previous version kept as {escape(backup.name)})" if backup else ""), highlight=False, soft_wrap=True)
    for key, value in values.items():
        shown = "(set, not shown)" if key == "WORKOS_API_KEY" else value
        out.print(f"  {key}={escape(shown)}", highlight=False, soft_wrap=True)

    resource = base + mcp_path
    out.print("\n[bold]Still to do in the WorkOS dashboard[/]", highlight=False)
    steps = [
        "Connect -> Configuration: enable Client ID Metadata Documents (preferred by the 2026-07-28 spec) and/or Dynamic Client Registration (older clients).",
        "Authentication -> AuthKit -> Configuration, Redirect URIs: add http://127.0.0.1:3000/oauth/callback and http://localhost:3000/oauth/callback (atoms-auth login and local tools), plus the redirect URI of each MCP client you use.",
        f"MCP Resource Indicators: add exactly {resource} (no trailing slash), so AuthKit tokens carry it as their audience.",
        f"Then check everything: atoms-auth doctor --server {resource}",
    ]
    for i, step in enumerate(steps, 1):
        out.print(f"  {i}. {escape(step)}", highlight=False, soft_wrap=True)
