"""The check catalogue, filled by the ``@check`` decorator in catalogue order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authkit_mcp_cli.checks.model import Check, Level, Outcome

CATALOGUE: list[Check] = []


def check(check_id: str, title: str, level: Level, spec: str, *, needs: Callable[[Any], Any] | None = None) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    """Register a check. ``needs(ev)`` returns what the check works on, or an Outcome
    (usually a skip) that stands for the check when that is missing."""

    def register(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if any(c.id == check_id for c in CATALOGUE):
            raise ValueError(f"duplicate check id {check_id}")

        def run(ev: Any) -> Outcome:
            if needs is None:
                return fn(ev)
            found = needs(ev)
            return found if isinstance(found, Outcome) else fn(ev, found)

        CATALOGUE.append(Check(check_id, title, level, spec, run))
        return fn

    return register
