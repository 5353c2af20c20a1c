"""The Examples section of each command's --help (issue #24 item 9): what a person types first.

Plain data, no imports: --help stays fast. Each list is shown under "Examples:" as written."""

from __future__ import annotations

EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "doctor": [
        ("atoms-auth doctor --server https://host/api/mcp", "every read-only check of a server and its AS"),
        ("atoms-auth doctor --server https://host/api/mcp --login", "also the checks that need a real token"),
        ("atoms-auth doctor --server https://host/api/mcp -o report.html", "a report to share (format from the extension)"),
    ],
    "register": [
        ("atoms-auth register --server https://host/api/mcp", "register a client with the server's AS (RFC 7591)"),
        ("atoms-auth register --cimd-url https://example.com/client.json -o client.json", "write a Client ID Metadata Document to host"),
    ],
    "login": [
        ("atoms-auth login --server https://host/api/mcp", "sign in in the browser and store the tokens"),
        ("atoms-auth login --server https://host/api/mcp --no-browser", "over SSH: open the URL elsewhere, paste the redirect"),
        ("atoms-auth login --server https://host/api/mcp --grant device-code", "no browser at all: a code to enter elsewhere"),
    ],
    "call": [
        ("atoms-auth call --server https://host/api/mcp", "list the tools with the stored token"),
        ("atoms-auth call --tool whoami --arguments '{}'", "call a tool (the one stored login when --server is left out)"),
    ],
    "logout": [
        ("atoms-auth logout --server https://host/api/mcp", "revoke and forget one login"),
        ("atoms-auth logout --all", "every stored login"),
    ],
    "serve": [
        ("atoms-auth serve", "an MCP server with a development AS on 127.0.0.1"),
        ("atoms-auth serve --authkit-domain https://your-env.authkit.app", "the same server behind AuthKit"),
    ],
    "demo": [
        ("atoms-auth demo", "every step of an MCP OAuth login against a local server, in seconds"),
        ("atoms-auth demo --grant device-code", "the same with another grant"),
    ],
    "init": [
        ("atoms-auth init", "write .env for the integration guide's server, asking on a terminal"),
        ("atoms-auth init --authkit-domain https://your-env.authkit.app --base-url http://127.0.0.1:8000", "without questions"),
    ],
    "mcp": [
        ("atoms-auth mcp", "atoms-auth's own tools over stdio, for an agent"),
    ],
    "token list": [
        ("atoms-auth token list", "every stored login at a glance"),
    ],
    "token show": [
        ("atoms-auth token show --server https://host/api/mcp", "the stored token's claims, audience and expiry"),
    ],
    "token print": [
        ('curl -H "Authorization: Bearer $(atoms-auth token print)" https://host/api/mcp', "the access token for a script"),
    ],
    "token refresh": [
        ("atoms-auth token refresh --server https://host/api/mcp", "use the refresh token now"),
    ],
}


def examples_epilog(command: str) -> str:
    """The Examples paragraph ("\\b" keeps click from re-wrapping its lines), or "" for a command without."""
    rows = EXAMPLES.get(command)
    if not rows:
        return ""
    lines = "\n".join(f"  {line}\n      {what}" for line, what in rows)
    return f"\b\nExamples:\n{lines}\n\n"
