"""The guide's flow as steps, and which checks belong to each: defined once here,
drawn by the markdown (Mermaid) and html (SVG) reports.

A step is one exchange of the MCP authorization flow (MCP 2026-07-28
Authorization: Authorization Flow Steps): the unauthenticated request and its
401 challenge, the protected-resource metadata (RFC 9728), the authorization
server metadata (RFC 8414), registration (CIMD or RFC 7591), authorize and
token (OAuth 2.1 with PKCE, RFC 8707 resource), and the authenticated call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from authkit_mcp_cli.checks.model import Result, Status

CLIENT, SERVER, AS = "client", "server", "as"
PARTICIPANTS = {CLIENT: "Client (atoms-auth)", SERVER: "MCP server", AS: "Authorization server"}


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    peer: str  # SERVER or AS: the client talks to it
    request: str
    response: str
    checks: tuple[str, ...]


STEPS: tuple[Step, ...] = (
    Step(
        "challenge", "Unauthenticated request", SERVER, "MCP request without a token", "401 + WWW-Authenticate",
        ("server.reachable", "server.url", "server.https", "challenge.status", "challenge.header", "challenge.resource-metadata", "challenge.scope", "challenge.error-code", "challenge.cors"),
    ),
    Step(
        "prm", "Protected-resource metadata", SERVER, "GET protected-resource metadata", "resource, authorization_servers, scopes",
        ("prm.discovery", "prm.locations", "prm.resource", "prm.authorization-servers", "prm.scopes"),
    ),
    Step(
        "as-metadata", "Authorization server metadata", AS, "GET authorization server metadata", "issuer, endpoints, keys",
        ("as.discovery", "as.issuer", "as.required-fields", "as.https", "as.jwks", "as.jwks-uri", "as.oidc-consistency", "as.cors", "as.grant-types", "as.dpop", "server.compat-metadata", "authkit.domain"),
    ),
    Step(
        "registration", "Client registration", AS, "register (CIMD or DCR)", "client_id",
        ("as.registration", "as.cimd", "as.token-auth-methods"),
    ),
    Step(
        "authorize", "Authorization request", AS, "authorize (PKCE S256, resource)", "code, state, iss",
        ("as.pkce", "as.iss-parameter"),
    ),
    Step(
        "token", "Token request", AS, "token (code_verifier, resource)", "access token for the resource",
        ("token.obtained", "token.audience", "token.issuer", "token.signature", "token.lifetime", "token.scopes", "token.refresh"),
    ),
    Step(
        "call", "Authenticated call", SERVER, "MCP request with the token", "result; bad tokens get 401",
        ("server.accepts-token", "server.rejects-invalid-token", "server.invalid-token-error-code", "server.rejects-forged-tokens", "server.malformed-authorization", "server.rejects-other-resource-token"),
    ),
)

# A check the table does not name (a new one) goes with its area's step.
_AREA_STEP = {"challenge": "challenge", "prm": "prm", "as": "as-metadata", "authkit": "as-metadata", "token": "token", "server": "call"}
_BY_ID = {check_id: step.key for step in STEPS for check_id in step.checks}


def step_key(check_id: str) -> str:
    return _BY_ID.get(check_id) or _AREA_STEP.get(check_id.split(".", 1)[0], "as-metadata")


class Mark(StrEnum):
    """A step's worst outcome."""

    FAIL = "fail"
    WARN = "warn"
    PASS = "pass"
    SKIP = "skip"


SYMBOLS = {Mark.FAIL: "❌", Mark.WARN: "⚠️", Mark.PASS: "✅", Mark.SKIP: "⏭"}
WORDS = {Mark.FAIL: "failed", Mark.WARN: "warning", Mark.PASS: "passed", Mark.SKIP: "not checked"}


def mark(results: list[Result], *, strict: bool = False) -> Mark:
    """FAIL if any check failed or errored (WARN too with --strict), then WARN, PASS (info counts as pass), else SKIP.

    A result that only follows from another (``caused_by``, e.g. everything after an
    unreachable server) says nothing about its own step: it counts as not checked."""
    statuses = {r.status for r in results if r.caused_by is None}
    if statuses & {Status.FAIL, Status.ERROR} or (strict and Status.WARN in statuses):
        return Mark.FAIL
    if Status.WARN in statuses:
        return Mark.WARN
    if statuses & {Status.PASS, Status.INFO}:
        return Mark.PASS
    return Mark.SKIP


@dataclass(frozen=True)
class StepResult:
    step: Step
    results: list[Result]
    mark: Mark


def walk(results: list[Result], *, strict: bool = False) -> list[StepResult]:
    """Every step, in the flow's order, with its results in catalogue order and its mark."""
    by_step: dict[str, list[Result]] = {s.key: [] for s in STEPS}
    for r in results:
        by_step[step_key(r.check.id)].append(r)
    return [StepResult(s, by_step[s.key], mark(by_step[s.key], strict=strict)) for s in STEPS]


def first_to_look_at(steps: list[StepResult]) -> str:
    """The step a reader should open first: the first failing one, else the first with a warning, else the first."""
    for wanted in (Mark.FAIL, Mark.WARN):
        for s in steps:
            if s.mark is wanted:
                return s.step.key
    return steps[0].step.key
