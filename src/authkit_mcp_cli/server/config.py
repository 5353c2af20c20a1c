"""``serve``'s configuration: flags > environment > .env (the guide's names)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authkit_mcp_cli.config import DEFAULT_HTTP_PATH, ENV_AUTHKIT_DOMAIN, ENV_BASE_URL, ENV_HTTP_PATH, ENV_REQUIRED_SCOPES
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.urls import is_loopback_host, parse_target_url

LOCAL_REQUIRED_SCOPES = ("mcp:tools",)
LOCAL_ADMIN_SCOPE = "mcp:admin"


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    path: str = DEFAULT_HTTP_PATH
    base_url: str | None = None  # public origin, when behind a tunnel or proxy
    authkit_domain: str | None = None
    required_scopes: tuple[str, ...] = ()
    admin_scope: str | None = None
    auto_approve: bool = False
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    stateless: bool = False
    workers: int = 1
    allow_private_cimd: bool = False  # local AS: fetch CIMD documents from private/loopback addresses
    allow_public_dev_as: bool = False  # the development AS on a non-loopback interface or public URL
    max_header_bytes: int = 32 * 1024  # request line + headers; more is 431
    header_timeout: float = 10.0  # seconds from connection (or first byte of a request) to its complete head
    body_timeout: float = 30.0  # seconds from the end of the head to the end of the request (limits.py says why)
    store: str | None = None  # redis:// URL of the DPoP replay and nonce store shared by workers and instances
    forwarded_allow_ips: tuple[str, ...] = ()  # proxies whose X-Forwarded-For/-Proto are believed; none by default

    @property
    def local_as(self) -> bool:
        return self.authkit_domain is None

    def public_origin(self, bound_port: int) -> str:
        if self.base_url:
            return self.base_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{bound_port}"


def public_dev_as_exposure(host: str, base_url: str | None) -> str | None:
    """What would expose the development AS beyond this machine, or None."""
    if not is_loopback_host(host):
        return f"--host {host} listens beyond this machine"
    if base_url and not is_loopback_host(urlsplit(base_url).hostname):
        return f"--base-url {base_url} is not a loopback address"
    return None


def trusted_proxies(values: list[str]) -> tuple[str, ...]:
    """--forwarded-allow-ips: addresses and networks (comma-separated, repeatable), or ``*``; anything
    else is refused here (uvicorn would take it as a literal host name that never matches)."""
    proxies = [v.strip() for value in values for v in value.split(",") if v.strip()]
    for proxy in proxies:
        if proxy == "*":
            continue
        try:
            ipaddress.ip_network(proxy, strict=False) if "/" in proxy else ipaddress.ip_address(proxy)
        except ValueError:
            raise UsageError(f"--forwarded-allow-ips {proxy!r} is not an IP address or network.", hint="Name your proxy's address, e.g. --forwarded-allow-ips 10.0.0.5 or 10.0.0.0/8.") from None
    return tuple(dict.fromkeys(proxies))


def normalise_path(path: str) -> str:
    path = "/" + path.strip().strip("/")
    if path == "/" or "?" in path or "#" in path:
        raise UsageError(f"--path {path!r} must be a non-root path such as /api/mcp.", hint="Use --path /api/mcp (or set ATOMS_FASTMCP_HTTP_PATH).")
    return path


def resolve_serve_config(
    env: Mapping[str, str],
    *,
    host: str,
    port: int,
    path: str | None,
    base_url: str | None,
    authkit_domain: str | None,
    required_scopes: str | None,
    auto_approve: bool,
    allowed_hosts: list[str],
    stateless: bool,
    workers: int,
    allow_private_cimd: bool = False,
    allow_public_dev_as: bool = False,
    store: str | None = None,
    forwarded_allow_ips: list[str] | None = None,
) -> ServeConfig:
    domain = authkit_domain or env.get(ENV_AUTHKIT_DOMAIN) or None
    if domain:
        domain = parse_target_url(domain, what="AuthKit domain", flag="--authkit-domain").rstrip("/")
    base = base_url or env.get(ENV_BASE_URL) or None
    if base:
        base = parse_target_url(base, what="Base URL", flag="--base-url")
        parts = urlsplit(base)
        if parts.path not in ("", "/"):
            raise UsageError(f"--base-url {base!r} must be an origin (scheme, host, port) without a path.", hint="Put the path in --path.")
        base = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme != "https" and not is_loopback_host(parts.hostname):
            raise UsageError(f"--base-url {base} is plain http on a non-loopback host; MCP clients require https there.", hint="Use the https URL of your tunnel or proxy.")
    scopes_text = required_scopes if required_scopes is not None else env.get(ENV_REQUIRED_SCOPES)
    scopes = tuple(s for s in (scopes_text or "").replace(" ", ",").split(",") if s)
    if not domain and scopes_text is None:
        scopes = LOCAL_REQUIRED_SCOPES
    if "offline_access" in scopes:
        raise UsageError("offline_access cannot be a required scope: resource servers must not ask for it (MCP: Refresh Tokens).", hint="Remove it from --required-scopes / FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_REQUIRED_SCOPES.")
    if workers < 1:
        raise UsageError("--workers must be at least 1.")
    if workers > 1 and not domain:
        raise UsageError(
            "--workers needs --authkit-domain: the embedded development authorization server keeps its state in one process.",
            hint="Drop --workers, or point serve at your AuthKit domain.",
        )
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is out of range.")
    exposure = None if domain else public_dev_as_exposure(host, base)
    if exposure and not allow_public_dev_as:
        # Anyone who reaches the development AS can sign in as its user and mint admin tokens (issue 14 item 7).
        raise UsageError(
            f"Refusing to expose the development authorization server: {exposure}, and anyone who can reach it can sign in and get admin tokens.",
            hint="Listen on loopback (--host 127.0.0.1, the default), use your AuthKit domain (--authkit-domain), or pass --allow-public-dev-as if you really mean it.",
            code=ErrorCode.USAGE_PUBLIC_DEV_AS,
        )
    return ServeConfig(
        host=host,
        port=port,
        path=normalise_path(path or env.get(ENV_HTTP_PATH) or DEFAULT_HTTP_PATH),
        base_url=base,
        authkit_domain=domain,
        required_scopes=scopes,
        admin_scope=None if domain else LOCAL_ADMIN_SCOPE,
        auto_approve=auto_approve,
        allowed_hosts=tuple(allowed_hosts),
        stateless=stateless or workers > 1,
        workers=workers,
        allow_private_cimd=allow_private_cimd,
        allow_public_dev_as=bool(exposure) and allow_public_dev_as,
        store=_checked_store_url(store) if store else None,
        forwarded_allow_ips=trusted_proxies(forwarded_allow_ips or []),
    )


def _checked_store_url(url: str) -> str:
    """--store validated where it is given; the store's module (asyncio, sockets) loads only then (init imports this module)."""
    from authkit_mcp_cli.server.dpop_store import check_store_url

    return check_store_url(url)
