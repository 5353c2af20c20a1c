"""Which authorization server a pre-registered client belongs to, and the
refusal to use it anywhere else (issue #20 item 1).

A client id and its secret (or its private key) are issued by one AS and
mean nothing at another: "client credentials are bound to the authorization
server that issued them" (MCP 2026-07-28 Client Registration; RFC 6749 §2.3,
RFC 9700 §4.4 mix-up). The MCP server picks the AS (its protected-resource
metadata), so a server nobody has checked yet could name an AS of its own
and collect the secret, the client assertion or the user's consent. So a
pre-registered client is used only at the issuer it belongs to:

1. the configured AuthKit domain (``--authkit-domain``, or the integration
   guide's ``FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN`` in the
   environment or ``.env``), else
2. the issuer recorded in this machine's store with that client id (a
   ``register`` or an earlier login stored it), when exactly one is.

Discovery compares that issuer with the one the server names *before* any
request to the named AS (:meth:`IssuerBinding.select`); with no issuer known, the
command stops before discovery reaches any AS (:func:`binding_for`). There is
no warning-then-send.

The binding itself and the comparison of issuers are :mod:`authkit_mcp_cli.issuers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError
from authkit_mcp_cli.issuers import SPEC, IssuerBinding

if TYPE_CHECKING:
    from authkit_mcp_cli.client.context import LoginOptions
    from authkit_mcp_cli.store import Store


def stored_issuers(store: Store, client_id: str) -> set[str]:
    """Every issuer this machine's store records ``client_id`` under: registrations and logins."""
    issuers: set[str] = set()
    for record in store.all_records("clients"):
        if record.get("client_id") == client_id and isinstance(record.get("issuer"), str):
            issuers.add(record["issuer"])
    for record in store.all_records("tokens"):
        client = record.get("client")
        if isinstance(client, dict) and client.get("client_id") == client_id and isinstance(record.get("issuer"), str):
            issuers.add(record["issuer"])
    return issuers


def binding_for(opts: LoginOptions, store: Store) -> IssuerBinding | None:
    """The issuer the pre-registered client in ``opts`` belongs to; None when there is no such client.

    A Client ID Metadata Document is not pre-registered (its id is a public URL any AS may fetch)."""
    if not opts.client_id:
        return None
    if opts.authkit_domain:
        return IssuerBinding(opts.client_id, opts.authkit_domain, opts.authkit_domain_source or "--authkit-domain")
    known = stored_issuers(store, opts.client_id)
    if len(known) == 1:
        return IssuerBinding(opts.client_id, known.pop(), "the store")
    from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN

    found = f"the store records it under {len(known)} authorization servers ({', '.join(sorted(known))})" if known else "none is configured and the store has no record of it"
    raise UsageError(
        f"Client {opts.client_id} is a pre-registered client, but atoms-auth does not know which authorization server issued it ({found}); "
        "its credentials are sent only to that server, never to whichever one an MCP server names.",
        code=ErrorCode.LOGIN_CLIENT_ISSUER_UNKNOWN,
        hint=f"Name the authorization server the client was registered with: --authkit-domain https://<issuer> (or {ENV_AUTHKIT_DOMAIN} in the environment or .env); "
        "or drop --client-id (and WORKOS_CLIENT_ID) to register a client with the server's authorization server.",
        spec=SPEC,
    )


def configured_domain(flag: str | None, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The configured AuthKit domain and where it came from: the flag, else the guide's environment variable."""
    from authkit_mcp_cli.config import ENV_AUTHKIT_DOMAIN, resolve_target

    target = resolve_target(None, flag, env)
    if not target.authkit_domain:
        return None, None
    return target.authkit_domain, "--authkit-domain" if flag else ENV_AUTHKIT_DOMAIN


