"""The grants by name: each is one way to obtain tokens for a discovered
resource (RFC 6749 §4). A grant is an object with ``name`` and ``obtain(ctx,
disc, scope)``; adding one is a new module in this package and one line in
:data:`GRANTS`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import UsageError

if TYPE_CHECKING:
    from authkit_mcp_cli.client.context import Context, LoginOptions
    from authkit_mcp_cli.discovery import Discovered
    from authkit_mcp_cli.oauth.client_auth import ClientRegistration
    from authkit_mcp_cli.oauth.token import Tokens


class Grant(Protocol):
    """Obtains tokens at the discovered AS for the discovered resource, as some client."""

    name: str

    async def obtain(self, ctx: Context, disc: Discovered, scope: str | None) -> tuple[ClientRegistration, Tokens]:
        """Register or choose a client, run the grant, and return the client and its tokens (not yet stored)."""
        ...


# name -> "module:factory"; a factory takes LoginOptions and returns a Grant. Imported lazily.
GRANTS = {
    "authorization_code": "authkit_mcp_cli.client.grants.authorization_code:AuthorizationCodeGrant",
    "client_credentials": "authkit_mcp_cli.client.grants.client_credentials:ClientCredentialsGrant",
    "jwt_bearer": "authkit_mcp_cli.client.grants.jwt_bearer:JwtBearerGrant",
    "enterprise": "authkit_mcp_cli.client.grants.enterprise:EnterpriseGrant",
    "device_code": "authkit_mcp_cli.client.grants.device_code:DeviceCodeGrant",
}


def grant_for(opts: LoginOptions) -> Grant:
    """The grant ``opts.grant`` names, built from the options."""
    target = GRANTS.get(opts.grant)
    if target is None:
        raise UsageError(f"Unknown grant {opts.grant!r}.", code=ErrorCode.USAGE_UNKNOWN_GRANT, hint="Known grants: " + ", ".join(sorted(GRANTS)) + ".")
    module, factory = target.split(":")
    return getattr(importlib.import_module(module), factory)(opts)
