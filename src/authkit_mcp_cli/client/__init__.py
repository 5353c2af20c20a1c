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
"""

from authkit_mcp_cli.client.call import call_mcp
from authkit_mcp_cli.client.context import Context, LoginOptions, Reporter, send
from authkit_mcp_cli.client.describe import describe_tokens
from authkit_mcp_cli.client.diagnosis import token_rejected
from authkit_mcp_cli.client.login import login
from authkit_mcp_cli.client.logout import logout
from authkit_mcp_cli.client.refresh import refresh
from authkit_mcp_cli.client.registration import choose_registration, register_dcr
from authkit_mcp_cli.client.session import Session, load_session, require_session, save_session

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
