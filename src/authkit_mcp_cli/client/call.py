"""Authenticated MCP requests: a thin loop that sends, asks
:func:`~authkit_mcp_cli.client.policy.decide` what the refusal means, and
performs that action (refresh, step-up, log in again) or fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.client.policy import ActionFailed, Challenged, Expired, Fail, Outcome, Refresh, ReLogin, RetryState, StepUp, decide
from authkit_mcp_cli.client.server_error import explained, failed_on_token, probe_without_token
from authkit_mcp_cli.client.session import Session, load_session
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AtomsAuthError, AuthChallenge, RemoteRefused
from authkit_mcp_cli.mcp_wire import LogLine, with_session

if TYPE_CHECKING:
    from authkit_mcp_cli.client.context import Context, LoginOptions
    from authkit_mcp_cli.discovery import Discovered

T = TypeVar("T")


# Loaded when needed: a stored token the server accepts needs no login, refresh or discovery, nor
# their imports (the grants, pyjwt, cryptography; issue #16 item 2).
async def login(ctx: Context, server_url: str, opts: LoginOptions, *, disc: Discovered | None = None) -> Session:
    from authkit_mcp_cli.client.login import login as run

    return await run(ctx, server_url, opts, disc=disc)


async def refresh(ctx: Context, session: Session, *, force: bool = False) -> Session:
    from authkit_mcp_cli.client.refresh import refresh as run

    return await run(ctx, session, force=force)


async def discover(client: Any, server_url: str, policy: Any, **options: Any) -> Discovered:
    from authkit_mcp_cli.discovery import discover as run

    return await run(client, server_url, policy, **options)


async def call_mcp(
    ctx: Context,
    server_url: str,
    operation: Callable[[Any], Awaitable[T]],
    *,
    wire: str,
    opts: LoginOptions,
    allow_login: bool,
    allow_step_up: bool = True,
    session: Session | None = None,
    on_log: Callable[[LogLine], None] | None = None,
) -> tuple[T, Session | None]:
    """Run an MCP operation, authorizing as the server demands; ``session``: a login just made (its token is fresh).

    Without a stored login the request goes out anonymously first: the server's
    own 401 (or 403) on the real request starts discovery, as the spec's flow
    begins, even on servers that guard only some methods. Server log
    notifications go to ``on_log``. ``allow_step_up=False`` (with
    ``allow_login=False``): nothing here authorizes, so no browser opens.
    """
    fresh = session is not None
    session = session or load_session(ctx, server_url)
    state = RetryState.start(server_url, session, allow_login=allow_login, fresh=fresh, allow_step_up=allow_step_up)
    outcome: Outcome | None = Expired() if session is not None and not fresh and session.tokens.expired() else None
    challenge: AuthChallenge | None = None
    disc: Discovered | None = None  # from the last challenge, when already looked up
    server_failure: RemoteRefused | None = None  # a server error on the token, explained (it stands for a refusal)
    while True:
        if outcome is None:
            disc, server_failure = None, None
            token = state.session.tokens.access_token if state.session else None
            try:
                result = await with_session(server_url, token, operation, http=ctx.http, wire=wire, on_log=on_log, dpop=state.session.tokens.dpop_key if state.session else None)
                return result, state.session
            except AuthChallenge as refused:
                challenge = refused
                outcome = Challenged(refused)
                if state.session is not None and refused.status == 401:
                    # which AS the server names now: a different one means "log in there" (AS moved)
                    disc = await _rediscover(ctx, server_url, refused, state.session.issuer, opts)
                    outcome = Challenged(refused, disc.issuer, disc.resource)
            except RemoteRefused as failed:
                if not failed_on_token(failed, token):
                    raise
                probe_status, anonymous = await probe_without_token(ctx, server_url)
                server_failure = explained(failed, probe_status, anonymous, server_url, fresh=state.fresh)
                if anonymous is None or state.fresh or state.session is None:
                    raise server_failure from None
                ctx.report("warning", f"the server answered HTTP {failed.status} on the stored token and 401 without it: taking the token as refused")
                challenge, outcome = anonymous, Challenged(anonymous)
        action = decide(state, outcome)
        outcome = None
        if isinstance(action, Fail):
            # a token the server failed on was never refused with a 401: say what was seen, not a refusal
            raise server_failure if server_failure is not None and action.error.code == ErrorCode.MCP_TOKEN_REJECTED else action.error
        if isinstance(action, Refresh) and state.session is not None:
            try:
                state = state.refreshed_to(await refresh(ctx, state.session, force=True))
            except AtomsAuthError as exc:
                outcome = ActionFailed(exc)
        elif isinstance(action, StepUp):
            ctx.report("step-up", f"{challenge}: authorizing again with {action.scopes}")
            disc = await _rediscover(ctx, server_url, challenge, state.session.issuer if state.session else None, opts)
            from authkit_mcp_cli.discovery import select_scope

            asked = select_scope(disc.challenge_scope, disc, [action.scopes])  # what login will ask the AS for
            state = state.stepped_up(await login(ctx, server_url, replace(opts, scopes=[action.scopes]), disc=disc), asked=asked)
            opts = replace(opts, new_client=False)  # --new-client means one new registration, not one per login
        elif isinstance(action, ReLogin):
            ctx.report("login", action.reason)
            if challenge is not None and (disc is None or (action.issuer and disc.issuer != action.issuer)):
                disc = await _rediscover(ctx, server_url, challenge, action.issuer, opts)
            state = state.logged_in(await login(ctx, server_url, opts, disc=disc), after_refusal=action.after_refusal)
            opts = replace(opts, new_client=False)


async def _rediscover(ctx: Context, server_url: str, challenge: AuthChallenge | None, prefer_issuer: str | None, opts: LoginOptions) -> Discovered:
    """Discovery from the challenge the server just sent on a real request (no extra probe); a
    pre-registered client's AS is the only one it goes on to (client.issuer_binding)."""
    from authkit_mcp_cli.client.issuer_binding import binding_for

    found = Challenges.read(challenge.status, challenge.www_authenticate) if challenge is not None else None
    disc = await discover(ctx.client, server_url, ctx.policy, prefer_issuer=prefer_issuer, challenge=found, browser_flow=opts.browser_flow, binding=binding_for(opts, ctx.store))
    ctx.report("discover", f"resource {disc.resource}; authorization server {disc.issuer}")
    return disc
