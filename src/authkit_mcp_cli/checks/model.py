"""Findings as data: a Check is (id, title, level, spec, run, probes); running
one gives an Outcome; a crash, of the check or of a probe it needs, becomes an
``error`` result, never a traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli.checks.probes import Probe

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.evidence import Evidence


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    INFO = "info"


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"
    INFO = "INFO"


@dataclass(frozen=True)
class Outcome:
    status: Status | None  # None: a problem, whose status follows from the check's level
    message: str
    fix: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def ok(message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.PASS, message, None, evidence)


def problem(message: str, fix: str, *, status: Status | None = None, **evidence: Any) -> Outcome:
    """A finding: FAIL for a MUST check, WARN for SHOULD/MAY, unless ``status`` says."""
    return Outcome(status, message, fix, evidence)


def skip(message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.SKIP, message, None, evidence)


def info(message: str, **evidence: Any) -> Outcome:
    return Outcome(Status.INFO, message, None, evidence)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    level: Level
    spec: str
    run: Callable[[Evidence], Outcome]
    probes: frozenset[Probe] = frozenset()  # the evidence it reads; doctor gathers only these
    requirements: tuple[str, ...] = ()  # the conformance suite's requirement ids for the same rule (checks.requirements)

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class Cause:
    """Why a result is a root cause others follow from (``checks.root_cause``)."""

    kind: str  # "network" (unreachable: doctor exits 3), "not-mcp" (a web server, not an MCP endpoint), "failed"
    message: str  # the cause in one sentence, for the report's first lines
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class Result:
    check: Check
    status: Status
    message: str
    fix: str | None
    evidence: dict[str, Any]
    # Additive (issue 15): set by checks.root_cause after all checks ran.
    cause: Cause | None = None  # this result is a root cause others follow from
    caused_by: str | None = None  # the id of the result this one only follows from; not counted in the summary

    @property
    def consequence(self) -> bool:
        return self.caused_by is not None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.check.id,
            "title": self.check.title,
            "status": self.status.value,
            "level": self.check.level.value,
            "message": self.message,
            "fix": self.fix,
            "spec": self.check.spec,
            "requirements": list(self.check.requirements),
            "evidence": self.evidence,
        }
        if self.caused_by is not None:
            doc["caused_by"] = self.caused_by
        if self.cause is not None:
            doc["root_cause"] = self.cause.to_json()
        return doc


BUG_FIX = "This is a bug in atoms-auth; please report it with the --trace file."


def run_check(check: Check, evidence: Evidence) -> Result:
    # Probe order puts a prerequisite before what builds on it: name the first that failed.
    crashed = [p for p in Probe if p in check.probes and p in evidence.probe_errors]
    if crashed:
        return Result(check, Status.ERROR, evidence.probe_errors[crashed[0]], BUG_FIX, {"probe": crashed[0].value})
    try:
        out = check.run(evidence)
    except Exception as exc:  # a check that crashes is a result (design.md)
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return Result(
            check,
            Status.ERROR,
            f"The check crashed: {type(exc).__name__}: {exc}",
            BUG_FIX,
            {"at": f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"},
        )
    status = out.status
    if status is None:
        status = Status.FAIL if check.level is Level.MUST else Status.WARN
    return Result(check, status, out.message, out.fix, out.evidence)
