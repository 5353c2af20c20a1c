"""Authorization-server checks on the grants (``as.grant-types``) and DPoP
(``as.dpop``) the AS offers, as atoms-auth's ``login --grant`` uses them (issue 13)."""

from __future__ import annotations

from typing import Any

from authkit_mcp_cli.checks.evidence import Evidence, FoundAS
from authkit_mcp_cli.checks.model import Level, Outcome, info, ok, problem, skip
from authkit_mcp_cli.checks.needs import found_as
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList
from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE, JWT_BEARER, TOKEN_EXCHANGE
from authkit_mcp_cli.urls import is_absolute_http_url

CHECKS = CheckList()
check = CHECKS.check

METADATA = (Probe.AS_METADATA,)
DEFAULT_GRANTS = ["authorization_code", "implicit"]  # RFC 8414 §2
DEFAULT_AUTH_METHODS = ["client_secret_basic"]  # RFC 8414 §2
# OAuth 2.1 removed both: the implicit grant (tokens in URLs, RFC 9700 §2.1.2) and the password grant (RFC 9700 §2.4)
REMOVED_GRANTS = {
    "implicit": "the implicit grant puts access tokens in URLs, where they leak (RFC 9700 §2.1.2)",
    "password": "the password grant hands the user's password to the client (RFC 9700 §2.4)",
}

# The grants atoms-auth speaks, in the order it lists them, with the command that uses each.
LOGIN: dict[str, str] = {
    "authorization_code": "atoms-auth login --grant authorization-code",
    "refresh_token": "atoms-auth token refresh",
    "client_credentials": "atoms-auth login --grant client-credentials --client-secret SECRET (or --private-key FILE)",
    JWT_BEARER: "atoms-auth login --grant jwt-bearer --assertion FILE (and the last leg of --grant enterprise)",
    TOKEN_EXCHANGE: "atoms-auth login --grant enterprise --idp-issuer ISSUER (this AS as the enterprise IdP)",
    DEVICE_CODE: "atoms-auth login --grant device-code",
}


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _device_flow(meta: dict[str, Any], grants: list[str]) -> tuple[bool, str]:
    """Whether --grant device-code can work here, and how the metadata says so."""
    endpoint = is_absolute_http_url(meta.get("device_authorization_endpoint"))
    listed = DEVICE_CODE in grants
    if endpoint and listed:
        return True, "the device flow is usable (device_authorization_endpoint and the device_code grant)"
    if endpoint:
        return False, f"device_authorization_endpoint is published but grant_types_supported lacks {DEVICE_CODE}: the metadata is inconsistent"
    if listed:
        return False, f"{DEVICE_CODE} is listed but there is no device_authorization_endpoint: the device flow cannot start"
    return False, "no device flow"


@check(
    "as.grant-types",
    "Grants the AS offers (authorization_code and refresh_token advertised)",
    Level.SHOULD,
    "RFC 8414 §2; MCP 2026-07-28 Authorization: Refresh Tokens; MCP client-credentials extension; RFC 7523; RFC 8693; RFC 8628 §4",
    probes=METADATA,
    needs=found_as,
)
def grant_types(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    raw = meta.get("grant_types_supported")
    grants = _str_list(raw) if raw is not None else DEFAULT_GRANTS
    if grants is None:
        return problem(f"grant_types_supported is not a list of strings: {raw!r}.", 'Publish grant_types_supported: ["authorization_code", "refresh_token"].')
    raw_methods = meta.get("token_endpoint_auth_methods_supported")
    methods = (_str_list(raw_methods) or []) if raw_methods is not None else DEFAULT_AUTH_METHODS
    offered = [g for g in LOGIN if g in grants]
    device_ok, device_text = _device_flow(meta, grants)
    commands = {g: LOGIN[g] for g in offered if g != DEVICE_CODE or device_ok}
    default = " (grant_types_supported is absent, so RFC 8414's default applies)" if raw is None else ""
    methods_default = " (absent: RFC 8414's default)" if raw_methods is None else ""
    secret = [m for m in methods if m in ("client_secret_basic", "client_secret_post")]
    cc_auth = ", ".join([*secret, *(["private_key_jwt"] if "private_key_jwt" in methods else [])]) or "none atoms-auth can use"
    summary = f"Offered{default}: {', '.join(offered) or 'none of the grants atoms-auth speaks'}"
    if "client_credentials" in offered:
        summary += f"; client credentials authenticate with {cc_auth}"
    summary += f"; client auth methods{methods_default}: {', '.join(methods) or 'none'}; {device_text}."
    evidence: dict[str, Any] = {
        "grant_types_supported": grants,
        "default": raw is None,
        "offered": offered,
        "others": [g for g in grants if g not in LOGIN],
        "token_endpoint_auth_methods": methods,
        "device_flow": device_ok,
        "login": commands,
    }
    removed = [g for g in REMOVED_GRANTS if g in grants and raw is not None]
    if removed:
        summary += f" Also listed: {', '.join(removed)} (see as.removed-grants)."
    missing = [g for g in ("authorization_code", "refresh_token") if g not in grants]
    if missing:
        return problem(
            f"grant_types_supported{default} lacks {', '.join(missing)}. {summary}",
            'Publish grant_types_supported: ["authorization_code", "refresh_token"], so clients can renew tokens without a new login.',
            **evidence,
        )
    if not device_ok and device_text != "no device flow":
        return problem(
            f"{summary[0].upper()}{summary[1:]}",
            "Publish both device_authorization_endpoint and the device_code grant in grant_types_supported, or neither (RFC 8628 §4).",
            **evidence,
        )
    return ok(summary, **evidence)


@check(
    "as.removed-grants",
    "The AS does not advertise the implicit or password grant",
    Level.MUST,
    "OAuth 2.1 (implicit and password grants removed); RFC 9700 §2.1.2, §2.4; RFC 8414 §2",
    probes=METADATA,
    needs=found_as,
)
def removed_grants(ev: Evidence, disc: FoundAS) -> Outcome:
    raw = disc.metadata.get("grant_types_supported")
    grants = _str_list(raw)
    if raw is None:
        return ok("grant_types_supported is absent: RFC 8414's default [authorization_code, implicit] is a default, not an advertisement; doctor --active tries the password grant (as.password-grant).")
    if grants is None:
        return skip("grant_types_supported is not a list of strings (see as.grant-types).")
    removed = [g for g in REMOVED_GRANTS if g in grants]
    response_types = _str_list(disc.metadata.get("response_types_supported"))
    id_token_only = ""
    if "implicit" in removed and response_types is not None and not any("token" in rt.split() for rt in response_types):
        # OpenID Connect's implicit and hybrid flows (response_type id_token, code id_token) list implicit too,
        # but without response_type token no access token is ever put in a URL (OAuth 2.1 removed that one)
        removed.remove("implicit")
        id_token_only = f" implicit is listed, but no response type in response_types_supported ({', '.join(response_types)}) returns an access token from the authorization endpoint: only OpenID Connect ID tokens, which OAuth 2.1 does not remove."
    if removed:
        return problem(
            f"grant_types_supported advertises {' and '.join(removed)}, which OAuth 2.1 removed: " + "; ".join(REMOVED_GRANTS[g] for g in removed) + ".",
            "Turn " + " and ".join(removed) + " off and stop advertising " + ("them" if len(removed) > 1 else "it") + ': clients use the authorization code flow with PKCE (grant_types_supported: ["authorization_code", "refresh_token"]).',
            removed=removed,
            grant_types_supported=grants,
        )
    if id_token_only:
        return ok(f"password is not advertised;{id_token_only}", grant_types_supported=grants, response_types_supported=response_types)
    return ok(f"Neither implicit nor password is advertised (grant_types_supported: {', '.join(grants)}).")


# Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037, RFC 8812, RFC 9864): what a DPoP proof may use (RFC 9449 §4.2).
ASYMMETRIC_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA", "Ed25519", "Ed448"})
DPOP_ALG = "ES256"  # what atoms-auth --dpop signs its proofs with


@check("as.dpop", "DPoP proof algorithms the AS accepts", Level.SHOULD, "RFC 9449 §5.1, §4.2; MCP DPoP extension (optional for the AS)", probes=METADATA, needs=found_as)
def dpop(ev: Evidence, disc: FoundAS) -> Outcome:
    raw = disc.metadata.get("dpop_signing_alg_values_supported")
    if raw is None:
        return info("dpop_signing_alg_values_supported is absent: the AS does not advertise DPoP (optional); atoms-auth --dpop may not get bound tokens.")
    algs = _str_list(raw)
    if not algs:
        return problem(
            f"dpop_signing_alg_values_supported is not a non-empty list of JWS algorithm names: {raw!r}.",
            f'Publish the JWS algorithms accepted for DPoP proofs, e.g. dpop_signing_alg_values_supported: ["{DPOP_ALG}"] (RFC 9449 §5.1).',
        )
    forbidden = [a for a in algs if a == "none" or a.startswith("HS")]
    if forbidden:
        return problem(
            f"dpop_signing_alg_values_supported lists {', '.join(forbidden)}: DPoP proofs must use an asymmetric algorithm, never none or a MAC (RFC 9449 §4.2).",
            f'List only asymmetric algorithms, e.g. ["{DPOP_ALG}"].',
            algs=algs,
        )
    unknown = [a for a in algs if a not in ASYMMETRIC_ALGS]
    note = f" (not registered asymmetric JWS algorithms: {', '.join(unknown)})" if unknown else ""
    if DPOP_ALG not in algs:
        return problem(
            f"DPoP proofs may use {', '.join(algs)}{note}, not {DPOP_ALG}: atoms-auth --dpop needs {DPOP_ALG}.",
            f"Add {DPOP_ALG} to dpop_signing_alg_values_supported (and accept it for DPoP proofs).",
            algs=algs,
        )
    return ok(f"DPoP is supported; proofs may use {', '.join(algs)}{note}, including {DPOP_ALG} (what atoms-auth --dpop uses).", algs=algs)
