"""Assemble `serve`: the mcp SDK's streamable HTTP endpoint behind our bearer
guard, PRM at both well-known locations, the compatibility endpoints, CORS,
and (without an AuthKit domain) the embedded development AS.

CORS is an allow-list of paths (issue 14 item 1): PRM, AS metadata, JWKS,
registration, token, revocation and the MCP endpoint. Interactive pages
(authorize, the consent decision, any verification page) get no CORS headers,
so another origin's script cannot read them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.server.compat import MetadataForwarder
from authkit_mcp_cli.server.config import ServeConfig
from authkit_mcp_cli.server.dpop_proof import ProofChecker
from authkit_mcp_cli.server.dpop_store import RedisReplayStore, StoreUnavailable, open_store, shown_store_url
from authkit_mcp_cli.server.fast_path import stateless_endpoint
from authkit_mcp_cli.server.jwks import JwksCache
from authkit_mcp_cli.server.local_as.cimd import MetadataDocumentFetcher
from authkit_mcp_cli.server.local_as.provider import LocalAuthorizationServer
from authkit_mcp_cli.server.local_as.routes import CORS_PATHS as LOCAL_AS_CORS_PATHS
from authkit_mcp_cli.server.local_as.routes import build_routes as local_as_routes
from authkit_mcp_cli.server.resource import BearerGuard, ResourceInfo
from authkit_mcp_cli.server.tools import build_server
from authkit_mcp_cli.server.verifier import TokenValidator
from authkit_mcp_cli.urls import OAUTH_AS_WELL_KNOWN, OIDC_WELL_KNOWN, PRM_WELL_KNOWN

log = logging.getLogger("atoms_auth.serve")

CORS_ALLOW_HEADERS = ["authorization", "content-type", "dpop", "mcp-protocol-version", "mcp-session-id", "last-event-id"]
CORS_EXPOSE_HEADERS = ["WWW-Authenticate", "Mcp-Session-Id", "DPoP-Nonce"]


@dataclass(frozen=True)
class ServeInfo:
    """What the banner and tests need to know about a running server."""

    mcp_url: str
    prm_url: str
    issuer: str
    mode: str  # "authkit" or "local"
    resource: str
    listen: str = ""  # the socket's address (host:port), which differs from the public URL behind a proxy or tunnel


def build_app(cfg: ServeConfig, bound_port: int) -> tuple[EndpointFirst, ServeInfo]:
    origin = cfg.public_origin(bound_port)
    resource = origin + cfg.path
    prm_url = origin + PRM_WELL_KNOWN + cfg.path
    local = None
    if cfg.local_as:
        scopes = [*cfg.required_scopes, *([cfg.admin_scope] if cfg.admin_scope else [])]
        local = LocalAuthorizationServer(issuer=origin, resource=resource, resource_scopes=scopes, default_scopes=list(cfg.required_scopes), auto_approve=cfg.auto_approve)
        issuer = local.issuer
        jwks = JwksCache.static(local.jwks())
    else:
        assert cfg.authkit_domain is not None
        issuer = cfg.authkit_domain
        # the keys are where the AS's metadata says (jwks_uri), fetched lazily and kept through outages
        jwks = JwksCache.for_issuer(issuer)

    mcp, operation_scopes = build_server(version=__version__, admin_scope=cfg.admin_scope)
    info = ResourceInfo(
        resource=resource,
        prm_url=prm_url,
        authorization_servers=(issuer,),
        required_scopes=cfg.required_scopes,
        scopes_supported=tuple(dict.fromkeys([*cfg.required_scopes, *operation_scopes.all()])),
        operation_scopes=operation_scopes,
    )
    validator = TokenValidator(issuer=issuer, resource=resource, jwks=jwks, revoked=local.is_revoked if local else None)

    # Stateless mode answers each POST with one JSON body instead of an SSE stream: no
    # in-request notifications there, and about twice the throughput (BENCHMARKS.md).
    mcp.streamable_http_app(
        streamable_http_path=cfg.path,
        stateless_http=cfg.stateless,
        json_response=cfg.stateless,
        transport_security=_transport_security(cfg, origin, bound_port),
    )
    # --stateless: one POST is one JSON-RPC exchange, answered in its own task (fast_path.py)
    endpoint = stateless_endpoint(mcp.session_manager) if cfg.stateless else StreamableHTTPASGIApp(mcp.session_manager)
    # DPoP replay and nonce state: per process, or shared through --store (RFC 9449 §11.1, §9)
    store = open_store(cfg.store)
    guarded = BearerGuard(endpoint, info=info, validator=validator, proofs=ProofChecker.for_resource(resource, store=store))

    async def prm(request: Request) -> Response:
        return JSONResponse(info.prm_document(), headers={"Cache-Control": "public, max-age=300"})

    routes: list[Route] = [
        Route(PRM_WELL_KNOWN + cfg.path, prm, methods=["GET"]),
        Route(PRM_WELL_KNOWN, prm, methods=["GET"]),
        Route(cfg.path, guarded, methods=["GET", "POST", "DELETE"]),  # an ASGI app: streaming stays intact
    ]
    cors_paths = {PRM_WELL_KNOWN + cfg.path, PRM_WELL_KNOWN, cfg.path, cfg.path.rstrip("/") + "/"}
    forwarder = None
    if local is not None:
        routes.extend(local_as_routes(local, MetadataDocumentFetcher(allow_private=cfg.allow_private_cimd)))
        cors_paths.update(LOCAL_AS_CORS_PATHS)
    else:
        forwarder = MetadataForwarder(issuer)
        routes.append(Route(OAUTH_AS_WELL_KNOWN, forwarder.endpoint, methods=["GET", "OPTIONS"]))
        routes.append(Route(OIDC_WELL_KNOWN, forwarder.endpoint, methods=["GET", "OPTIONS"]))
        cors_paths.update((OAUTH_AS_WELL_KNOWN, OIDC_WELL_KNOWN))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            if isinstance(store, RedisReplayStore):
                try:
                    await store.ping()
                except StoreUnavailable as exc:
                    log.warning("the DPoP store %s cannot be reached (%s): DPoP requests get 503 until it can", shown_store_url(store.url), exc)
            try:
                yield
            finally:
                await store.aclose()
                if forwarder is not None:
                    await forwarder.aclose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(PathScopedCORS, paths=frozenset(cors_paths))],
    )
    app.state.local_as = local
    app.state.validator = validator
    front = EndpointFirst(app, path=cfg.path, endpoint=guarded)
    return front, ServeInfo(mcp_url=resource, prm_url=prm_url, issuer=issuer, mode="local" if local else "authkit", resource=resource, listen=f"{'[' + cfg.host + ']' if ':' in cfg.host else cfg.host}:{bound_port}")


class EndpointFirst:
    """The MCP endpoint's GET/POST/DELETE go straight to the guard (through CORS when the
    request has an Origin); every other request, and the lifespan, to the Starlette app.

    What this skips for the endpoint is what Starlette added there and nothing more:
    its error middleware (uvicorn answers an unhandled exception with the same bare
    500), the router's path regexes, and CORS's header parsing when there is no Origin
    (Starlette's CORSMiddleware passes such a request through untouched). Preflights,
    other methods (405) and the trailing-slash redirect stay Starlette's."""

    def __init__(self, app: Starlette, *, path: str, endpoint: ASGIApp) -> None:
        self.app = app
        self.path = path
        self.endpoint = endpoint
        self.cors = _cors(endpoint)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # state, router, routes: it stands for the Starlette app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] in ("POST", "GET", "DELETE"):
            for name, _ in scope["headers"]:
                if name == b"origin":
                    await self.cors(scope, receive, send)
                    return
            await self.endpoint(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _cors(app: ASGIApp) -> CORSMiddleware:
    return CORSMiddleware(
        app,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=600,
    )


class PathScopedCORS:
    """Starlette's CORS middleware on an allow-list of exact paths; every other path
    passes through untouched (no Access-Control-* headers, preflights unanswered)."""

    def __init__(self, app: ASGIApp, *, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths
        self.cors = _cors(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _transport_security(cfg: ServeConfig, origin: str, bound_port: int) -> TransportSecuritySettings:
    """Host-header (DNS rebinding) protection stays on; the public host and --allowed-host pass."""
    public = urlsplit(origin)
    hosts = {public.netloc, f"127.0.0.1:{bound_port}", f"localhost:{bound_port}", f"[::1]:{bound_port}", *cfg.allowed_hosts}
    if public.port is None:
        hosts.add(f"{public.hostname}:*")
    origins = {origin, "http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"}
    origins.update(f"https://{h}" for h in cfg.allowed_hosts)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=sorted(hosts), allowed_origins=sorted(origins))
