"""Format characters from remotes (issue 20 §5): every character of Unicode's
Cf category but the two joiners text needs is shown escaped by escape_control
(console, error lines, reports) and by json_text (--json, traces), the JSON
value unchanged; the console seam applies it to everything it writes."""

from __future__ import annotations

import io
import json
import re
import sys
import unicodedata

import pytest

from authkit_mcp_cli.console import make_console
from authkit_mcp_cli.safe_text import FORMAT_CHARACTERS, KEPT_FORMAT_CHARACTERS, escape_control, excerpt, json_text

FORMAT_CLASS = re.compile(f"[{FORMAT_CHARACTERS}]")
CF = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
ESCAPED_CF = [ch for ch in CF if ch not in KEPT_FORMAT_CHARACTERS]
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"  # U+00AD SOFT HYPHEN, as the C1 controls are written
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def test_the_list_is_unicodes_cf_category_but_the_joiners():
    """The hand-written ranges cover every Cf character this Python's unicodedata knows."""
    assert KEPT_FORMAT_CHARACTERS == "\u200c\u200d" and set(KEPT_FORMAT_CHARACTERS) <= set(CF)
    assert [ch for ch in ESCAPED_CF if not FORMAT_CLASS.fullmatch(ch)] == []
    assert not any(FORMAT_CLASS.fullmatch(ch) for ch in KEPT_FORMAT_CHARACTERS)
    # nothing outside Cf (but code points later Unicode versions give to Cf) is caught by the list
    stray = [f"{ord(chr(c)):04X}" for c in range(sys.maxunicode + 1) if FORMAT_CLASS.fullmatch(chr(c)) and unicodedata.category(chr(c)) not in ("Cf", "Cn")]
    assert stray == []


@pytest.mark.parametrize("ch", ESCAPED_CF, ids=lambda ch: f"U+{ord(ch):04X}")
def test_every_format_character_is_shown_escaped(ch):
    assert escape_control(f"a{ch}b") == f"a{visible(ch)}b"
    assert escape_control(f"a{ch}b", keep_newlines=True) == f"a{visible(ch)}b"
    assert ch not in excerpt(f"body {ch} end")


@pytest.mark.parametrize("ch", ESCAPED_CF, ids=lambda ch: f"U+{ord(ch):04X}")
def test_json_text_escapes_every_format_character_and_keeps_the_value(ch):
    value = {"verification_uri": f"https://as.example/device{ch}gpj.exe"}
    text = json_text(json.dumps(value, ensure_ascii=False))
    assert ch not in text and json.loads(text) == value
    assert text.isascii() if ord(ch) > 0xFFFF else "\\u" in text  # beyond the BMP: a surrogate pair of escapes


def test_the_reversed_verification_uri_reads_as_sent():
    """U+202E RIGHT-TO-LEFT OVERRIDE makes a terminal show ``...exe.pdf`` as ``...fdp.exe``."""
    shown = escape_control("https://as.example/device\u202efdp.exe")
    assert shown == "https://as.example/device\\u202efdp.exe"
    assert not any(ch in shown for ch in BIDI)


def test_the_joiners_text_needs_are_kept():
    woman_technologist = "\U0001f469\u200d\U0001f4bb"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "mi-khaham": ZWNJ inside the word
    assert escape_control(woman_technologist) == woman_technologist
    assert escape_control(persian) == persian
    assert json.loads(json_text(json.dumps(woman_technologist, ensure_ascii=False))) == woman_technologist


def test_tag_characters_cannot_smuggle_invisible_ascii():
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "rm -rf")  # invisible in a terminal
    assert escape_control("ok" + hidden) == "ok" + "".join(f"\\U{0xE0000 + ord(c):08x}" for c in "rm -rf")


def test_a_lone_surrogate_is_escaped_not_a_crash():
    value = json.loads('{"e": "bad \\ud800 end"}')["e"]
    assert escape_control(value) == "bad \\ud800 end"
    assert json_text(json.dumps(value, ensure_ascii=False)).encode("utf-8")  # printable: no UnicodeEncodeError


@pytest.mark.parametrize("terminal", [False, True])
def test_the_console_writes_no_format_character(monkeypatch, terminal):
    monkeypatch.setenv("NO_COLOR", "1")
    console = make_console()
    console.file = buffer = io.StringIO()
    if terminal:
        console._force_terminal = True
    console.print(f"[bold]open[/] https://as.example/{''.join(ESCAPED_CF)} and enter \u202eCODE", soft_wrap=True)
    out = buffer.getvalue()
    assert not any(ch in out for ch in ESCAPED_CF), [f"U+{ord(ch):04X}" for ch in ESCAPED_CF if ch in out]
    assert "\\u202eCODE" in out
