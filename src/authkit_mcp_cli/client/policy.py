"""What to do when the MCP server refuses: a pure function from what we hold
and what just happened to the next action, so every branch is tested on
canned challenges (the way httpx tests ``auth_flow``).

    decide(state, outcome) -> Refresh | StepUp(scopes) | ReLogin(issuer) | Fail(error)

The rules (MCP 2026-07-28 Authorization; RFC 6750 §3.1):
- not logged in: log in (with ``--login``), else fail ``login.not-logged-in``;
- 401 and the server's metadata now names another AS: log in there, never
  reusing the old AS's credentials ("AS moved");
- 401 on a token issued or refreshed during this run: the server refuses
  tokens as the AS issues them; retrying cannot help: ``mcp.token-rejected``;
- 401 on a stored token: refresh once, else log in again (with ``--login``);
- 403 ``insufficient_scope``: authorize again with the union of the scopes,
  at most 3 authorizations in all ("Step-Up Authorization Flow"); where no
  browser may open (the agent's ``call`` tool), fail ``login.step-up-needed``
  naming the login to run;
- a failed refresh whose grant has ended: log in again (with ``--login``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from authkit_mcp_cli.client.diagnosis import token_rejected
from authkit_mcp_cli.client.session import Session, not_logged_in
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AtomsAuthError, AuthChallenge, AuthorizationDenied, RemoteRefused

MAX_AUTHORIZATIONS = 3  # the conformance suite's bound on step-up
MAX_LOGINS = 3  # in one run: first login, AS moves, one retry after a refusal
SPEC_STEP_UP = "MCP 2026-07-28 Authorization: Step-Up Authorization Flow"
# A failed refresh that a new login can repair (the others would fail again the same way).
LOGIN_REPAIRS = frozenset({ErrorCode.LOGIN_GRANT_ENDED, ErrorCode.TOKEN_NO_REFRESH_TOKEN})


# --- what happened ----------------------------------------------------------


@dataclass(frozen=True)
class Challenged:
    """The MCP server answered 401/403; ``issuer`` and ``resource`` are what its metadata names now (None: not looked up)."""

    challenge: AuthChallenge
    issuer: str | None = None
    resource: str | None = None


@dataclass(frozen=True)
class Expired:
    """The stored access token expired before it was sent."""


@dataclass(frozen=True)
class ActionFailed:
    """The last action (a refresh) failed with this error."""

    error: AtomsAuthError


Outcome = Challenged | Expired | ActionFailed


# --- what to do -------------------------------------------------------------


@dataclass(frozen=True)
class Refresh:
    """Use the refresh token (RFC 6749 §6), then retry."""


@dataclass(frozen=True)
class StepUp:
    """Authorize again asking for ``scopes`` (the union), then retry."""

    scopes: str


@dataclass(frozen=True)
class ReLogin:
    """Log in from scratch (at ``issuer`` when the server moved to another AS), then retry."""

    issuer: str | None = None
    reason: str = ""
    after_refusal: bool = True  # the same AS refused what we hold: allowed once per run


@dataclass(frozen=True)
class Fail:
    """Stop with this error."""

    error: AtomsAuthError


Action = Refresh | StepUp | ReLogin | Fail


@dataclass(frozen=True)
class RetryState:
    """What the loop holds: the login, and what it already tried in this run."""

    server_url: str
    allow_login: bool
    session: Session | None = None
    fresh: bool = False  # the token was issued or refreshed during this run
    refreshed: bool = False
    relogged: bool = False  # logged in again after a refusal
    logins: int = 0  # in this run
    authorizations: int = 0  # behind the current token; a stored login counts one
    asked: str | None = None  # the scopes the last step-up asked the AS for
    allow_step_up: bool = True  # False: no authorization at all in this run (no browser may open)

    @classmethod
    def start(cls, server_url: str, session: Session | None, *, allow_login: bool, fresh: bool = False, allow_step_up: bool = True) -> RetryState:
        return cls(server_url, allow_login, session, fresh=fresh, authorizations=1 if session else 0, allow_step_up=allow_step_up)

    def refreshed_to(self, session: Session) -> RetryState:
        return replace(self, session=session, fresh=True, refreshed=True)

    def logged_in(self, session: Session, *, after_refusal: bool) -> RetryState:
        """A new login: the step-up count starts again."""
        return replace(self, session=session, fresh=True, relogged=self.relogged or after_refusal, logins=self.logins + 1, authorizations=1)

    def stepped_up(self, session: Session, asked: str | None = None) -> RetryState:
        return replace(self, session=session, fresh=True, authorizations=self.authorizations + 1, asked=asked)


def decide(state: RetryState, outcome: Outcome) -> Action:
    """The next action after ``outcome``; pure."""
    if isinstance(outcome, ActionFailed):
        if outcome.error.code in LOGIN_REPAIRS and _may_login_again(state):
            return ReLogin(reason="the refresh failed; logging in again")
        return Fail(outcome.error)
    session = state.session
    if isinstance(outcome, Expired):
        if session is not None and session.tokens.refresh_token:
            return Refresh()
        if _may_login_again(state):
            return ReLogin(reason="the token expired and there is no refresh token; logging in again")
        return Fail(AuthorizationDenied("The stored access token has expired, and the AS issued no refresh token for this login.", code=ErrorCode.LOGIN_EXPIRED, hint=f"Run atoms-auth login --server {state.server_url}, or pass --login."))
    challenge = outcome.challenge
    if session is None:
        if _may_login(state):
            return ReLogin(outcome.issuer, "not logged in; the server asks for authorization", after_refusal=False)
        return Fail(not_logged_in(state.server_url, f", and it asks for authorization ({challenge})"))
    if challenge.status == 403 and challenge.error == "insufficient_scope":
        if not state.allow_step_up:
            return Fail(step_up_needed(state, challenge))
        if state.authorizations >= MAX_AUTHORIZATIONS:
            return Fail(step_up_exhausted(state, challenge))
        return StepUp(union_scopes(session.tokens.scope, challenge.scope))
    if challenge.status == 401:
        if outcome.issuer is not None and outcome.issuer != session.issuer:
            # credentials are bound to the AS that issued them; never reuse them with another
            if _may_login(state):
                return ReLogin(outcome.issuer, f"the server now names {outcome.issuer} (was {session.issuer}): registering and logging in there", after_refusal=False)
            return Fail(AuthorizationDenied(f"The server moved to authorization server {outcome.issuer} (the stored login is for {session.issuer}).", code=ErrorCode.LOGIN_AS_MOVED, hint=f"Run atoms-auth login --server {state.server_url}.", spec="MCP 2026-07-28 Authorization"))
        if state.fresh:
            return Fail(token_rejected(session, challenge, resource=outcome.resource, fresh=True))
        if session.tokens.refresh_token and not state.refreshed:
            return Refresh()
        if _may_login_again(state):
            return ReLogin(reason="the token was refused; logging in again")
        return Fail(token_rejected(session, challenge, resource=outcome.resource, fresh=False))
    return Fail(RemoteRefused(f"The MCP server refused the request: {challenge}.", code=ErrorCode.MCP_FORBIDDEN, hint="The server refuses this user or client; atoms-auth token show explains the token.", url=challenge.url, remote=challenge.remote, spec="RFC 6750 §3.1"))


def step_up_needed(state: RetryState, challenge: AuthChallenge) -> AuthorizationDenied:
    """``login.step-up-needed``: the server wants more scope than the stored token has, and this run may not authorize."""
    held = state.session.tokens.scope if state.session else None
    missing = [s for s in (challenge.scope or "").split() if s not in (held or "").split()]
    flags = "".join(f" --scope {s}" for s in missing)
    scopes = union_scopes(held, challenge.scope)
    return AuthorizationDenied(
        f"The server answers 403 insufficient_scope: it asks for {challenge.scope or '(no scope named)'!r}, and the stored token has {held!r}.",
        code=ErrorCode.LOGIN_STEP_UP_NEEDED,
        hint=f"Run atoms-auth login --server {state.server_url}{flags} (a login in the browser with the scopes {scopes!r}), then call again.",
        spec=SPEC_STEP_UP,
        url=challenge.url,
        remote=challenge.remote,
    )


def step_up_exhausted(state: RetryState, challenge: AuthChallenge) -> RemoteRefused:
    """``mcp.step-up-exhausted``: the scopes the server asks for, the ones asked of the AS, and the ones it did not grant."""
    granted = state.session.tokens.scope if state.session else None
    asked = state.asked or granted
    # offline_access asks for a refresh token, not for access: it is never in the access token's scope
    refused = [s for s in (asked or "").split() if s not in (granted or "").split() and s != "offline_access"]
    said = f"it asks for {challenge.scope!r}" if challenge.scope else "its challenge names no scope"
    if challenge.error_description:
        said += f' ("{challenge.error_description}")'
    missing = f"the AS did not grant {' '.join(refused)!r}" if refused else "the AS granted every scope asked, yet the server wants more"
    return RemoteRefused(
        f"The server still answers 403 insufficient_scope after {state.authorizations} authorizations: {said}. atoms-auth asked the AS for {asked or '(no scope)'!r} and got {granted or '(no scope)'!r}: {missing}.",
        code=ErrorCode.MCP_STEP_UP_EXHAUSTED,
        hint="The AS does not grant the scope the server asks for: check the scopes the AS offers this client (for AuthKit, in the dashboard) and the server's required scopes"
        + ("; the challenge should name the scopes it needs (MCP Scope Selection Strategy)." if not challenge.scope else "."),
        spec=SPEC_STEP_UP,
        url=challenge.url,
        remote=challenge.remote,
    )


def _may_login(state: RetryState) -> bool:
    return state.allow_login and state.logins < MAX_LOGINS


def _may_login_again(state: RetryState) -> bool:
    """Once: a second refusal of a new login's token would only repeat the first."""
    return _may_login(state) and not state.relogged


def union_scopes(*scope_strings: str | None) -> str:
    """The union of space-separated scope lists, in first-seen order (MCP Step-Up Authorization Flow)."""
    scopes: list[str] = []
    for s in scope_strings:
        scopes.extend((s or "").split())
    return " ".join(dict.fromkeys(scopes))
