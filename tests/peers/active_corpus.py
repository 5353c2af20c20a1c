"""A corpus of broken MCP servers and authorization servers for doctor --active
(issue 22), one deviation each, drawn from what users report: serve (a correct
resource server with its correct development AS) with ONE thing made wrong.

Resource-server deviations are ASGI middlewares around serve's app, so the
rest of the server stays right:

- ``query-token``: the token is also read from ``?access_token=`` (RFC 6750 §2.3 says
  a server SHOULD NOT; MCP forbids it);
- ``session-auth``: a request carrying a known ``Mcp-Session-Id`` and no token is served
  as the session's user (session hijacking);
- ``no-prm-cors``: the protected-resource metadata loses its CORS header;
- ``expired-ok``: the verifier's clock leeway is a day, so expired tokens pass.

Authorization-server deviations patch one method of the development AS in-process:

- ``password``: the password grant is honoured (any user, any password);
- ``refresh-error``: an unknown refresh token gets invalid_request, not invalid_grant;
- ``no-rotation``: a used refresh token keeps working;
- ``reuse-keeps-family``: reuse of a rotated refresh token is refused but the grant is not revoked;
- ``redirect-prefix``: redirect_uri is matched as a prefix of the registered one;
- ``no-pkce``: an authorization request without PKCE (or with plain) is approved;
- ``code-reuse``: an authorization code redeems more than once;
- ``verifier-ignored``: the token endpoint does not check code_verifier.

``short-tokens`` (not a deviation): access tokens live 5 s, so doctor has an expired one at hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

from authkit_mcp_cli.server.app import ServeInfo, build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from peers.asgi import serve_asgi

SERVER_DEVIATIONS = ("query-token", "session-auth", "no-prm-cors", "expired-ok")
AS_DEVIATIONS = ("password", "refresh-error", "no-rotation", "reuse-keeps-family", "redirect-prefix", "no-pkce", "code-reuse", "verifier-ignored")
SHORT_LIFETIME = 5


def query_token(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not any(k == b"authorization" for k, _ in scope["headers"]):
            pairs = parse_qsl(scope.get("query_string", b"").decode())
            token = next((v for k, v in pairs if k == "access_token"), None)
            if token:
                scope = {**scope, "headers": [*scope["headers"], (b"authorization", f"Bearer {token}".encode())], "query_string": urlencode([(k, v) for k, v in pairs if k != "access_token"]).encode()}
        await app(scope, receive, send)

    return wrapped


def session_auth(app: Any) -> Any:
    """Remembers the Authorization of the request that created each session; a later request with only the session id gets it."""
    sessions: dict[bytes, bytes] = {}

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization")
        sid = headers.get(b"mcp-session-id")
        if auth is None and sid in sessions:
            scope = {**scope, "headers": [*scope["headers"], (b"authorization", sessions[sid])]}

        async def remember(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and auth is not None and 200 <= message["status"] < 300:
                for k, v in message.get("headers", []):
                    if k.lower() == b"mcp-session-id":
                        sessions[v] = auth
            await send(message)

        await app(scope, receive, remember)

    return wrapped


def no_prm_cors(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/.well-known/oauth-protected-resource"):
            await app(scope, receive, send)
            return

        async def strip(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]}
            await send(message)

        await app(scope, receive, strip)

    return wrapped


MIDDLEWARE = {"query-token": query_token, "session-auth": session_auth, "no-prm-cors": no_prm_cors}


def patch_as(local: Any, deviation: str) -> None:
    from authkit_mcp_cli.server.local_as.model import OAuthError

    if deviation == "password":
        token = local.token

        def honour_password(form: dict[str, str], authorization: str | None, dpop: str | None = None) -> dict[str, Any]:
            if form.get("grant_type") == "password":
                client = local.authenticate_client(form, authorization)
                return local._issue(client, ["mcp:tools"], local.issuer, "password-family", nonce=None, with_id_token=False, refresh=False)
            return token(form, authorization, dpop)

        local.token = honour_password
    elif deviation == "refresh-error":
        refresh = local._refresh

        def wrong_code(client: Any, form: dict[str, str], jkt: str | None = None) -> dict[str, Any]:
            if (form.get("refresh_token") or "") not in local.refresh_tokens:
                raise OAuthError("invalid_request", "no such refresh token")
            return refresh(client, form, jkt)

        local._refresh = wrong_code
    elif deviation == "no-rotation":
        refresh = local._refresh

        def keep_working(client: Any, form: dict[str, str], jkt: str | None = None) -> dict[str, Any]:
            response = refresh(client, form, jkt)
            rt = local.refresh_tokens.get(form.get("refresh_token") or "")
            if rt is not None:
                rt.rotated = False
            return response

        local._refresh = keep_working
    elif deviation == "reuse-keeps-family":
        local.revoke_family = lambda family: None
    elif deviation == "redirect-prefix":
        # the registered URI as a prefix: longer paths and prefix extensions pass too
        local.redirect_uri_allowed = lambda client, uri: any(uri.startswith(r.split("?", 1)[0]) for r in client.redirect_uris)
    elif deviation == "no-pkce":
        start = local.start_authorization

        def pkce_optional(client: Any, params: dict[str, str]) -> Any:
            if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
                params = {**params, "code_challenge": "a" * 43, "code_challenge_method": "S256"}
            return start(client, params)

        local.start_authorization = pkce_optional
    elif deviation == "code-reuse":
        exchange_code = local._exchange_code

        def reusable(client: Any, form: dict[str, str], jkt: str | None = None) -> dict[str, Any]:
            response = exchange_code(client, form, jkt)
            code = local.codes.get(form.get("code") or "")
            if code is not None:
                code.used = False
            return response

        local._exchange_code = reusable
    elif deviation == "verifier-ignored":
        from authkit_mcp_cli.oauth.pkce import s256

        exchange_code = local._exchange_code

        def unverified(client: Any, form: dict[str, str], jkt: str | None = None) -> dict[str, Any]:
            code = local.codes.get(form.get("code") or "")
            form = {**form, "code_verifier": form.get("code_verifier") or "v" * 43}
            if code is not None:
                code.code_challenge = s256(form["code_verifier"])
            return exchange_code(client, form, jkt)

        local._exchange_code = unverified
    elif deviation == "short-tokens":
        import jwt

        issue = local._issue

        def short(*args: Any, **kwargs: Any) -> dict[str, Any]:
            response = issue(*args, **kwargs)
            claims = jwt.decode(response["access_token"], options={"verify_signature": False})
            claims["exp"] = claims["iat"] + SHORT_LIFETIME
            response["access_token"] = jwt.encode(claims, local._key, algorithm="RS256", headers={"kid": local.kid, "typ": "at+jwt"})
            response["expires_in"] = SHORT_LIFETIME
            return response

        local._issue = short
    else:
        raise ValueError(deviation)


@contextlib.contextmanager
def broken_serve(*deviations: str, **overrides: Any) -> Iterator[ServeInfo]:
    """serve (with its development AS, auto-approving) with ``deviations``."""
    options = dict(host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=None, required_scopes=None, auto_approve=True, allowed_hosts=[], stateless=False, workers=1)
    options.update(overrides)
    cfg = resolve_serve_config({}, **options)
    built: dict[str, Any] = {}

    def factory(base: str) -> Any:
        app, built["info"] = build_app(cfg, int(base.rsplit(":", 1)[1]))
        for deviation in deviations:
            if deviation == "expired-ok":
                app.state.validator.leeway = 24 * 3600
            elif deviation not in MIDDLEWARE:
                patch_as(app.state.local_as, deviation)
        for deviation in deviations:
            if deviation in MIDDLEWARE:
                app = MIDDLEWARE[deviation](app)
        return app

    with serve_asgi(factory):
        yield built["info"]
