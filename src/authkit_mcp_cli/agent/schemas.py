"""The tools' output schemas: TypedDicts the SDK publishes as ``outputSchema`` and validates each
structured result against. They describe the documents the CLI already prints with ``--json`` (doctor's
schema-1 report, ``--list-checks --json``, ``token show --json``), never its human formatting."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict on 3.11

Status = Literal["pass", "warn", "fail", "error", "skip", "info"]
Level = Literal["MUST", "SHOULD", "MAY", "INFO"]


class Cause(TypedDict):
    kind: str  # network (unreachable), not-mcp (a web server), failed
    message: str
    fix: str | None


class Finding(TypedDict):
    id: str
    title: str
    status: Status
    level: Level
    message: str
    fix: str | None
    spec: str
    evidence: dict[str, Any]
    caused_by: NotRequired[str]  # only follows from this check's finding: fix that one first
    root_cause: NotRequired[Cause]


class RootCause(Cause):
    id: str
    consequences: int


class ReportTarget(TypedDict):
    server: str | None
    authorization_server: str | None


# Counts per status; results that only follow from a root cause are not counted ("pass" is a keyword).
Summary = TypedDict("Summary", {"pass": int, "warn": int, "fail": int, "error": int, "skip": int, "info": int})


class Report(TypedDict):
    """doctor's schema-1 report for one server (docs: design.md), as ``doctor --json`` prints it."""

    schema: int
    version: str
    target: ReportTarget
    summary: Summary
    results: list[Finding]
    root_cause: NotRequired[RootCause]
    requests: NotRequired[int]
    typed_server: NotRequired[str]  # the URL as given, when it differs from the canonical one only in form


class DoctorOutput(TypedDict):
    """``{"schema": 1, "reports": [...]}``: one report per server, in the order given (``doctor --json`` with several --server)."""

    schema: int
    reports: list[Report]


class CheckRow(TypedDict):
    id: str
    level: Level
    title: str
    spec: str


class CheckList(TypedDict):
    schema: int
    checks: list[CheckRow]


class CheckExplained(CheckRow):
    area: str  # as, server/challenge/prm, token/login, authkit: the id's first part
    checks: str  # what it checks (docs/checks.md)
    fix: str  # the typical fix (docs/checks.md)
    statuses: str  # what its level means for a finding's status


class Login(TypedDict):
    """One stored login, as ``token show --json`` describes it, without any secret."""

    server: str
    resource: str
    issuer: str
    audience: str | list[str] | None  # the access token's aud claim (None: an opaque token)
    scope: str | None
    expires_at: float | None
    expires_in: int | None
    expired: bool
    has_refresh_token: bool
    grant_type: str | None
    token_type: str | None
    dpop_bound: bool
    access_token_format: str
    client_id: str
    problems: list[str]  # what a correct server would refuse the token for


class LoginList(TypedDict):
    schema: int
    logins: list[Login]


class ToolInfo(TypedDict):
    name: str
    description: str | None


class CallOutput(TypedDict):
    """tools/list (``tools``) or one tools/call (``result``: the server's CallToolResult as JSON)."""

    server: str
    tools: NotRequired[list[ToolInfo]]
    tool: NotRequired[str]
    result: NotRequired[dict[str, Any]]
    refreshed: bool  # the stored token was refreshed (and the rotated refresh token stored)
