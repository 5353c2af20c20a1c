"""AuthKit-specific checks (``authkit.*``): the configuration mistakes WorkOS
users make, with the exact lines to fix them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.checks.as_kind import authkit_reason
from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.model import Level, Outcome, ok, problem, skip
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList
from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN
from authkit_mcp_cli.urls import is_loopback_host

CHECKS = CheckList()
check = CHECKS.check


@check("authkit.domain", "The AuthKit domain is configured exactly", Level.SHOULD, "WorkOS AuthKit MCP docs; RFC 8414 §2 (issuer)", probes=(Probe.AS_METADATA, Probe.PRM))
def domain(ev: Evidence) -> Outcome:
    issuer = ev.as_issuer
    if issuer is None:
        return skip("No authorization server is known.")
    disc = ev.discovery
    metadata = disc.metadata if disc else None
    if metadata and metadata.get("atoms_auth_development_server"):
        return skip(f"{issuer} is atoms-auth's embedded development authorization server, not AuthKit.")
    why = authkit_reason(ev, issuer)
    if why is None:
        return skip(f"{issuer} is not known to be AuthKit: its host is not *.authkit.app, and neither --as-kind authkit nor FASTMCP_SERVER_AUTH=...AuthKitProvider says so.")
    parts = urlsplit(issuer)
    canonical = issuer.rstrip("/")
    if metadata and isinstance(metadata.get("issuer"), str):
        canonical = metadata["issuer"]
    env_line = f"{ENV_AUTHKIT_DOMAIN}={canonical}"
    problems = []
    if parts.scheme != "https" and not is_loopback_host(parts.hostname):
        problems.append("it is not https")
    if parts.path not in ("", "/"):
        problems.append(f"it has a path ({parts.path}); the AuthKit domain is only scheme and host")
    elif parts.path == "/" and metadata and metadata.get("issuer") == canonical != issuer:
        # the metadata names the issuer without the slash: as.issuer reports it (one cause, one finding)
        return skip(f"{issuer!r} differs from the issuer {canonical!r} by a trailing slash: see as.issuer. .env line: {env_line}", env_line=env_line)
    elif parts.path == "/":
        problems.append("it ends with a slash, so it does not equal the issuer and strict clients reject it")
    if parts.query or parts.fragment:
        problems.append("it has a query or fragment")
    evidence: dict[str, Any] = {"env_line": env_line}
    if ev.target.server_url:
        resource = (ev.prm_doc or {}).get("resource")
        evidence["resource_indicator"] = resource if isinstance(resource, str) else ev.target.server_url
    if problems:
        return problem(f"The AuthKit domain {issuer!r} (from {ev.as_issuer_source}): " + "; ".join(problems) + ".", f"Use this line in .env: {env_line}", **evidence)
    text = f"{issuer} is AuthKit ({why}) and is in canonical form. .env line: {env_line}"
    if "resource_indicator" in evidence:
        text += f". In the WorkOS dashboard, add {evidence['resource_indicator']} as an MCP Resource Indicator so tokens carry it as their audience."
    return ok(text, **evidence)
