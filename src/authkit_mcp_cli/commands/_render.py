"""Human rendering of token information; secrets only with --reveal."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape

from authkit_mcp_cli.console import stdout_console


def secret_view(session) -> dict[str, Any]:
    return {
        "access_token": session.tokens.access_token,
        "refresh_token": session.tokens.refresh_token,
        "id_token": session.tokens.id_token,
        "client_secret": session.registration.client_secret,
    }


def print_token_info(info: dict[str, Any], session=None) -> None:
    out = stdout_console()
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
            out.print(f"[bold]{name:>14}[/]  {escape(str(value))}", highlight=False, soft_wrap=True)
    for problem in info.get("problems") or []:
        out.print(f"[bold yellow]{'problem':>14}[/]  {escape(problem)}", highlight=False, soft_wrap=True)
    if session is not None:
        for name, value in secret_view(session).items():
            if value:
                out.print(f"[bold red]{name:>14}[/]  {escape(value)}", highlight=False, soft_wrap=True)


def _expiry(expires_at: float | None) -> str | None:
    if expires_at is None:
        return "not stated by the AS"
    left = int(expires_at - time.time())
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires_at))
    return f"{when} (in {left // 60} min {left % 60} s)" if left > 0 else f"{when} (expired {-left} s ago)"
