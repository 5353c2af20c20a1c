"""Parse ``WWW-Authenticate`` challenges (RFC 9110 §11.6.1, RFC 6750 §3).

The grammar allows several challenges in one header, commas inside quoted
strings, token68 credentials and optional whitespace around ``=``; real
servers use all of them. The parser is linear and raises only
:class:`ChallengeParseError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from authkit_mcp_cli.errors import ChallengeParseError

__all__ = ["BEARER_ERROR_CODES", "Challenge", "ChallengeParseError", "find_bearer", "parse_www_authenticate"]

# RFC 9110 §5.6.2 tchar
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# RFC 9110 §11.2 token68 (before its trailing '=' padding)
_T68CHAR = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WS = " \t"
MAX_HEADER_CHARS = 16 * 1024

# RFC 6750 §3.1
BEARER_ERROR_CODES = frozenset({"invalid_request", "invalid_token", "insufficient_scope"})


@dataclass
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None
    duplicate_params: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.params.get(name.lower())


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


def find_bearer(challenges: list[Challenge]) -> Challenge | None:
    for ch in challenges:
        if ch.scheme.lower() == "bearer":
            return ch
    return None


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
