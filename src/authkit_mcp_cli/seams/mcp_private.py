"""The MCP SDK's private names, in one place (issue #21): serve's ``--stateless`` fast path
(server/fast_path.py) hands each exchange the lifespan state the session manager's ``run()``
entered once, which the SDK keeps in ``StreamableHTTPSessionManager._lifespan_state`` (set to None
in ``__init__``, so its absence is visible before the first request).

Fallback: when this SDK has no such attribute, :func:`lifespan_state_reader` says None and the fast
path is off; every request goes through the SDK's own stateless handling
(``StreamableHTTPSessionManager.handle_request``), slower and the same. Nothing from the SDK is
imported here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

LIFESPAN_STATE = "_lifespan_state"


def lifespan_state_reader(manager: Any) -> Callable[[Any], Any] | None:
    """A getter of ``manager``'s lifespan state (an ``attrgetter``: as cheap per request as the attribute),
    or None when this SDK's session manager has no such attribute."""
    if not hasattr(manager, LIFESPAN_STATE):
        return None
    return operator.attrgetter(LIFESPAN_STATE)
