"""Protocol logic of the development AS, separate from HTTP so every rule is
testable directly. State lives in memory: a restart forgets clients, codes
and grants, and generates a new signing key (tokens from an earlier run are
then rejected by signature)."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit_mcp_cli.oauth.pkce import s256
from authkit_mcp_cli.server.local_as.client_credentials import GRANT_TYPES, check_grant_types, client_credentials
from authkit_mcp_cli.server.local_as.model import (
    ACCESS_TOKEN_TTL,
    AUTH_METHODS,
    CODE_TTL,
    DEV_USER,
    OIDC_SCOPES,
    PENDING_TTL,
    REFRESH_TOKEN_TTL,
    AuthorizationCode,
    AuthorizationRequest,
    Client,
    OAuthError,
    RefreshToken,
    check_redirect_uri,
)

__all__ = ["AuthorizationRequest", "Client", "LocalAuthorizationServer", "OAuthError", "check_redirect_uri"]
from authkit_mcp_cli.urls import is_loopback_host


class LocalAuthorizationServer:
    def __init__(self, *, issuer: str, resource: str, resource_scopes: list[str], auto_approve: bool = False) -> None:
        self.issuer = issuer.rstrip("/")
        self.resource = resource
        self.resource_scopes = list(dict.fromkeys(resource_scopes))
        self.auto_approve = auto_approve
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "dev-" + secrets.token_hex(4)
        self.clients: dict[str, Client] = {}
        self.pending: dict[str, AuthorizationRequest] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.revoked_families: set[str] = set()
        self.revoked_jti: set[str] = set()
        self._jti_family: dict[str, str] = {}

    # --- metadata ---------------------------------------------------------

    @property
    def scopes_supported(self) -> list[str]:
        return list(dict.fromkeys([*OIDC_SCOPES, *self.resource_scopes]))

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/oauth2/{name}"

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 §2, shaped like AuthKit's, plus the fields AuthKit sometimes omits."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "registration_endpoint": self.endpoint("register"),
            "revocation_endpoint": self.endpoint("revoke"),
            "jwks_uri": self.endpoint("jwks"),
            "scopes_supported": self.scopes_supported,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": "https://pypi.org/project/authkit-mcp-cli/",
            "atoms_auth_development_server": "atoms-auth embedded DEVELOPMENT authorization server: in-memory, not for production",
        }

    def openid_configuration(self) -> dict[str, Any]:
        return {**self.metadata(), "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"], "claims_supported": ["sub", "email", "email_verified", "name"]}

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    # --- registration (RFC 7591) -------------------------------------------

    def register(self, body: Any) -> Client:
        if not isinstance(body, dict):
            raise OAuthError("invalid_client_metadata", "the registration request must be a JSON object")
        app_type = body.get("application_type", "web")
        if app_type not in ("web", "native"):
            raise OAuthError("invalid_client_metadata", f"application_type must be 'web' or 'native', not {app_type!r}")
        method = body.get("token_endpoint_auth_method", "client_secret_basic")  # RFC 7591 §2 default
        if method not in AUTH_METHODS:
            raise OAuthError("invalid_client_metadata", f"token_endpoint_auth_method {method!r} is not supported (use one of {', '.join(AUTH_METHODS)})")
        grant_types = check_grant_types(body.get("grant_types", ["authorization_code"]), method)
        uses_code = "authorization_code" in grant_types  # a client_credentials-only client has no redirects
        redirect_uris = body.get("redirect_uris", None if uses_code else [])
        if not isinstance(redirect_uris, list) or (uses_code and not redirect_uris) or not all(isinstance(u, str) for u in redirect_uris):
            raise OAuthError("invalid_redirect_uri", "redirect_uris must be a non-empty array of strings")
        for uri in redirect_uris:
            check_redirect_uri(uri, app_type)
        response_types = body.get("response_types", ["code"] if uses_code else [])
        if response_types != (["code"] if uses_code else []):
            raise OAuthError("invalid_client_metadata", "response_types must be [\"code\"]" if uses_code else "response_types must be [] without authorization_code")
        name = body.get("client_name")
        if name is not None and not isinstance(name, str):
            raise OAuthError("invalid_client_metadata", "client_name must be a string")
        scope = body.get("scope")
        if scope is not None and (not isinstance(scope, str) or not set(scope.split()) <= set(self.scopes_supported)):
            raise OAuthError("invalid_client_metadata", f"scope must be a subset of {' '.join(self.scopes_supported)}")
        client = Client(
            client_id="client_" + secrets.token_urlsafe(16),
            redirect_uris=list(redirect_uris),
            token_endpoint_auth_method=method,
            client_secret=None if method == "none" else secrets.token_urlsafe(32),
            application_type=app_type,
            grant_types=grant_types,
            response_types=list(response_types),
            client_name=name[:200] if name else None,
            scope=scope,
        )
        self.clients[client.client_id] = client
        return client

    def add_metadata_document_client(self, client: Client) -> None:
        self.clients[client.client_id] = client

    # --- authorization (OAuth 2.1 §4.1.1) ----------------------------------

    def redirect_uri_allowed(self, client: Client, redirect_uri: str) -> bool:
        if redirect_uri in client.redirect_uris:
            return True
        if client.application_type != "native":
            return False
        # RFC 8252 §7.3: any port for loopback redirect URIs of native clients
        try:
            asked = urlsplit(redirect_uri)
            asked_port = asked.port
        except ValueError:
            return False
        for registered in client.redirect_uris:
            reg = urlsplit(registered)
            if reg.scheme == asked.scheme == "http" and is_loopback_host(reg.hostname) and reg.hostname == asked.hostname and asked_port is not None:
                if (reg.path, reg.query) == (asked.path, asked.query):
                    return True
        return False

    def start_authorization(self, client: Client, params: dict[str, str]) -> AuthorizationRequest:
        """Validate an authorization request whose client and redirect URI are already trusted.

        Raises OAuthError, which the caller sends back to the redirect URI.
        """
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        challenge = params.get("code_challenge")
        if not challenge:
            raise OAuthError("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
        if params.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256")
        if not (43 <= len(challenge) <= 128):
            raise OAuthError("invalid_request", "code_challenge must be 43 to 128 characters (RFC 7636 §4.2)")
        resource = params.get("resource") or self.resource
        if resource != self.resource:
            raise OAuthError("invalid_target", f"this development server only issues tokens for {self.resource}")
        requested = params.get("scope")
        scopes = requested.split() if requested else list(self.resource_scopes[:1])
        unknown = [s for s in scopes if s not in self.scopes_supported]
        if unknown:
            raise OAuthError("invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
        if "offline_access" in scopes and "refresh_token" not in client.grant_types:
            scopes.remove("offline_access")
        self._expire()
        req = AuthorizationRequest(
            id=secrets.token_urlsafe(16),
            csrf=secrets.token_urlsafe(24),
            client=client,
            redirect_uri=params["redirect_uri"],
            state=params.get("state"),
            scopes=list(dict.fromkeys(scopes)),
            resource=resource,
            code_challenge=challenge,
            nonce=params.get("nonce"),
            expires_at=time.time() + PENDING_TTL,
        )
        self.pending[req.id] = req
        return req

    def take_pending(self, request_id: str, csrf: str) -> AuthorizationRequest:
        req = self.pending.get(request_id)
        if req is None or req.expires_at < time.time():
            raise OAuthError("invalid_request", "this sign-in request is unknown or has expired; start again from the client")
        if not hmac.compare_digest(req.csrf, csrf):
            raise OAuthError("invalid_request", "the form's CSRF token does not match this sign-in request")
        del self.pending[request_id]
        return req

    def approve(self, req: AuthorizationRequest) -> str:
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            client_id=req.client.client_id,
            redirect_uri=req.redirect_uri,
            code_challenge=req.code_challenge,
            scopes=req.scopes,
            resource=req.resource,
            nonce=req.nonce,
            expires_at=time.time() + CODE_TTL,
        )
        return self.redirect(req.redirect_uri, {"code": code, "state": req.state})

    def deny(self, req: AuthorizationRequest) -> str:
        return self.redirect(req.redirect_uri, {"error": "access_denied", "error_description": "the user denied the request", "state": req.state})

    def redirect(self, redirect_uri: str, params: dict[str, str | None]) -> str:
        """The authorization response, with iss (RFC 9207 §2)."""
        query = {k: v for k, v in params.items() if v is not None}
        query["iss"] = self.issuer
        sep = "&" if urlsplit(redirect_uri).query else "?"
        return redirect_uri + sep + urlencode(query)

    # --- token endpoint (OAuth 2.1 §3.2, §4.1.3, §4.3) ---------------------

    def authenticate_client(self, form: dict[str, str], authorization: str | None) -> Client:
        client_id, secret, method = form.get("client_id"), form.get("client_secret"), "none"
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                basic_id, _, basic_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "malformed Basic credentials", status=401) from None
            client_id, secret, method = unquote_plus(basic_id), unquote_plus(basic_secret), "client_secret_basic"
        elif secret is not None:
            method = "client_secret_post"
        if not client_id:
            raise OAuthError("invalid_client", "no client_id", status=401)
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError("invalid_client", "unknown client", status=401)
        if method != client.token_endpoint_auth_method:
            raise OAuthError("invalid_client", f"this client must authenticate with {client.token_endpoint_auth_method}, not {method}", status=401)
        if client.client_secret and not hmac.compare_digest(client.client_secret, secret or ""):
            raise OAuthError("invalid_client", "wrong client secret", status=401)
        return client

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        client = self.authenticate_client(form, authorization)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(client, form)
        if grant == "refresh_token":
            if "refresh_token" not in client.grant_types:
                raise OAuthError("unauthorized_client", "this client is not registered for the refresh_token grant")
            return self._refresh(client, form)
        if grant == "client_credentials":
            return client_credentials(self, client, form)
        raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def _exchange_code(self, client: Client, form: dict[str, str]) -> dict[str, Any]:
        code = self.codes.get(form.get("code") or "")
        if code is None or code.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if code.used:
            # OAuth 2.1 §4.1.2: a replayed code revokes what it produced
            if code.family:
                self.revoke_family(code.family)
            raise OAuthError("invalid_grant", "the authorization code was already used; tokens issued from it are revoked")
        code.used = True
        if code.expires_at < time.time():
            raise OAuthError("invalid_grant", "the authorization code has expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request's")
        verifier = form.get("code_verifier") or ""
        if not (43 <= len(verifier) <= 128):
            raise OAuthError("invalid_grant", "code_verifier missing or of the wrong length (RFC 7636 §4.1)")
        if not hmac.compare_digest(s256(verifier), code.code_challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed")
        if form.get("resource") and form["resource"] != code.resource:
            raise OAuthError("invalid_target", "resource differs from the authorization request's")
        family = secrets.token_urlsafe(12)
        code.family = family
        return self._issue(client, code.scopes, code.resource, family, nonce=code.nonce, with_id_token=True)

    def _refresh(self, client: Client, form: dict[str, str]) -> dict[str, Any]:
        value = form.get("refresh_token") or ""
        rt = self.refresh_tokens.get(value)
        if rt is None or rt.client_id != client.client_id or rt.family in self.revoked_families:
            raise OAuthError("invalid_grant", "unknown or revoked refresh token")
        if rt.rotated:
            self.revoke_family(rt.family)  # reuse of a rotated token: the grant is compromised
            raise OAuthError("invalid_grant", "this refresh token was already used; the whole grant is now revoked")
        if rt.expires_at < time.time():
            raise OAuthError("invalid_grant", "the refresh token has expired")
        scopes = rt.scopes
        if form.get("scope"):
            asked = form["scope"].split()
            if not set(asked) <= set(rt.scopes):
                raise OAuthError("invalid_scope", "a refresh cannot widen the granted scope")
            scopes = asked
        if form.get("resource") and form["resource"] != rt.resource:
            raise OAuthError("invalid_target", "resource differs from the grant's")
        rt.rotated = True
        return self._issue(client, scopes, rt.resource, rt.family, nonce=None, with_id_token=False, keep_scopes=rt.scopes)

    def _issue(self, client: Client, scopes: list[str], resource: str, family: str, *, nonce: str | None, with_id_token: bool, keep_scopes: list[str] | None = None, subject: str | None = None, refresh: bool = True) -> dict[str, Any]:
        now = int(time.time())
        jti = secrets.token_urlsafe(12)
        claims = {
            "iss": self.issuer,
            "sub": subject or DEV_USER["sub"],
            "aud": resource,
            "client_id": client.client_id,
            "scope": " ".join(s for s in scopes if s != "offline_access"),
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_TTL,
            "jti": jti,
        }
        self._jti_family[jti] = family
        response: dict[str, Any] = {
            "access_token": jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "at+jwt"}),
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "scope": " ".join(scopes),
        }
        if refresh and "refresh_token" in client.grant_types:
            value = secrets.token_urlsafe(32)
            self.refresh_tokens[value] = RefreshToken(client.client_id, keep_scopes or scopes, resource, family, now + REFRESH_TOKEN_TTL)
            response["refresh_token"] = value
        if with_id_token and "openid" in scopes:
            id_claims = {"iss": self.issuer, "sub": DEV_USER["sub"], "aud": client.client_id, "iat": now, "exp": now + ACCESS_TOKEN_TTL}
            if "email" in scopes:
                id_claims.update(email=DEV_USER["email"], email_verified=True)
            if "profile" in scopes:
                id_claims["name"] = DEV_USER["name"]
            if nonce:
                id_claims["nonce"] = nonce
            response["id_token"] = jwt.encode(id_claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        return response

    # --- revocation (RFC 7009) ----------------------------------------------

    def revoke(self, form: dict[str, str], authorization: str | None) -> None:
        client = self.authenticate_client(form, authorization)
        token = form.get("token") or ""
        rt = self.refresh_tokens.get(token)
        if rt is not None and rt.client_id == client.client_id:
            self.revoke_family(rt.family)
            return
        try:
            claims = jwt.decode(token, self._key.public_key(), algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False})
        except jwt.PyJWTError:
            return  # RFC 7009 §2.2: unknown tokens are not an error
        if claims.get("client_id") == client.client_id and isinstance(claims.get("jti"), str):
            self.revoked_jti.add(claims["jti"])

    def revoke_family(self, family: str) -> None:
        self.revoked_families.add(family)

    def is_revoked(self, claims: dict[str, Any]) -> bool:
        jti = claims.get("jti")
        if not isinstance(jti, str):
            return False
        return jti in self.revoked_jti or self._jti_family.get(jti) in self.revoked_families

    def _expire(self) -> None:
        now = time.time()
        for store in (self.pending, self.codes):
            for key in [k for k, v in store.items() if v.expires_at < now - 60]:
                del store[key]
