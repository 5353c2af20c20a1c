"""The engine under ``checks.gather``: scheduling, de-duplication and crash
handling, nothing about what a probe asks. Each wanted probe runs once, as a
task, as soon as what it builds on is in (``probe_graph.PROBES``); identical
requests, and anything started through ``once`` (an AS discovery), are shared
by every probe of the run; a probe that crashes is recorded against itself and
every probe built on it, and the run goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx

from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.http import Exchange, HttpPolicy, exchange

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.stranger_key import StrangerKey
    from authkit_mcp_cli.checks.token_probe import LoginPlan

T = TypeVar("T")
RequestKey = tuple[str, str, tuple[tuple[str, str], ...], bytes | None]
Runner = Callable[["Gatherer"], Awaitable[None]]


@dataclass(frozen=True)
class ProbeSpec:
    """One row of ``probe_graph.PROBES``: what the engine needs to schedule a probe."""

    peer: Literal["server", "as"]  # whom it asks
    run: Runner  # fills its part of the evidence, once ``needs`` are in
    needs: frozenset[Probe] = frozenset()  # what it builds on: pulled in by --check, awaited before ``run``
    needs_without_issuer: frozenset[Probe] = frozenset()  # also, when no issuer was given (the issuer comes from PRM)
    after: frozenset[Probe] = frozenset()  # also awaited when wanted, but not pulled in (one token at a time)
    last: bool = False  # doctor --login: waits until every other wanted probe has answered (or crashed)
    early: Runner | None = None  # runs at once, beside the wait for ``needs``: requests that need nothing yet

    def requires(self, *, issuer_given: bool) -> frozenset[Probe]:
        return self.needs if issuer_given else self.needs | self.needs_without_issuer


class PrerequisiteCrashed(Exception):
    """A probe this one builds on crashed; recorded against this probe too."""

    def __init__(self, probe: Probe) -> None:
        super().__init__(probe.value)
        self.probe = probe


class Gatherer:
    """Runs the wanted probes of ``graph``, sharing identical requests and ``once`` work (with ``shared``,
    another gatherer's too: the restart at the canonical URL reuses the first run's requests)."""

    def __init__(
        self,
        target: Target,
        client: httpx.AsyncClient,
        policy: HttpPolicy,
        wanted: set[Probe],
        login: LoginPlan | None = None,
        *,
        graph: Mapping[Probe, ProbeSpec],
        stranger: StrangerKey,
        shared: Gatherer | None = None,
    ) -> None:
        self.ev = Evidence(target=target)
        self.graph = graph
        self.login = login
        self.issuer_given = bool(target.authkit_domain)
        if target.authkit_domain:
            self.ev.as_issuer = target.authkit_domain
            self.ev.as_issuer_source = target.domain_source or "--authkit-domain"
        self.client, self.policy, self.wanted = client, policy, wanted
        self.stranger = stranger  # the forged tokens' key, one per doctor run
        self.counter: list[int] = shared.counter if shared else [0]
        self._requests: dict[RequestKey, asyncio.Task[Exchange]] = shared._requests if shared else {}
        self._once: dict[tuple[str, str], asyncio.Future[Any]] = shared._once if shared else {}
        self._background: list[asyncio.Future[None]] = shared._background if shared else []
        self._probes: dict[Probe, asyncio.Task[None]] = {}
        self._crashes: dict[Probe, tuple[Probe, str]] = {}  # probe -> (the probe that crashed, why)
        # Decided once the canonical URL is known: True when this run was replaced by one at that URL.
        self.superseded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    # --- de-duplication: each request and each ``once`` job started once per run ---------

    def request(self, method: str, url: str, headers: dict[str, str] | None = None, content: bytes | None = None, *, follow: bool = True) -> asyncio.Task[Exchange]:
        key = (method, url, tuple(sorted((headers or {}).items())), content)
        if key not in self._requests:
            self.counter[0] += 1
            self._requests[key] = asyncio.ensure_future(exchange(self.client, method, url, policy=self.policy, headers=headers, content=content, follow_redirects=follow))
        return self._requests[key]

    def once(self, kind: str, name: str, start: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """``start()``'s result for (``kind``, ``name``), started the first time it is asked for."""
        if (kind, name) not in self._once:
            self._once[kind, name] = asyncio.ensure_future(start())
        return self._once[kind, name]

    def started(self, kind: str, name: str) -> asyncio.Future[Any] | None:
        return self._once.get((kind, name))

    def results(self, kind: str) -> dict[str, Any]:
        """The results of the ``once`` jobs of ``kind`` that ended, by name (one that crashed is reported through its probe)."""
        return {name: f.result() for (k, name), f in self._once.items() if k == kind and f.done() and not f.cancelled() and f.exception() is None}

    def background(self, coro: Awaitable[None]) -> None:
        """Work no probe waits for (a speculative discovery): awaited by ``settle``."""
        self._background.append(asyncio.ensure_future(coro))

    # --- scheduling and crash handling ---------------------------------------------------

    def start(self, probe: Probe) -> asyncio.Task[None]:
        if probe not in self._probes:
            self._probes[probe] = asyncio.ensure_future(self._run(probe))
        return self._probes[probe]

    async def need(self, *probes: Probe) -> None:
        """Wait for prerequisites; raise PrerequisiteCrashed when one crashed."""
        await asyncio.gather(*(self.start(p) for p in probes))
        for probe in probes:
            if probe in self.ev.probe_errors:
                raise PrerequisiteCrashed(probe)

    async def _run(self, probe: Probe) -> None:
        spec = self.graph[probe]
        early = asyncio.ensure_future(spec.early(self)) if spec.early else None
        try:
            try:
                await self.need(*spec.requires(issuer_given=self.issuer_given), *(spec.after & self.wanted))
                if spec.last:  # after every other wanted probe, whether it answered or crashed
                    await asyncio.gather(*(self.start(p) for p in self.wanted if not self.graph[p].last), return_exceptions=True)
                if early is not None:
                    await early
            finally:
                if early is not None and not early.done():
                    early.cancel()
                if early is not None:
                    await asyncio.gather(early, return_exceptions=True)  # retrieved; an exception was raised above
            await spec.run(self)
        except PrerequisiteCrashed as exc:
            root, why = self._crashes[exc.probe]
            self._crashes[probe] = root, why
            self.ev.probe_errors[probe] = f"The {probe} probe did not run: the {root} probe it builds on crashed ({why})."
        except Exception as exc:  # a bug in a probe is a finding about atoms-auth, not an abort (design.md)
            self._crashes[probe] = probe, f"{type(exc).__name__}: {exc}"
            self.ev.probe_errors[probe] = f"The {probe} probe crashed: {type(exc).__name__}: {exc}."

    async def run(self) -> None:
        """Every wanted probe, each as soon as what it builds on is in."""
        await asyncio.gather(*(self.start(p) for p in Probe if p in self.wanted))

    async def settle(self) -> None:
        """Wait for everything started (speculative discoveries and follow-ups too), so no task outlives the client."""
        while True:
            tasks = (*self._requests.values(), *self._once.values(), *self._background, *self._probes.values())
            pending = [t for t in tasks if not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    def finish(self) -> Evidence:
        for task in (*self._once.values(), *self._background):
            if not task.cancelled():
                task.exception()  # retrieved: reported through its probe, if any wanted it
        self.ev.request_count = self.counter[0]
        return self.ev
