"""The engine under ``checks.gather``: runs probes as tasks, each once, each as soon as
what it builds on is in; shares identical requests and AS discoveries; records a
crashed probe against every probe built on it. ``gather`` holds the probes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import httpx

from authkit_mcp_cli.checks.evidence import BROWSER_ORIGIN, ASDiscovery, Evidence
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.discovery import JSON_HEADERS, as_metadata_candidates, first_usable, usable_document
from authkit_mcp_cli.http import Exchange, HttpPolicy, exchange
from authkit_mcp_cli.urls import is_absolute_http_url

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from authkit_mcp_cli.checks.token_probe import LoginPlan

Runner = Callable[["Gatherer"], Awaitable[None]]
RequestKey = tuple[str, str, tuple[tuple[str, str], ...], bytes | None]


class PrerequisiteCrashed(Exception):
    """A probe this one builds on crashed; recorded against this probe too."""

    def __init__(self, probe: Probe) -> None:
        super().__init__(probe.value)
        self.probe = probe


class StrangerKey:
    """The stranger's RSA key the forged tokens are signed with: one per doctor run (shared by
    the servers of ``doctor --server A --server B``), made in a thread the first time a
    forged-token probe asks, so it is ready by the time the JWKS answers."""

    def __init__(self) -> None:
        self._future: asyncio.Future[RSAPrivateKey] | None = None

    def get(self) -> asyncio.Future[RSAPrivateKey]:
        if self._future is None:
            self._future = asyncio.get_running_loop().run_in_executor(None, _fresh_key)
        return self._future

    async def settle(self) -> None:
        if self._future is not None:
            await asyncio.gather(self._future, return_exceptions=True)


def _fresh_key() -> RSAPrivateKey:
    from authkit_mcp_cli import forged_tokens  # cryptography: imported only when forged tokens are wanted

    return forged_tokens.fresh_key()


class Gatherer:
    """Runs the wanted probes, sharing identical requests and AS discoveries (with ``shared``,
    another gatherer's too: the restart at the canonical URL reuses the first run's requests)."""

    def __init__(
        self,
        target: Target,
        client: httpx.AsyncClient,
        policy: HttpPolicy,
        wanted: set[Probe],
        login: LoginPlan | None = None,
        *,
        runners: Mapping[Probe, Runner],
        shared: Gatherer | None = None,
        stranger: StrangerKey | None = None,
    ) -> None:
        self.ev = Evidence(target=target)
        self.runners = runners
        self.login = login
        if target.authkit_domain:
            self.ev.as_issuer = target.authkit_domain
            self.ev.as_issuer_source = target.domain_source or "--authkit-domain"
        self.client, self.policy, self.wanted = client, policy, wanted
        self.counter: list[int] = shared.counter if shared else [0]
        self._requests: dict[RequestKey, asyncio.Task[Exchange]] = shared._requests if shared else {}
        self._discoveries: dict[str, asyncio.Task[ASDiscovery]] = shared._discoveries if shared else {}
        self._follow_ups: dict[tuple[str, Probe], asyncio.Task[None]] = shared._follow_ups if shared else {}  # (issuer, AS_JWKS / AS_CORS)
        self._speculation: list[asyncio.Task[None]] = shared._speculation if shared else []
        self.stranger: StrangerKey = stranger or (shared.stranger if shared else StrangerKey())
        self._probes: dict[Probe, asyncio.Task[None]] = {}
        self._crashes: dict[Probe, tuple[Probe, str]] = {}  # probe -> (the probe that crashed, why)
        # Decided once the canonical URL is known: True when this run was replaced by one at that URL.
        self.superseded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    # --- requests and AS discoveries, each started once --------------------------

    def request(self, method: str, url: str, headers: dict[str, str] | None = None, content: bytes | None = None, *, follow: bool = True) -> asyncio.Task[Exchange]:
        key = (method, url, tuple(sorted((headers or {}).items())), content)
        if key not in self._requests:
            self.counter[0] += 1
            self._requests[key] = asyncio.ensure_future(exchange(self.client, method, url, policy=self.policy, headers=headers, content=content, follow_redirects=follow))
        return self._requests[key]

    def discover(self, issuer: str) -> asyncio.Task[ASDiscovery]:
        """AS metadata for ``issuer``; the wanted follow-ups start the moment it is in."""
        if issuer not in self._discoveries:
            task = self._discoveries[issuer] = asyncio.ensure_future(self._discover(issuer))
            for probe, fetch in ((Probe.AS_JWKS, self._fetch_jwks), (Probe.AS_CORS, self._fetch_cors)):
                if probe in self.wanted:
                    self._follow_ups[issuer, probe] = asyncio.ensure_future(fetch(task))
        return self._discoveries[issuer]

    async def follow_up(self, issuer: str, probe: Probe) -> None:
        """Wait for the JWKS or CORS requests that followed ``issuer``'s metadata."""
        task = self._follow_ups.get((issuer, probe))
        if task is not None:
            await task

    def speculate(self, coro: Awaitable[None]) -> None:
        self._speculation.append(asyncio.ensure_future(coro))

    async def _discover(self, issuer: str) -> ASDiscovery:
        """MCP Authorization Server Discovery: every URL of the ordered list, at once."""
        found = ASDiscovery(issuer=issuer)
        if not is_absolute_http_url(issuer):
            return found
        urls = as_metadata_candidates(issuer)
        answers = await asyncio.gather(*(self.request("GET", url, JSON_HEADERS) for _kind, url in urls))
        found.attempts = [(kind, url, ex) for (kind, url), ex in zip(urls, answers, strict=True)]
        for kind, url, ex in found.attempts:
            doc, _ = usable_document(ex)
            if doc is not None:
                found.docs.setdefault(kind, doc)
                found.doc_urls.setdefault(kind, url)
        first = first_usable((url, ex) for _kind, url, ex in found.attempts)
        if first is not None:
            found.metadata_url, found.metadata = first
        return found

    async def _fetch_jwks(self, discovery: asyncio.Task[ASDiscovery]) -> None:
        found = await discovery
        uri = (found.metadata or {}).get("jwks_uri")
        if isinstance(uri, str) and is_absolute_http_url(uri):
            found.jwks = await self.request("GET", uri, JSON_HEADERS)

    async def _fetch_cors(self, discovery: asyncio.Task[ASDiscovery]) -> None:
        found = await discovery
        if found.metadata_url is None:
            return
        get = self.request("GET", found.metadata_url, {**JSON_HEADERS, "Origin": BROWSER_ORIGIN})
        preflight_headers = {"Origin": BROWSER_ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "mcp-protocol-version"}
        preflight = self.request("OPTIONS", found.metadata_url, preflight_headers, follow=False)
        found.cors_get, found.cors_preflight = await get, await preflight

    # --- probes --------------------------------------------------------------------

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
        try:
            await self.runners[probe](self)
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
            tasks = (*self._requests.values(), *self._discoveries.values(), *self._follow_ups.values(), *self._speculation, *self._probes.values())
            pending = [t for t in tasks if not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    def finish(self) -> Evidence:
        # A crashed discovery is reported through the probe that awaited it.
        self.ev.discoveries = {i: t.result() for i, t in self._discoveries.items() if not t.cancelled() and t.exception() is None}
        for task in (*self._follow_ups.values(), *self._speculation):
            if not task.cancelled():
                task.exception()  # retrieved: reported through its probe, if any wanted it
        self.ev.request_count = self.counter[0]
        return self.ev
