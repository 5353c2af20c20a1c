"""Protected-resource metadata checks (``prm.*``) and the server's own copies of
the AS metadata (``server.compat-metadata``): what a client finds when it looks
for the authorization server (RFC 9728; MCP Protected Resource Metadata
Discovery). Which document counts and whether its resource fits are
``discovery``'s rules, shared with the client."""

from __future__ import annotations

from typing import Any

from authkit_mcp_cli.checks import canonical, needs
from authkit_mcp_cli.checks.as_checks import CLIENT_CRITICAL_FIELDS
from authkit_mcp_cli.checks.as_kind import prm_names_authkit
from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, Evidence
from authkit_mcp_cli.checks.model import Level, Outcome, Status, info, ok, problem, skip
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList
from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN
from authkit_mcp_cli.discovery import exact_resource_required, usable_document
from authkit_mcp_cli.discovery import prm_resource as resource_verdict
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.legacy_discovery import origin_is_issuer
from authkit_mcp_cli.urls import OAUTH_AS_WELL_KNOWN, OIDC_WELL_KNOWN, is_absolute_http_url, is_secure_url, origin

CHECKS = CheckList()
check = CHECKS.check

SPEC_PRM = "RFC 9728 §3-5; MCP 2026-07-28 Authorization: Protected Resource Metadata Discovery"
LOCATION_NAMES = {"header": "the WWW-Authenticate resource_metadata URL", "path": "the path-inserted well-known URL", "root": "the root well-known URL"}


def origin_is_own_as(ev: Evidence, server: str) -> str | None:
    """The metadata URL at the server's origin that names the origin itself as issuer (a 2025-03-26-style server)."""
    for kind, path in (("oauth", OAUTH_AS_WELL_KNOWN), ("oidc", OIDC_WELL_KNOWN)):
        ex = ev.compat.get(kind)
        doc = usable_document(ex)[0] if ex is not None else None
        if origin_is_issuer(doc, origin(server)):
            return origin(server) + path
    return None


@check("prm.discovery", "Protected-resource metadata is found", Level.MUST, SPEC_PRM, probes=(Probe.PRM, Probe.COMPAT), needs=needs.server)
def prm_discovery(ev: Evidence, server: str) -> Outcome:
    tried = [f"{LOCATION_NAMES[loc]}: {ev.prm_urls[loc]} -> {ex.error or ex.status}" for loc, ex in ev.prm.items()]
    if ev.prm_doc is None:
        fix = f"Serve RFC 9728 metadata at {ev.prm_urls.get('path')} (and the root URL for older clients), with resource and authorization_servers."
        own = origin_is_own_as(ev, server)
        if own is not None:
            return problem(
                f"No protected-resource metadata, and the server's origin is its own authorization server ({own} names issuer {origin(server)}): "
                "this is a 2025-03-26-style server. Clients of that revision use the origin's metadata (and /authorize, /token, /register by default), "
                "as doctor's as.* checks here do; clients following 2025-06-18 and later find the authorization server only through protected-resource metadata, "
                "so they cannot log in. Tried: " + "; ".join(tried) + ".",
                fix[:-1] + f" naming {origin(server)} in authorization_servers.",
                tried=tried,
                generation="2025-03-26",
                as_metadata=own,
            )
        return problem("No protected-resource metadata at any location clients try: " + "; ".join(tried) + ".", fix, tried=tried)
    assert ev.prm_location is not None
    return ok(f"Found through {LOCATION_NAMES[ev.prm_location]} ({ev.prm_urls[ev.prm_location]}).", tried=tried)


def _serves_prm(ex: Exchange | None) -> bool:
    if ex is None or ex.status != 200:
        return False
    doc, _ = ex.json_object()
    return doc is not None and "resource" in doc


@check("prm.locations", "Where the metadata is served, and which clients find it", Level.INFO, SPEC_PRM, probes=(Probe.PRM,), needs=needs.server)
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


@check("prm.resource", "PRM resource identifies this MCP endpoint", Level.MUST, "RFC 9728 §3.3; MCP 2026-07-28 Authorization: Canonical Server URI", probes=(Probe.PRM,), needs=needs.prm)
def prm_resource(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    server = ev.target.server_url
    assert server is not None
    problems = []
    checked = []
    broader: dict[str, str] = {}  # url -> an origin or path prefix it names (prm.resource-exact judges RFC 9728 §3.3)
    for url, resource, why in _served_resources(ev, ("header", "path", "root")):
        if resource is None:
            problems.append(f"{url}: {why}")
            continue
        checked.append(f"{url}: {resource}")
        if why is not None:
            problems.append(f"{url} says resource {resource!r}, which {why} compared with {server!r}")
        elif resource != server:
            broader[url] = resource
    exact_fix = f"Set resource to exactly {server.rstrip('/')!r} (no trailing slash)"
    if problems:
        return problem(
            "; ".join(problems) + ". Clients send resource as the token audience, and a correct server then rejects the token (RFC 8707).",
            exact_fix
            + (" and register the same string as a Resource Indicator in the WorkOS dashboard." if prm_names_authkit(ev) else ", the string clients send as resource and the AS puts in aud."),
            checked=checked,
        )
    if broader:
        return ok(
            "resource identifies this endpoint, but "
            + "; ".join(f"{url} names {resource!r}, an origin or path prefix of it" for url, resource in broader.items())
            + ": clients accept it (MCP Canonical Server URI; the official SDKs from any location) and their tokens then carry "
            "that broader audience, good at every resource under it. Prefer the exact MCP URL.",
            checked=checked,
            broader_audience=sorted(set(broader.values())),
        )
    return ok("resource identifies this endpoint.", checked=checked)


@check(
    "prm.resource-exact",
    "PRM at the path-inserted URL names the resource exactly",
    Level.SHOULD,
    "RFC 9728 §3.3 (a MUST there; a warning here because clients, the official SDKs among them, accept an origin or path prefix)",
    probes=(Probe.PRM,),
    needs=needs.prm,
)
def prm_resource_exact(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    server = ev.target.server_url
    assert server is not None
    inexact = {url: resource for url, resource, why in _served_resources(ev, ("header", "path")) if resource is not None and why is None and resource != server and exact_resource_required(server, url)}
    if not inexact:
        return ok("Every document served at the path-inserted or challenge-named URL names this endpoint exactly (or none is served there).")
    return problem(
        "; ".join(f"{url} names {resource!r}, an origin or path prefix of {server!r}" for url, resource in inexact.items())
        + ": RFC 9728 §3.3 wants a document fetched from this URL to name exactly the resource it was built from. "
        "Clients accept it, and their tokens then carry that broader audience, good at every resource under it.",
        f"Set resource to exactly {server.rstrip('/')!r} in the document served there.",
        status=Status.WARN,
        broader_audience=sorted(set(inexact.values())),
    )


def _served_resources(ev: Evidence, locations: tuple[str, ...]) -> list[tuple[str, str | None, str | None]]:
    """(url, resource, why not) of each PRM document served at ``locations`` (discovery.prm_resource's verdict)."""
    server = ev.target.server_url
    assert server is not None
    out = []
    for loc in locations:
        ex = ev.prm.get(loc)
        if ex is None or not _serves_prm(ex):
            continue
        d, _ = ex.json_object()
        assert d is not None
        url = ev.prm_urls[loc]
        out.append((url, *resource_verdict(d, server, url)))
    return out


@check("prm.authorization-servers", "PRM names usable authorization servers", Level.MUST, "RFC 9728 §2; MCP 2026-07-28 Authorization Server Location", probes=(Probe.PRM, Probe.AS_ALL), needs=needs.prm)
def prm_authorization_servers(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    servers = doc.get("authorization_servers")
    if not isinstance(servers, list) or not servers:
        fix = (
            f"Set authorization_servers to [\"<your AuthKit domain>\"] (the guide's server fills it from {ENV_AUTHKIT_DOMAIN}, and leaves it out when that is unset)."
            if prm_names_authkit(ev)
            else "Set authorization_servers to [\"<your authorization server's issuer>\"]."
        )
        return problem("authorization_servers is missing or empty: clients cannot learn where to log in.", fix)
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
    # a configured value that differs only in form (a trailing slash) is the configuration's finding (as.issuer), not the server's
    if configured and configured not in servers and not any(isinstance(e, str) and canonical.differences(configured, e) for e in servers):
        problems.append(f"your configured authorization server {configured!r} (from {ev.target.domain_source}) is not among them")
    if problems:
        fix = f"List exactly your AuthKit domain as the dashboard shows it (https, no trailing slash), the same string as {ENV_AUTHKIT_DOMAIN}." if prm_names_authkit(ev) else "List exactly your authorization server's issuer (https, no trailing slash), as its metadata's issuer says."
        return problem("authorization_servers " + json_list(servers) + ": " + "; ".join(problems) + ".", fix)
    return ok(f"authorization_servers {json_list(servers)}, each discoverable.")


def json_list(values: list[Any]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


@check("prm.scopes", "PRM lists scopes_supported, without offline_access", Level.SHOULD, "RFC 9728 §2; MCP 2026-07-28 Authorization: Scope Selection Strategy, Refresh Tokens", probes=(Probe.PRM,), needs=needs.prm)
def prm_scopes(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    scopes = doc.get("scopes_supported")
    if scopes is None:
        return problem("scopes_supported is absent: when the challenge has no scope either, clients request no scope.", "List the scopes this server understands in scopes_supported.")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        return problem(f"scopes_supported is not a list of strings: {scopes!r}.", "Make scopes_supported a JSON array of strings.")
    if "offline_access" in scopes:
        return problem("scopes_supported includes offline_access; the spec says a resource server should not advertise it.", "Remove offline_access: clients request it themselves when the AS supports refresh tokens (MCP: Refresh Tokens).")
    return ok(f"scopes_supported: {scopes}.")


@check("prm.cors", "PRM is readable from browser-based clients (CORS)", Level.SHOULD, "Fetch Standard §3.2 (CORS protocol); RFC 9728 §3", probes=(Probe.PRM, Probe.PRM_CORS), needs=needs.prm)
def prm_cors(ev: Evidence, doc: dict[str, Any]) -> Outcome:
    ex = ev.prm_cors
    if ex is None:
        return skip("The protected-resource metadata URL is not known.")
    if not ex.ok:
        return problem(f"GET {ex.url} with Origin: {BROWSER_ORIGIN} failed: {ex.error}.", "Serve the metadata to every origin.", answer=ex.to_evidence())
    acao = ex.header("access-control-allow-origin")
    if acao not in ("*", BROWSER_ORIGIN):
        return problem(
            f"GET {ex.url} with Origin: {BROWSER_ORIGIN} got HTTP {ex.status} with "
            + (f"Access-Control-Allow-Origin: {acao!r}" if acao else "no Access-Control-Allow-Origin")
            + ": browser-based clients such as the MCP Inspector cannot read it, so they cannot find the authorization server.",
            "Answer GET on the protected-resource metadata URL with Access-Control-Allow-Origin: * (it is public).",
            answer=ex.to_evidence(),
            access_control_allow_origin=acao,
        )
    return ok(f"GET {ex.url} with an Origin got Access-Control-Allow-Origin: {acao}.", answer=ex.to_evidence())


@check("server.compat-metadata", "The server's own AS-metadata compatibility endpoints", Level.SHOULD, "MCP 2025-03-26 fallback; RFC 8414 §3", probes=(Probe.COMPAT, Probe.AS_METADATA), needs=needs.server)
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
            notes=notes,
        )
    return info("; ".join(notes) + ".")
