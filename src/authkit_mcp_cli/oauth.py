"""OAuth 2.1 client steps, each a build-request / process-response pair so
validation is testable on canned responses (no I/O here).

PKCE (RFC 7636), the authorization request (OAuth 2.1 §4.1.1, RFC 8707
``resource``), the callback (``state``; RFC 9207 ``iss``), the token request
(§4.1.3, refresh §4.3) with the registered client authentication, dynamic
client registration (RFC 7591), and revocation (RFC 7009).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from authkit_mcp_cli.errors import AuthorizationDenied, ProtocolError, RemoteRefused

SPEC_ISS = "RFC 9207 §2.4; MCP 2026-07-28 Security Considerations"


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(64)[:96]  # 43..128 unreserved characters (RFC 7636 §4.1)
        return cls(verifier, s256(verifier))


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class ClientRegistration:
    """What the client authenticates with at this AS."""

    client_id: str
    client_secret: str | None = None
    token_endpoint_auth_method: str = "none"
    redirect_uris: tuple[str, ...] = ()
    source: str = "dcr"  # dcr, cimd, pre-registered

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "redirect_uris": list(self.redirect_uris),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientRegistration:
        return cls(
            client_id=str(data["client_id"]),
            client_secret=data.get("client_secret"),
            token_endpoint_auth_method=data.get("token_endpoint_auth_method") or "none",
            redirect_uris=tuple(data.get("redirect_uris") or ()),
            source=data.get("source") or "dcr",
        )


@dataclass
class Tokens:
    access_token: str
    token_type: str
    expires_at: float | None
    refresh_token: str | None = None
    id_token: str | None = None
    scope: str | None = None
    obtained_at: float = field(default_factory=time.time)

    def expired(self, skew: float = 30.0) -> bool:
        return self.expires_at is not None and self.expires_at - skew <= time.time()

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tokens:
        return cls(**{k: data.get(k) for k in ("access_token", "token_type", "expires_at", "refresh_token", "id_token", "scope", "obtained_at")})


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


# --- authorization request ---------------------------------------------------


def authorization_url(metadata: dict[str, Any], *, client_id: str, redirect_uri: str, scope: str | None, resource: str, state: str, pkce: Pkce) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
        "resource": resource,
    }
    if scope:
        params["scope"] = scope
    endpoint = metadata["authorization_endpoint"]
    sep = "&" if urlsplit(endpoint).query else "?"
    return endpoint + sep + urlencode(params, quote_via=quote)


def validate_callback(params: dict[str, str], *, expected_state: str, issuer: str, iss_advertised: bool) -> str:
    """Return the code, or raise. RFC 9207 is checked before anything else is believed."""
    iss = params.get("iss")
    if iss is not None and iss != issuer:
        # RFC 9207 §2.4: on mismatch show no error fields from the response
        raise ProtocolError(
            f"The authorization response came from issuer {iss!r}, not {issuer!r} (mix-up defence).",
            hint="Do not reuse this response; if the issuer is a variant of the same URL, configure the exact issuer string.",
            spec=SPEC_ISS,
        )
    if iss is None and iss_advertised:
        raise ProtocolError(
            "The authorization response has no iss although the AS advertises authorization_response_iss_parameter_supported.",
            hint="The response may not come from this AS; start the login again.",
            spec=SPEC_ISS,
        )
    if params.get("state") != expected_state:
        raise ProtocolError("The authorization response's state does not match this login (possible CSRF).", hint="Start the login again.", spec="OAuth 2.1 §4.1.2.1")
    if "error" in params:
        error, description = params["error"], params.get("error_description")
        text = f"The authorization server refused: {error}" + (f" ({description})" if description else "") + "."
        hint = "You denied the request, or the AS did; run login again to retry." if error == "access_denied" else "See the error above; check the client's registration and the requested scope."
        raise AuthorizationDenied(text, hint=hint, spec="OAuth 2.1 §4.1.2.1")
    code = params.get("code")
    if not code:
        raise ProtocolError("The authorization response has neither code nor error.", spec="OAuth 2.1 §4.1.2")
    return code


# --- token endpoint ----------------------------------------------------------


def client_auth(reg: ClientRegistration, form: dict[str, str]) -> dict[str, str]:
    """Apply the registered token-endpoint authentication; returns extra headers."""
    if reg.token_endpoint_auth_method == "client_secret_basic":
        # RFC 6749 §2.3.1: form-urlencode id and secret before base64
        raw = f"{quote(reg.client_id, safe='')}:{quote(reg.client_secret or '', safe='')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    form["client_id"] = reg.client_id
    if reg.token_endpoint_auth_method == "client_secret_post":
        form["client_secret"] = reg.client_secret or ""
    return {}


def _form_request(url: str, form: dict[str, str], headers: dict[str, str]) -> HttpRequest:
    return HttpRequest("POST", url, {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json", **headers}, urlencode(form).encode())


def code_token_request(metadata: dict[str, Any], reg: ClientRegistration, *, code: str, redirect_uri: str, pkce: Pkce, resource: str) -> HttpRequest:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": pkce.verifier, "resource": resource}
    return _form_request(metadata["token_endpoint"], form, client_auth(reg, form))


def refresh_token_request(metadata: dict[str, Any], reg: ClientRegistration, *, refresh_token: str, resource: str, scope: str | None = None) -> HttpRequest:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "resource": resource}
    if scope:
        form["scope"] = scope
    return _form_request(metadata["token_endpoint"], form, client_auth(reg, form))


def revocation_request(metadata: dict[str, Any], reg: ClientRegistration, *, token: str, hint: str) -> HttpRequest | None:
    endpoint = metadata.get("revocation_endpoint")
    if not isinstance(endpoint, str):
        return None
    form = {"token": token, "token_type_hint": hint}
    return _form_request(endpoint, form, client_auth(reg, form))


def oauth_error(status: int, body: bytes, what: str, spec: str = "RFC 6749 §5.2") -> RemoteRefused | ProtocolError:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        desc = data.get("error_description")
        return RemoteRefused(f"{what} was refused: {data['error']}" + (f" ({desc})" if isinstance(desc, str) else "") + f" [HTTP {status}].", spec=spec)
    snippet = body[:120].decode("utf-8", "replace").strip()
    return ProtocolError(f"{what} failed with HTTP {status} and no OAuth error body ({snippet!r}).", spec=spec)


def parse_token_response(status: int, body: bytes, *, previous_refresh_token: str | None = None) -> Tokens:
    if status != 200:
        raise oauth_error(status, body, "The token request")
    try:
        data = json.loads(body)
    except ValueError:
        raise ProtocolError("The token endpoint answered 200 with a body that is not JSON.", spec="RFC 6749 §5.1") from None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise ProtocolError("The token response has no access_token.", spec="RFC 6749 §5.1")
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ProtocolError(f"The token response's token_type is {token_type!r}, not Bearer.", spec="RFC 6749 §5.1; RFC 6750")
    expires_in = data.get("expires_in")
    expires_at = time.time() + float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else None
    refresh = data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None
    return Tokens(
        access_token=data["access_token"],
        token_type="Bearer",
        expires_at=expires_at,
        # MCP Refresh Tokens: keep the newest; an AS that does not rotate sends none back
        refresh_token=refresh or previous_refresh_token,
        id_token=data.get("id_token") if isinstance(data.get("id_token"), str) else None,
        scope=data.get("scope") if isinstance(data.get("scope"), str) else None,
    )


# --- dynamic client registration (RFC 7591) ----------------------------------


def registration_request(metadata: dict[str, Any], *, client_name: str, redirect_uris: list[str], application_type: str, auth_method: str, scope: str | None) -> HttpRequest:
    body: dict[str, Any] = {
        "client_name": client_name,
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": auth_method,
        "application_type": application_type,
    }
    if scope:
        body["scope"] = scope
    return HttpRequest("POST", metadata["registration_endpoint"], {"Content-Type": "application/json", "Accept": "application/json"}, json.dumps(body).encode())


def parse_registration_response(status: int, body: bytes, *, asked_method: str) -> tuple[ClientRegistration, dict[str, Any]]:
    if status not in (200, 201):
        raise oauth_error(status, body, "Dynamic client registration", spec="RFC 7591 §3.2.2")
    try:
        data = json.loads(body)
    except ValueError:
        raise ProtocolError("The registration endpoint answered with a body that is not JSON.", spec="RFC 7591 §3.2.1") from None
    if not isinstance(data, dict) or not isinstance(data.get("client_id"), str):
        raise ProtocolError("The registration response has no client_id.", spec="RFC 7591 §3.2.1")
    method = data.get("token_endpoint_auth_method") or asked_method
    secret = data.get("client_secret") if isinstance(data.get("client_secret"), str) else None
    if method in ("client_secret_basic", "client_secret_post") and not secret:
        raise ProtocolError(f"The AS registered the client with {method} but returned no client_secret.", spec="RFC 7591 §3.2.1")
    uris = data.get("redirect_uris") if isinstance(data.get("redirect_uris"), list) else []
    return ClientRegistration(client_id=data["client_id"], client_secret=secret, token_endpoint_auth_method=method, redirect_uris=tuple(uris), source="dcr"), data
