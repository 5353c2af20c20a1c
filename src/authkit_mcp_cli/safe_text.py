"""Text from a remote, made safe to print: control and invisible format
characters escaped (a server must not move the cursor, clear the screen, forge
lines in the user's terminal, or reorder or hide what the user reads), length
bounded."""

from __future__ import annotations

import re

# Unicode's format characters (general category Cf), which a terminal does not show but obeys or
# hides behind (issue 20 §5): the bidirectional embeddings, overrides and isolates (U+202A-202E,
# U+2066-2069: "Trojan Source", CVE-2021-42574) and marks (U+200E/F, U+061C) reorder what the user
# reads, so a URL can be shown as another; zero-width space, word joiner, invisible operators, the
# BOM and the soft hyphen hide characters inside a name or URL; the tag characters
# (U+E0020-E007F) carry invisible ASCII ("ASCII smuggling"). Every Cf of Unicode 15
# (tests/unit/test_safe_text.py checks the list against unicodedata) except two that text needs
# and that move and hide nothing: U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER, which
# spell words in Persian and the Indic scripts and join emoji sequences (woman + ZWJ + laptop).
# (Tag characters also spell the three subdivision flags; those show escaped, a fair price.)
FORMAT_CHARACTERS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
KEPT_FORMAT_CHARACTERS = "\u200c\u200d"
# Lone surrogates (a JSON "\ud800" decodes to one) cannot be encoded for the terminal at all.
_SURROGATES = "\ud800-\udfff"

_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029{FORMAT_CHARACTERS}{_SURROGATES}]")
_LINE_BREAKS = re.compile(r"[\r\n\t]")
# What json.dumps(ensure_ascii=False) leaves raw inside strings: DEL, the C1 controls (U+009B
# is CSI to many terminals), the Unicode line separators, the format characters and lone
# surrogates. It escapes C0 itself (RFC 8259 §7).
_RAW_IN_JSON = re.compile(f"[\\x7f-\\x9f\\u2028\\u2029{FORMAT_CHARACTERS}{_SURROGATES}]")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_control(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` with control and format characters written as escapes (``\x1b``, ``\n``,
    ``\u202e``, ``\U000e0041``...)."""

    def esc(m: re.Match[str]) -> str:
        ch = m.group(0)
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or _escape(ch)

    text = _CONTROL.sub(esc, text)
    return text if keep_newlines else _LINE_BREAKS.sub(esc, text)


def bounded(text: str, limit: int) -> str:
    """At most ``limit`` characters, an ellipsis saying when some were cut."""
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def excerpt(body: bytes | str, limit: int = 300) -> str:
    """A one-line, escaped, bounded excerpt of a response body; whitespace runs collapsed."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return bounded(escape_control(text), limit) if text else "(empty body)"


def _json_escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells a character beyond the BMP as its UTF-16 surrogate pair (RFC 8259 §7)
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(text: str) -> str:
    """JSON text made by ``json.dumps(..., ensure_ascii=False)``, with the characters the encoder
    leaves raw and a terminal would obey written as ``\\u`` escapes: the same JSON value, safe to print."""
    return _RAW_IN_JSON.sub(_json_escape, text)
