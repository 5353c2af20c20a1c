"""The device authorization grant (RFC 8628): the device authorization
request (§3.1) and response (§3.2), the device access token request (§3.4),
and what a polling answer means (§3.5): keep polling, slow down (+5 s), or
stop (``access_denied``, ``expired_token``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AuthorizationDenied, ProtocolError, RemoteRefused
from authkit_mcp_cli.oauth.client_auth import ClientRegistration, client_auth
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE
from authkit_mcp_cli.oauth.message import HttpRequest, error_response, form_request, load_json

DEFAULT_INTERVAL = 5  # seconds, RFC 8628 §3.2
SLOW_DOWN_STEP = 5  # seconds added on slow_down, RFC 8628 §3.5


@dataclass(frozen=True)
class DeviceAuthorization:
    """A device authorization response (RFC 8628 §3.2); ``device_code`` is a secret."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


def device_authorization_request(metadata: dict[str, Any], reg: ClientRegistration, *, scope: str | None, resource: str) -> HttpRequest:
    """Ask for a device code and user code (RFC 8628 §3.1; RFC 8707 §2)."""
    form = {"resource": resource}  # client_id or client authentication: client_auth
    if scope:
        form["scope"] = scope
    return form_request(metadata["device_authorization_endpoint"], form, client_auth(reg, form))


def parse_device_authorization(status: int, body: bytes, *, url: str | None = None) -> DeviceAuthorization:
    """The codes and the verification URI of a successful answer (RFC 8628 §3.2), else the AS's error."""
    if status != 200:
        raise error_response(status, body, "The device authorization request", spec="RFC 8628 §3.2", url=url)
    data = load_json(body)
    missing = [k for k in ("device_code", "user_code", "verification_uri") if not (isinstance(data, dict) and isinstance(data.get(k), str) and data[k])]
    if missing:
        raise ProtocolError(f"The device authorization response lacks {', '.join(missing)}.", code=ErrorCode.OAUTH_INVALID_DEVICE_RESPONSE, spec="RFC 8628 §3.2", url=url)
    assert isinstance(data, dict)
    expires = data.get("expires_in")
    interval = data.get("interval")
    complete = data.get("verification_uri_complete")
    return DeviceAuthorization(
        device_code=data["device_code"],
        user_code=data["user_code"],
        verification_uri=data["verification_uri"],
        verification_uri_complete=complete if isinstance(complete, str) and complete else None,
        expires_in=_positive(expires) or 600.0,
        interval=_positive(interval) or float(DEFAULT_INTERVAL),
    )


def _positive(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return float(value) if ok else None


def device_token_request(metadata: dict[str, Any], reg: ClientRegistration, *, device_code: str, resource: str) -> HttpRequest:
    """Poll the token endpoint with the device code (RFC 8628 §3.4; RFC 8707 §2.2)."""
    form = {"grant_type": DEVICE_CODE, "device_code": device_code, "resource": resource}
    return form_request(metadata["token_endpoint"], form, client_auth(reg, form))


Poll = Literal["tokens", "pending", "slow_down"]


def classify_poll(status: int, body: bytes, *, url: str | None = None) -> Poll:
    """What a polling answer means (RFC 8628 §3.5): tokens, keep polling, or slow down; a final error raises
    (``access_denied``/``expired_token``: AuthorizationDenied ``login.device-denied``/``login.device-expired``)."""
    if status == 200:
        return "tokens"
    data = load_json(body)
    error = data.get("error") if isinstance(data, dict) else None
    if error == "authorization_pending":
        return "pending"
    if error == "slow_down":
        return "slow_down"
    refused = error_response(status, body, "The device access token request", spec="RFC 8628 §3.5", url=url)
    remote = refused.remote if isinstance(refused, RemoteRefused) else None
    if error == "access_denied":
        raise AuthorizationDenied(
            "The user denied the device authorization (access_denied).", code=ErrorCode.LOGIN_DEVICE_DENIED, hint="Run atoms-auth login --grant device-code again and approve on the verification page.", spec="RFC 8628 §3.5", url=url, remote=remote
        )
    if error == "expired_token":
        raise AuthorizationDenied(
            "The device code expired before the user approved it (expired_token).", code=ErrorCode.LOGIN_DEVICE_EXPIRED, hint="Run atoms-auth login --grant device-code again and enter the code sooner.", spec="RFC 8628 §3.5", url=url, remote=remote
        )
    raise refused
