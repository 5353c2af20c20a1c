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

Import names from the module that defines them; this package holds nothing else
(so ``token show`` and ``logout`` load only the modules they use, issue #16 item 2).
"""
