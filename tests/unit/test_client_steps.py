"""Client steps that talk to the AS, against httpx.MockTransport: refresh
branches on the AS's error code (invalid_grant ends the grant; other refusals
are reported as what they are), keeps rotation, and logout revokes with the
RFC 7009 response processor."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import httpx
import pytest

from authkit_mcp_cli.client.context import Context
from authkit_mcp_cli.client.logout import logout
from authkit_mcp_cli.client.refresh import refresh
from authkit_mcp_cli.client.session import Session, save_session
from authkit_mcp_cli.errors import AtomsAuthError, AuthorizationDenied, ProtocolError, RemoteRefused
from authkit_mcp_cli.http import HttpPolicy, HttpSession
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.token import Tokens
from authkit_mcp_cli.store import Store

ISSUER = "https://test-env.authkit.app"
SERVER = "https://mcp.example.com/api/mcp"
META = {"issuer": ISSUER, "token_endpoint": ISSUER + "/oauth2/token", "revocation_endpoint": ISSUER + "/oauth2/revoke"}


def a_session(refresh_token: str | None = "rt1", expires_at: float | None = None) -> Session:
    return Session(SERVER, SERVER, ISSUER, META, ClientRegistration("c1"), Tokens("at1", "Bearer", expires_at, refresh_token))


def run(tmp_path, handler, step, stored: Session | None = None):
    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            ctx = Context(client=client, http=HttpSession(HttpPolicy()), store=Store(tmp_path, warn=lambda m: None))
            save_session(ctx, stored or a_session())
            return await step(ctx), ctx

    return asyncio.run(go())


def answer(status: int, body: dict | str):
    def handler(request: httpx.Request) -> httpx.Response:
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    return handler


def test_refresh_keeps_the_rotated_token_and_stores_it(tmp_path):
    sent = {}

    def handler(request):
        sent.update(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"access_token": "at2", "token_type": "Bearer", "refresh_token": "rt2", "expires_in": 60})

    new, ctx = run(tmp_path, handler, lambda ctx: refresh(ctx, a_session(), force=True))
    assert sent["refresh_token"] == ["rt1"] and sent["resource"] == [SERVER]
    assert new.tokens.refresh_token == "rt2" and ctx.store.load_tokens(ISSUER, SERVER)["tokens"]["refresh_token"] == "rt2"


def test_invalid_grant_ends_the_grant(tmp_path):
    with pytest.raises(AuthorizationDenied) as info:
        run(tmp_path, answer(400, {"error": "invalid_grant", "error_description": "reused"}), lambda ctx: refresh(ctx, a_session(), force=True))
    assert info.value.code == "login.grant-ended" and "grant has ended" in info.value.message and info.value.remote.error == "invalid_grant"


def test_other_refusals_are_reported_as_what_they_are(tmp_path):
    with pytest.raises(RemoteRefused) as info:
        run(tmp_path, answer(401, {"error": "invalid_client"}), lambda ctx: refresh(ctx, a_session(), force=True))
    assert info.value.code == "oauth.remote-error" and info.value.error == "invalid_client" and "grant has ended" not in info.value.message
    assert "client" in info.value.hint
    with pytest.raises(ProtocolError) as broken:
        run(tmp_path, answer(503, "<html>down</html>"), lambda ctx: refresh(ctx, a_session(), force=True))
    assert broken.value.remote.status == 503 and "grant has ended" not in broken.value.message


def test_no_refresh_token_is_its_own_error(tmp_path):
    async def step(ctx):
        save_session(ctx, a_session(refresh_token=None))
        return await refresh(ctx, a_session(refresh_token=None), force=True)

    with pytest.raises(AtomsAuthError) as info:
        run(tmp_path, answer(500, {}), step)
    assert info.value.code == "token.no-refresh-token" and info.value.exit_code == 1
    assert info.value.message.startswith("The AS issued no refresh token for this login") and "expired" not in info.value.message
    assert list((tmp_path / "tokens").glob("*.lock")) == []  # the refresh lock is not left behind


def test_logout_reports_what_the_revocation_endpoint_said(tmp_path):
    sent = []

    def handler(request):
        form = parse_qs(request.content.decode(), keep_blank_values=True)
        sent.append(form)
        if form["token_type_hint"] == ["refresh_token"]:
            return httpx.Response(200)
        return httpx.Response(400, json={"error": "unsupported_token_type", "error_description": "JWTs cannot be revoked"})

    session = a_session(expires_at=2_000_000_000)
    result, ctx = run(tmp_path, handler, lambda ctx: logout(ctx, session), stored=session)
    refresh_outcome, access_outcome = result.revocations
    assert (refresh_outcome.token, refresh_outcome.outcome) == ("refresh_token", "revoked")
    assert (access_outcome.outcome, access_outcome.status, access_outcome.error) == ("refused", 400, "unsupported_token_type")
    assert access_outcome.valid_until == 2_000_000_000
    assert "stays valid at the AS until 2033-05-18 03:33:20 UTC" in access_outcome.message and '"JWTs cannot be revoked"' in access_outcome.message
    assert not result.ok and result.notes[0] == "refresh_token revoked" and result.notes[-1] == "stored tokens deleted"
    assert ctx.store.load_tokens(ISSUER, SERVER) is None and list((tmp_path / "tokens").iterdir()) == []  # no lock file either
    assert all("client_secret" not in form for form in sent)  # RFC 7009 §2.1: a public client sends its client_id only


def test_logout_retries_with_an_empty_secret_only_when_the_as_asks_for_the_field(tmp_path):
    """The MCP SDK's revocation handler (FastMCP) wants a client_secret field even from public clients."""
    sent = []

    def handler(request):
        form = parse_qs(request.content.decode(), keep_blank_values=True)
        sent.append(form)
        if "client_secret" not in form:
            return httpx.Response(400, json={"error": "invalid_request", "error_description": "client_secret: Field required"})
        return httpx.Response(200)

    result, _ = run(tmp_path, handler, lambda ctx: logout(ctx, a_session()))
    assert result.ok and [r.outcome for r in result.revocations] == ["revoked", "revoked"]
    assert [form.get("client_secret") for form in sent] == [None, [""], None, [""]]
    assert all(r.empty_secret_retry for r in result.revocations)

    sent.clear()
    result, _ = run(tmp_path, answer(400, {"error": "invalid_request", "error_description": "token: Field required"}), lambda ctx: logout(ctx, a_session()))
    assert [r.outcome for r in result.revocations] == ["refused", "refused"]  # another invalid_request: no retry


def test_logout_without_revocation_endpoint_or_network(tmp_path):
    no_endpoint = Session(SERVER, SERVER, ISSUER, {"issuer": ISSUER, "token_endpoint": ISSUER + "/t"}, ClientRegistration("c1"), Tokens("at1", "Bearer", 2_000_000_000, "rt1"))
    result, ctx = run(tmp_path, answer(500, {}), lambda ctx: logout(ctx, no_endpoint), stored=no_endpoint)
    assert result.ok and [r.outcome for r in result.revocations] == ["not-possible", "not-possible"]
    assert "the AS offers no revocation endpoint" in result.notes[1] and "until 2033-05-18 03:33:20 UTC" in result.notes[1]
    assert ctx.store.load_tokens(ISSUER, SERVER) is None

    def unreachable(request):
        raise httpx.ConnectError("connection refused")

    result, ctx = run(tmp_path, unreachable, lambda ctx: logout(ctx, a_session()))
    assert not result.ok and [r.outcome for r in result.revocations] == ["failed", "failed"]
    assert ctx.store.load_tokens(ISSUER, SERVER) is None  # forgotten in every case


class ClientCredentials:
    """A grant in the shape of RFC 6749 §4.4, without the network: what a new grant module provides."""

    name = "client_credentials"

    def __init__(self, opts):
        self.opts = opts

    async def obtain(self, ctx, disc, scope):
        return ClientRegistration(self.opts.client_id, self.opts.client_secret, "client_secret_basic", (), "pre-registered"), Tokens("at-cc", "Bearer", None, scope=scope)


def test_a_grant_is_one_object_with_obtain(tmp_path, monkeypatch):
    """A second grant plugs in through the Grant interface; login stores what it obtains."""
    from authkit_mcp_cli.client.context import LoginOptions
    from authkit_mcp_cli.client.grants import registry as grants_module
    from authkit_mcp_cli.client.login import login
    from authkit_mcp_cli.discovery import Discovered
    from authkit_mcp_cli.errors import UsageError

    disc = Discovered(SERVER, SERVER, {"resource": SERVER, "scopes_supported": ["mcp:tools"]}, "prm", None, ISSUER, META, "meta")
    monkeypatch.setitem(grants_module.GRANTS, "client_credentials", f"{__name__}:ClientCredentials")
    opts = LoginOptions(client_id="svc", client_secret="s", grant="client_credentials", authkit_domain=ISSUER)
    session, ctx = run(tmp_path, answer(500, {}), lambda ctx: login(ctx, SERVER, opts, disc=disc))
    assert session.tokens.access_token == "at-cc" and session.tokens.scope == "mcp:tools"
    assert ctx.store.load_tokens(ISSUER, SERVER)["client"]["client_id"] == "svc"
    with pytest.raises(UsageError) as info:
        grants_module.grant_for(LoginOptions(grant="saml2_bearer"))
    assert info.value.code == "usage.unknown-grant"
