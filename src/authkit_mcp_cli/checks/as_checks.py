"""Authorization-server checks (``as.*``): RFC 8414 / OIDC metadata as an
MCP client of 2026-07-28 reads it."""

from __future__ import annotations

from typing import Any

from authkit_mcp_cli.checks.as_kind import is_authkit
from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, Evidence, FoundAS
from authkit_mcp_cli.checks.model import Level, Outcome, Status, info, ok, problem, skip
from authkit_mcp_cli.checks.needs import found_as
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList
from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN
from authkit_mcp_cli.discovery import issuer_difference, issuer_matches
from authkit_mcp_cli.urls import is_absolute_http_url, is_secure_url
from authkit_mcp_cli.words import plural

CHECKS = CheckList()
check = CHECKS.check

SPEC_DISCOVERY = "MCP 2026-07-28 Authorization Server Discovery; RFC 8414 §3; OIDC Discovery §4"
URL_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "jwks_uri",
    "revocation_endpoint",
    "introspection_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
)


METADATA = (Probe.AS_METADATA,)


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


@check("as.discovery", "Authorization server metadata is discoverable", Level.MUST, SPEC_DISCOVERY, probes=METADATA)
def discovery(ev: Evidence) -> Outcome:
    if ev.as_issuer is None:
        out = found_as(ev)
        assert isinstance(out, Outcome)
        return out
    disc = ev.discovery
    if disc is None or not disc.attempts:
        return problem(
            f"The issuer {ev.as_issuer!r} (from {ev.as_issuer_source}) is not an absolute http(s) URL, so no metadata URL can be built.",
            f"Use the AuthKit domain exactly as the WorkOS dashboard shows it, e.g. https://your-env.authkit.app ({ENV_AUTHKIT_DOMAIN})."
            if is_authkit(ev)
            else "Use the authorization server's issuer identifier exactly, an absolute https URL (RFC 8414 §2).",
        )
    tried = disc.attempt_errors()
    if disc.metadata is None:
        unreachable = all(ex.error for _k, _u, ex in disc.attempts)
        why = "none of them could be reached" if unreachable else "none answered 200 with a JSON object"
        if is_authkit(ev):
            fix = (
                "Check the issuer: for AuthKit it is the domain in the WorkOS dashboard (Authentication -> AuthKit), "
                f"e.g. https://your-env.authkit.app, with no path. Test it with: curl {disc.attempts[0][1]} . "
                f"Then set {ENV_AUTHKIT_DOMAIN} to it and restart the server."
            )
        else:
            fix = f"Check the issuer: it is the authorization server's issuer identifier exactly (RFC 8414 §2). Test it with: curl {disc.attempts[0][1]} ."
        return problem(f"No authorization server metadata for {disc.issuer}: tried {len(disc.attempts)} URLs in the spec's order and {why}.", fix, tried=tried)
    ex = next(ex for _k, url, ex in disc.attempts if url == disc.metadata_url)
    if ex.redirects:
        # found, so the MUST holds; the redirect is a note (a MUST check never warns)
        return problem(
            f"Found, but only after a redirect to {ex.final_url}.",
            "Serve the document at the well-known URL itself: careful clients do not follow redirects during discovery (RFC 8414 §3).",
            status=Status.INFO,
            tried=tried,
        )
    return ok(f"Found at {disc.metadata_url}.", tried=tried)


@check("as.issuer", "Metadata issuer is identical to the issuer it was fetched for", Level.MUST, "RFC 8414 §3.3; MCP 2026-07-28 Authorization Server Discovery", probes=(Probe.AS_METADATA, Probe.PRM), needs=found_as)
def issuer(ev: Evidence, disc: FoundAS) -> Outcome:
    mismatches = []
    for kind, doc in disc.docs.items():
        if not issuer_matches(doc, disc.issuer):
            mismatches.append((kind, disc.doc_urls[kind], doc.get("issuer")))
    if not mismatches:
        return ok(f"issuer is exactly {disc.issuer!r}.")
    kind, url, value = mismatches[0]
    if not isinstance(value, str):
        return problem(f"The metadata at {url} has no string 'issuer' (found {value!r}).", "The AS must publish its issuer identifier in its metadata.")
    detail = issuer_difference(value, disc.issuer)
    source = ev.as_issuer_source or "configuration"
    configured = ENV_AUTHKIT_DOMAIN if is_authkit(ev) else "the server configuration"
    if value in ev.prm_issuers and source != "protected-resource metadata":
        # the server's metadata is already right: only the configured value is to change (one cause, one fix)
        where = f"{source} ({configured})" if source == "--authkit-domain" else source
        fix = f"Use exactly {value!r} in {where}; the server's protected-resource metadata already lists it."
    else:
        fix = f"Use exactly {value!r} wherever the issuer is configured: {configured}, and the authorization_servers of the protected-resource metadata."
    return problem(
        f"The metadata at {url} says issuer {value!r}, but it was fetched for {disc.issuer!r} (from {source}).{detail} Clients must not use it.",
        fix,
        mismatches=[f"{k}: {u} -> {v!r}" for k, u, v in mismatches],
    )


@check("as.required-fields", "Metadata has the endpoints and response type a client needs", Level.MUST, "RFC 8414 §2", probes=METADATA, needs=found_as)
def required_fields(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    missing = []
    for name in ("authorization_endpoint", "token_endpoint"):
        if not is_absolute_http_url(meta.get(name)):
            missing.append(f"{name} ({'missing' if name not in meta else 'not an absolute URL: ' + repr(meta[name])[:80]})")
    rts = _str_list(meta.get("response_types_supported"))
    if rts is None:
        missing.append("response_types_supported (missing or not a list of strings)")
    elif "code" not in rts:
        missing.append(f"response_types_supported without 'code' ({rts})")
    if missing:
        return problem("The metadata lacks: " + "; ".join(missing) + ".", "Publish these fields in the AS metadata; an MCP client cannot run the authorization-code flow without them.")
    return ok("authorization_endpoint, token_endpoint and response type 'code' are present.")


@check("as.pkce", "PKCE S256 is advertised", Level.MUST, "MCP 2026-07-28 Authorization: Authorization Code Protection; OAuth 2.1 §4.1.1", probes=METADATA, needs=found_as)
def pkce(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    methods = meta.get("code_challenge_methods_supported")
    where = f" ({disc.metadata_url})"
    if methods is None:
        hint = ""
        if "oauth" in disc.docs and disc.docs["oauth"] is not meta and "code_challenge_methods_supported" in disc.docs["oauth"]:
            hint = " The RFC 8414 document has it, but a client reads this one first."
        return problem(
            f"code_challenge_methods_supported is missing{where}: MCP clients must refuse to proceed without it.{hint}",
            "Advertise code_challenge_methods_supported: [\"S256\"] in the AS metadata" + (" (AuthKit's RFC 8414 document does)." if is_authkit(ev) else "."),
        )
    methods_list = _str_list(methods)
    if methods_list is None:
        return problem(f"code_challenge_methods_supported is not a list of strings: {methods!r}.", 'Use code_challenge_methods_supported: ["S256"].')
    if "S256" not in methods_list:
        return problem(f"code_challenge_methods_supported is {methods_list}, without S256.", 'Support and advertise S256: code_challenge_methods_supported: ["S256"].')
    note = " ('plain' is advertised too; OAuth 2.1 clients never use it.)" if "plain" in methods_list else ""
    return ok(f"S256 is supported.{note}")


@check("as.https", "Every AS endpoint uses https (loopback exempt)", Level.MUST, "MCP 2026-07-28 Security Considerations: Communication Security; OAuth 2.1 §1.5", probes=METADATA, needs=found_as)
def https(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    insecure = [f"{name}={meta[name]}" for name in URL_FIELDS if isinstance(meta.get(name), str) and not is_secure_url(meta[name])]
    if insecure:
        return problem("Endpoints not on https: " + ", ".join(insecure) + ".", "Serve every AS endpoint over https (http is acceptable only on 127.0.0.1, ::1 or localhost).")
    return ok("All endpoints use https or a loopback host.")


@check("as.registration", "A client registration path exists (CIMD or DCR)", Level.MUST, "MCP 2026-07-28 Client Registration; RFC 7591; Client ID Metadata Documents", probes=METADATA, needs=found_as)
def registration(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    cimd = meta.get("client_id_metadata_document_supported") is True
    dcr = is_absolute_http_url(meta.get("registration_endpoint"))
    paths: dict[str, Any] = {"cimd": cimd, "dcr": dcr, "registration_endpoint": meta.get("registration_endpoint")}
    if cimd and dcr:
        return ok("Both Client ID Metadata Documents and dynamic client registration are available.", **paths)
    if cimd:
        return ok("Client ID Metadata Documents are supported (the spec's preferred path).", **paths)
    if dcr:
        return ok("Dynamic client registration (RFC 7591) is available (see as.cimd for Client ID Metadata Documents).", **paths)
    fix = (
        "In the WorkOS dashboard (Connect -> Configuration) enable Client ID Metadata Documents and/or Dynamic Client Registration."
        if is_authkit(ev)
        else "Support Client ID Metadata Documents (client_id_metadata_document_supported: true) and/or dynamic client registration (registration_endpoint)."
    )
    return problem("Neither Client ID Metadata Documents nor dynamic client registration is advertised: MCP clients can only use a pre-registered client ID.", fix, **paths)


@check("as.cimd", "Client ID Metadata Documents are supported", Level.SHOULD, "MCP 2026-07-28 Client Registration: Client ID Metadata Documents", probes=METADATA, needs=found_as)
def cimd(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    if meta.get("client_id_metadata_document_supported") is True:
        return ok("client_id_metadata_document_supported is true (the spec's preferred registration).")
    if not is_absolute_http_url(meta.get("registration_endpoint")):
        return skip("No registration path at all (see as.registration).")
    fix = (
        "In the WorkOS dashboard (Connect -> Configuration) also enable Client ID Metadata Documents; keep DCR on for older clients."
        if is_authkit(ev)
        else "Support Client ID Metadata Documents and advertise client_id_metadata_document_supported: true; keep DCR for older clients."
    )
    return problem("Only dynamic client registration (RFC 7591) is available; the 2026-07-28 spec deprecates it in favour of Client ID Metadata Documents.", fix)


@check("as.token-auth-methods", "Public clients can use token_endpoint_auth_method 'none'", Level.SHOULD, "RFC 8414 §2; OAuth 2.1 §2.1", probes=METADATA, needs=found_as)
def token_auth_methods(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    raw = meta.get("token_endpoint_auth_methods_supported")
    methods = _str_list(raw) if raw is not None else ["client_secret_basic"]  # RFC 8414 default
    if methods is None:
        return problem(f"token_endpoint_auth_methods_supported is not a list of strings: {raw!r}.", 'Include "none" in token_endpoint_auth_methods_supported.')
    if "none" not in methods:
        return problem(
            f"token_endpoint_auth_methods_supported is {methods}{' (default)' if raw is None else ''}: public clients (CLIs, desktop apps) cannot authenticate without a secret.",
            'Include "none" in token_endpoint_auth_methods_supported' + ('. (AuthKit lists it; with DCR, register public clients with token_endpoint_auth_method "none".)' if is_authkit(ev) else "."),
        )
    return ok(f"Supported: {', '.join(methods)}.")


@check("as.iss-parameter", "The authorization response carries iss (RFC 9207)", Level.SHOULD, "RFC 9207 §3; MCP 2026-07-28 Security Considerations", probes=METADATA, needs=found_as)
def iss_parameter(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    if meta.get("authorization_response_iss_parameter_supported") is True:
        return ok("authorization_response_iss_parameter_supported is true: clients can detect mix-up attacks.")
    return problem(
        "authorization_response_iss_parameter_supported is not true: clients talking to several authorization servers cannot detect mix-up attacks.",
        "Return iss in authorization responses and advertise authorization_response_iss_parameter_supported: true.",
    )


def _usable_key(key: Any) -> str | None:
    """Why a JWK cannot verify signatures, or None when it can."""
    if not isinstance(key, dict):
        return "not a JSON object"
    if key.get("use", "sig") != "sig":
        return f"use is {key.get('use')!r}"
    alg = key.get("alg")
    if isinstance(alg, str) and (alg == "none" or alg.startswith("HS")):
        return f"alg {alg} cannot be published for verification"
    if key.get("kty") == "oct":
        return "kty oct (a shared secret) must never be published"
    from authkit_mcp_cli.jwk import load_public  # local: only doctor pays for it (cryptography, not pyjwt)

    try:
        load_public(key)
    except (ValueError, TypeError) as exc:
        return f"cannot be loaded ({exc})"
    return None


@check("as.jwks", "JWKS reachable with usable signing keys", Level.MUST, "RFC 8414 §2 (jwks_uri); RFC 7517 §4-5; MCP Security Considerations: Token Audience Binding and Validation", probes=(Probe.AS_JWKS,), needs=found_as)
def jwks(ev: Evidence, disc: FoundAS) -> Outcome:
    meta = disc.metadata
    uri = meta.get("jwks_uri")
    if uri is None:
        return skip("No jwks_uri is published (see as.jwks-uri).")
    if disc.jwks is None:
        return problem(f"jwks_uri is not an absolute URL: {uri!r}.", "Publish an absolute https jwks_uri.")
    ex = disc.jwks
    if not ex.ok or ex.status != 200:
        return problem(f"GET {uri} -> {ex.error or ex.status}.", "Make the JWKS endpoint reachable; resource servers need it to verify tokens.", response=ex.to_evidence())
    doc, err = ex.json_object()
    if doc is None:
        return problem(f"{uri} did not return a JWK Set: {err}.", "Serve a JSON object with a 'keys' array (RFC 7517 §5).", response=ex.to_evidence())
    keys = doc.get("keys")
    if not isinstance(keys, list) or not keys:
        return problem(f"{uri} has no 'keys' array with keys in it.", "Serve the signing keys as a JWK Set (RFC 7517 §5).", response=ex.to_evidence())
    private = [k.get("kid", f"#{i}") for i, k in enumerate(keys) if isinstance(k, dict) and any(p in k for p in ("d", "p", "q", "dp", "dq", "qi", "k"))]
    if private:
        return problem(f"CRITICAL: the JWKS publishes private or secret key material (keys {private}).", "Remove private members (d, p, q, dp, dq, qi, k) at once and rotate the keys: anyone can now sign tokens.", status=Status.FAIL)
    problems = {k.get("kid", f"#{i}") if isinstance(k, dict) else f"#{i}": why for i, k in enumerate(keys) if (why := _usable_key(k))}
    usable = len(keys) - len(problems)
    kids = [k.get("kid") for k in keys if isinstance(k, dict)]
    dupes = sorted({k for k in kids if k is not None and kids.count(k) > 1})
    if usable == 0:
        return problem("No key in the JWKS can verify signatures.", "Publish the AS's public signing keys (RSA or EC) with use 'sig'.", unusable=problems)
    if dupes:
        return problem(f"Duplicate kid values {dupes}: a verifier cannot tell which key signed a token.", "Give every key a unique kid (RFC 7517 §4.5).")
    if len(keys) > 1 and None in kids:
        return problem(f"{plural(usable, 'usable signing key')}, but several keys and some have no kid: verifiers must try keys one by one.", "Give every key a kid.", status=Status.INFO)
    return ok(f"{plural(usable, 'usable signing key')} at {uri}.", kids=[k for k in kids if k], unusable=problems or None)


@check("as.jwks-uri", "jwks_uri is published (when access tokens are JWTs)", Level.SHOULD, "RFC 8414 §2 (jwks_uri); RFC 9068 §4", probes=(Probe.AS_METADATA, Probe.TOKEN), needs=found_as)
def jwks_uri(ev: Evidence, disc: FoundAS) -> Outcome:
    if disc.metadata.get("jwks_uri") is not None:
        return ok(f"jwks_uri: {disc.metadata['jwks_uri']}.")
    te = ev.token
    if te is not None and te.session is not None and not te.jwt:
        return ok("No jwks_uri, and none is needed: the access tokens are opaque (servers validate them by introspection).")
    kind = "the access tokens are JWTs" if te is not None and te.jwt else "whether the access tokens are JWTs is unknown (doctor --login tells)"
    return problem(f"No jwks_uri, and {kind}: resource servers cannot verify JWT access tokens locally.", "Publish jwks_uri, or have your MCP server use token introspection (RFC 7662).")


# Fields that decide whether an MCP client can proceed (spec-checklist: AuthKit facts);
# also what the server's compatibility copies must not drop or change.
CLIENT_CRITICAL_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "code_challenge_methods_supported",
    "client_id_metadata_document_supported",
    "jwks_uri",
)


@check("as.oidc-consistency", "RFC 8414 and OIDC documents agree", Level.SHOULD, "RFC 8414 §3; OIDC Discovery §3; MCP 2026-07-28 Authorization Server Discovery", probes=METADATA, needs=found_as)
def oidc_consistency(ev: Evidence, disc: FoundAS) -> Outcome:
    if len(disc.docs) < 2:
        only = next(iter(disc.docs))
        name = "RFC 8414 (oauth-authorization-server)" if only == "oauth" else "OpenID Connect (openid-configuration)"
        return info(f"Only the {name} document is served; clients find it through the spec's ordered list.")
    oauth, oidc = disc.docs["oauth"], disc.docs["oidc"]
    omitted = [f for f in CLIENT_CRITICAL_FIELDS if f in oauth and f not in oidc]
    differing = [f for f in CLIENT_CRITICAL_FIELDS if f in oauth and f in oidc and oauth[f] != oidc[f]]
    extra = [f for f in CLIENT_CRITICAL_FIELDS if f in oidc and f not in oauth]
    if not (omitted or differing or extra):
        return ok("Both documents agree on issuer, endpoints, registration, PKCE and CIMD.")
    consequences = []
    if "code_challenge_methods_supported" in omitted:
        consequences.append("a client that reads only OpenID discovery sees no PKCE support and must refuse to log in")
    if "registration_endpoint" in omitted:
        consequences.append("it finds no registration endpoint and cannot register itself")
    if "client_id_metadata_document_supported" in omitted:
        consequences.append("it does not know Client ID Metadata Documents are accepted")
    text = []
    if omitted:
        text.append(f"the OIDC document omits {', '.join(omitted)}")
    if differing:
        text.append(f"they differ on {', '.join(differing)}")
    if extra:
        text.append(f"only the OIDC document has {', '.join(extra)}")
    message = "The RFC 8414 and OIDC documents disagree: " + "; ".join(text) + "."
    if consequences:
        message += " Consequence: " + "; ".join(consequences) + "."
    return problem(
        message,
        "Clients following the MCP spec read the RFC 8414 document first and are fine. For clients that read only OpenID discovery, "
        + ("serve a complete document (AuthKit: report it to WorkOS; your server's compatibility endpoint can forward the RFC 8414 document)." if is_authkit(ev) else "serve a complete document (your server's compatibility endpoint can forward the RFC 8414 document)."),
        oauth_url=disc.doc_urls["oauth"],
        oidc_url=disc.doc_urls["oidc"],
    )


@check("as.cors", "Metadata is readable from browser-based clients (CORS)", Level.SHOULD, "Fetch Standard §3.2 (CORS protocol); RFC 8414 §3", probes=(Probe.AS_CORS,), needs=found_as)
def cors(ev: Evidence, disc: FoundAS) -> Outcome:
    problems = []
    if disc.cors_get is not None:
        acao = disc.cors_get.header("access-control-allow-origin")
        if acao not in ("*", BROWSER_ORIGIN):
            problems.append(f"GET with Origin: {BROWSER_ORIGIN} got no usable Access-Control-Allow-Origin ({acao!r})")
    if disc.cors_preflight is not None:
        pre = disc.cors_preflight
        allowed = (pre.header("access-control-allow-headers") or "").lower()
        if pre.status not in (200, 204) or not pre.header("access-control-allow-origin"):
            problems.append(f"a preflight (OPTIONS) answered {pre.status or pre.error} without CORS headers")
        elif "*" not in allowed and "mcp-protocol-version" not in allowed:
            problems.append(f"the preflight does not allow the mcp-protocol-version header (allowed: {allowed or 'none'})")
    if problems:
        return problem(
            "Browser-based clients such as the MCP Inspector cannot read the metadata: " + "; ".join(problems) + ".",
            "Answer GET and OPTIONS on the metadata URLs with Access-Control-Allow-Origin: * and allow the mcp-protocol-version request header.",
        )
    return ok("Metadata answers CORS requests and preflights.")
