"""Protocol logic of the development AS, separate from HTTP so every rule is
testable directly. State lives in memory: a restart forgets clients, codes
and grants, and generates a new signing key (tokens from an earlier run are
then rejected by signature)."""

from __future__ import annotations

import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE as DEVICE_GRANT
from authkit_mcp_cli.oauth.pkce import s256
from authkit_mcp_cli.server.dpop_proof import ALGS as DPOP_ALGS
from authkit_mcp_cli.server.local_as import stores
from authkit_mcp_cli.server.local_as.client_auth import SIGNING_ALGS, authenticate
from authkit_mcp_cli.server.local_as.client_credentials import GRANT_TYPES, client_credentials
from authkit_mcp_cli.server.local_as.device import DeviceFlow
from authkit_mcp_cli.server.local_as.dpop_binding import token_endpoint_checker, verify_proof
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
from authkit_mcp_cli.server.local_as.registration import register_client
from authkit_mcp_cli.server.local_as.stores import BoundedSet, BoundedStore, RateLimiter, ReplayCache

__all__ = ["AuthorizationRequest", "Client", "LocalAuthorizationServer", "OAuthError", "check_redirect_uri"]
from authkit_mcp_cli.urls import is_loopback_host


class LocalAuthorizationServer:
    def __init__(self, *, issuer: str, resource: str, resource_scopes: list[str], default_scopes: list[str] | None = None, auto_approve: bool = False) -> None:
        """``resource_scopes``: every scope of the resource; ``default_scopes``: those it requires of every
        token (serve's --required-scopes; by default the first resource scope), the most a client gets
        without a user (client_credentials.py)."""
        self.issuer = issuer.rstrip("/")
        self.resource = resource
        self.resource_scopes = list(dict.fromkeys(resource_scopes))
        self.default_scopes = [s for s in (self.resource_scopes[:1] if default_scopes is None else default_scopes) if s in self.resource_scopes]
        self.auto_approve = auto_approve
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "dev-" + secrets.token_hex(4)
        # every store is capped, least recently used first out (issue 14: no unbounded state)
        self.clients: BoundedStore[str, Client] = BoundedStore(stores.MAX_CLIENTS)
        self.pending: BoundedStore[str, AuthorizationRequest] = BoundedStore(stores.MAX_PENDING)
        self.codes: BoundedStore[str, AuthorizationCode] = BoundedStore(stores.MAX_CODES)
        self.refresh_tokens: BoundedStore[str, RefreshToken] = BoundedStore(stores.MAX_REFRESH_TOKENS)
        self.revoked_families: BoundedSet[str] = BoundedSet(stores.MAX_REVOKED)
        self.revoked_jti: BoundedSet[str] = BoundedSet(stores.MAX_REVOKED)
        self._jti_family: BoundedStore[str, str] = BoundedStore(stores.MAX_ISSUED)
        self.registrations = RateLimiter(stores.REGISTRATIONS_PER_MINUTE, 60)  # per client address (issue 14 item 6)
        self.seen_jti = ReplayCache()  # client assertions' jti (RFC 7523 §3)
        self.dpop_proofs = token_endpoint_checker(self.endpoint("token"))  # RFC 9449 §4.3, §11.1
        self.device = DeviceFlow(self)

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
            "device_authorization_endpoint": self.endpoint("device_authorization"),
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
            "dpop_signing_alg_values_supported": list(DPOP_ALGS),
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "atoms_auth_development_server": "atoms-auth embedded DEVELOPMENT authorization server: in-memory, not for production",
        }

    def openid_configuration(self) -> dict[str, Any]:
        return {**self.metadata(), "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"], "claims_supported": ["sub", "email", "email_verified", "name"]}

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    # --- registration (RFC 7591) -------------------------------------------

    def register(self, body: Any, client_address: str | None = None) -> Client:
        if client_address is not None:
            wait = self.registrations.retry_after(client_address)
            if wait:
                raise OAuthError("invalid_request", f"too many registrations from {client_address}: try again in {wait:.0f} s", status=429)
        client = register_client(body, self.scopes_supported)
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
        scopes = self.grant_scopes(client, params.get("scope"))
        self._expire()
        req = AuthorizationRequest(
            id=secrets.token_urlsafe(16),
            csrf=secrets.token_urlsafe(24),
            client=client,
            redirect_uri=params["redirect_uri"],
            state=params.get("state"),
            scopes=scopes,
            resource=resource,
            code_challenge=challenge,
            nonce=params.get("nonce"),
            expires_at=time.time() + PENDING_TTL,
        )
        self.pending[req.id] = req
        return req

    def grant_scopes(self, client: Client, requested: str | None) -> list[str]:
        """The scopes a request with a user gets: known ones, within the client's registered ``scope``
        (RFC 7591 §2) and the resource's own scopes, else invalid_scope.

        The resource's scopes stay open to a client registered for fewer: the user consents to them on
        the page, and MCP step-up (a 403 insufficient_scope, then a new authorization with the
        challenged scopes) must work for clients that registered with their first scope, as the
        official SDKs do (both dropped this check: python-sdk #2301, typescript-sdk #983). Without a
        user (client credentials) the resource's default scopes, within the registered scope, are the
        bound (client_credentials.py).
        """
        allowed = [*client.scope.split(), *self.resource_scopes] if client.scope else None
        default = [s for s in self.resource_scopes if allowed is None or s in allowed][:1] or (allowed or [])[:1]
        scopes = requested.split() if requested else default
        unknown = [s for s in scopes if s not in self.scopes_supported]
        if unknown:
            raise OAuthError("invalid_scope", f"unknown {'scope' if len(unknown) == 1 else 'scopes'}: {' '.join(unknown)}")
        outside = [s for s in scopes if allowed is not None and s not in allowed]
        if outside:
            raise OAuthError("invalid_scope", f"{'scope' if len(outside) == 1 else 'scopes'} {' '.join(outside)} outside the client's registered scope {client.scope}")
        if "offline_access" in scopes and "refresh_token" not in client.grant_types:
            scopes.remove("offline_access")
        return list(dict.fromkeys(scopes))

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
        # RFC 7523 §3 item 3: the assertion's aud is the issuer or the token endpoint
        return authenticate(self.clients, form, authorization, audiences=[self.issuer, self.endpoint("token")], seen=self.seen_jti)

    def token(self, form: dict[str, str], authorization: str | None, dpop: str | None = None) -> dict[str, Any]:
        client = self.authenticate_client(form, authorization)
        # RFC 9449 §5: a valid proof binds the tokens to its key
        jkt = verify_proof(dpop, self.dpop_proofs) if dpop is not None else None
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(client, form, jkt)
        if grant == "refresh_token":
            if "refresh_token" not in client.grant_types:
                raise OAuthError("unauthorized_client", "this client is not registered for the refresh_token grant")
            return self._refresh(client, form, jkt)
        if grant == "client_credentials":
            return client_credentials(self, client, form, jkt)
        if grant == DEVICE_GRANT:
            return self.device.token(client, form, jkt)
        raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def device_authorization(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """RFC 8628 §3.1-§3.2; the verification page is at ``issuer + DEVICE_PATH``."""
        return self.device.authorize(self.authenticate_client(form, authorization), form)

    def _exchange_code(self, client: Client, form: dict[str, str], jkt: str | None = None) -> dict[str, Any]:
        code = self.codes.get(form.get("code") or "")
        if code is None or code.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if code.used:
            # OAuth 2.1 §4.1.2: a replayed code revokes what it produced
            if code.family:
                self.revoke_family(code.family)
            raise OAuthError("invalid_grant", "the authorization code was already used; tokens issued from it are revoked")
        if code.expires_at < time.time():
            raise OAuthError("invalid_grant", "the authorization code has expired")
        # redirect_uri, PKCE and resource first: a failed attempt does not burn the code of the legitimate client (issue 14)
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request's")
        verifier = form.get("code_verifier") or ""
        if not (43 <= len(verifier) <= 128):
            raise OAuthError("invalid_grant", "code_verifier missing or of the wrong length (RFC 7636 §4.1)")
        if not hmac.compare_digest(s256(verifier), code.code_challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed")
        if form.get("resource") and form["resource"] != code.resource:
            raise OAuthError("invalid_target", "resource differs from the authorization request's")
        code.used = True
        family = secrets.token_urlsafe(12)
        code.family = family
        return self._issue(client, code.scopes, code.resource, family, nonce=code.nonce, with_id_token=True, jkt=jkt)

    def _refresh(self, client: Client, form: dict[str, str], jkt: str | None = None) -> dict[str, Any]:
        value = form.get("refresh_token") or ""
        rt = self.refresh_tokens.get(value)
        if rt is None or rt.client_id != client.client_id or rt.family in self.revoked_families:
            raise OAuthError("invalid_grant", "unknown or revoked refresh token")
        if rt.rotated:
            self.revoke_family(rt.family)  # reuse of a rotated token: the grant is compromised
            raise OAuthError("invalid_grant", "this refresh token was already used; the whole grant is now revoked")
        if rt.expires_at < time.time():
            raise OAuthError("invalid_grant", "the refresh token has expired")
        if rt.jkt and jkt != rt.jkt:  # RFC 9449 §5: a bound refresh token needs a proof made with the same key
            raise OAuthError("invalid_dpop_proof" if jkt else "invalid_grant", "this refresh token is DPoP-bound: send a DPoP proof made with the key it was issued to (RFC 9449 §5)")
        scopes = rt.scopes
        if form.get("scope"):
            asked = form["scope"].split()
            if not set(asked) <= set(rt.scopes):
                raise OAuthError("invalid_scope", "a refresh cannot widen the granted scope")
            scopes = asked
        if form.get("resource") and form["resource"] != rt.resource:
            raise OAuthError("invalid_target", "resource differs from the grant's")
        rt.rotated = True
        return self._issue(client, scopes, rt.resource, rt.family, nonce=None, with_id_token=False, keep_scopes=rt.scopes, jkt=jkt)

    def _issue(self, client: Client, scopes: list[str], resource: str, family: str, *, nonce: str | None, with_id_token: bool, keep_scopes: list[str] | None = None, subject: str | None = None, refresh: bool = True, jkt: str | None = None) -> dict[str, Any]:
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
        if jkt:
            claims["cnf"] = {"jkt": jkt}  # RFC 9449 §6.1
        self._jti_family[jti] = family
        response: dict[str, Any] = {
            "access_token": jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "at+jwt"}),
            "token_type": "DPoP" if jkt else "Bearer",  # RFC 9449 §5
            "expires_in": ACCESS_TOKEN_TTL,
            "scope": " ".join(scopes),
        }
        if refresh and "refresh_token" in client.grant_types:
            value = secrets.token_urlsafe(32)
            bound = jkt if client.token_endpoint_auth_method == "none" else None  # §5: confidential clients' refresh tokens are not bound
            self.refresh_tokens[value] = RefreshToken(client.client_id, keep_scopes or scopes, resource, family, now + REFRESH_TOKEN_TTL, jkt=bound)
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
        for value, rt in self.refresh_tokens.items():  # gone for good, even once the family leaves the capped set
            if rt.family == family:
                del self.refresh_tokens[value]

    def is_revoked(self, claims: dict[str, Any]) -> bool:
        jti = claims.get("jti")
        if not isinstance(jti, str):
            return False
        return jti in self.revoked_jti or self._jti_family.get(jti) in self.revoked_families

    def _expire(self) -> None:
        now = time.time()
        for store in (self.pending, self.codes, self.refresh_tokens):
            for key, value in store.items():
                if value.expires_at < now - 60:
                    del store[key]
