"""MCP server checks (``server.*``, ``challenge.*``, ``prm.*``): what the
resource server must do for a 2026-07-28 client, and for the older clients
that still need the 401 header."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.challenge import BEARER_ERROR_CODES, ChallengeParseError, find_bearer, parse_www_authenticate
from authkit_mcp_cli.checks.as_checks import CLIENT_CRITICAL_FIELDS
from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, MCP_REQUEST_HEADERS, Evidence
from authkit_mcp_cli.checks.model import Level, Outcome, Status, info, ok, problem, skip
from authkit_mcp_cli.checks.registry import check
from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN, ENV_HTTP_PATH
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.urls import is_absolute_http_url, is_secure_url, resource_matches

SPEC_PRM = "RFC 9728 §3-5; MCP 2026-07-28 Authorization: Protected Resource Metadata Discovery"
SPEC_CHALLENGE = "RFC 6750 §3; RFC 9728 §5.1; MCP 2026-07-28 Authorization"
LOCATION_NAMES = {"header": "the WWW-Authenticate resource_metadata URL", "path": "the path-inserted well-known URL", "root": "the root well-known URL"}


def _server(ev: Evidence) -> str | Outcome:
    if not ev.target.server_url:
        return skip("No MCP server given (--server).")
    return ev.target.server_url


def _answered(ev: Evidence) -> Exchange | Outcome:
    server = _server(ev)
    if isinstance(server, Outcome):
        return server
    assert ev.challenge is not None
    if not ev.challenge.ok:
        return skip(f"The server did not answer (see server.reachable): {ev.challenge.error}.")
    return ev.challenge


def _unauthorized(ev: Evidence) -> Exchange | Outcome:
    ex = _answered(ev)
    if isinstance(ex, Outcome):
        return ex
    if ex.status != 401:
        return skip(f"The unauthenticated request got {ex.status}, not 401 (see challenge.status).")
    return ex


def _prm(ev: Evidence) -> dict[str, Any] | Outcome:
    server = _server(ev)
    if isinstance(server, Outcome):
        return server
    if ev.prm_doc is None:
        return skip("No protected-resource metadata was found (see prm.discovery).")
    return ev.prm_doc


@check("server.reachable", "The MCP server answers", Level.MUST, "RFC 9110 §15; MCP 2026-07-28 Transports: Streamable HTTP", needs=_server)
def reachable(ev: Evidence, server: str) -> Outcome:
    ex = ev.challenge
    assert ex is not None
    if ex.ok:
        return ok(f"POST {server} answered HTTP {ex.status} in {ex.elapsed_ms:.0f} ms.")
    fixes = {
        "dns": "Check the host name in --server (or FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL).",
        "refused": "Start the server, or fix the port in the URL.",
        "tls": "Fix the server's certificate (a tunnel such as ngrok or cloudflared gives a valid one), or use http only on 127.0.0.1.",
        "timeout": "The server is too slow or a firewall drops packets; raise --timeout to tell them apart.",
        "insecure": "Use https.",
    }
    return problem(f"The server could not be reached: {ex.error}.", fixes.get(ex.error_kind or "", "Check the URL and that the server is running."), response=ex.to_evidence())


@check("server.https", "The MCP endpoint uses https (loopback exempt)", Level.MUST, "MCP 2026-07-28 Security Considerations: Communication Security", needs=_server)
def server_https(ev: Evidence, server: str) -> Outcome:
    if is_secure_url(server):
        return ok("https" if server.startswith("https:") else "http on a loopback host (allowed for local development).")
    return problem(f"{server} uses plain http on a non-loopback host: tokens would cross the network in clear.", "Serve the MCP endpoint over https (a tunnel such as cloudflared or ngrok gives one).")


@check("challenge.status", "An unauthenticated MCP request gets 401", Level.MUST, "MCP 2026-07-28 Authorization: Authorization Flow Steps; RFC 6750 §3", needs=_answered)
def challenge_status(ev: Evidence, ex: Exchange) -> Outcome:
    status = ex.status
    if status == 401:
        return ok("401 Unauthorized.")
    path = urlsplit(ev.target.server_url or "").path
    explanations = {
        200: ("the server answered an unauthenticated MCP request with 200: authorization is not enforced, so clients never start OAuth.", "Protect the MCP endpoint: require a bearer token and answer 401 with a WWW-Authenticate challenge."),
        403: ("403 instead of 401: clients only start OAuth on 401.", "Answer a request without a token with 401 and a WWW-Authenticate: Bearer challenge; keep 403 for insufficient scope."),
        404: (f"404: nothing is served at {path}.", f"Check the MCP path (--server, or {ENV_HTTP_PATH}; default /api/mcp)."),
        405: ("405: the endpoint does not accept POST.", "Point --server at the streamable HTTP endpoint, which accepts POST."),
        406: ("406: the server rejected the request's Accept header before checking authorization.", "Check authorization before content negotiation, and accept 'application/json, text/event-stream'."),
        421: ("421 Misdirected Request: the server's Host-header protection rejects this host name.", "Add this host to the server's allowed hosts (atoms-auth serve: --allowed-host)."),
    }
    if status in explanations:
        message, fix = explanations[status]
    elif status is not None and 300 <= status < 400:
        message = f"{status} redirect to {ex.header('location')}: clients do not replay a POST across redirects reliably."
        fix = "Use the final URL as the MCP URL (watch for a trailing slash)."
    elif status is not None and status >= 500:
        message, fix = f"{status}: the server failed.", "Look at the server's log for the exception."
    else:
        message, fix = f"{status}: expected 401.", "Answer unauthenticated requests with 401 and a WWW-Authenticate: Bearer challenge."
    return problem(message, fix, response=ex.to_evidence())


@check("challenge.header", "WWW-Authenticate: Bearer is present and parseable", Level.MUST, "RFC 9110 §11.6.1; RFC 6750 §3", needs=_unauthorized)
def challenge_header(ev: Evidence, ex: Exchange) -> Outcome:
    values = ex.header_list("www-authenticate")
    if not values:
        return problem("The 401 has no WWW-Authenticate header (RFC 9110 requires one); clients cannot discover how to authenticate.", "Send WWW-Authenticate: Bearer resource_metadata=\"<PRM URL>\", scope=\"<scopes>\" with every 401.")
    if ev.challenge_parse_error:
        return problem(ev.challenge_parse_error, "Quote parameter values and separate parameters with commas, e.g. Bearer resource_metadata=\"https://…\", scope=\"read\".", header=values)
    if ev.bearer is None:
        return problem(f"No Bearer challenge; schemes offered: {', '.join(c.scheme for c in ev.challenges)}.", "Offer the Bearer scheme (RFC 6750).", header=values)
    if ev.bearer.duplicate_params:
        return problem(f"The Bearer challenge repeats {', '.join(ev.bearer.duplicate_params)}.", "Send each parameter once (RFC 9110 §11.2).", header=values)
    return ok(f"Bearer challenge with {', '.join(sorted(ev.bearer.params)) or 'no parameters'}.", header=values)


@check("challenge.resource-metadata", "The challenge names the protected-resource metadata", Level.SHOULD, "RFC 9728 §5.1; MCP 2026-07-28 Authorization: Protected Resource Metadata Discovery", needs=_unauthorized)
def challenge_resource_metadata(ev: Evidence, ex: Exchange) -> Outcome:
    if ev.bearer is None:
        return skip("No Bearer challenge (see challenge.header).")
    url = ev.bearer.get("resource_metadata")
    if not url:
        fallback = "clients of 2025-11-25 and later fall back to the well-known URLs, " + ("which serve it" if ev.prm_doc else "which do not serve it either")
        return problem(f"No resource_metadata parameter: 2025-06-18 clients cannot find the metadata; {fallback}.", f"Add resource_metadata=\"{ev.prm_urls.get('path')}\" to the challenge.")
    if not is_absolute_http_url(url):
        return problem(f"resource_metadata is not an absolute URL: {url!r}.", f"Use the absolute URL, e.g. {ev.prm_urls.get('path')}.")
    fetched = ev.prm.get("header")
    assert fetched is not None
    doc, err = fetched.json_object()
    if fetched.status != 200 or doc is None:
        return problem(f"resource_metadata points to {url}, which answered {fetched.error or fetched.status}{'' if fetched.status != 200 else ': ' + str(err)}.", "Serve the protected-resource metadata at that URL, or point the header at where it is served.", response=fetched.to_evidence())
    if "resource" not in doc:
        return problem(f"{url} answered JSON without 'resource': it is not protected-resource metadata.", "Serve RFC 9728 metadata (resource, authorization_servers) there.")
    return ok(f"resource_metadata={url} serves the metadata.")


@check("challenge.scope", "The challenge says which scopes to request", Level.SHOULD, "MCP 2026-07-28 Authorization: Scope Selection Strategy; RFC 6750 §3", needs=_unauthorized)
def challenge_scope(ev: Evidence, ex: Exchange) -> Outcome:
    if ev.bearer is None:
        return skip("No Bearer challenge (see challenge.header).")
    scope = ev.bearer.get("scope")
    if not scope:
        return problem("No scope parameter: clients fall back to all of scopes_supported, or request none (which some authorization servers refuse).", "Add scope=\"<the scopes this endpoint needs>\" to the challenge.")
    if "offline_access" in scope.split():
        return problem(f"The challenge asks for offline_access ({scope!r}); the spec says not to advertise it here.", "Remove offline_access from the challenge's scope: clients add it themselves when the AS offers it (MCP: Refresh Tokens).")
    return ok(f"scope={scope!r}.")


@check("challenge.error-code", "The challenge's error code follows RFC 6750", Level.SHOULD, "RFC 6750 §3.1", needs=_unauthorized)
def challenge_error_code(ev: Evidence, ex: Exchange) -> Outcome:
    if ev.bearer is None:
        return skip("No Bearer challenge (see challenge.header).")
    error = ev.bearer.get("error")
    if error is None:
        return ok("No error code for a request without credentials, as RFC 6750 §3.1 asks.")
    if error not in BEARER_ERROR_CODES:
        guide = " (the integration guide's own example sends it)" if error == "unauthorized" else ""
        return problem(f"error={error!r} is not an RFC 6750 error code{guide}; and a request without credentials should get no error code at all.", "Send no error parameter when no token was sent; use invalid_token, invalid_request or insufficient_scope otherwise.")
    return problem(f"error={error!r} was sent although the request had no credentials; RFC 6750 §3.1 says to send no error code then.", "Send the bare challenge (resource_metadata, scope) when no token was sent; keep error=\"invalid_token\" for bad tokens.")


def _header_has(value: str | None, needed: str) -> bool:
    items = {v.strip().lower() for v in (value or "").split(",")}
    return needed.lower() in items


@check("challenge.cors", "The challenge is visible to browser-based clients (CORS)", Level.SHOULD, "Fetch Standard §3.2 (CORS protocol)", needs=_answered)
def challenge_cors(ev: Evidence, ex: Exchange) -> Outcome:
    problems = []
    post = ev.cors_post
    if post is not None and post.ok:
        if not post.header("access-control-allow-origin"):
            problems.append(f"the response to a request with Origin: {BROWSER_ORIGIN} has no Access-Control-Allow-Origin")
        exposed = post.header("access-control-expose-headers")
        if not (_header_has(exposed, "www-authenticate") or _header_has(exposed, "*")):
            problems.append("WWW-Authenticate is not listed in Access-Control-Expose-Headers, so a browser client cannot read the challenge")
    pre = ev.cors_preflight
    if pre is not None and pre.ok:
        if pre.status not in (200, 204):
            problems.append(f"the preflight (OPTIONS) got {pre.status}; it must succeed without a token")
        else:
            allowed = pre.header("access-control-allow-headers")
            # "*" does not cover Authorization (Fetch Standard: CORS-safelisted wildcard rule)
            missing = [h for h in MCP_REQUEST_HEADERS.split(", ") if not _header_has(allowed, h) and not (h != "authorization" and _header_has(allowed, "*"))]
            if missing:
                problems.append(f"the preflight does not allow {', '.join(missing)}")
            if not pre.header("access-control-allow-origin"):
                problems.append("the preflight has no Access-Control-Allow-Origin")
    if problems:
        return problem("Browser-based clients (MCP Inspector) will fail: " + "; ".join(problems) + ".", "Wrap the MCP endpoint in a CORS middleware that answers preflights without auth, allows authorization, content-type, mcp-protocol-version and mcp-session-id, and exposes WWW-Authenticate and Mcp-Session-Id.")
    return ok("CORS preflight and exposed WWW-Authenticate are in place.")


@check("prm.discovery", "Protected-resource metadata is found", Level.MUST, SPEC_PRM, needs=_server)
def prm_discovery(ev: Evidence, server: str) -> Outcome:
    tried = [f"{LOCATION_NAMES[loc]}: {ev.prm_urls[loc]} -> {ex.error or ex.status}" for loc, ex in ev.prm.items()]
    if ev.prm_doc is None:
        return problem(
            "No protected-resource metadata at any location clients try: " + "; ".join(tried) + ".",
            f"Serve RFC 9728 metadata at {ev.prm_urls.get('path')} (and the root URL for older clients), with resource and authorization_servers.",
            tried=tried,
        )
    assert ev.prm_location is not None
    return ok(f"Found through {LOCATION_NAMES[ev.prm_location]} ({ev.prm_urls[ev.prm_location]}).", tried=tried)


def _serves_prm(ex: Exchange | None) -> bool:
    if ex is None or ex.status != 200:
        return False
    doc, _ = ex.json_object()
    return doc is not None and "resource" in doc


@check("prm.locations", "Where the metadata is served, and which clients find it", Level.INFO, SPEC_PRM, needs=_server)
def prm_locations(ev: Evidence, server: str) -> Outcome:
    serving = {loc: _serves_prm(ev.prm.get(loc)) for loc in ("header", "path", "root")}
    strategies = {
        "header-only (2025-06-18 clients)": serving["header"],
        "path-inserted first (2025-11-25 and later)": serving["header"] or serving["path"] or serving["root"],
        "root only (older tools, the integration guide)": serving["root"],
    }
    where = [LOCATION_NAMES[loc] for loc in ("path", "root") if serving[loc]]
    header_url = ev.prm_urls.get("header")
    if serving["header"] and header_url not in (ev.prm_urls["path"], ev.prm_urls["root"]):
        where.append(f"{header_url} (named by WWW-Authenticate)")
    elif serving["header"]:
        where[where.index(LOCATION_NAMES["path" if header_url == ev.prm_urls["path"] else "root"])] += " (also named by WWW-Authenticate)"
    fails = [name for name, works in strategies.items() if not works]
    text = f"Served at {', '.join(where) or 'no location'}. "
    text += "Every discovery strategy succeeds." if not fails else f"Clients using {', '.join(fails)} will not find it."
    return info(text, locations={loc: ev.prm_urls.get(loc) for loc, yes in serving.items() if yes}, strategies=strategies)


@check("prm.resource", "PRM resource identifies this MCP endpoint", Level.MUST, "RFC 9728 §3.3; MCP 2026-07-28 Authorization: Canonical Server URI", needs=_prm)
def prm_resource(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    server = ev.target.server_url
    assert server is not None
    problems = []
    checked = []
    for loc in ("header", "path", "root"):
        ex = ev.prm.get(loc)
        if not _serves_prm(ex):
            continue
        assert ex is not None
        d, _ = ex.json_object()
        assert d is not None
        resource = d.get("resource")
        url = ev.prm_urls[loc]
        if not isinstance(resource, str):
            problems.append(f"{url}: resource is not a string ({resource!r})")
            continue
        at_root = url == ev.prm_urls["root"]
        good, why = resource_matches(resource, server, allow_prefix=at_root)
        checked.append(f"{url}: {resource}")
        if not good:
            problems.append(f"{url} says resource {resource!r}, which {why} compared with {server!r}")
    if problems:
        return problem(
            "; ".join(problems) + ". Clients send resource as the token audience, and a correct server then rejects the token (RFC 8707).",
            f"Set resource to exactly {server.rstrip('/')!r} (no trailing slash) and register the same string as a Resource Indicator in the WorkOS dashboard.",
            checked=checked,
        )
    return ok("resource identifies this endpoint.", checked=checked)


@check("prm.authorization-servers", "PRM names usable authorization servers", Level.MUST, "RFC 9728 §2; MCP 2026-07-28 Authorization Server Location", needs=_prm)
def prm_authorization_servers(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    servers = doc.get("authorization_servers")
    if not isinstance(servers, list) or not servers:
        return problem(
            "authorization_servers is missing or empty: clients cannot learn where to log in.",
            f"Set authorization_servers to [\"<your AuthKit domain>\"] (the guide's server fills it from {ENV_AUTHKIT_DOMAIN}, and leaves it out when that is unset).",
        )
    problems = []
    for entry in servers:
        if not is_absolute_http_url(entry):
            problems.append(f"{entry!r} is not an absolute URL")
        elif not is_secure_url(entry):
            problems.append(f"{entry} is not https")
        else:
            disc = ev.discoveries.get(entry)
            if disc is not None and disc.metadata is None:
                problems.append(f"{entry} serves no metadata (tried {len(disc.attempts)} URLs)")
    configured = ev.target.authkit_domain
    if configured and configured not in servers:
        problems.append(f"your configured AuthKit domain {configured!r} (from {ev.target.domain_source}) is not among them")
    if problems:
        return problem("authorization_servers " + json_list(servers) + ": " + "; ".join(problems) + ".", f"List exactly your AuthKit domain as the dashboard shows it (https, no trailing slash), the same string as {ENV_AUTHKIT_DOMAIN}.")
    return ok(f"authorization_servers {json_list(servers)}, each discoverable.")


def json_list(values: list[Any]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


@check("prm.scopes", "PRM lists scopes_supported, without offline_access", Level.SHOULD, "RFC 9728 §2; MCP 2026-07-28 Authorization: Scope Selection Strategy, Refresh Tokens", needs=_prm)
def prm_scopes(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    scopes = doc.get("scopes_supported")
    if scopes is None:
        return problem("scopes_supported is absent: when the challenge has no scope either, clients request no scope.", "List the scopes this server understands in scopes_supported.")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        return problem(f"scopes_supported is not a list of strings: {scopes!r}.", "Make scopes_supported a JSON array of strings.")
    if "offline_access" in scopes:
        return problem("scopes_supported includes offline_access; the spec says a resource server should not advertise it.", "Remove offline_access: clients request it themselves when the AS supports refresh tokens (MCP: Refresh Tokens).")
    return ok(f"scopes_supported: {scopes}.")


@check("server.compat-metadata", "The server's own AS-metadata compatibility endpoints", Level.INFO, "MCP 2025-03-26 fallback; RFC 8414 §3", needs=_server)
def compat_metadata(ev: Evidence, server: str) -> Outcome:
    disc = ev.discovery
    notes, problems = [], []
    for kind, ex in ev.compat.items():
        name = "oauth-authorization-server" if kind == "oauth" else "openid-configuration"
        doc, _ = ex.json_object()
        if ex.status != 200 or doc is None:
            notes.append(f"/.well-known/{name}: not served ({ex.error or ex.status})")
            continue
        upstream = disc.docs.get(kind) if disc else None
        if upstream is None:
            notes.append(f"/.well-known/{name}: served (no AS document of that kind to compare with)")
            continue
        if doc == upstream:
            notes.append(f"/.well-known/{name}: identical to the AS's")
            continue
        omitted = [f for f in CLIENT_CRITICAL_FIELDS if f in upstream and f not in doc]
        differing = [f for f in CLIENT_CRITICAL_FIELDS if f in upstream and f in doc and upstream[f] != doc[f]]
        if omitted or differing:
            parts = []
            if omitted:
                parts.append(f"omits {', '.join(omitted)}")
            if differing:
                parts.append(f"differs on {', '.join(differing)}")
            problems.append(f"/.well-known/{name} " + " and ".join(parts) + " compared with the AS's own document")
        else:
            notes.append(f"/.well-known/{name}: differs from the AS's only in fields clients do not need")
    if problems:
        return problem(
            "The server's compatibility endpoints contradict the authorization server: " + "; ".join(problems) + ". Older clients that read these see, for example, no PKCE support and refuse.",
            "Forward the AS's documents unchanged (fetch and return the raw JSON), or remove these endpoints; never rebuild them from the OpenID document.",
            status=Status.WARN,
            notes=notes,
        )
    return info("; ".join(notes) + ".")


def _probe_result(ex: Exchange) -> str:
    return str(ex.error or ex.status)


@check("server.rejects-invalid-token", "A garbage bearer token gets 401 invalid_token", Level.MUST, "RFC 6750 §3.1; MCP 2026-07-28 Authorization: Token Handling", needs=_answered)
def rejects_invalid_token(ev: Evidence, ex: Exchange) -> Outcome:
    probe = ev.token_probes.get("garbage")
    assert probe is not None
    if probe.status is not None and 200 <= probe.status < 300:
        return problem("CRITICAL: 'Authorization: Bearer garbage' was accepted with " + str(probe.status) + ": the server does not validate tokens.", "Validate every token: signature against the AS's JWKS, issuer, audience (this resource), expiry.", status=Status.FAIL)
    if probe.status != 401:
        return problem(f"'Bearer garbage' got {_probe_result(probe)}, not 401.", "Answer an invalid token with 401 and WWW-Authenticate: Bearer error=\"invalid_token\".")
    try:
        bearer = find_bearer(parse_www_authenticate(probe.header_list("www-authenticate")))
    except ChallengeParseError:
        bearer = None
    if bearer is None or bearer.get("error") != "invalid_token":
        got = bearer.get("error") if bearer else None
        return problem(f"401 without error=\"invalid_token\" (got {got!r}); clients cannot tell a bad token from a missing one.", "Send WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"...\", resource_metadata=\"...\" for a bad token.")
    return ok("401 with error=\"invalid_token\".")


FORGED_DESCRIPTIONS = {
    "alg-none": "an unsigned token (alg none)",
    "foreign-key": "a token signed by a stranger's key under the AS's kid",
    "hs256-public-key": "an HS256 token keyed with the AS's public key (algorithm confusion)",
    "expired": "an expired token",
}


@check("server.rejects-forged-tokens", "Forged and expired JWTs are rejected", Level.MUST, "RFC 8725 §2-3; MCP 2026-07-28 Security Considerations: Token Audience Binding and Validation", needs=_answered)
def rejects_forged_tokens(ev: Evidence, ex: Exchange) -> Outcome:
    accepted, other = [], []
    results = {}
    for name, desc in FORGED_DESCRIPTIONS.items():
        probe = ev.token_probes.get(name)
        if probe is None:
            continue
        results[name] = _probe_result(probe)
        if probe.status is not None and (200 <= probe.status < 300 or probe.status == 403):
            accepted.append(f"{desc} -> {probe.status}")
        elif probe.status != 401:
            other.append(f"{desc} -> {_probe_result(probe)}")
    if accepted:
        return problem(
            "CRITICAL: the server authenticated forged tokens: " + "; ".join(accepted) + ". Anyone can call it as anyone.",
            "Verify tokens with a JWT library: pin the algorithms to the JWKS keys' (RS256/ES256; never none or HS*), check the signature against the AS's JWKS, then iss, aud and exp.",
            status=Status.FAIL,
            results=results,
        )
    if other:
        return problem("Forged tokens were refused, but not with 401: " + "; ".join(other) + ".", "Answer every invalid token with 401 and error=\"invalid_token\".", results=results)
    return ok(f"All {len(results)} forged tokens got 401.", results=results)


@check("server.malformed-authorization", "Malformed Authorization headers get 400 or 401", Level.SHOULD, "RFC 6750 §2.1, §3.1", needs=_answered)
def malformed_authorization(ev: Evidence, ex: Exchange) -> Outcome:
    bad = []
    for name, label in (("basic", "Authorization: Basic …"), ("empty-bearer", "an empty Bearer token")):
        probe = ev.token_probes.get(name)
        assert probe is not None
        if probe.status not in (400, 401):
            bad.append(f"{label} -> {_probe_result(probe)}")
    if bad:
        critical = any("-> 2" in b for b in bad)
        return problem(
            ("CRITICAL: " if critical else "") + "Malformed credentials were not refused cleanly: " + "; ".join(bad) + ".",
            "Answer any Authorization header that is not a valid Bearer token with 401 (or 400 for a malformed request), never 5xx or 2xx.",
            status=Status.FAIL if critical else None,
        )
    return ok("Basic credentials and an empty Bearer token are refused.")
