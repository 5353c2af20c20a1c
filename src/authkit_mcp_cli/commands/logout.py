"""``atoms-auth logout``: revoke at the AS when it can, say what it answered, then forget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.commands.option_groups import with_option_groups
from authkit_mcp_cli.error_codes import ErrorCode

if TYPE_CHECKING:
    from authkit_mcp_cli.client.logout import LogoutResult, Revocation
    from authkit_mcp_cli.client.session import Session
    from authkit_mcp_cli.errors import RemoteDetail, RemoteRefused


@with_option_groups
def logout(
    server: options.Server = None,
    all_: Annotated[bool, typer.Option("--all", help="Log out of every stored server.")] = False,
    json_output: options.Json = False,
    *,
    http: options.HttpOptions,
) -> None:
    """Revoke the stored tokens at the AS (RFC 7009), report what it answered for each, and delete them.

    Each token is revoked, refused (the AS's status and error), failed (the
    AS could not be reached), or not-possible (the AS offers no revocation
    endpoint). A token that was not revoked stays valid at the AS until it
    expires; the time is printed when known. The stored tokens are deleted
    in every case. Nothing stored (for --server, or at all) is not an
    error: there is nothing to log out, with or without --all.
    """
    import json

    from authkit_mcp_cli.client.logout import forget
    from authkit_mcp_cli.client.session import Session
    from authkit_mcp_cli.commands._client import LocalContext, stored_session
    from authkit_mcp_cli.errors import AuthorizationDenied
    from authkit_mcp_cli.option_rules import mutually_exclusive
    from authkit_mcp_cli.safe_text import json_text

    mutually_exclusive({"--server": server, "--all": all_}, "--all logs out of every stored server")

    nothing: list[str] = []  # why nothing was logged out: the same answer with or without --all (exit 0)
    local = LocalContext()
    if all_:
        sessions = [Session.from_record(d) for _, d in local.store.all_tokens()]
    else:
        try:
            sessions = [stored_session(local, server)]
        except AuthorizationDenied as exc:
            if exc.code != ErrorCode.LOGIN_NOT_LOGGED_IN:
                raise
            sessions = []
            nothing.append(exc.message)
    # An AS without a revocation endpoint gets nothing: forgetting is a file deletion, and the HTTP
    # client (httpx) and event loop are built only when some AS can be asked (issue #16 item 2).
    forgotten = [forget(local, s) for s in sessions]
    to_revoke = [s for s, done in zip(sessions, forgotten, strict=True) if done is None]
    revoked = iter(_revoke_all(to_revoke, http) if to_revoke else [])
    results = [done if done is not None else next(revoked) for done in forgotten]
    ok = all(r.ok for r in results)
    error = None if ok else _not_revoked(results)
    if not results and not nothing:
        nothing.append("No stored logins.")
    if json_output:
        doc = {"schema": 1, "ok": ok, "logged_out": [r.to_json() for r in results]}
        if nothing:
            doc["note"] = nothing[0] + " Nothing to log out."
        if error is not None:
            doc["error"] = error.to_json()
        typer.echo(json_text(json.dumps({"schema": 1, **doc}, indent=2, ensure_ascii=False)))  # an AS's C1 controls escaped too
        raise typer.Exit(0 if ok else 1)
    from authkit_mcp_cli.commands._render import print_line

    if nothing:
        print_line(f"{nothing[0]} Nothing to log out.")
    for result in results:
        print_line(f"{result.server_url} (authorization server {result.issuer})", bold=len(result.server_url))
        for line in result.notes:
            print_line(f"  {line}")
    if error is not None:
        from authkit_mcp_cli.commands._boundary import report_error

        report_error(error, as_json=False)
        raise typer.Exit(error.exit_code)
    raise typer.Exit(0)


def _revoke_all(sessions: list[Session], http: options.HttpOptions) -> list[LogoutResult]:
    """Revoke at the AS (RFC 7009) and forget, one stored login after another, with one HTTP client."""
    import asyncio

    from authkit_mcp_cli.client.logout import logout as run_logout
    from authkit_mcp_cli.commands._client import client_context

    async def run() -> list[LogoutResult]:
        async with client_context(http, quiet=True) as ctx:
            return [await run_logout(ctx, s) for s in sessions]

    return asyncio.run(run())


def _not_revoked(results: list[LogoutResult]) -> RemoteRefused:
    """The ``logout.not-revoked`` error: which tokens the AS did not revoke, and until when they stay valid."""
    from authkit_mcp_cli.errors import RemoteRefused

    failed = [(res, r) for res in results for r in res.revocations if r.outcome in ("refused", "failed")]
    which = "; ".join(f"{res.server_url}: {r.message}" for res, r in failed)
    return RemoteRefused(
        f"The authorization server did not revoke {len(failed)} token(s); atoms-auth forgot them anyway, but the AS still accepts them until they expire. {which}.",
        code=ErrorCode.LOGOUT_NOT_REVOKED,
        hint="If a token may have leaked, revoke it at the AS (its dashboard or admin API), or wait until it expires; a refused revocation of a confidential client's token may need the client secret (atoms-auth register --auth-method client_secret_post).",
        spec="RFC 7009 §2.2, §2.2.1",
        remote=_remote(failed[0][1]) if len(failed) == 1 else None,
    )


def _remote(revocation: Revocation) -> RemoteDetail | None:
    from authkit_mcp_cli.errors import RemoteDetail

    return RemoteDetail(status=revocation.status, error=revocation.error, error_description=revocation.error_description) if revocation.status else None
