"""uvicorn's private names, in one place (issue #21): serve's request limits (server/limits.py)
subclass uvicorn's httptools protocol and call two of its private methods, bound here once (as
plain functions of the protocol, so a call costs what the method call did):

- :func:`should_upgrade` (``HttpToolsProtocol._should_upgrade``: a WebSocket upgrade uvicorn will
  take over). Fallback: never, so the body deadline and trailer limit stay on every request (serve
  has no WebSocket route; an upgrade attempt is answered by the app and closed);
- :func:`unset_keepalive` (``HttpToolsProtocol._unset_keepalive_if_required``: cancel the keep-alive
  timer of a connection about to close). Fallback: nothing; the connection is closed right after,
  and uvicorn's ``connection_lost`` cancels that timer.

The subclass also relies on the protocol's non-underscore attributes (``cycle``, ``flow``,
``parser``, the httptools callbacks); tests/integration/test_serve_limits.py exercises each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HttpToolsProtocol", "should_upgrade", "unset_keepalive"]


def no_upgrade(protocol: Any) -> bool:
    return False


def leave_keepalive_timer(protocol: Any) -> None:
    return None


def private_method(name: str, fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``HttpToolsProtocol``'s method ``name`` as a plain function, or ``fallback`` when this uvicorn has none."""
    method = getattr(HttpToolsProtocol, name, None)
    return method if callable(method) else fallback


should_upgrade: Callable[[Any], bool] = private_method("_should_upgrade", no_upgrade)
unset_keepalive: Callable[[Any], None] = private_method("_unset_keepalive_if_required", leave_keepalive_timer)
