"""Text from a remote, made safe to print: control characters escaped (a
server must not move the cursor, clear the screen or forge lines in the
user's terminal), length bounded."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = re.compile(r"[\r\n\t]")
# What json.dumps(ensure_ascii=False) leaves raw inside strings: DEL, the C1 controls (U+009B
# is CSI to many terminals) and the Unicode line separators. It escapes C0 itself (RFC 8259 §7).
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def escape_control(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` with control characters written as escapes (``\x1b``, ``\n``...)."""

    def esc(m: re.Match[str]) -> str:
        ch = m.group(0)
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")

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


def json_text(text: str) -> str:
    """JSON text made by ``json.dumps(..., ensure_ascii=False)``, with the control characters the
    encoder leaves raw written as ``\\u`` escapes: the same JSON value, safe to print."""
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
