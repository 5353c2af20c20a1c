"""Issue #24 item 16: "1 warning", no "key(s)", no "client ... (none)"."""

from __future__ import annotations

import re
from pathlib import Path

from authkit_mcp_cli.words import auth_method_words, plural

SRC = Path(__file__).resolve().parents[2] / "src" / "authkit_mcp_cli"


def test_plural_says_one_and_many():
    assert plural(1, "warning") == "1 warning"
    assert plural(2, "warning") == "2 warnings"
    assert plural(0, "error") == "0 errors"
    assert plural(3, "passed") == "3 passed" and plural(1, "info") == "1 info"


def test_a_public_client_is_said_in_words():
    assert auth_method_words("none") == "a public client, no secret"
    assert auth_method_words("client_secret_post") == "client_secret_post"


def test_no_message_says_s_in_parentheses():
    offenders = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py") for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"[a-z]\(s\)[ :'\"]", line) and "http(s)" not in line]
    assert offenders == []


def test_the_summary_says_one_warning():
    from authkit_mcp_cli.checks.model import Check, Level, Result, Status
    from authkit_mcp_cli.reports.common import summary_line

    check = Check(id="as.x", title="t", level=Level.SHOULD, spec="s", run=lambda ev: None)  # type: ignore[arg-type,return-value]
    results = [Result(check=check, status=Status.WARN, message="m", fix=None, evidence={}), Result(check=check, status=Status.PASS, message="m", fix=None, evidence={})]
    assert summary_line(results) == "1 warning, 1 passed"
