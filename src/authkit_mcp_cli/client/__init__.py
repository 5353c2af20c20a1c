"""The MCP OAuth client, by job. Library code: progress goes through
``Context.report``; nothing here prints or exits.

- :mod:`.context`       Context (HTTP client, policy, store), LoginOptions, send
- :mod:`.registration`  pre-registered > CIMD > DCR (MCP Client Registration)
- :mod:`.grants`        the Grant interface; one module per grant
  (:mod:`.grants.authorization_code`: PKCE through the loopback receiver)
- :mod:`.login`         discovery + scope selection + one grant -> a stored Session
- :mod:`.session`       the stored login and its persistence
- :mod:`.refresh`       refresh under the store's lock, rotation kept
- :mod:`.policy`        the pure retry policy: decide(state, outcome) -> action
- :mod:`.call`          call_mcp: send, decide, act
- :mod:`.diagnosis`     why a server refuses a token (mcp.token-rejected)
- :mod:`.describe`      describe_tokens, for token show
- :mod:`.logout`        revoke (RFC 7009) and forget

Names load on first use (:mod:`authkit_mcp_cli._lazy`): ``token show`` and
``logout`` read the store without importing httpx, the MCP SDK, pyjwt or
cryptography (issue #16 item 2). ``login``, ``logout`` and ``refresh`` stay
the functions after their submodules are imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authkit_mcp_cli._lazy import lazy_package

# name -> the submodule that defines it
_DEFINED_IN = {
    "Context": "context",
    "LoginOptions": "context",
    "Reporter": "context",
    "send": "context",
    "Session": "session",
    "load_session": "session",
    "require_session": "session",
    "save_session": "session",
    "call_mcp": "call",
    "choose_registration": "registration",
    "register_dcr": "registration",
    "describe_tokens": "describe",
    "token_rejected": "diagnosis",
    "login": "login",
    "logout": "logout",
    "refresh": "refresh",
}

__all__ = [
    "Context",
    "LoginOptions",
    "Reporter",
    "Session",
    "call_mcp",
    "choose_registration",
    "describe_tokens",
    "load_session",
    "login",
    "logout",
    "refresh",
    "register_dcr",
    "require_session",
    "save_session",
    "send",
    "token_rejected",
]

if TYPE_CHECKING:
    from authkit_mcp_cli.client.call import call_mcp
    from authkit_mcp_cli.client.context import Context, LoginOptions, Reporter, send
    from authkit_mcp_cli.client.describe import describe_tokens
    from authkit_mcp_cli.client.diagnosis import token_rejected
    from authkit_mcp_cli.client.login import login
    from authkit_mcp_cli.client.logout import logout
    from authkit_mcp_cli.client.refresh import refresh
    from authkit_mcp_cli.client.registration import choose_registration, register_dcr
    from authkit_mcp_cli.client.session import Session, load_session, require_session, save_session


__getattr__ = lazy_package(__name__, _DEFINED_IN)
