"""One exception hierarchy; each error has a stable dotted code and an exit code.

    AtomsAuthError            (exit 1)  base: code, message, hint, spec, url, remote
    ├── UsageError            (exit 2)  bad flags, missing configuration          usage.*
    ├── NetworkError          (exit 3)  unreachable, timeout, TLS, size cap       network.*
    ├── ProtocolError         (exit 4)  the remote violates the protocol          protocol.*, as.*, prm.*
    │   └── ChallengeParseError         a WWW-Authenticate header breaks RFC 9110  challenge.malformed
    ├── RemoteRefused         (exit 1)  the remote answered with a refusal        oauth.*, mcp.*
    │   └── AuthChallenge               the MCP server answered 401/403            mcp.auth-challenge
    └── AuthorizationDenied   (exit 5)  denied, cancelled or timed out            login.*, authorization.*

An exception outside this tree is a bug in atoms-auth: the CLI exits 70
(EX_SOFTWARE) for it, so CI can tell a crash from a finding.

``code`` is stable and meant for programs (``--json`` prints it): an
:class:`~authkit_mcp_cli.error_codes.ErrorCode` (each listed with its meaning in
docs/errors.md; ``ExitCode`` lives there too); ``message`` is for people. What a remote said is kept apart from what we concluded, in
:class:`RemoteDetail` (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3), so code
branches on ``exc.remote.error == "invalid_grant"``, never on prose.

Library code raises these and never exits; the command boundary
(``commands._boundary``) is the one place where they become output and an
exit code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from authkit_mcp_cli.error_codes import ErrorCode, ExitCode

ERROR_SCHEMA = 1  # the --json error document's (and the agent's error results') schema
_DOUBLE_PERIOD = re.compile(r"(?<!\.)\.\.(?=\s|$)")


# The one exit-code table (issue #15 item 6): what each code means in general, and which codes each
# command can return, in its own words. Every --help epilog (commands.help.exit_codes_epilog) and the
# README's table (scripts/docs.py) are rendered from these two mappings; a test runs each situation.
EXIT_CODE_MEANINGS: dict[int, str] = {
    ExitCode.OK: "success",
    ExitCode.FINDINGS: "findings, or the remote refused",
    ExitCode.USAGE: "usage or configuration error (CLI framework errors too)",
    ExitCode.NETWORK: "network failure: unreachable, DNS, timeout, TLS",
    ExitCode.PROTOCOL: "the remote violates the protocol",
    ExitCode.DENIED: "authorization denied, cancelled or timed out, or not logged in",
    ExitCode.SOFTWARE: "a bug in atoms-auth (ATOMS_AUTH_DEBUG=1 shows the traceback)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.PIPE_CLOSED: "stdout's reader went away (e.g. | head): the output was cut short, quietly",
}
_ALWAYS = {code: EXIT_CODE_MEANINGS[code] for code in (ExitCode.SOFTWARE, ExitCode.INTERRUPTED, ExitCode.PIPE_CLOSED)}
ALWAYS_CODES = frozenset(_ALWAYS)  # every command can end so; per-command wording leaves them out
COMMAND_EXIT_CODES: dict[str, dict[int, str]] = {
    "doctor": {
        0: "no finding --fail-on counts (default FAIL or ERROR; --strict: WARN too; --baseline: new ones only)",
        1: "a finding --fail-on counts",
        2: "usage or configuration error",
        3: "the server cannot be reached at all",
        **_ALWAYS,
    },
    "register": {
        0: "registered, or the document is valid",
        1: "the AS refused, or the document is invalid",
        2: "usage",
        3: "network failure (also the --check fetch: DNS, connection, TLS, timeout)",
        4: "the AS violates the protocol",
        **_ALWAYS,
    },
    "login": {
        0: "logged in (and the token works)",
        1: "the AS or the MCP server refused",
        2: "usage",
        3: "network failure",
        4: "protocol violation",
        5: "denied, cancelled or timed out",
        **_ALWAYS,
    },
    "call": {
        0: "success",
        1: "the tool reported an error, or the server refused",
        2: "usage",
        3: "network failure",
        4: "protocol violation",
        5: "not logged in, denied, or timed out",
        **_ALWAYS,
    },
    "token show": {0: "shown", 2: "usage (several logins stored: say which with --server)", 5: "not logged in", **_ALWAYS},
    "token list": {0: "listed (also when nothing is stored)", 2: "usage", **_ALWAYS},
    "token print": {0: "printed", 2: "usage (several logins stored: say which with --server; a terminal without --reveal)", 5: "not logged in", **_ALWAYS},
    "token refresh": {
        0: "refreshed",
        1: "the AS refused, or there is no refresh token",
        2: "usage",
        3: "network failure",
        4: "protocol violation",
        5: "not logged in",
        **_ALWAYS,
    },
    "logout": {
        0: "every token revoked (or the AS offers no revocation), or nothing was stored",
        1: "the AS refused or could not be reached for a token (forgotten anyway)",
        2: "usage",
        **_ALWAYS,
    },
    "serve": {0: "stopped", 2: "usage or configuration error (also: the port is in use)", **_ALWAYS},
    "demo": {0: "every step passed", 1: "a step failed", 2: "usage", **_ALWAYS},
    "mcp": {0: "stopped (the client closed stdin)", 2: "usage", **_ALWAYS},
    "init": {
        0: "written",
        1: "nothing written: the AuthKit domain check failed, or overwriting was declined",
        2: "usage: a missing flag without a terminal, an invalid URL",
        **_ALWAYS,
    },
}


def sentence(text: str) -> str:
    """One sentence as printed: no doubled period before a space or the end, a final period when none."""
    text = _DOUBLE_PERIOD.sub(".", text.strip())
    return text if text.endswith((".", "?", "!", ":")) else text + "."


def error_document(exc: AtomsAuthError) -> dict[str, Any]:
    """``{"schema": 1, "error": {"code", "message", "hint", "spec", "url", "remote"}}``: what ``--json``
    prints for a failed command and what the agent's tools return as an error result's structured content."""
    doc = exc.to_json()
    doc["message"] = sentence(exc.message)  # a message built from a remote's sentence never ends in ".."
    doc["hint"] = sentence(exc.hint) if exc.hint else exc.hint
    return {"schema": ERROR_SCHEMA, "error": doc}


@dataclass(frozen=True)
class RemoteDetail:
    """What the remote said, verbatim: HTTP status and the OAuth/Bearer error fields."""

    status: int | None = None
    error: str | None = None
    error_description: str | None = None
    error_uri: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_oauth_body(cls, status: int | None, data: Any, url: str | None = None) -> RemoteDetail:
        """The RFC 6749 §5.2 / RFC 7591 §3.2.2 error object, fields kept only when they are strings."""
        fields = data if isinstance(data, dict) else {}

        def text(name: str) -> str | None:
            value = fields.get(name)
            return value if isinstance(value, str) else None

        return cls(status=status, error=text("error"), error_description=text("error_description"), error_uri=text("error_uri"), url=url)


class AtomsAuthError(Exception):
    """Base error: what happened (message), how to fix it (hint), where the rule comes from (spec)."""

    exit_code = ExitCode.FINDINGS
    default_code = ErrorCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        hint: str | None = None,
        spec: str | None = None,
        url: str | None = None,
        remote: RemoteDetail | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint
        self.spec = spec
        self.url = url
        self.remote = remote

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of the ``--json`` error document (schema 1)."""
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "spec": self.spec,
            "url": self.url,
            "remote": self.remote.to_json() if self.remote else None,
        }


class UsageError(AtomsAuthError):
    """Bad command-line input or configuration."""

    exit_code = ExitCode.USAGE
    default_code = ErrorCode.USAGE_INVALID


class NetworkError(AtomsAuthError):
    """The remote could not be reached: DNS, TCP, TLS, timeout, size cap."""

    exit_code = ExitCode.NETWORK
    default_code = ErrorCode.NETWORK_FAILED


class ProtocolError(AtomsAuthError):
    """The remote answered, but not as the protocol requires."""

    exit_code = ExitCode.PROTOCOL
    default_code = ErrorCode.PROTOCOL_VIOLATION


class ChallengeParseError(ProtocolError):
    """A WWW-Authenticate value that does not follow RFC 9110 §11.6.1."""

    default_code = ErrorCode.CHALLENGE_MALFORMED


class RemoteRefused(AtomsAuthError):
    """The remote understood and refused (an OAuth error response, a Bearer challenge)."""

    exit_code = ExitCode.FINDINGS
    default_code = ErrorCode.OAUTH_REMOTE_ERROR

    @property
    def error(self) -> str | None:
        """The remote's ``error`` code (RFC 6749 §5.2), e.g. ``invalid_grant``."""
        return self.remote.error if self.remote else None

    @property
    def error_description(self) -> str | None:
        return self.remote.error_description if self.remote else None

    @property
    def status(self) -> int | None:
        return self.remote.status if self.remote else None


class AuthChallenge(RemoteRefused):
    """The MCP server answered 401 (refresh or log in) or 403 (step up) (RFC 6750 §3, MCP Authorization).

    Made by ``challenge.Challenges.refusal``, which reads every challenge by one rule; ``www_authenticate``
    keeps the header values as received, so discovery can read them again (``Challenges.read``)."""

    default_code = ErrorCode.MCP_AUTH_CHALLENGE

    def __init__(
        self,
        status: int,
        *,
        error: str | None = None,
        description: str | None = None,
        scope: str | None = None,
        resource_metadata: str | None = None,
        url: str | None = None,
        www_authenticate: Sequence[str] = (),
    ) -> None:
        self.scope = scope
        self.resource_metadata = resource_metadata
        self.www_authenticate = tuple(www_authenticate)
        detail = " ".join(p for p in (f"HTTP {status}", error, description) if p)
        super().__init__(
            f"The MCP server answered {detail}.",
            url=url,
            remote=RemoteDetail(status=status, error=error, error_description=description, url=url),
            spec="RFC 6750 §3; MCP 2026-07-28 Authorization",
        )

    def __str__(self) -> str:
        return " ".join(p for p in (f"HTTP {self.status}", self.error, self.error_description) if p)


class AuthorizationDenied(AtomsAuthError):
    """The user or the AS denied, cancelled, or the flow timed out."""

    exit_code = ExitCode.DENIED
    default_code = ErrorCode.AUTHORIZATION_DENIED
