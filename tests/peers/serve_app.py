"""`serve` built from options as the CLI would, on a thread, for tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from authkit_mcp_cli.server.app import ServeInfo, build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from peers.asgi import serve_asgi


@contextlib.contextmanager
def serve_app(**overrides: Any) -> Iterator[tuple[ServeInfo, Any]]:
    """Yield (info, app) of a serve with the local AS auto-approving, unless overridden."""
    options = dict(host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=None, required_scopes=None, auto_approve=True, allowed_hosts=[], stateless=False, workers=1)
    options.update(overrides)
    cfg = resolve_serve_config({}, **options)
    built: dict[str, Any] = {}

    def factory(base: str):
        built["app"], built["info"] = build_app(cfg, int(base.rsplit(":", 1)[1]))
        return built["app"]

    with serve_asgi(factory):
        yield built["info"], built["app"]
