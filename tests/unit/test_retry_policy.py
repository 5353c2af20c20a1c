"""The client's retry policy, decide(state, outcome) -> action, on canned
challenges (the way httpx tests auth_flow: no network, every branch), and
call_mcp's loop performing those actions with the I/O replaced."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from authkit_mcp_cli.client import call as call_module
from authkit_mcp_cli.client.context import LoginOptions
from authkit_mcp_cli.client.policy import MAX_AUTHORIZATIONS, MAX_LOGINS, ActionFailed, Challenged, Expired, Fail, Refresh, ReLogin, RetryState, StepUp, decide, union_scopes
from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.errors import AuthChallenge, AuthorizationDenied, NetworkError, RemoteRefused
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.token import Tokens

SERVER = "https://mcp.example.com/api/mcp"
ISSUER = "https://test-env.authkit.app"
OTHER_ISSUER = "https://other-env.authkit.app"


def jwt_of(claims: dict) -> str:
    """An unsigned JWT-shaped token: the policy reads claims, it never verifies them."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'at+jwt'})}.{part(claims)}.c2ln"


def session(*, scope: str = "mcp:tools", refresh_token: str | None = "rt", aud: str = SERVER, iss: str = ISSUER) -> Session:
    token = jwt_of({"iss": iss, "aud": aud, "scope": scope, "sub": "u", "exp": 4102444800})
    return Session(SERVER, SERVER, ISSUER, {"issuer": ISSUER, "token_endpoint": ISSUER + "/oauth2/token"}, ClientRegistration("c1"), Tokens(token, "Bearer", None, refresh_token, scope=scope))


def challenge(status: int = 401, error: str | None = "invalid_token", scope: str | None = None, description: str | None = None) -> AuthChallenge:
    return AuthChallenge(status, error=error, scope=scope, description=description, resource_metadata=SERVER.replace("/api/mcp", "/.well-known/oauth-protected-resource/api/mcp"), url=SERVER)


def stored(**kwargs) -> RetryState:
    return RetryState.start(SERVER, session(**kwargs), allow_login=False)


# --- not logged in ----------------------------------------------------------


def test_no_login_logs_in_only_when_allowed():
    anonymous = RetryState.start(SERVER, None, allow_login=True)
    assert decide(anonymous, Challenged(challenge(error=None))) == ReLogin(None, "not logged in; the server asks for authorization", after_refusal=False)
    action = decide(RetryState.start(SERVER, None, allow_login=False), Challenged(challenge(error=None)))
    assert isinstance(action, Fail) and action.error.code == "login.not-logged-in" and isinstance(action.error, AuthorizationDenied)


# --- refresh on 401 -----------------------------------------------------------


def test_401_on_a_stored_token_refreshes_once():
    state = stored()
    assert decide(state, Challenged(challenge(), ISSUER, SERVER)) == Refresh()
    after = state.refreshed_to(session())
    # the refreshed token is refused too: retrying cannot help, and the error says why
    action = decide(after, Challenged(challenge(description="Authentication required"), ISSUER, SERVER))
    assert isinstance(action, Fail) and action.error.code == "mcp.token-rejected"


def test_expired_token_refreshes_before_it_is_sent():
    assert decide(stored(), Expired()) == Refresh()
    assert isinstance(decide(RetryState.start(SERVER, session(refresh_token=None), allow_login=True), Expired()), ReLogin)
    action = decide(stored(refresh_token=None), Expired())
    assert isinstance(action, Fail) and action.error.code == "login.expired"
    assert "the AS issued no refresh token for this login" in action.error.message


def test_401_without_refresh_token_logs_in_again_once():
    state = RetryState.start(SERVER, session(refresh_token=None), allow_login=True)
    assert isinstance(decide(state, Challenged(challenge(), ISSUER, SERVER)), ReLogin)
    relogged = state.logged_in(session(refresh_token=None), after_refusal=True)
    action = decide(relogged, Challenged(challenge(), ISSUER, SERVER))
    assert isinstance(action, Fail) and action.error.code == "mcp.token-rejected"  # no second login: it would loop


def test_failed_refresh_logs_in_again_only_when_the_grant_ended():
    ended = AuthorizationDenied("refused: invalid_grant. The grant has ended.", code="login.grant-ended")
    with_login = RetryState.start(SERVER, session(), allow_login=True)
    assert isinstance(decide(with_login, ActionFailed(ended)), ReLogin)
    assert decide(stored(), ActionFailed(ended)) == Fail(ended)
    for other in (RemoteRefused("invalid_client", code="oauth.remote-error"), NetworkError("down")):
        assert decide(with_login, ActionFailed(other)) == Fail(other)  # a new login would fail the same way


# --- step-up on 403 -------------------------------------------------------------


def test_step_up_asks_for_the_union_of_scopes():
    action = decide(stored(scope="mcp:tools offline_access"), Challenged(challenge(403, "insufficient_scope", "mcp:tools mcp:admin")))
    assert action == StepUp("mcp:tools offline_access mcp:admin")
    assert union_scopes("a b", None, "b c", "") == "a b c"


def test_without_step_up_more_scope_is_a_login_to_run_not_a_browser():
    """The agent's call tool (allow_step_up=False): a 403 insufficient_scope names the login to run."""
    state = RetryState.start(SERVER, session(scope="mcp:tools"), allow_login=False, allow_step_up=False)
    action = decide(state, Challenged(challenge(403, "insufficient_scope", "mcp:tools mcp:admin")))
    assert isinstance(action, Fail) and action.error.code == "login.step-up-needed" and action.error.exit_code == 5
    assert action.error.hint == f"Run atoms-auth login --server {SERVER} --scope mcp:admin (a login in the browser with the scopes 'mcp:tools mcp:admin'), then call again."
    assert "asks for 'mcp:tools mcp:admin'" in action.error.message and "has 'mcp:tools'" in action.error.message
    # refreshing is no authorization: still done
    assert decide(state, Challenged(challenge(401))) == Refresh()


def test_step_up_is_bounded_to_three_authorizations():
    state = stored()  # the stored login is the first authorization
    asks = Challenged(challenge(403, "insufficient_scope", "mcp:admin"))
    seen = []
    while isinstance(action := decide(state, asks), StepUp):
        seen.append(action)
        state = state.stepped_up(session(scope=action.scopes))
    assert len(seen) == MAX_AUTHORIZATIONS - 1 == 2
    assert isinstance(action, Fail) and action.error.code == "mcp.step-up-exhausted"
    assert "mcp:admin" in action.error.message and action.error.remote.status == 403


def test_step_up_exhaustion_names_the_scopes_asked_and_not_granted():
    """The AS grants less than asked: the error says which scope it never granted (offline_access is not an access scope)."""
    state = stored().stepped_up(session(scope="mcp:tools"), asked="mcp:tools mcp:admin offline_access").stepped_up(session(scope="mcp:tools"), asked="mcp:tools mcp:admin offline_access")
    action = decide(state, Challenged(challenge(403, "insufficient_scope", None, "Required scope: mcp:admin")))
    assert isinstance(action, Fail) and action.error.code == "mcp.step-up-exhausted"
    assert action.error.message == (
        'The server still answers 403 insufficient_scope after 3 authorizations: its challenge names no scope ("Required scope: mcp:admin"). '
        "atoms-auth asked the AS for 'mcp:tools mcp:admin offline_access' and got 'mcp:tools': the AS did not grant 'mcp:admin'."
    )
    assert "the challenge should name the scopes it needs" in action.error.hint


def test_a_new_login_starts_the_step_up_count_again():
    state = RetryState.start(SERVER, None, allow_login=True).logged_in(session(), after_refusal=False)
    assert state.authorizations == 1
    assert isinstance(decide(state, Challenged(challenge(403, "insufficient_scope", "mcp:admin"))), StepUp)


def test_other_403_is_reported_as_what_it_is():
    action = decide(stored(), Challenged(challenge(403, "forbidden")))
    assert isinstance(action, Fail) and action.error.code == "mcp.forbidden" and action.error.remote.error == "forbidden"


# --- the AS moved -----------------------------------------------------------------


def test_as_moved_logs_in_at_the_new_issuer_never_refreshing_with_the_old_one():
    moved = Challenged(challenge(), OTHER_ISSUER, SERVER)
    action = decide(RetryState.start(SERVER, session(), allow_login=True), moved)
    assert isinstance(action, ReLogin) and action.issuer == OTHER_ISSUER  # not Refresh: the old AS's refresh token must not be used
    # even for a token refreshed in this run: the move is the cause, not the token
    assert isinstance(decide(RetryState.start(SERVER, session(), allow_login=True, fresh=True), moved), ReLogin)
    refused = decide(stored(), moved)
    assert isinstance(refused, Fail) and refused.error.code == "login.as-moved" and OTHER_ISSUER in refused.error.message


def test_as_moved_right_after_the_first_login_logs_in_there_too():
    first = RetryState.start(SERVER, None, allow_login=True).logged_in(session(), after_refusal=False)
    action = decide(first, Challenged(challenge(), OTHER_ISSUER, SERVER))
    assert isinstance(action, ReLogin) and action.issuer == OTHER_ISSUER and not action.after_refusal


def test_logins_in_one_run_are_bounded():
    state = RetryState.start(SERVER, None, allow_login=True)
    issuers = iter(f"https://as{i}.example" for i in range(10))
    while isinstance(action := decide(state, Challenged(challenge(), next(issuers), SERVER)), ReLogin):
        state = state.logged_in(session(), after_refusal=action.after_refusal)
    assert state.logins == MAX_LOGINS and isinstance(action, Fail)


# --- give up: the token is rejected -------------------------------------------------


def test_fresh_token_with_another_audience_names_the_resource_indicator():
    state = RetryState.start(SERVER, session(aud="https://api.workos.com"), allow_login=True, fresh=True)
    action = decide(state, Challenged(challenge(description="Invalid audience"), ISSUER, SERVER))
    assert isinstance(action, Fail)
    error = action.error
    assert error.code == "mcp.token-rejected" and isinstance(error, RemoteRefused) and error.exit_code == 1
    assert error.status == 401 and error.error == "invalid_token" and error.error_description == "Invalid audience"
    assert "Token aud 'https://api.workos.com'" in error.message and f"resource (protected-resource metadata) '{SERVER}'" in error.message
    assert "audience is not this resource" in error.message
    assert f"add the MCP Resource Indicator {SERVER} (this exact string" in error.hint


def test_fresh_token_with_the_right_audience_points_at_the_servers_verification():
    state = RetryState.start(SERVER, session(), allow_login=True, fresh=True)
    action = decide(state, Challenged(challenge(), ISSUER, SERVER))
    assert isinstance(action, Fail)
    assert "cannot verify it" in action.error.message and "JWKS" in action.error.hint and "Resource Indicator" not in action.error.hint


def test_fresh_token_from_another_issuer():
    action = decide(RetryState.start(SERVER, session(iss="https://evil.example"), allow_login=False, fresh=True), Challenged(challenge(), ISSUER, SERVER))
    assert isinstance(action, Fail) and "issuer is not the authorization server" in action.error.message


def test_opaque_token_is_diagnosed_without_claims():
    s = session()
    s.tokens.access_token = "opaque-token"
    action = decide(RetryState.start(SERVER, s, allow_login=False, fresh=True), Challenged(challenge(), ISSUER, SERVER))
    assert isinstance(action, Fail) and "opaque" in action.error.message and action.error.code == "mcp.token-rejected"


# --- the loop performs the actions -------------------------------------------------


class FakeIO:
    """Replaces the network behind call_mcp: the MCP server answers from a script, login/refresh/discover are recorded."""

    def __init__(self, answers: list[RemoteRefused | str], monkeypatch: pytest.MonkeyPatch, issuer: str = ISSUER) -> None:
        self.answers = answers
        self.sent: list[str | None] = []
        self.logins: list[list[str]] = []
        self.refreshes = 0
        self.issuer = issuer

        async def with_session(url, token, operation, **kwargs):
            self.sent.append(token)
            answer = self.answers.pop(0)
            if isinstance(answer, RemoteRefused):
                raise answer
            return answer

        async def discover(client, url, policy, *, prefer_issuer=None, challenge=None, browser_flow=True, binding=None):
            from authkit_mcp_cli.discovery import Discovered

            return Discovered(SERVER, SERVER, {}, "prm", challenge.scope if challenge else None, self.issuer, {}, "meta")

        async def login(ctx, url, opts, *, disc=None):
            self.logins.append(list(opts.scopes))
            return session(scope=" ".join(opts.scopes) or "mcp:tools")

        async def refresh(ctx, s, *, force=False):
            self.refreshes += 1
            return session()

        for name, fn in (("with_session", with_session), ("discover", discover), ("login", login), ("refresh", refresh)):
            monkeypatch.setattr(call_module, name, fn)


class FakeStore:
    def __init__(self, record: Session | None) -> None:
        self.record = record

    def find_tokens_for_server(self, url):
        return [] if self.record is None else [(None, {**self.record.to_record(), "issuer": self.record.issuer, "resource": self.record.resource})]


def run_call(io: FakeIO, stored_session: Session | None, *, allow_login: bool = False):
    from authkit_mcp_cli.client.context import Context
    from authkit_mcp_cli.http import HttpPolicy, HttpSession

    ctx = Context(client=None, http=HttpSession(HttpPolicy()), store=FakeStore(stored_session))  # type: ignore[arg-type]
    return asyncio.run(call_module.call_mcp(ctx, SERVER, lambda c: None, wire="auto", opts=LoginOptions(), allow_login=allow_login))


def test_loop_refreshes_then_succeeds(monkeypatch):
    io = FakeIO([challenge(), "ok"], monkeypatch)
    result, _ = run_call(io, session())
    assert result == "ok" and io.refreshes == 1 and io.logins == []


def test_loop_steps_up_at_most_twice_after_a_stored_login(monkeypatch):
    admin = challenge(403, "insufficient_scope", "mcp:tools mcp:admin")
    io = FakeIO([admin, admin, admin, "never"], monkeypatch)
    with pytest.raises(RemoteRefused) as info:
        run_call(io, session())
    assert info.value.code == "mcp.step-up-exhausted"
    assert io.logins == [["mcp:tools mcp:admin"], ["mcp:tools mcp:admin"]] and len(io.sent) == 3


def test_loop_gives_up_on_a_refreshed_token_instead_of_asking_for_login(monkeypatch):
    io = FakeIO([challenge(), challenge(), "never"], monkeypatch)
    with pytest.raises(RemoteRefused) as info:
        run_call(io, session(), allow_login=True)
    assert info.value.code == "mcp.token-rejected" and io.refreshes == 1 and io.logins == []


def test_loop_logs_in_then_follows_the_move_to_another_as(monkeypatch):
    io = FakeIO([challenge(error=None), challenge(), "ok"], monkeypatch, issuer=OTHER_ISSUER)
    result, _ = run_call(io, None, allow_login=True)
    # the first login lands at ISSUER (the fake session's), then the server names OTHER_ISSUER
    assert result == "ok" and len(io.logins) == 2 and io.refreshes == 0


def test_loop_logs_in_at_the_moved_issuer(monkeypatch):
    io = FakeIO([challenge(), "ok"], monkeypatch, issuer=OTHER_ISSUER)
    result, _ = run_call(io, session(), allow_login=True)
    assert result == "ok" and io.refreshes == 0 and len(io.logins) == 1


def server_error() -> RemoteRefused:
    from authkit_mcp_cli.errors import RemoteDetail

    return RemoteRefused("The MCP server answered HTTP 500 with no Bearer challenge; body: {}.", code="mcp.http-error", remote=RemoteDetail(status=500), url=SERVER)


def test_a_server_error_on_the_stored_token_is_taken_as_a_refusal_only_when_an_anonymous_request_is_challenged(monkeypatch):
    """The TS SDK example answers a forgotten token with 500: one anonymous request proves it is the token."""
    probes = []

    async def anonymous_401(ctx, url):
        probes.append(url)
        return 401, challenge(description="Missing Authorization header")

    monkeypatch.setattr(call_module, "probe_without_token", anonymous_401)
    io = FakeIO([server_error()], monkeypatch)
    with pytest.raises(RemoteRefused) as info:
        run_call(io, session(refresh_token=None))
    assert info.value.code == "mcp.http-error" and "so the server fails on the stored token" in info.value.message
    assert "atoms-auth call --login" in info.value.hint and probes == [SERVER]

    io = FakeIO([server_error(), "ok"], monkeypatch)  # a refresh token: refreshed, then it works
    assert run_call(io, session())[0] == "ok" and io.refreshes == 1
    io = FakeIO([server_error(), "ok"], monkeypatch)  # --login: logs in again
    assert run_call(io, session(refresh_token=None), allow_login=True)[0] == "ok" and len(io.logins) == 1

    async def anonymous_500(ctx, url):
        return 500, None

    monkeypatch.setattr(call_module, "probe_without_token", anonymous_500)
    io = FakeIO([server_error(), "never"], monkeypatch)
    with pytest.raises(RemoteRefused) as info:
        run_call(io, session(), allow_login=True)
    assert "the failure is not about the token" in info.value.message and io.refreshes == 0 and io.logins == []
