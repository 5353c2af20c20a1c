"""atoms-auth: diagnose and set up OAuth for remote MCP servers.

The command-line tool is ``atoms-auth``; the library underneath is usable on
its own. Its public face is ``__all__``: the doctor (:func:`diagnose`),
discovery (:func:`discover`), the client's entry points (:func:`login`,
:func:`call_mcp`, :func:`refresh`, :func:`logout`) and the errors, all of
which raise only the errors in :mod:`authkit_mcp_cli.errors`.

Names load on first use (PEP 562), so ``atoms-auth --help``, which imports
this package, does not pay for httpx, jwt or the MCP SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from authkit_mcp_cli._version import __version__

# name -> the module that defines it
_PUBLIC = {
    # the doctor
    "Diagnosis": "authkit_mcp_cli.doctor",
    "diagnose": "authkit_mcp_cli.doctor",
    "Target": "authkit_mcp_cli.config",
    "resolve_target": "authkit_mcp_cli.config",
    # discovery
    "Discovered": "authkit_mcp_cli.discovery",
    "discover": "authkit_mcp_cli.discovery",
    # the client
    "Context": "authkit_mcp_cli.client.context",
    "LoginOptions": "authkit_mcp_cli.client.context",
    "Session": "authkit_mcp_cli.client.session",
    "call_mcp": "authkit_mcp_cli.client.call",
    "load_session": "authkit_mcp_cli.client.session",
    "login": "authkit_mcp_cli.client.login",
    "logout": "authkit_mcp_cli.client.logout",
    "refresh": "authkit_mcp_cli.client.refresh",
    # errors
    "AtomsAuthError": "authkit_mcp_cli.errors",
    "AuthChallenge": "authkit_mcp_cli.errors",
    "AuthorizationDenied": "authkit_mcp_cli.errors",
    "ChallengeParseError": "authkit_mcp_cli.errors",
    "ExitCode": "authkit_mcp_cli.errors",
    "NetworkError": "authkit_mcp_cli.errors",
    "ProtocolError": "authkit_mcp_cli.errors",
    "RemoteDetail": "authkit_mcp_cli.errors",
    "RemoteRefused": "authkit_mcp_cli.errors",
    "UsageError": "authkit_mcp_cli.errors",
}

__all__ = [
    "AtomsAuthError",
    "AuthChallenge",
    "AuthorizationDenied",
    "ChallengeParseError",
    "Context",
    "Diagnosis",
    "Discovered",
    "ExitCode",
    "LoginOptions",
    "NetworkError",
    "ProtocolError",
    "RemoteDetail",
    "RemoteRefused",
    "Session",
    "Target",
    "UsageError",
    "__version__",
    "call_mcp",
    "diagnose",
    "discover",
    "load_session",
    "login",
    "logout",
    "refresh",
    "resolve_target",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'authkit_mcp_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from authkit_mcp_cli.client.call import call_mcp
    from authkit_mcp_cli.client.context import Context, LoginOptions
    from authkit_mcp_cli.client.login import login
    from authkit_mcp_cli.client.logout import logout
    from authkit_mcp_cli.client.refresh import refresh
    from authkit_mcp_cli.client.session import Session, load_session
    from authkit_mcp_cli.config import Target, resolve_target
    from authkit_mcp_cli.discovery import Discovered, discover
    from authkit_mcp_cli.doctor import Diagnosis, diagnose
    from authkit_mcp_cli.errors import (
        AtomsAuthError,
        AuthChallenge,
        AuthorizationDenied,
        ChallengeParseError,
        ExitCode,
        NetworkError,
        ProtocolError,
        RemoteDetail,
        RemoteRefused,
        UsageError,
    )
