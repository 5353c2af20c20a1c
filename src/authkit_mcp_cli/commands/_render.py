"""Human rendering of token information; secrets only with --reveal.

A dozen labelled lines need no rich (about 25 ms of imports, more than
``token show`` spends on everything else; issue #16 item 2): each line is
written here, with every value's control characters escaped as
console.SafeConsole does (issue #14 item 10), bold labels only on a terminal
and never under NO_COLOR or TERM=dumb (rich's rules), and no wrapping (as
``soft_wrap=True`` printed them).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from authkit_mcp_cli.client.session import Session

BOLD, GREEN, YELLOW, RED, RESET = "\x1b[1m", "\x1b[1;32m", "\x1b[1;33m", "\x1b[1;31m", "\x1b[0m"


def secret_view(session: Session) -> dict[str, Any]:
    return {
        "access_token": session.tokens.access_token,
        "refresh_token": session.tokens.refresh_token,
        "id_token": session.tokens.id_token,
        "client_secret": session.registration.client_secret,
    }


def styled(stream: TextIO) -> bool:
    """Style as rich would: on a terminal (or FORCE_COLOR), never with NO_COLOR or TERM=dumb."""
    env = os.environ
    choice = env.get("ATOMS_AUTH_COLOR")  # --color (console.COLOR_ENV); rich is not loaded for this
    if choice in ("always", "never"):
        return choice == "always"
    if env.get("NO_COLOR") or env.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def print_row(name: str, value: Any, style: str = BOLD, *, stream: TextIO | None = None) -> None:
    """``name`` right-aligned in 14 columns, two spaces, the value (its control characters escaped)."""
    from authkit_mcp_cli.safe_text import escape_control

    out = stream or sys.stdout
    label = f"{name:>14}"
    if styled(out):
        label = f"{style}{label}{RESET}"
    out.write(f"{label}  {escape_control(str(value), keep_newlines=True)}\n")


def print_line(text: str, *, bold: int = 0, style: str = BOLD, stream: TextIO | None = None) -> None:
    """One line, its control characters escaped; its first ``bold`` characters in ``style`` on a terminal."""
    from authkit_mcp_cli.safe_text import escape_control

    out = stream or sys.stdout
    head, tail = escape_control(text[:bold], keep_newlines=True), escape_control(text[bold:], keep_newlines=True)
    out.write((f"{style}{head}{RESET}" if head and styled(out) else head) + tail + "\n")


def print_token_info(info: dict[str, Any], session: Session | None = None) -> None:
    rows = [
        ("server", info["server"]),
        ("resource", info["resource"] + (" (an origin or path prefix of the server URL: the token is also good at every resource under it)" if info.get("broader_audience") else "")),
        ("issuer", info["issuer"]),
        ("client", f"{info['client_id']} ({info['client_source']})"),
        ("email", info.get("email")),
        ("subject", (info.get("claims") or {}).get("sub")),
        ("scope", info.get("scope") or (info.get("claims") or {}).get("scope")),
        ("audience", (info.get("claims") or {}).get("aud")),
        ("expires", _expiry(info.get("expires_at"))),
        ("refresh token", "yes" if info["has_refresh_token"] else "no"),
        ("format", info.get("access_token_format")),
    ]
    for name, value in rows:
        if value is not None:
            print_row(name, value)
    for problem in info.get("problems") or []:
        print_row("problem", problem, YELLOW)
    if session is not None:
        for name, value in secret_view(session).items():
            if value:
                print_row(name, value, RED)


def expiry_text(expires_at: float | None) -> str:
    """When the access token expires, and how long from now (or how long ago)."""
    return _expiry(expires_at) or ""


def _expiry(expires_at: float | None) -> str | None:
    if expires_at is None:
        return "not stated by the AS"
    left = int(expires_at - time.time())
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires_at))
    return f"{when} (in {left // 60} min {left % 60} s)" if left > 0 else f"{when} (expired {-left} s ago)"
