"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="MCP endpoint, e.g. https://host/api/mcp. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL + $ATOMS_FASTMCP_HTTP_PATH (/api/mcp).",
        show_default=False,
    ),
]
AuthkitDomain = Annotated[
    str | None,
    typer.Option(
        "--authkit-domain",
        metavar="URL",
        help="Authorization server issuer, e.g. https://your-env.authkit.app. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN, else discovered from the server.",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else there.")]
Trace = Annotated[str | None, typer.Option("--trace", metavar="FILE", help="Write every HTTP exchange to FILE (JSON lines), secrets redacted.", show_default=False)]
Timeout = Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1, help="Deadline for each HTTP request.")]
