"""The check catalogue, filled by the ``@check`` decorator in catalogue order."""

from __future__ import annotations

from collections.abc import Callable

from authkit_mcp_cli.checks.model import Check, Level, Outcome

CATALOGUE: list[Check] = []


def check(check_id: str, title: str, level: Level, spec: str) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    def register(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if any(c.id == check_id for c in CATALOGUE):
            raise ValueError(f"duplicate check id {check_id}")
        CATALOGUE.append(Check(check_id, title, level, spec, fn))
        return fn

    return register
