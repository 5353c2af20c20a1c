"""The authorization response at the redirect URI: RFC 9207 ``iss`` first,
then ``state`` (RFC 6749 §4.1.2, §10.12), then the code or the error
(§4.1.2.1)."""

from __future__ import annotations

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AuthorizationDenied, ProtocolError, RemoteDetail

SPEC_ISS = "RFC 9207 §2.4; MCP 2026-07-28 Security Considerations"


def validate_callback(params: dict[str, str], *, expected_state: str, issuer: str, iss_advertised: bool) -> str:
    """Return the code, or raise; nothing in the response is believed before ``iss`` is checked (RFC 9207 §2.4)."""
    iss = params.get("iss")
    if iss is not None and iss != issuer:
        # §2.4: on mismatch show no error fields from the response (they may be the attacker's)
        raise ProtocolError(
            f"The authorization response came from issuer {iss!r}, not {issuer!r} (mix-up defence).",
            code=ErrorCode.OAUTH_ISS_MISMATCH,
            hint="Do not reuse this response; if the issuer is a variant of the same URL, configure the exact issuer string.",
            spec=SPEC_ISS,
        )
    if iss is None and iss_advertised:
        raise ProtocolError(
            "The authorization response has no iss although the AS advertises authorization_response_iss_parameter_supported.",
            code=ErrorCode.OAUTH_ISS_MISSING,
            hint="The response may not come from this AS; start the login again.",
            spec=SPEC_ISS,
        )
    if params.get("state") != expected_state:
        raise ProtocolError("The authorization response's state does not match this login (possible CSRF).", code=ErrorCode.OAUTH_STATE_MISMATCH, hint="Start the login again.", spec="RFC 6749 §10.12; OAuth 2.1 §4.1.2.1")
    if "error" in params:
        remote = RemoteDetail.from_oauth_body(None, params)
        described = f" ({remote.error_description})" if remote.error_description else ""
        denied = remote.error == "access_denied"
        hint = "You denied the request, or the AS did; run login again to retry." if denied else "See the error above; check the client's registration and the requested scope."
        raise AuthorizationDenied(
            f"The authorization server refused: {remote.error}{described}.",
            code=ErrorCode.AUTHORIZATION_DENIED if denied else ErrorCode.AUTHORIZATION_REFUSED,
            hint=hint,
            spec="RFC 6749 §4.1.2.1",
            remote=remote,
        )
    code = params.get("code")
    if not code:
        raise ProtocolError("The authorization response has neither code nor error.", code=ErrorCode.OAUTH_NO_CODE, spec="RFC 6749 §4.1.2")
    return code
