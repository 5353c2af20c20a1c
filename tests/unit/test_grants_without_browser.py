"""The grants without a browser against canned authorization servers
(httpx.MockTransport): client credentials (secret as advertised,
private_key_jwt), the JWT bearer grant, and enterprise-managed authorization
(token exchange at the IdP, then the JWT bearer grant at the AS). Each sends
``resource``, reports its legs, keeps the AS's refusal, and checks its
options before any request."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from authkit_mcp_cli.client.context import Context, EnterpriseOptions, JwtBearerOptions, LoginOptions, PrivateKeyJwtOptions
from authkit_mcp_cli.client.grants.registry import grant_for
from authkit_mcp_cli.client.login import login
from authkit_mcp_cli.discovery import Discovered
from authkit_mcp_cli.errors import RemoteRefused, UsageError
from authkit_mcp_cli.http import HttpPolicy, HttpSession
from authkit_mcp_cli.oauth.grant_types import JWT_BEARER as JWT_BEARER_GRANT
from authkit_mcp_cli.oauth.grant_types import TOKEN_EXCHANGE as TOKEN_EXCHANGE_GRANT
from authkit_mcp_cli.oauth.token_exchange import ID_JAG_TYPE
from authkit_mcp_cli.store import Store

AS = "https://as.example.com"
IDP = "https://idp.example.com"
SERVER = "https://mcp.example.com/mcp"
META = {"issuer": AS, "token_endpoint": AS + "/token", "authorization_endpoint": AS + "/authorize", "grant_types_supported": ["client_credentials", JWT_BEARER_GRANT]}
IDP_META = {"issuer": IDP, "token_endpoint": IDP + "/token", "grant_types_supported": [TOKEN_EXCHANGE_GRANT]}
TOKEN = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 300}


def disc(meta: dict | None = None) -> Discovered:
    return Discovered(SERVER, SERVER, {"resource": SERVER, "scopes_supported": ["mcp:tools"]}, "prm", None, AS, meta or META, "meta")


class Recorder:
    """A canned AS (and IdP): answers by URL, remembers every request."""

    def __init__(self, answers: dict[str, tuple[int, dict]]):
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, doc = self.answers[str(request.url)]
        return httpx.Response(status, json=doc)

    def form(self, i: int) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[i].content.decode()).items()}


def run_login(tmp_path, opts: LoginOptions, recorder: Recorder, meta: dict | None = None):
    steps: list[tuple[str, str]] = []

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
            ctx = Context(client=client, http=HttpSession(HttpPolicy()), store=Store(tmp_path, warn=lambda m: None), report=lambda s, d: steps.append((s, d)))
            return await login(ctx, SERVER, opts, disc=disc(meta))

    return asyncio.run(go()), steps


@pytest.mark.parametrize(("listed", "basic"), [(None, True), (["client_secret_basic"], True), (["client_secret_post"], False), (["client_secret_post", "client_secret_basic"], True)])
def test_client_credentials_with_a_secret_as_the_as_advertises(tmp_path, listed, basic):
    meta = {**META, **({"token_endpoint_auth_methods_supported": listed} if listed else {}), "scopes_supported": ["mcp:tools", "offline_access"]}
    recorder = Recorder({AS + "/token": (200, {**TOKEN, "scope": "mcp:tools"})})
    session, steps = run_login(tmp_path, LoginOptions(grant="client_credentials", client_id="svc", client_secret="s3cret", authkit_domain=AS), recorder, meta)
    sent = recorder.form(0)
    assert sent["grant_type"] == "client_credentials" and sent["resource"] == SERVER
    assert sent["scope"] == "mcp:tools"  # offline_access dropped: no refresh token here (RFC 6749 §4.4.3)
    assert ("Authorization" in recorder.requests[0].headers) is basic and ("client_secret" in sent) is (not basic)
    assert session.tokens.access_token == "at-1" and session.registration.client_id == "svc"
    assert [s for s, _ in steps] == ["register", "token", "token"]


def test_client_credentials_with_private_key_jwt(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    recorder = Recorder({AS + "/token": (200, TOKEN)})
    meta = {**META, "token_endpoint_auth_methods_supported": ["private_key_jwt"], "token_endpoint_auth_signing_alg_values_supported": ["ES256"]}
    session, steps = run_login(tmp_path, LoginOptions(grant="client_credentials", client_id="svc", private_key_jwt=PrivateKeyJwtOptions(private_key=str(path), key_id="k1"), authkit_domain=AS), recorder, meta)
    sent = recorder.form(0)
    claims = jwt.decode(sent["client_assertion"], key.public_key(), algorithms=["ES256"], audience=AS)
    assert claims["iss"] == claims["sub"] == "svc" and sent["resource"] == SERVER
    assert session.registration.token_endpoint_auth_method == "private_key_jwt" and session.registration.assertion_audience == AS
    assert not any(s == "warning" for s, _ in steps)


def test_jwt_bearer_trades_the_assertion_and_reports_its_claims(tmp_path):
    assertion = jwt.encode({"iss": "https://ci.example", "sub": "repo:x", "aud": AS, "exp": 4102444800}, "k" * 32, algorithm="HS256")
    path = tmp_path / "ci.jwt"
    path.write_text(assertion + "\n")
    recorder = Recorder({AS + "/token": (200, TOKEN)})
    session, steps = run_login(tmp_path, LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion=str(path))), recorder)
    assert recorder.form(0) == {"grant_type": JWT_BEARER_GRANT, "assertion": assertion, "resource": SERVER, "scope": "mcp:tools"}
    assert session.tokens.access_token == "at-1"
    evidence = " ".join(d for s, d in steps if s == "token")
    assert "sub 'repo:x'" in evidence and assertion not in evidence


@pytest.mark.parametrize("description", ["JWT assertion audience is invalid", "JWT assertion is expired"])
def test_a_refused_assertion_ends_with_the_as_error_and_no_retry(tmp_path, description):
    path = tmp_path / "ci.jwt"
    path.write_text(jwt.encode({"iss": "https://ci.example", "sub": "repo:x", "aud": AS, "exp": 4102444800}, "k" * 32, algorithm="HS256"))
    recorder = Recorder({AS + "/token": (400, {"error": "invalid_grant", "error_description": description})})
    with pytest.raises(RemoteRefused) as info:
        run_login(tmp_path, LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion=str(path)), client_id="wl", authkit_domain=AS), recorder)
    assert info.value.code == "oauth.remote-error" and info.value.remote.error == "invalid_grant"
    assert info.value.remote.error_description == description and info.value.remote.status == 400
    assert "aud" in (info.value.hint or "") and len(recorder.requests) == 1


def test_enterprise_exchanges_the_id_token_then_uses_the_id_jag(tmp_path):
    id_token = jwt.encode({"iss": IDP, "sub": "alice", "aud": "idp-client", "exp": 4102444800}, "k" * 32, algorithm="HS256")
    id_jag = jwt.encode({"iss": IDP, "sub": "alice", "aud": AS, "client_id": "mcp-client", "resource": SERVER, "exp": 4102444800}, "k" * 32, algorithm="HS256", headers={"typ": "oauth-id-jag+jwt"})
    (tmp_path / "id.jwt").write_text(id_token)
    recorder = Recorder(
        {
            IDP + "/.well-known/oauth-authorization-server": (200, IDP_META),
            IDP + "/token": (200, {"access_token": id_jag, "issued_token_type": ID_JAG_TYPE, "token_type": "N_A"}),
            AS + "/token": (200, TOKEN),
        }
    )
    opts = LoginOptions(grant="enterprise", client_id="mcp-client", client_secret="mcp-secret", authkit_domain=AS, enterprise=EnterpriseOptions(idp_issuer=IDP, idp_client_id="idp-client", idp_client_secret="idp-secret", id_token=str(tmp_path / "id.jwt")))
    session, steps = run_login(tmp_path, opts, recorder)
    exchange = recorder.form(1)
    assert exchange["grant_type"] == TOKEN_EXCHANGE_GRANT and exchange["subject_token"] == id_token
    assert exchange["audience"] == AS and exchange["resource"] == SERVER and exchange["requested_token_type"] == ID_JAG_TYPE
    assert base64.b64decode(recorder.requests[1].headers["Authorization"].split()[1]) == b"idp-client:idp-secret"
    bearer = recorder.form(2)
    assert bearer["grant_type"] == JWT_BEARER_GRANT and bearer["assertion"] == id_jag and bearer["resource"] == SERVER
    assert base64.b64decode(recorder.requests[2].headers["Authorization"].split()[1]) == b"mcp-client:mcp-secret"
    assert session.tokens.access_token == "at-1"
    assert [s for s, _ in steps].count("token-exchange") == 2 and not any(s == "warning" for s, _ in steps)


def test_enterprise_keeps_the_idps_refusal(tmp_path):
    (tmp_path / "id.jwt").write_text("x.y.z")
    recorder = Recorder({IDP + "/.well-known/oauth-authorization-server": (200, IDP_META), IDP + "/token": (400, {"error": "invalid_grant", "error_description": "Invalid ID token"})})
    opts = LoginOptions(grant="enterprise", client_id="mcp-client", authkit_domain=AS, enterprise=EnterpriseOptions(idp_issuer=IDP, idp_client_id="idp-client", id_token=str(tmp_path / "id.jwt")))
    with pytest.raises(RemoteRefused) as info:
        run_login(tmp_path, opts, recorder)
    assert info.value.remote.error == "invalid_grant" and info.value.url == IDP + "/token" and len(recorder.requests) == 2


@pytest.mark.parametrize(
    ("opts", "code", "says"),
    [
        (LoginOptions(grant="client_credentials"), "usage.missing-option", "--client-id"),
        (LoginOptions(grant="client_credentials", client_id="svc"), "usage.missing-option", "--client-secret"),
        (LoginOptions(grant="client_credentials", client_id="svc", client_secret="s", private_key_jwt=PrivateKeyJwtOptions(private_key="k.pem")), "usage.conflicting-options", "--client-secret and --private-key cannot be combined"),
        (LoginOptions(grant="client_credentials", client_id="svc", private_key_jwt=PrivateKeyJwtOptions(private_key="missing.pem")), "usage.private-key", "missing.pem"),
        (LoginOptions(grant="client_credentials", client_id="svc", client_secret="s", private_key_jwt=PrivateKeyJwtOptions(signing_alg="ES256")), "usage.conflicting-options", "--signing-alg"),
        (LoginOptions(grant="jwt_bearer"), "usage.missing-option", "--assertion"),
        (LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion="missing.jwt")), "usage.unreadable-file", "missing.jwt"),
        (LoginOptions(grant="enterprise", client_id="c"), "usage.missing-option", "--idp-issuer and --idp-client-id and --id-token"),
    ],
)
def test_missing_or_conflicting_options_are_usage_errors_before_any_request(tmp_path, monkeypatch, opts, code, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as info:
        grant_for(opts)
    assert info.value.code == code and says in info.value.message and info.value.exit_code == 2


def test_an_empty_assertion_file_is_a_usage_error(tmp_path):
    (tmp_path / "empty.jwt").write_text("\n")
    with pytest.raises(UsageError) as info:
        grant_for(LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion=str(tmp_path / "empty.jwt"))))
    assert info.value.code == "usage.invalid-assertion"


def test_assertion_expiry_is_seen_before_sending():
    from authkit_mcp_cli.client.grants.jwt_bearer import assertion_expired

    def token(**claims):
        return jwt.encode(claims, "k" * 32, algorithm="HS256")

    assert not assertion_expired(token(aud=AS, exp=2000), now=1000)
    assert assertion_expired(token(aud=AS, exp=500), now=1000)
    assert not assertion_expired("opaque", now=1000)


@pytest.mark.parametrize(
    ("aud", "sent"),
    [
        (AS, True),
        ([AS + "/", "other"], True),  # a trailing slash names the same issuer
        (AS + "/token", True),  # the token endpoint identifies the AS too (RFC 7523 §3 item 3)
        ("https://wrong.example", False),
        (["https://wrong.example", "https://as.example.com.evil"], False),
        (None, False),  # no aud: nothing says which AS it is for
    ],
)
def test_a_jwt_bearer_assertion_goes_only_to_the_as_its_aud_names(tmp_path, aud, sent):
    claims = {"iss": "https://ci.example", "sub": "repo:x", "exp": 4102444800, **({"aud": aud} if aud is not None else {})}
    path = tmp_path / "ci.jwt"
    path.write_text(jwt.encode(claims, "k" * 32, algorithm="HS256"))
    recorder = Recorder({AS + "/token": (200, TOKEN)})
    if sent:
        run_login(tmp_path, LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion=str(path))), recorder)
        assert len(recorder.requests) == 1
        return
    with pytest.raises(UsageError) as info:
        run_login(tmp_path, LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion=str(path))), recorder)
    assert info.value.code == "login.assertion-audience" and AS in info.value.message and info.value.exit_code == 2
    assert recorder.requests == []  # nothing sent, not even after a warning


def test_an_opaque_assertion_is_not_sent(tmp_path):
    path = tmp_path / "ci.jwt"
    path.write_text("a.b.c")
    recorder = Recorder({AS + "/token": (200, TOKEN)})
    with pytest.raises(UsageError) as info:
        run_login(tmp_path, LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion=str(path))), recorder)
    assert info.value.code == "login.assertion-audience" and "not a JWT" in info.value.message and recorder.requests == []


def test_an_id_jag_for_another_as_is_not_sent(tmp_path):
    from authkit_mcp_cli.errors import ProtocolError

    id_token = jwt.encode({"iss": IDP, "sub": "alice", "aud": "idp-client", "exp": 4102444800}, "k" * 32, algorithm="HS256")
    id_jag = jwt.encode({"iss": IDP, "sub": "alice", "aud": "https://other-as.example", "client_id": "mcp-client", "exp": 4102444800}, "k" * 32, algorithm="HS256", headers={"typ": "oauth-id-jag+jwt"})
    (tmp_path / "id.jwt").write_text(id_token)
    recorder = Recorder({IDP + "/.well-known/oauth-authorization-server": (200, IDP_META), IDP + "/token": (200, {"access_token": id_jag, "issued_token_type": ID_JAG_TYPE, "token_type": "N_A"}), AS + "/token": (200, TOKEN)})
    opts = LoginOptions(grant="enterprise", client_id="mcp-client", client_secret="mcp-secret", authkit_domain=AS, enterprise=EnterpriseOptions(idp_issuer=IDP, idp_client_id="idp-client", id_token=str(tmp_path / "id.jwt")))
    with pytest.raises(ProtocolError) as info:
        run_login(tmp_path, opts, recorder)
    assert info.value.code == "login.assertion-audience" and "https://other-as.example" in info.value.message
    assert [str(r.url) for r in recorder.requests] == [IDP + "/.well-known/oauth-authorization-server", IDP + "/token"]  # never the AS


def test_an_assertion_on_stdin_is_read_once_per_run(monkeypatch):
    import io

    from authkit_mcp_cli.client.grants import credentials

    credentials._stdin_text.cache_clear()
    monkeypatch.setattr("sys.stdin", io.StringIO("a.b.c\n"))
    first = grant_for(LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion="-")))
    second = grant_for(LoginOptions(grant="jwt_bearer", jwt_bearer=JwtBearerOptions(assertion="-")))  # a second login in the same run (step-up, re-login)
    assert first.assertion == second.assertion == "a.b.c"
    credentials._stdin_text.cache_clear()
