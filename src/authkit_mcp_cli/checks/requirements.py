"""Which requirement of the official MCP conformance suite each check matches
(issue 22 §3), so a user can line doctor's findings up with the suite's and
with other tools. The ids are the scenario names of the suite's requirement
file for 2026-07-28 (``@modelcontextprotocol/conformance``, requirements/
2026-07-28.yaml); most are client scenarios, each testing a client against
the server-side rule the check verifies. A check without a counterpart in that
file has none (the suite has no authorization-server section)."""

from __future__ import annotations

REVISION = "2026-07-28"
METADATA_LOCATIONS = ("auth/metadata-default", "auth/metadata-var1", "auth/metadata-var2", "auth/metadata-var3")

REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "as.discovery": METADATA_LOCATIONS,
    "as.issuer": ("auth/metadata-issuer-mismatch",),
    "as.cimd": ("auth/basic-cimd",),
    "as.token-auth-methods": ("auth/token-endpoint-auth-none",),
    "as.iss-parameter": ("auth/iss-supported", "auth/iss-not-advertised"),
    "challenge.resource-metadata": ("auth/metadata-default",),
    "challenge.scope": ("auth/scope-from-www-authenticate",),
    "prm.discovery": METADATA_LOCATIONS,
    "prm.locations": METADATA_LOCATIONS,
    "prm.resource": ("auth/resource-mismatch",),
    "prm.scopes": ("auth/scope-from-scopes-supported",),
}
