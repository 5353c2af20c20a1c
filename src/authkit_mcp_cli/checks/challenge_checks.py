"""MCP server checks on the unauthenticated request (``server.reachable``,
``server.https``, ``challenge.*``): the 401 and its WWW-Authenticate challenge,
which clients of every generation start from (RFC 6750 §3; RFC 9728 §5.1)."""

from __future__ import annotations

from urllib.parse import urlsplit

from authkit_mcp_cli.challenge import BEARER_ERROR_CODES, DPOP_ERROR_CODES
from authkit_mcp_cli.checks import needs
from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, MCP_REQUEST_HEADERS, Evidence
from authkit_mcp_cli.checks.model import Level, Outcome, ok, problem, skip
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList
from authkit_mcp_cli.config import ENV_HTTP_PATH
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.urls import is_absolute_http_url, is_secure_url

CHECKS = CheckList()
check = CHECKS.check

# the challenge checks below read the answer by the one rule (challenge.py): Bearer or DPoP
NO_CHALLENGE = "No Bearer or DPoP challenge (see challenge.header)."


@check("server.reachable", "The MCP server answers", Level.MUST, "RFC 9110 §15; MCP 2026-07-28 Transports: Streamable HTTP", probes=(Probe.CHALLENGE,), needs=needs.server)
def reachable(ev: Evidence, server: str) -> Outcome:
    ex = ev.challenge
    assert ex is not None
    if ex.ok:
        return ok(f"POST {server} answered HTTP {ex.status} in {ex.elapsed_ms:.0f} ms.")
    fixes = {
        "dns": "Check the host name in --server (or FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL).",
        "refused": "Start the server, or fix the port in the URL.",
        "plain_http": "This port speaks plain HTTP: use http:// in --server (allowed on 127.0.0.1), or put TLS in front of the server.",
        "tls": "Fix the server's certificate (a tunnel such as ngrok or cloudflared gives a valid one), or use http only on 127.0.0.1.",
        "timeout": "The server is too slow or a firewall drops packets; raise --timeout to tell them apart.",
        "insecure": "Use https.",
    }
    return problem(f"The server could not be reached: {ex.error}.", fixes.get(ex.error_kind or "", "Check the URL and that the server is running."), response=ex.to_evidence())


@check("server.url", "The URL given is the server's canonical URL", Level.SHOULD, "MCP 2026-07-28 Authorization: Canonical Server URI; RFC 9728 §3.3", probes=(Probe.PRM,), needs=needs.server)
def server_url(ev: Evidence, server: str) -> Outcome:
    if ev.typed_server is not None:
        return problem(
            f"You gave {ev.typed_server}; the server's canonical URL (its protected-resource metadata's resource) is {server}. They differ only by {' and '.join(ev.url_differences)}, "
            f"so every other check ran against {server}.",
            f"Configure clients with {server} exactly: a client compares the metadata's resource with the URL it was given (RFC 9728 §3.3) and sends that string as resource"
            + ("; the trailing slash also costs a redirect that POSTs do not survive." if "a trailing slash" in ev.url_differences else "."),
            typed=ev.typed_server,
            canonical=server,
            differences=ev.url_differences,
        )
    resource = (ev.prm_doc or {}).get("resource")
    if resource == server:
        return ok(f"{server} is the resource the server's metadata names.")
    return skip("No protected-resource metadata names this exact URL (see prm.discovery and prm.resource).")


# Judged from the URL alone: no request goes out for it.
@check("server.https", "The MCP endpoint uses https (loopback exempt)", Level.MUST, "MCP 2026-07-28 Security Considerations: Communication Security", needs=needs.server)
def server_https(ev: Evidence, server: str) -> Outcome:
    if is_secure_url(server):
        return ok("https" if server.startswith("https:") else "http on a loopback host (allowed for local development).")
    return problem(f"{server} uses plain http on a non-loopback host: tokens would cross the network in clear.", "Serve the MCP endpoint over https (a tunnel such as cloudflared or ngrok gives one).")


@check("challenge.status", "An unauthenticated MCP request gets 401", Level.MUST, "MCP 2026-07-28 Authorization: Authorization Flow Steps; RFC 6750 §3", probes=(Probe.CHALLENGE,), needs=needs.answered)
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


@check("challenge.header", "WWW-Authenticate: Bearer is present and parseable", Level.MUST, "RFC 9110 §11.6.1; RFC 6750 §3", probes=(Probe.CHALLENGE,), needs=needs.unauthorized)
def challenge_header(ev: Evidence, ex: Exchange) -> Outcome:
    values = ex.header_list("www-authenticate")
    if not values:
        return problem("The 401 has no WWW-Authenticate header (RFC 9110 requires one); clients cannot discover how to authenticate.", "Send WWW-Authenticate: Bearer resource_metadata=\"<PRM URL>\", scope=\"<scopes>\" with every 401.")
    if ev.challenges.parse_error:
        return problem(ev.challenges.parse_error, "Quote parameter values and separate parameters with commas, e.g. Bearer resource_metadata=\"https://…\", scope=\"read\".", header=values)
    bearer = ev.challenges.bearer
    if bearer is None:
        return problem(f"No Bearer challenge; schemes offered: {', '.join(c.scheme for c in ev.challenges.offered)}.", "Offer the Bearer scheme (RFC 6750).", header=values)
    if bearer.duplicate_params:
        return problem(f"The Bearer challenge repeats {', '.join(bearer.duplicate_params)}.", "Send each parameter once (RFC 9110 §11.2).", header=values)
    return ok(f"Bearer challenge with {', '.join(sorted(bearer.params)) or 'no parameters'}.", header=values)


@check("challenge.resource-metadata", "The challenge names the protected-resource metadata", Level.SHOULD, "RFC 9728 §5.1; MCP 2026-07-28 Authorization: Protected Resource Metadata Discovery", probes=(Probe.CHALLENGE, Probe.PRM), needs=needs.unauthorized)
def challenge_resource_metadata(ev: Evidence, ex: Exchange) -> Outcome:
    if ev.challenges.selected is None:
        return skip(NO_CHALLENGE)
    url = ev.challenges.resource_metadata
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


@check("challenge.scope", "The challenge says which scopes to request", Level.SHOULD, "MCP 2026-07-28 Authorization: Scope Selection Strategy; RFC 6750 §3", probes=(Probe.CHALLENGE,), needs=needs.unauthorized)
def challenge_scope(ev: Evidence, ex: Exchange) -> Outcome:
    if ev.challenges.selected is None:
        return skip(NO_CHALLENGE)
    scope = ev.challenges.scope
    if not scope:
        return problem("No scope parameter: clients fall back to all of scopes_supported, or request none (which some authorization servers refuse).", "Add scope=\"<the scopes this endpoint needs>\" to the challenge.")
    if "offline_access" in scope.split():
        return problem(f"The challenge asks for offline_access ({scope!r}); the spec says not to advertise it here.", "Remove offline_access from the challenge's scope: clients add it themselves when the AS offers it (MCP: Refresh Tokens).")
    return ok(f"scope={scope!r}.")


@check("challenge.error-code", "The challenge's error code follows RFC 6750", Level.SHOULD, "RFC 6750 §3.1", probes=(Probe.CHALLENGE,), needs=needs.unauthorized)
def challenge_error_code(ev: Evidence, ex: Exchange) -> Outcome:
    if ev.challenges.selected is None:
        return skip(NO_CHALLENGE)
    error = ev.challenges.error
    if error is None:
        return ok("No error code for a request without credentials, as RFC 6750 §3.1 asks.")
    if error not in BEARER_ERROR_CODES | DPOP_ERROR_CODES:
        guide = " (the integration guide's own example sends it)" if error == "unauthorized" else ""
        return problem(f"error={error!r} is not an RFC 6750 error code{guide}; and a request without credentials should get no error code at all.", "Send no error parameter when no token was sent; use invalid_token, invalid_request or insufficient_scope otherwise.")
    return problem(f"error={error!r} was sent although the request had no credentials; RFC 6750 §3.1 says to send no error code then.", "Send the bare challenge (resource_metadata, scope) when no token was sent; keep error=\"invalid_token\" for bad tokens.")


def _header_has(value: str | None, needed: str) -> bool:
    items = {v.strip().lower() for v in (value or "").split(",")}
    return needed.lower() in items


@check("challenge.cors", "The challenge is visible to browser-based clients (CORS)", Level.SHOULD, "Fetch Standard §3.2 (CORS protocol)", probes=(Probe.CHALLENGE, Probe.SERVER_CORS), needs=needs.answered)
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
