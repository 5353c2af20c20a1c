"""The 401/403 challenge, once (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1).

- :func:`parse_www_authenticate`  every challenge in one or more header values, in order; raises
  only :class:`ChallengeParseError`
- :class:`Challenge`   one challenge: its auth-scheme and its parameters (or token68)
- :class:`Challenges`  every challenge of one response and the one rule that reads them; it never
  raises (a malformed header reads as no challenge and says why in ``parse_error``)
- :meth:`Challenges.refusal`  the response as the client's error, :class:`~authkit_mcp_cli.errors.AuthChallenge`

Discovery (the anonymous probe), the client (a refused MCP request; the anonymous probe after a
server error) and doctor (the unauthenticated request; the invalid-token probe) all read a
response through :class:`Challenges`; no other module parses ``WWW-Authenticate``
(``tests/unit/test_architecture.py``).

The grammar allows several challenges in one header, commas inside quoted
strings, token68 credentials and optional whitespace around ``=``; real
servers use all of them. The parser is linear.

The selection rule
------------------
1. Only the schemes a client here can answer are read: ``Bearer`` (RFC 6750) and ``DPoP``
   (RFC 9449). A response may carry several challenges, in one header field or several, and the
   client picks among those it supports; their order says nothing about preference (RFC 9110
   §11.6.1). Other schemes (Basic, Negotiate) are listed in ``offered``, not read.
2. The *selected* challenge is the first one that carries ``error``; else the Bearer one; else the
   first DPoP one. The error says why this request failed, and a server writes it into the
   challenge of the scheme that failed: RFC 6750 §3.1 puts ``invalid_token`` and
   ``insufficient_scope`` in the Bearer challenge, and RFC 9449 §7.1 shows a response with a DPoP
   and a Bearer challenge where the DPoP one carries ``invalid_dpop_proof`` (or ``use_dpop_nonce``,
   §9) and the Bearer one stays bare, which is how ``serve`` answers. Reading Bearer alone misses a
   DPoP failure; preferring DPoP misses an error in Bearer. Without an error (a request without
   credentials gets none, RFC 6750 §3.1), Bearer is the scheme MCP requires.
3. ``error`` and ``error_description`` come from the selected challenge only: they are one statement.
4. ``scope`` (RFC 6750 §3) and ``resource_metadata`` (RFC 9728 §5.1) describe the resource, not the
   failure: from the selected challenge, else from the first other Bearer or DPoP challenge that
   names them (servers often put them on one challenge only).

Doctor still judges the Bearer challenge's own form (present, each parameter once) because MCP
requires that scheme; what it reads from the answer follows the rule, as a client would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from authkit_mcp_cli.errors import AuthChallenge, ChallengeParseError

__all__ = ["BEARER_ERROR_CODES", "DPOP_ERROR_CODES", "Challenge", "ChallengeParseError", "Challenges", "parse_www_authenticate"]

# RFC 9110 §5.6.2 tchar
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# RFC 9110 §11.2 token68 (before its trailing '=' padding)
_T68CHAR = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WS = " \t"
MAX_HEADER_CHARS = 16 * 1024

# RFC 6750 §3.1
BEARER_ERROR_CODES = frozenset({"invalid_request", "invalid_token", "insufficient_scope"})
# RFC 9449 §7.1, §9, §12.2 (the DPoP scheme also uses RFC 6750's codes)
DPOP_ERROR_CODES = frozenset({"invalid_dpop_proof", "use_dpop_nonce"})
ANSWERED_SCHEMES = ("bearer", "dpop")


@dataclass
class Challenge:
    """One challenge: an auth-scheme with its parameters (names lower-cased) or a token68 (RFC 9110 §11.6.1)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None
    duplicate_params: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.params.get(name.lower())

    def is_scheme(self, name: str) -> bool:
        """Auth-schemes compare case-insensitively (RFC 9110 §11.1)."""
        return self.scheme.lower() == name.lower()


@dataclass(frozen=True)
class Challenges:
    """Every challenge of one response (``status``), read by the one rule in this module's docstring."""

    status: int = 0
    offered: tuple[Challenge, ...] = ()
    header: tuple[str, ...] = ()  # the WWW-Authenticate values as received
    parse_error: str | None = None

    @classmethod
    def read(cls, status: int | None, values: str | Sequence[str]) -> Challenges:
        """The challenges in ``values``; a malformed header gives none and ``parse_error`` says why."""
        header = (values,) if isinstance(values, str) else tuple(values)
        try:
            return cls(status or 0, tuple(parse_www_authenticate(list(header))), header)
        except ChallengeParseError as exc:
            return cls(status or 0, (), header, exc.message)

    @property
    def answerable(self) -> tuple[Challenge, ...]:
        """The Bearer and DPoP challenges, in order (rule 1)."""
        return tuple(ch for ch in self.offered if ch.scheme.lower() in ANSWERED_SCHEMES)

    @property
    def bearer(self) -> Challenge | None:
        return next((ch for ch in self.offered if ch.is_scheme("bearer")), None)

    @property
    def selected(self) -> Challenge | None:
        """The challenge that answers the request (rule 2)."""
        answerable = self.answerable
        return next((ch for ch in answerable if ch.get("error")), None) or self.bearer or (answerable[0] if answerable else None)

    def param(self, name: str) -> str | None:
        """A resource hint from the selected challenge, else from another Bearer or DPoP one (rule 4)."""
        selected = self.selected
        ordered = ([selected] if selected else []) + [ch for ch in self.answerable if ch is not selected]
        return next((value for ch in ordered if (value := ch.get(name))), None)

    @property
    def error(self) -> str | None:
        return self.selected.get("error") if self.selected else None

    @property
    def error_description(self) -> str | None:
        return self.selected.get("error_description") if self.selected else None

    @property
    def scope(self) -> str | None:
        return self.param("scope")

    @property
    def resource_metadata(self) -> str | None:
        return self.param("resource_metadata")

    def refusal(self, url: str) -> AuthChallenge:
        """The response as the client's error: 401 (refresh or log in) or 403 (step up)."""
        return AuthChallenge(
            self.status,
            error=self.error,
            description=self.error_description,
            scope=self.scope,
            resource_metadata=self.resource_metadata,
            url=url,
            www_authenticate=self.header,
        )


def parse_www_authenticate(values: str | list[str]) -> list[Challenge]:
    """All challenges in one or more header values, in order."""
    if isinstance(values, str):
        values = [values]
    challenges: list[Challenge] = []
    for value in values:
        if len(value) > MAX_HEADER_CHARS:
            raise ChallengeParseError(
                f"WWW-Authenticate header is {len(value)} characters long (limit {MAX_HEADER_CHARS}).",
                spec="RFC 9110 §11.6.1",
            )
        challenges.extend(_Parser(value).parse())
    return challenges


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def error(self, what: str) -> ChallengeParseError:
        snippet = self.s[max(0, self.i - 20) : self.i + 20]
        return ChallengeParseError(
            f"WWW-Authenticate is malformed at character {self.i}: {what} (near {snippet!r}).",
            spec="RFC 9110 §11.6.1",
        )

    def skip(self, chars: str) -> None:
        while self.i < len(self.s) and self.s[self.i] in chars:
            self.i += 1

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def token(self) -> str:
        start = self.i
        while self.i < len(self.s) and self.s[self.i] in _TCHAR:
            self.i += 1
        return self.s[start : self.i]

    def quoted(self) -> str:
        assert self.s[self.i] == '"'
        self.i += 1
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "\\":
                if self.i + 1 >= len(self.s):
                    break
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if c == '"':
                self.i += 1
                return "".join(out)
            out.append(c)
            self.i += 1
        raise self.error("unterminated quoted string")

    def looks_like_param(self) -> bool:
        """At a token: is it ``name BWS = value`` rather than a new scheme or token68?"""
        j = self.i
        while j < len(self.s) and self.s[j] in _TCHAR:
            j += 1
        if j == self.i:
            return False
        while j < len(self.s) and self.s[j] in _WS:
            j += 1
        if j >= len(self.s) or self.s[j] != "=":
            return False
        j += 1
        while j < len(self.s) and self.s[j] in _WS:
            j += 1
        # "abc==" or "abc=," is token68 padding, not a parameter
        return j < len(self.s) and self.s[j] not in "=,"

    def parse(self) -> list[Challenge]:
        result: list[Challenge] = []
        current: Challenge | None = None
        while True:
            self.skip(_WS + ",")
            if self.i >= len(self.s):
                break
            if current is not None and self.looks_like_param():
                self.param(current)
                continue
            scheme = self.token()
            if not scheme:
                raise self.error("expected an auth-scheme token")
            current = Challenge(scheme=scheme)
            result.append(current)
            if self.peek() not in _WS:
                if self.peek() not in ("", ","):
                    raise self.error("expected a space after the auth-scheme")
                continue
            self.skip(_WS)
            if self.peek() in ("", ","):
                continue
            if self.looks_like_param():
                self.param(current)
            else:
                self.token68(current)
        return result

    def token68(self, ch: Challenge) -> None:
        start = self.i
        while self.i < len(self.s) and self.s[self.i] in _T68CHAR:
            self.i += 1
        if self.i == start:
            raise self.error("expected token68 or auth-param")
        self.skip("=")
        ch.token68 = self.s[start : self.i]
        self.skip(_WS)
        if self.peek() not in ("", ","):
            raise self.error("unexpected text after token68")

    def param(self, ch: Challenge) -> None:
        name = self.token().lower()
        self.skip(_WS)
        self.i += 1  # '=' (checked by looks_like_param)
        self.skip(_WS)
        if self.peek() == '"':
            value = self.quoted()
        else:
            value = self.token()
            if not value:
                raise self.error(f"parameter {name!r} has no value")
        if name in ch.params:
            ch.duplicate_params.append(name)
        else:
            ch.params[name] = value
        self.skip(_WS)
        if self.peek() not in ("", ","):
            raise self.error(f"expected ',' after parameter {name!r}")
