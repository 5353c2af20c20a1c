"""One exception hierarchy; each error knows its exit code.

    AtomsAuthError            (exit 1) base: message, hint, spec reference
    ├── UsageError            (exit 2) bad flags, missing configuration
    ├── NetworkError          (exit 3) unreachable, timeout, TLS
    ├── ProtocolError         (exit 4) the remote violates the protocol
    ├── RemoteRefused         (exit 1) the remote answered with a refusal
    └── AuthorizationDenied   (exit 5) denied, cancelled or timed out

Library code raises these and never exits; ``cli.main`` is the one place
where they become a message on stderr and an exit code.
"""

from __future__ import annotations


class ExitCode:
    """The documented exit codes (README, ``--help``)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    NETWORK = 3
    PROTOCOL = 4
    DENIED = 5
    INTERRUPTED = 130


class AtomsAuthError(Exception):
    """Base error: what happened, how to fix it, and where the rule comes from."""

    exit_code = ExitCode.FINDINGS

    def __init__(self, message: str, *, hint: str | None = None, spec: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.spec = spec


class UsageError(AtomsAuthError):
    """Bad command-line input or configuration."""

    exit_code = ExitCode.USAGE


class NetworkError(AtomsAuthError):
    """The remote could not be reached: DNS, TCP, TLS, timeout, size cap."""

    exit_code = ExitCode.NETWORK


class ProtocolError(AtomsAuthError):
    """The remote answered, but not as the protocol requires."""

    exit_code = ExitCode.PROTOCOL


class RemoteRefused(AtomsAuthError):
    """The remote understood and refused (an OAuth error response)."""

    exit_code = ExitCode.FINDINGS


class AuthorizationDenied(AtomsAuthError):
    """The user or the AS denied, cancelled, or the flow timed out."""

    exit_code = ExitCode.DENIED
