"""The ``@check`` decorator: each check module lists its own checks in a
``CheckList`` (``CHECKS = CheckList(); check = CHECKS.check``), and
``checks.catalogue`` joins those lists, module by module, into the catalogue.
Importing a check module registers nothing anywhere else.

``needs=f`` with ``f: (Evidence) -> T | Outcome`` runs ``f`` first and hands the
check the narrowed ``T``, or lets ``f``'s Outcome (usually a skip) stand for
the check; the overloads make a type checker hold the check to ``(Evidence, T)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar, overload

from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.model import Check, Level, Outcome
from authkit_mcp_cli.checks.probes import Probe

T = TypeVar("T")
PlainCheck = Callable[[Evidence], Outcome]


class CheckList(list[Check]):
    """One module's checks, in the order they are written."""

    @overload
    def check(self, check_id: str, title: str, level: Level, spec: str, *, probes: Iterable[Probe] = ..., needs: None = None) -> Callable[[PlainCheck], PlainCheck]: ...

    @overload
    def check(
        self, check_id: str, title: str, level: Level, spec: str, *, probes: Iterable[Probe] = ..., needs: Callable[[Evidence], T | Outcome]
    ) -> Callable[[Callable[[Evidence, T], Outcome]], Callable[[Evidence, T], Outcome]]: ...

    def check(
        self, check_id: str, title: str, level: Level, spec: str, *, probes: Iterable[Probe] = (), needs: Callable[[Evidence], object] | None = None
    ) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
        """Add a check that reads the evidence of ``probes``; ``needs(ev)`` returns what
        it works on, or an Outcome that stands for the check when that is missing."""

        def add(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
            if any(c.id == check_id for c in self):
                raise ValueError(f"duplicate check id {check_id}")

            def run(ev: Evidence) -> Outcome:
                if needs is None:
                    return fn(ev)
                found = needs(ev)
                return found if isinstance(found, Outcome) else fn(ev, found)

            self.append(Check(check_id, title, level, spec, run, frozenset(probes)))
            return fn

        return add
